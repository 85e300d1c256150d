/**
 * The Reason and Reflect steps with project memory, on the test database:
 * Reason recalls by relevance and records which memories went in and why;
 * Reflect stores episodic, semantic and procedural memories, once.
 */
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SamgitaConfig } from '../../src/config/samgita-yaml/schema.js';
import { createLogger } from '../../src/log/logger.js';
import type { AgentLogWriter } from '../../src/runner/log-writer.js';
import { reason } from '../../src/runner/steps/reason.js';
import { reflect } from '../../src/runner/steps/reflect.js';
import type { Attempt, RarvState, TaskRunContext, Workspace } from '../../src/runner/task-run.js';
import { loadTask } from '../../src/store/task-attempts.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { corpus, PLANTED, seedMemories, TASK } from '../support/memory-corpus.js';

const log = createLogger({ level: 'silent' });
let db: TestDatabase;
let projectId: string;
let attempt: Attempt;
const ws: Workspace = {
  path: os.tmpdir(),
  branch: 'samgita/throttle',
  base: 'main',
  baseSha: 'HEAD',
  integrationBranch: 'main',
  verifyCommands: [],
};

beforeAll(async () => {
  db = await createTestDatabase();
  const p = await db.pool.query(
    `insert into projects (name, git_url, status, phase) values ('mem', 'file:///mem', 'running', 'development') returning id`,
  );
  projectId = p.rows[0].id;
  const t = await db.pool.query(
    `insert into tasks (project_id, key, title, description, phase, agent_type, status, payload)
     values ($1, $2, $3, $4, 'development', 'backend', 'running', $5) returning id`,
    [
      projectId,
      TASK.key,
      TASK.title,
      TASK.description,
      JSON.stringify({ acceptanceCriteria: TASK.acceptanceCriteria, areas: TASK.areas }),
    ],
  );
  const run = await db.pool.query(
    `insert into agent_runs (project_id, current_task_id, agent_type, node) values ($1, $2, 'backend', 'test') returning id`,
    [projectId, t.rows[0].id],
  );
  await seedMemories(db.pool, projectId, corpus(1000));
  const task = await loadTask(db.pool, t.rows[0].id);
  attempt = {
    ctx: { pool: db.pool, log, embedder: null } as unknown as TaskRunContext,
    task: task!,
    config: {} as SamgitaConfig,
    agentRunId: run.rows[0].id,
    actor: { type: 'runner', id: 'test' },
    logs: {} as AgentLogWriter,
    signal: new AbortController().signal,
    log,
  };
});
afterAll(async () => {
  await db.drop();
});

const state = (over: Partial<RarvState> = {}): RarvState => ({
  loop: 0,
  checkpoint: {},
  prompt: '',
  agentSummary: null,
  fresh: true,
  ...over,
});

interface Included {
  id: string;
  score: number;
  text: number;
  importance: number;
  recency: number;
  matched: string[];
}

describe('Reason with project memory', () => {
  it('puts the relevant memories into the prompt and records which, with why', async () => {
    const s = state();
    await reason(attempt, ws, s);
    const found = PLANTED.filter((p) => s.prompt.includes(p)).length;
    expect(found).toBeGreaterThanOrEqual(4);
    const { rows } = await db.pool.query(
      `select input from rarv_steps where task_id = $1 and step = 'reason' order by id desc limit 1`,
      [attempt.task.id],
    );
    const record = rows[0].input.memories as {
      mode: string;
      fallback: string;
      considered: number;
      included: Included[];
    };
    expect(record.mode).toBe('fulltext');
    expect(record.fallback).toMatch(/no embeddings endpoint|pgvector/);
    expect(record.considered).toBeGreaterThan(record.included.length);
    const planted = await db.pool.query('select id from memories where project_id = $1 and content = any($2)', [
      projectId,
      [...PLANTED],
    ]);
    const plantedIds = new Set(planted.rows.map((r) => r.id));
    const recorded = record.included.filter((m) => plantedIds.has(m.id));
    expect(recorded.length).toBe(found);
    for (const m of recorded) {
      expect(m.matched.length).toBeGreaterThan(0);
      expect(m.score).toBeCloseTo(0.65 * m.text + 0.2 * m.importance + 0.15 * m.recency, 2);
    }
    // The memories that went in were accessed now; the others not.
    const touched = await db.pool.query(
      'select count(*)::int as n from memories where project_id = $1 and accessed_at is not null',
      [projectId],
    );
    expect(touched.rows[0].n).toBe(record.included.length);
  });
});

describe('Reflect', () => {
  const summary = [
    'Deliveries to one target are now throttled.',
    '- src/outgoing-webhooks/deliver.ts uses a token bucket per target host.',
    '- Ran `npm test` and all tests pass.',
  ].join('\n');

  it('stores the summary, the facts and the commands; learned again, they are reinforced', async () => {
    await reflect(attempt, state({ agentSummary: summary }));
    const { rows } = await db.pool.query(
      `select type, content, importance, reinforced from memories where task_id = $1 order by type`,
      [attempt.task.id],
    );
    expect(rows.map((r) => r.type)).toEqual(['episodic', 'procedural', 'semantic']);
    expect(rows[1].content).toBe('Ran `npm test` and all tests pass.');
    expect(rows[2].content).toBe('src/outgoing-webhooks/deliver.ts uses a token bucket per target host.');

    await reflect(attempt, state({ agentSummary: summary }));
    const again = await db.pool.query(
      `select type, reinforced, importance from memories where task_id = $1 order by type`,
      [attempt.task.id],
    );
    expect(again.rows.map((r) => [r.type, r.reinforced])).toEqual([
      ['episodic', 1],
      ['procedural', 1],
      ['semantic', 1],
    ]);
    const step = await db.pool.query(
      `select output from rarv_steps where task_id = $1 and step = 'reflect' order by id desc limit 1`,
      [attempt.task.id],
    );
    expect(step.rows[0].output.memories.map((m: { action: string }) => m.action)).toEqual([
      'reinforced',
      'reinforced',
      'reinforced',
    ]);
    expect(step.rows[0].output.embedding).toBe('off: no embeddings endpoint configured');
  });

  it('keeps known secrets out of memories', async () => {
    process.env.SAMGITA_TEST_API_TOKEN = 'tok-0123456789abcdef';
    try {
      await reflect(
        attempt,
        state({ agentSummary: 'The deploy script in scripts/deploy.sh uses tok-0123456789abcdef to log in.' }),
      );
    } finally {
      delete process.env.SAMGITA_TEST_API_TOKEN;
    }
    const { rows } = await db.pool.query(`select content from memories where content like '%deploy%'`);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.content).not.toContain('tok-0123456789abcdef');
      expect(r.content).toContain('[redacted:SAMGITA_TEST_API_TOKEN]');
    }
  });
});
