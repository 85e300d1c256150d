import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyOutcome, summarize } from '../../src/claude/accumulate.js';
import { parseTranscript } from '../../src/claude/stream-parser.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures/transcripts');
const load = (name: string) => summarize(parseTranscript(fs.readFileSync(path.join(fixtures, name), 'utf8')));
const exit1 = { exitCode: 1, signal: undefined };
const exit0 = { exitCode: 0, signal: undefined };

describe('accumulate + classify on real CLI transcripts', () => {
  it('success with a Write tool call', () => {
    const s = load('real-write-success.jsonl');
    expect(s.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(s.model).toBe('claude-opus-4-8[1m]');
    expect(s.usage).toEqual({ inputTokens: 200, outputTokens: 40, cacheReadTokens: 0, cacheWriteTokens: 0 });
    expect(s.costUsd).toBeCloseTo(0.002);
    expect(s.numTurns).toBe(2);
    expect(s.resultText).toBe('Wrote hello.txt.');
    expect(s.isError).toBe(false);
    expect(s.toolUses).toBe(1);
    expect(typeof s.durationMs).toBe('number');
    expect(classifyOutcome(s, exit0)).toEqual({ kind: 'success', message: 'Wrote hello.txt.' });
  });

  it('429 with an OAuth login → rate_limit_event with resetsAt', () => {
    const s = load('real-rate-limit-oauth-429.jsonl');
    expect(s.rateLimit).toEqual({ status: 'rejected', resetsAt: new Date(1900000000 * 1000), type: 'five_hour' });
    expect(s.apiErrorStatus).toBe(429);
    expect(s.assistantError).toBe('rate_limit');
    const o = classifyOutcome(s, exit1);
    expect(o.kind).toBe('rate_limited');
    expect(o.resetsAt).toEqual(new Date(1900000000 * 1000));
  });

  it('429 with an API key → api_retry events, no reset time', () => {
    const s = load('real-rate-limit-apikey-retries.jsonl');
    expect(s.apiRetries).toBe(2);
    expect(s.rateLimit).toBeUndefined();
    const o = classifyOutcome(s, exit1);
    expect(o.kind).toBe('rate_limited');
    expect(o.resetsAt).toBeUndefined();
  });

  it.each([
    ['real-overloaded-529.jsonl', 'overloaded', 529],
    ['real-auth-401.jsonl', 'auth_failed', 401],
    ['real-billing.jsonl', 'billing', 400],
    ['real-server-500.jsonl', 'server_error', 500],
    ['real-not-logged-in.jsonl', 'auth_failed', undefined],
  ])('%s → %s', (file, kind, status) => {
    const s = load(file);
    expect(s.isError).toBe(true);
    expect(s.subtype).toBe('success');
    expect(s.apiErrorStatus).toBe(status);
    expect(s.usage.inputTokens).toBe(0);
    expect(s.model).not.toBe('<synthetic>');
    expect(classifyOutcome(s, exit1).kind).toBe(kind);
  });

  it('max turns', () => {
    const s = load('real-max-turns.jsonl');
    expect(s.subtype).toBe('error_max_turns');
    expect(classifyOutcome(s, exit1).kind).toBe('max_turns');
  });

  it('structured output from --json-schema', () => {
    const s = load('real-structured-output.jsonl');
    expect(s.structuredOutput).toEqual({ ok: true, summary: 'all good' });
    expect(classifyOutcome(s, exit0).kind).toBe('success');
  });
});

describe('accumulate + classify on fake CLI transcripts', () => {
  it('fake success matches the real shapes', () => {
    const s = load('fake-write-success.jsonl');
    expect(s.usage.inputTokens).toBe(300);
    expect(s.resultText).toBe('All done.');
    expect(classifyOutcome(s, exit0).kind).toBe('success');
  });
  it('fake rate limit carries resetsAt', () => {
    const s = load('fake-rate-limit.jsonl');
    const o = classifyOutcome(s, exit1);
    expect(o.kind).toBe('rate_limited');
    expect(o.resetsAt).toBeInstanceOf(Date);
  });
  it('fake structured output', () => {
    expect(load('fake-structured-output.jsonl').structuredOutput).toEqual({ ok: true });
  });
});

describe('summing and classification edge cases', () => {
  it('sums assistant usage per message id when no result arrived, and reports crashed', () => {
    const u = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 };
    const s = summarize([
      { type: 'system', subtype: 'init', session_id: 's1', model: 'm' } as never,
      { type: 'assistant', message: { id: 'a', usage: u, content: [] } } as never,
      { type: 'assistant', message: { id: 'a', usage: u, content: [] } } as never,
      { type: 'assistant', message: { id: 'b', usage: u, content: [] } } as never,
      { type: 'system', subtype: 'api_retry', attempt: 1 } as never,
    ]);
    expect(s.usage).toEqual({ inputTokens: 20, outputTokens: 10, cacheReadTokens: 6, cacheWriteTokens: 4 });
    expect(s.apiRetries).toBe(1);
    expect(s.hasResult).toBe(false);
    expect(classifyOutcome(s, { exitCode: undefined, signal: 'SIGSEGV' }).kind).toBe('crashed');
    expect(classifyOutcome(s, { exitCode: undefined, signal: 'SIGTERM', timedOut: true }).kind).toBe('timeout');
    expect(classifyOutcome(s, { exitCode: undefined, signal: 'SIGTERM', cancelled: true }).kind).toBe('cancelled');
  });

  it('max budget, overloaded by error field, generic error', () => {
    const base = { type: 'result', is_error: true, num_turns: 1, total_cost_usd: 1, usage: {} };
    expect(classifyOutcome(summarize([{ ...base, subtype: 'error_max_budget_usd' } as never]), exit1).kind).toBe(
      'max_budget',
    );
    expect(
      classifyOutcome(
        summarize([
          { type: 'assistant', error: 'overloaded', message: { model: '<synthetic>', content: [] } } as never,
          { ...base, subtype: 'success', result: 'x' } as never,
        ]),
        exit1,
      ).kind,
    ).toBe('overloaded');
    expect(
      classifyOutcome(summarize([{ ...base, subtype: 'error_during_execution', errors: ['boom'] } as never]), exit1),
    ).toEqual({
      kind: 'error',
      message: 'boom',
    });
  });
});
