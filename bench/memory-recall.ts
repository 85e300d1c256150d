/**
 * Memory recall: of N memories in a project (5 planted as relevant to one
 * task, the rest distractors, test/support/memory-corpus.ts), how many planted
 * ones reach the Reason context within its budget, where they rank, and how
 * long recall takes — by full text, and by full text + vectors.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/memory-recall.ts [N=1000] [queries=50]
 *
 * Full text runs on DATABASE_URL's server (a database made and dropped) and on
 * PGlite; vectors on PGlite with pgvector (the machine's PostgreSQL may lack
 * it) and the local hashed-bag-of-words embeddings endpoint of the tests. Latency
 * is the whole recall: query lexemes, the embedding request (local), the
 * candidate query, scoring.
 */
import type pg from 'pg';
import { createEmbedder, type Embedder } from '../src/embeddings/client.js';
import { createLogger } from '../src/log/logger.js';
import { recallForTask } from '../src/runner/memories.js';
import { hashedEmbedding, startEmbeddingsServer } from '../test/support/embeddings-server.js';
import { corpus, PLANTED, plantedIn, reasonContext, seedMemories, TASK } from '../test/support/memory-corpus.js';
import { startVectorDatabase } from '../test/support/pglite.js';
import { fmt, freshDatabase, pct } from './support.js';

const N = Number(process.argv[2] ?? 1000);
const QUERIES = Number(process.argv[3] ?? 50);
const log = createLogger({ level: 'silent' });
const MODEL = 'bench-hash-1536';
const memories = corpus(N);

async function measure(label: string, pool: pg.Pool, embedder: Embedder | null, withVectors: boolean) {
  const p = await pool.query(
    `insert into projects (name, git_url, status) values ($1, 'file:///' || $1, 'running') returning id`,
    [`bench-${label.replace(/\W+/g, '-')}`],
  );
  const projectId: string = p.rows[0].id;
  await seedMemories(
    pool,
    projectId,
    memories,
    withVectors ? { model: MODEL, vectors: memories.map((m) => hashedEmbedding(m.content)) } : undefined,
  );
  const times: number[] = [];
  let last = await recallForTask({ pool, log, embedder }, { ...TASK, projectId, taskId: crypto.randomUUID() });
  for (let i = 0; i < QUERIES; i++) {
    const t = performance.now();
    last = await recallForTask({ pool, log, embedder }, { ...TASK, projectId, taskId: crypto.randomUUID() });
    times.push(performance.now() - t);
  }
  const context = reasonContext(last);
  const section = context.sections.find((s) => s.name === 'memories');
  const ranks = PLANTED.map((c) => last.memories.findIndex((m) => m.content === c) + 1);
  console.log(
    `${label.padEnd(28)} mode=${last.mode.padEnd(8)} recall@budget=${plantedIn(context.prompt)}/5 ` +
      `(${section?.included?.length ?? 0} memories, ${section?.tokens ?? 0}/${context.budget * 0.1} tokens) ` +
      `planted ranks=${ranks.map((r) => r || '-').join(',')} ` +
      `latency p50=${fmt(pct(times, 50))} p95=${fmt(pct(times, 95))}` +
      (last.fallback ? ` (fallback: ${last.fallback})` : ''),
  );
}

console.log(`${N} memories, 5 planted; ${QUERIES} recalls each`);
if (process.env.DATABASE_URL) {
  const db = await freshDatabase(4);
  try {
    await measure('full text, PostgreSQL', db.pool, null, false);
  } finally {
    await db.drop();
  }
} else console.log('full text, PostgreSQL: skipped (set DATABASE_URL)');

const server = await startEmbeddingsServer();
const vdb = await startVectorDatabase();
try {
  await measure('full text, PGlite', vdb.pool, null, false);
  const embedder = createEmbedder({ url: server.url, model: MODEL, apiKey: null, timeoutMs: 5000 });
  await measure('hybrid (vector), PGlite', vdb.pool, embedder, true);
} finally {
  await vdb.stop();
  await server.close();
}
