/**
 * Memory recall by relevance (issue 17): of 1,000 memories, the 5 planted as
 * relevant to a task reach its Reason context (src/runner/context.ts, default
 * budget) — by full text on the test database, and by full text + vectors on
 * PGlite with pgvector and a local embeddings endpoint. Also: fallbacks when
 * the endpoint fails or the task has no words, deduplication, accessed_at.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEmbedder, type Embedder } from '../../src/embeddings/client.js';
import { createLogger } from '../../src/log/logger.js';
import { type Recall, recallForTask, rememberAll } from '../../src/runner/memories.js';
import { memoryRecord } from '../../src/runner/steps/reason.js';
import { rememberMemory, touchMemories, vectorSupport } from '../../src/store/memories.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type EmbeddingsServer, hashedEmbedding, startEmbeddingsServer } from '../support/embeddings-server.js';
import { corpus, PLANTED, plantedIn, reasonContext, seedMemories, TASK } from '../support/memory-corpus.js';
import { startVectorDatabase, type VectorDatabase } from '../support/pglite.js';

const log = createLogger({ level: 'silent' });
const MODEL = 'test-hash-1536';

async function newProject(pool: pg.Pool, name: string): Promise<string> {
  const r = await pool.query(
    `insert into projects (name, git_url, status) values ($1, 'file:///' || $1, 'running') returning id`,
    [name],
  );
  return r.rows[0].id;
}

/** Planted memories among the first `n` recalled. */
function top(recall: Recall, n: number): number {
  return recall.memories.slice(0, n).filter((m) => (PLANTED as readonly string[]).includes(m.content)).length;
}

function recallOf(pool: pg.Pool, projectId: string, embedder: Embedder | null, task = TASK) {
  return recallForTask({ pool, log, embedder }, { ...task, projectId, taskId: randomUUID() });
}

let db: TestDatabase;
let server: EmbeddingsServer;
beforeAll(async () => {
  db = await createTestDatabase();
  server = await startEmbeddingsServer();
});
afterAll(async () => {
  await db.drop();
  await server.close();
});

describe('full-text recall (the test database)', () => {
  let projectId: string;
  beforeAll(async () => {
    projectId = await newProject(db.pool, 'fulltext');
    await seedMemories(db.pool, projectId, corpus(1000));
  });

  it('puts at least 4 of the 5 planted memories among 1,000 into the Reason context', async () => {
    const recall = await recallOf(db.pool, projectId, null);
    const context = reasonContext(recall);
    const found = plantedIn(context.prompt);
    const section = context.sections.find((s) => s.name === 'memories');
    console.log(
      `full-text recall@budget: ${found}/5 planted in ${section?.included?.length} memories (${section?.tokens} tokens), recall@10 ${top(recall, 10)}/5, ${recall.ms} ms`,
    );
    expect(recall.mode).toBe('fulltext');
    expect(recall.fallback).toBe('no embeddings endpoint configured');
    expect(found).toBeGreaterThanOrEqual(4);
    // Not only somewhere in the ~40 that fit: near the top.
    expect(top(recall, 10)).toBeGreaterThanOrEqual(4);
    expect(context.tokens).toBeLessThanOrEqual(context.budget);
    // The record says why each went in.
    const record = memoryRecord(recall, section?.included ?? []);
    const first = record.included.find((m) =>
      PLANTED.some((p) => recall.memories.find((r) => r.id === m.id)?.content === p),
    );
    expect(first?.matched.length).toBeGreaterThan(0);
    expect(first?.text).toBeGreaterThan(0);
  });

  it('falls back to importance and recency when the task has no searchable words', async () => {
    const recall = await recallOf(db.pool, projectId, null, {
      ...TASK,
      title: '—',
      description: 'the of and',
      acceptanceCriteria: [],
      areas: [],
      requirement: null,
    });
    expect(recall.mode).toBe('importance');
    expect(recall.memories.length).toBe(10);
    expect(recall.fallback).toBe('the task has no searchable words');
    // The ten most important, ordered by 0.6 · importance + 0.4 · recency.
    for (const m of recall.memories) {
      expect(m.parts.text).toBe(0);
      expect(m.score).toBeCloseTo(0.6 * m.parts.importance + 0.4 * m.parts.recency, 2);
    }
    const scores = recall.memories.map((m) => m.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
  });

  it('takes any task text: quotes, backslashes and operators are words, not query syntax', async () => {
    const recall = await recallOf(db.pool, projectId, null, {
      ...TASK,
      title: `it's a "quoted" C:\\Users\\o'neil path & (webhook | !deliveries) <-> 'x'' \\'`,
    });
    expect(recall.mode).toBe('fulltext');
    expect(recall.memories.length).toBeGreaterThan(0);
  });

  it('falls back to full text when vectors cannot be used, and says why', async () => {
    const embedder = createEmbedder({ url: server.url, model: MODEL, apiKey: 'sk-never-shown', timeoutMs: 2000 });
    const recall = await recallOf(db.pool, projectId, embedder);
    const support = await vectorSupport(db.pool);
    if (!support.available) {
      expect(recall.mode).toBe('fulltext');
      expect(recall.fallback).toMatch(/pgvector unavailable/);
    }
    expect(plantedIn(reasonContext(recall).prompt)).toBeGreaterThanOrEqual(4);
  });

  it('stores a lesson once: the same or nearly the same text reinforces it', async () => {
    const p = await newProject(db.pool, 'dedup');
    const a = await rememberMemory(db.pool, {
      projectId: p,
      taskId: null,
      type: 'procedural',
      content: 'Run `npm run build:web` before the page tests: they serve web/dist.',
      importance: 0.6,
    });
    const same = await rememberMemory(db.pool, {
      projectId: p,
      taskId: null,
      type: 'procedural',
      content: 'run `npm run build:web` before the page tests -- they serve web/dist',
      importance: 0.6,
    });
    const near = await rememberMemory(db.pool, {
      projectId: p,
      taskId: null,
      type: 'procedural',
      content: 'Run `npm run build:web` before the page tests: they serve web/dist (T-9).',
      importance: 0.6,
    });
    const other = await rememberMemory(db.pool, {
      projectId: p,
      taskId: null,
      type: 'semantic',
      content: 'The page tests use playwright-core with the machine chromium.',
      importance: 0.6,
    });
    expect(a.action).toBe('inserted');
    expect(same).toEqual({ id: a.id, action: 'reinforced' });
    expect(near).toEqual({ id: a.id, action: 'reinforced' });
    expect(other.action).toBe('inserted');
    const { rows } = await db.pool.query(
      'select importance, reinforced, accessed_at from memories where project_id = $1 order by inserted_at',
      [p],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0].reinforced).toBe(2);
    expect(rows[0].importance).toBeCloseTo(0.7);
    expect(rows[0].accessed_at).not.toBeNull();
  });

  it('records when recalled memories were used', async () => {
    const recall = await recallOf(db.pool, projectId, null);
    const ids = recall.memories.slice(0, 3).map((m) => m.id);
    await touchMemories(db.pool, ids);
    const { rows } = await db.pool.query(
      `select count(*)::int as n from memories where id = any($1::uuid[]) and accessed_at > now() - interval '1 minute'`,
      [ids],
    );
    expect(rows[0].n).toBe(3);
  });
});

describe('hybrid recall: vectors + full text (PGlite with pgvector)', () => {
  let vdb: VectorDatabase;
  let projectId: string;
  let embedder: Embedder;
  beforeAll(async () => {
    vdb = await startVectorDatabase();
    embedder = createEmbedder({ url: server.url, model: MODEL, apiKey: 'sk-never-shown', timeoutMs: 2000 });
    projectId = await newProject(vdb.pool, 'vectors');
    const memories = corpus(1000);
    await seedMemories(vdb.pool, projectId, memories, {
      model: MODEL,
      vectors: memories.map((m) => hashedEmbedding(m.content)),
    });
  }, 120_000);
  afterAll(async () => {
    await vdb?.stop();
  });

  it('has the embedding column and its HNSW index', async () => {
    expect((await vectorSupport(vdb.pool)).available).toBe(true);
    const { rows } = await vdb.pool.query(`select indexdef from pg_indexes where indexname = 'memories_embedding_idx'`);
    expect(rows[0].indexdef).toMatch(/hnsw .*vector_cosine_ops/);
  });

  it('puts at least 4 of the 5 planted memories among 1,000 into the Reason context', async () => {
    server.mode = 'ok';
    const recall = await recallOf(vdb.pool, projectId, embedder);
    const context = reasonContext(recall);
    const found = plantedIn(context.prompt);
    const section = context.sections.find((s) => s.name === 'memories');
    console.log(
      `hybrid recall@budget: ${found}/5 planted in ${section?.included?.length} memories (${section?.tokens} tokens), recall@10 ${top(recall, 10)}/5, ${recall.ms} ms`,
    );
    expect(recall.mode).toBe('hybrid');
    expect(recall.fallback).toBeNull();
    expect(found).toBeGreaterThanOrEqual(4);
    expect(top(recall, 10)).toBeGreaterThanOrEqual(4);
    const planted = recall.memories.filter((m) => (PLANTED as readonly string[]).includes(m.content));
    for (const m of planted) expect(m.similarity).toBeGreaterThan(0);
    expect(server.requests.at(-1)?.authorization).toBe('Bearer sk-never-shown');
  });

  it('falls back to full text when the endpoint fails or hangs, and records why without the key', async () => {
    server.mode = 'error';
    const failed = await recallOf(vdb.pool, projectId, embedder);
    expect(failed.mode).toBe('fulltext');
    expect(failed.fallback).toBe('embeddings endpoint answered 503');
    expect(plantedIn(reasonContext(failed).prompt)).toBeGreaterThanOrEqual(4);

    server.mode = 'hang';
    const slow = createEmbedder({ url: server.url, model: MODEL, apiKey: 'sk-never-shown', timeoutMs: 300 });
    const hung = await recallOf(vdb.pool, projectId, slow);
    expect(hung.mode).toBe('fulltext');
    expect(hung.fallback).toBe('embeddings endpoint timed out after 300 ms');
    expect(JSON.stringify(memoryRecord(hung, []))).not.toContain('sk-never-shown');
    server.mode = 'ok';
  });

  it('stores new memories with embeddings, and embeds ones stored while the endpoint was down', async () => {
    const p = await newProject(vdb.pool, 'remember');
    server.mode = 'error';
    const down = await rememberAll({ pool: vdb.pool, log, embedder }, { projectId: p, taskId: null }, [
      { type: 'semantic', content: 'Webhook targets are checked against SAMGITA_WEBHOOK_ALLOW.', importance: 0.5 },
    ]);
    expect(down.embedding).toBe('failed: embeddings endpoint answered 503');
    server.mode = 'ok';
    const up = await rememberAll({ pool: vdb.pool, log, embedder }, { projectId: p, taskId: null }, [
      { type: 'procedural', content: 'Run `npm run build:web` before the page tests.', importance: 0.6 },
    ]);
    expect(up.embedding).toBe(`ok: ${MODEL}`);
    const { rows } = await vdb.pool.query(
      'select count(*)::int as n from memories where project_id = $1 and embedding is not null and embedding_model = $2',
      [p, MODEL],
    );
    expect(rows[0].n).toBe(2);
  });
});
