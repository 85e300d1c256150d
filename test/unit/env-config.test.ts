import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadEnvConfig } from '../../src/config/env.js';
import { isSamgitaError } from '../../src/errors.js';
import { createLogger, redactUrl } from '../../src/log/logger.js';

describe('environment configuration', () => {
  it('has a default for everything', () => {
    const c = loadEnvConfig({ HOME: '/home/u' });
    expect(c).toMatchObject({ databaseUrl: null, claudeBin: 'claude', port: 4000, logLevel: 'info' });
    expect(c.samgitaHome).toMatch(/\.samgita$/);
  });

  it('names the variable and the fix for a bad value', () => {
    const err = (() => {
      try {
        loadEnvConfig({ PORT: 'eighty' });
      } catch (e) {
        return e;
      }
    })();
    expect(isSamgitaError(err, 'CONFIG_ENV_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/PORT/);
    expect((err as { hint: string }).hint).toMatch(/PORT=4000/);
  });

  it('never echoes a bad DATABASE_URL, which may hold a password', () => {
    try {
      loadEnvConfig({ DATABASE_URL: 'mysql://u:hunter2@h/db' });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/DATABASE_URL must start with postgres/);
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('rejects an unknown log level with the allowed ones', () => {
    expect(() => loadEnvConfig({ LOG_LEVEL: 'loud' } as unknown as NodeJS.ProcessEnv)).toThrow(/LOG_LEVEL/);
  });
});

describe('logs', () => {
  it('redact secrets wherever they appear', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink as never });
    log.info(
      { token: 'ghs_abc', headers: { authorization: 'Bearer sg_x' }, env: { ANTHROPIC_API_KEY: 'sk-ant-1' }, ok: 1 },
      'hello',
    );
    const out = lines.join('');
    expect(out).toContain('"ok":1');
    for (const secret of ['ghs_abc', 'sg_x', 'sk-ant-1']) expect(out).not.toContain(secret);
  });

  it('strip passwords from connection strings', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x')).toBe('postgres://app:***@db:5432/x');
  });
});
