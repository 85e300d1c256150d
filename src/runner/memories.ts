/**
 * Project memory as the runner uses it: recall for a task's Reason step and
 * storing what Reflect learned, with embeddings when an endpoint is configured
 * and the database has pgvector. The embeddings endpoint never fails a task:
 * without it recall is full-text, and why is returned for the step's record.
 */
import type pg from 'pg';
import { createEmbedder, type Embedder, embeddingsConfigFromEnv } from '../embeddings/client.js';
import type { Logger } from '../log/logger.js';
import type { NewMemory } from '../memory/extract.js';
import {
  type RetrievalMode,
  retrievalMode,
  type ScoredMemory,
  scoreMemories,
  type TaskForQuery,
  taskQueryText,
} from '../memory/relevance.js';
import {
  enableVectors,
  memoriesToEmbed,
  memoryCandidates,
  queryLexemes,
  type Remembered,
  rememberMemory,
  setEmbeddings,
  vectorSupport,
} from '../store/memories.js';

export interface MemoryContext {
  pool: pg.Pool;
  log: Logger;
  /** The embeddings endpoint; undefined: from SAMGITA_EMBEDDINGS_* (null: none). */
  embedder?: Embedder | null | undefined;
  /** Runs a wait on the embeddings endpoint outside the runner's gate (see outsideGate). */
  outside?: <T>(fn: () => Promise<T>) => Promise<T>;
}

function awayFromGate<T>(ctx: MemoryContext, fn: () => Promise<T>): Promise<T> {
  return ctx.outside ? ctx.outside(fn) : fn();
}

let fromEnv: Embedder | null | undefined;

function embedderOf(ctx: MemoryContext): Embedder | null {
  if (ctx.embedder !== undefined) return ctx.embedder;
  if (fromEnv === undefined) {
    try {
      const config = embeddingsConfigFromEnv();
      fromEnv = config && createEmbedder(config);
    } catch (err) {
      ctx.log.warn({ err: (err as Error).message }, 'embeddings disabled');
      fromEnv = null;
    }
  }
  return fromEnv;
}

const enabling = new WeakMap<pg.Pool, Promise<string | null>>();

/** Whether vectors can be used here, else why not (asked once per pool; pgvector may be installed after the migration). */
async function vectorsUnavailable(pool: pg.Pool): Promise<string | null> {
  if ((await vectorSupport(pool)).available) return null;
  let tried = enabling.get(pool);
  if (!tried) {
    tried = enableVectors(pool).then((r) => (r.ok ? null : r.reason));
    enabling.set(pool, tried);
  }
  return tried;
}

export interface Recall {
  mode: RetrievalMode;
  /** Why vectors (or full text) were not used; null when the best mode was. */
  fallback: string | null;
  /** Query lexemes the task yielded. */
  lexemes: number;
  /** Every candidate, best first. */
  memories: ScoredMemory[];
  ms: number;
}

/** The project's memories for a task, best first (src/memory/relevance.ts says how they are scored). */
export async function recallForTask(
  ctx: MemoryContext,
  task: TaskForQuery & { projectId: string; taskId: string },
  signal?: AbortSignal,
): Promise<Recall> {
  const started = performance.now();
  const text = taskQueryText(task);
  const lexemes = await queryLexemes(ctx.pool, text);
  const embedder = embedderOf(ctx);
  let fallback: string | null = embedder ? null : 'no embeddings endpoint configured';
  let vector: { values: number[]; model: string } | null = null;
  if (embedder) {
    fallback = await vectorsUnavailable(ctx.pool);
    if (!fallback) {
      const e = await awayFromGate(ctx, () => embedder.embed([text], signal));
      if (e.ok) vector = { values: e.vectors[0]!, model: embedder.model };
      else fallback = e.reason;
    }
    if (fallback) ctx.log.warn({ reason: fallback }, 'memory recall without vectors');
  }
  const mode = retrievalMode(lexemes.length, vector !== null);
  if (mode === 'importance') fallback = 'the task has no searchable words';
  const candidates = await memoryCandidates(ctx.pool, {
    projectId: task.projectId,
    taskId: task.taskId,
    lexemes,
    vector,
  });
  const memories = scoreMemories(candidates, mode, new Date());
  return { mode, fallback, lexemes: lexemes.length, memories, ms: Math.round(performance.now() - started) };
}

// Memories stored while the endpoint was down get their embedding with a later one, a few at a time.
const BACKFILL = 16;

export interface Stored {
  type: NewMemory['type'];
  content: string;
  action: Remembered['action'];
}

/** Stores what a task learned; `embedding` says whether vectors were made, and why not. */
export async function rememberAll(
  ctx: MemoryContext,
  owner: { projectId: string; taskId: string | null },
  memories: readonly NewMemory[],
  signal?: AbortSignal,
): Promise<{ stored: Stored[]; embedding: string }> {
  const embedder = embedderOf(ctx);
  let embedding = 'off: no embeddings endpoint configured';
  let vectors: number[][] | null = null;
  let backfill: { id: string; content: string }[] = [];
  if (embedder) {
    const unavailable = await vectorsUnavailable(ctx.pool);
    if (unavailable) embedding = `off: ${unavailable}`;
    else {
      backfill = await memoriesToEmbed(ctx.pool, owner.projectId, embedder.model, BACKFILL);
      const inputs = [...memories.map((m) => m.content), ...backfill.map((b) => b.content)];
      const e = await awayFromGate(ctx, () => embedder.embed(inputs, signal));
      if (e.ok) {
        vectors = e.vectors;
        embedding = `ok: ${embedder.model}`;
      } else {
        embedding = `failed: ${e.reason}`;
        ctx.log.warn({ reason: e.reason }, 'memories stored without embeddings');
      }
    }
  }
  const stored: Stored[] = [];
  for (const [i, m] of memories.entries()) {
    const values = vectors?.[i];
    const r = await rememberMemory(ctx.pool, {
      ...owner,
      ...m,
      embedding: values && embedder ? { values, model: embedder.model } : null,
    });
    stored.push({ type: m.type, content: m.content, action: r.action });
  }
  if (vectors && embedder && backfill.length) {
    const offset = memories.length;
    await setEmbeddings(
      ctx.pool,
      embedder.model,
      backfill.map((b, i) => ({ id: b.id, values: vectors[offset + i]! })),
    );
  }
  return { stored, embedding };
}
