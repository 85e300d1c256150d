import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { untilDatabaseAnswers } from '../../src/runner/until-database.js';

const log = createLogger({ level: 'silent' });

describe('untilDatabaseAnswers', () => {
  test('retries through what a PostgreSQL restart throws, then returns the answer', async () => {
    const errors = [
      new Error('terminating connection due to administrator command'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      new Error('the database system is starting up'),
    ];
    let calls = 0;
    const answer = await untilDatabaseAnswers(
      'settle',
      async () => {
        calls++;
        const e = errors.shift();
        if (e) throw e;
        return 'settled';
      },
      { log },
    );
    expect(answer).toBe('settled');
    expect(calls).toBe(4);
  });

  test('any other error is thrown at once', async () => {
    let calls = 0;
    await expect(
      untilDatabaseAnswers(
        'settle',
        async () => {
          calls++;
          throw new Error('duplicate key value violates unique constraint');
        },
        { log },
      ),
    ).rejects.toThrow(/duplicate key/);
    expect(calls).toBe(1);
  });

  test('gives up after maxMs of outage', async () => {
    await expect(
      untilDatabaseAnswers(
        'settle',
        async () => {
          throw new Error('Connection terminated unexpectedly');
        },
        { log, maxMs: 0 },
      ),
    ).rejects.toThrow(/Connection terminated/);
  });
});
