import { describe, expect, it } from 'vitest';
import { buildClaudeEnv, describeEnv } from '../../src/claude/env.js';

describe('buildClaudeEnv', () => {
  it('keeps only the allow-list from the base, then applies overrides', () => {
    const env = buildClaudeEnv(
      { ANTHROPIC_BASE_URL: 'http://x', HOME: '/h', TERM: undefined },
      {
        PATH: '/bin',
        HOME: '/root',
        TERM: 'xterm',
        DATABASE_URL: 'postgres://u:p@h/db',
        GITHUB_TOKEN: 'ghp',
        LC_ALL: 'C',
        ANTHROPIC_API_KEY: 'k',
      },
    );
    expect(env).toEqual({
      PATH: '/bin',
      HOME: '/h',
      LC_ALL: 'C',
      ANTHROPIC_API_KEY: 'k',
      ANTHROPIC_BASE_URL: 'http://x',
    });
  });
  it('redacts secret values for logs', () => {
    expect(describeEnv({ ANTHROPIC_API_KEY: 'k', CLAUDE_CODE_OAUTH_TOKEN: 't', PATH: '/bin' })).toEqual({
      ANTHROPIC_API_KEY: '[redacted]',
      CLAUDE_CODE_OAUTH_TOKEN: '[redacted]',
      PATH: '/bin',
    });
  });
});
