import { describe, expect, it } from 'vitest';
import { buildClaudeArgs, type ClaudeRunSpec, usesJsonSchema } from '../../src/claude/args.js';

describe('buildClaudeArgs', () => {
  it('builds the minimal stream-json invocation', () => {
    expect(buildClaudeArgs({})).toEqual(['-p', '--output-format', 'stream-json', '--verbose']);
  });

  it('never puts the prompt in argv (it goes to stdin), even when given a whole run spec', () => {
    const spec: ClaudeRunSpec = { prompt: 'SECRET PRD TEXT', model: 'sonnet' };
    const args = buildClaudeArgs(spec);
    expect(args).toEqual(['-p', '--output-format', 'stream-json', '--verbose', '--model', 'sonnet']);
    expect(args.join(' ')).not.toContain('SECRET');
  });

  it('maps every option', () => {
    const args = buildClaudeArgs({
      model: 'claude-sonnet-4-5',
      fallbackModel: 'claude-haiku-4-5',
      permissionMode: 'acceptEdits',
      allowedTools: ['Write', 'Read', 'Bash(git commit:*)'],
      disallowedTools: ['WebFetch', 'WebSearch'],
      maxTurns: 12,
      maxBudgetUsd: 2.5,
      appendSystemPrompt: 'Be terse.',
      sessionId: '11111111-2222-3333-4444-555555555555',
      jsonSchema: { type: 'object' },
      addDirs: ['/a', '/b'],
      mcpConfig: '/m.json',
      extraArgs: ['--effort', 'low'],
    });
    expect(args).toEqual([
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--model',
      'claude-sonnet-4-5',
      '--fallback-model',
      'claude-haiku-4-5',
      '--permission-mode',
      'acceptEdits',
      '--allowedTools',
      'Write,Read,Bash(git commit:*)',
      '--disallowedTools',
      'WebFetch,WebSearch',
      '--max-turns',
      '12',
      '--max-budget-usd',
      '2.5',
      '--append-system-prompt',
      'Be terse.',
      '--session-id',
      '11111111-2222-3333-4444-555555555555',
      '--json-schema',
      '{"type":"object"}',
      '--add-dir',
      '/a',
      '--add-dir',
      '/b',
      '--mcp-config',
      '/m.json',
      '--effort',
      'low',
    ]);
    expect(usesJsonSchema(args)).toBe(true);
  });

  it('prefers --resume over --session-id', () => {
    const args = buildClaudeArgs({ resume: 'abc', sessionId: 'def' });
    expect(args).toContain('--resume');
    expect(args).not.toContain('--session-id');
  });

  it('rejects nonsense limits', () => {
    expect(() => buildClaudeArgs({ maxTurns: 0 })).toThrow(RangeError);
    expect(() => buildClaudeArgs({ maxBudgetUsd: -1 })).toThrow(RangeError);
  });

  it('does not treat a positional prompt mentioning --json-schema as structured output', () => {
    expect(usesJsonSchema([...buildClaudeArgs({}), '--', '--json-schema'])).toBe(false);
  });
});
