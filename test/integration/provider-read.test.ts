/**
 * The provider state read (src/store/runners.ts readProviderState): readers on
 * one pool share the read in flight, and never one that began before this
 * process wrote the record.
 */
import { randomUUID } from 'node:crypto';
import type { QueryConfig } from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Queryable } from '../../src/store/connection.js';
import { readProviderState, releaseProbe } from '../../src/store/runners.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

it('concurrent reads share one statement; a read after a write of the record is a new one', async () => {
  const sent: string[] = [];
  let hold: (() => void) | null = null;
  const held = new Promise<void>((r) => {
    hold = r;
  });
  // A pool whose first read is answered only when the test says: it stays in flight.
  const pool: Queryable = {
    query: (async (q: QueryConfig) => {
      const text = q.text;
      sent.push(text.includes('provider_pauses p on') ? 'read' : 'write');
      if (sent.length === 1) await held;
      return db.pool.query(q);
    }) as unknown as Queryable['query'],
  };
  const reads = Array.from({ length: 20 }, () => readProviderState(pool));
  expect(sent).toEqual(['read']);
  await releaseProbe(pool, randomUUID()); // a write of the record, done while the read is in flight
  const after = readProviderState(pool);
  expect(sent).toEqual(['read', 'write', 'read']);
  hold!();
  const answers = await Promise.all([...reads, after]);
  expect(new Set(answers.slice(0, 20)).size).toBe(1);
  expect(answers[20]).not.toBe(answers[0]);
  expect(answers[20]!.state).toBeNull();
  // Nothing in flight any more: the next read is its own.
  await readProviderState(pool);
  expect(sent).toEqual(['read', 'write', 'read', 'read']);
});
