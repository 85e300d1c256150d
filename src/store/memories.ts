/**
 * The memories record: what agents learned, read back into later tasks' Reason
 * step. This module owns its reads and writes: candidate retrieval for a task
 * (full text, and vectors where the `embedding` column exists), recording use
 * (accessed_at), and storing a lesson once however often it is learned.
 * Which candidates win is decided elsewhere (src/memory/relevance.ts).
 */
import type pg from 'pg';
import { z } from 'zod';
import { duplicateOf } from '../memory/extract.js';
import type { MemoryCandidate } from '../memory/relevance.js';
import { atomically, exec, one, type Queryable, rows, type Sql, sql } from './connection.js';

const LexemesRow = z.object({ lexemes: z.array(z.string()) });
const AvailableVersionRow = z.object({ available: z.boolean(), version: z.string().nullable() });
const IdContentRow = z.object({ id: z.string(), content: z.string() });
const IdInsertedRow = z.object({ id: z.string(), inserted: z.boolean() });

export type MemoryType = 'episodic' | 'semantic' | 'procedural';

/**
 * Paths and dotted names split into words, as the generated `search` column
 * does (migrations/0900_memory_relevance.sql): a query must be parsed alike.
 */
const splitWords = (text: Sql) => sql`to_tsvector('english', regexp_replace(${text}, '[/._:]+', ' ', 'g'))`;

/**
 * OR of the given lexemes as tsquery input, each quoted so it is taken
 * literally (not parsed or stemmed again); quotes and backslashes doubled as
 * tsquery input wants them. Passed as one parameter, so PostgreSQL parses it
 * once per statement, not once per row.
 */
export function anyOf(lexemes: readonly string[]): string {
  return lexemes.map((l) => `'${l.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`).join(' | ');
}

// A long description yields hundreds of lexemes; the first ones (title, areas first) say most.
const MAX_LEXEMES = 200;

/** The lexemes PostgreSQL's English configuration makes of `text` (stop words dropped, words stemmed). */
export async function queryLexemes(db: Queryable, text: string): Promise<string[]> {
  const r = await one(
    db,
    LexemesRow,
    sql`select coalesce(array_agg(lexeme order by (select min(p) from unnest(positions) p)), '{}') as lexemes
          from unnest(${splitWords(sql`${text}::text`)})`,
  );
  return r.lexemes.slice(0, MAX_LEXEMES);
}

export interface VectorSupport {
  /** The `embedding vector(1536)` column exists. */
  available: boolean;
  /** pgvector's version (0.8 added iterative index scans for filtered queries). */
  version: string | null;
}

const vectorCache = new WeakMap<object, Promise<VectorSupport>>();

/** Whether this database stores embeddings (decided by the migration, or enableVectors); asked once per pool. */
export function vectorSupport(db: Queryable): Promise<VectorSupport> {
  let found = vectorCache.get(db);
  if (!found) {
    found = one(
      db,
      AvailableVersionRow,
      sql`select exists (select 1 from pg_attribute a join pg_type t on t.oid = a.atttypid
                          where a.attrelid = 'memories'::regclass and a.attname = 'embedding'
                            and t.typname = 'vector' and not a.attisdropped) as available,
                 (select extversion from pg_extension where extname = 'vector') as version`,
    );
    found.catch(() => vectorCache.delete(db));
    vectorCache.set(db, found);
  }
  return found;
}

/**
 * Adds the embedding column where pgvector was installed after the migration
 * ran. Returns why not when it cannot (extension absent, no privilege).
 */
export async function enableVectors(pool: pg.Pool): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await atomically(pool, async (tx) => {
      // Runners starting together must not race on the same DDL.
      await tx.query(sql`select pg_advisory_xact_lock(${0x6d656d76})`);
      await tx.query('create extension if not exists vector');
      await tx.query('alter table memories add column if not exists embedding vector(1536)');
      await tx.query(
        'create index if not exists memories_embedding_idx on memories using hnsw (embedding vector_cosine_ops)',
      );
    });
    vectorCache.delete(pool);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `pgvector unavailable: ${(err as Error).message}` };
  }
}

const vectorLiteral = (v: readonly number[]) => `[${v.join(',')}]`;

export interface CandidateQuery {
  projectId: string;
  /** The task asking: its own memories are in its continuity log already. */
  taskId: string;
  lexemes: string[];
  /** The task's embedding and the model that made it; null: full text only. */
  vector: { values: number[]; model: string } | null;
  /** Per source: best text matches, nearest vectors, most important overall. */
  limits?: { text: number; vector: number; important: number };
}

const CandidateRow = z.object({
  id: z.string(),
  type: z.enum(['episodic', 'semantic', 'procedural']),
  content: z.string(),
  importance: z.number(),
  inserted_at: z.date(),
  text_rank: z.number().nullable(),
  matched: z.array(z.string()),
  similarity: z.number().nullable(),
});

/**
 * The memories worth scoring for a task, from up to three sources in one
 * statement: the best full-text matches (ts_rank_cd, length-normalized; with a
 * long OR query it costs ~65 µs a row, so the cheaper ts_rank first keeps the
 * 3 × limit likeliest), the nearest embeddings (cosine, HNSW), and the most
 * important ones whatever the query (so general lessons stay reachable).
 */
export async function memoryCandidates(db: pg.Pool | pg.PoolClient, q: CandidateQuery): Promise<MemoryCandidate[]> {
  const limits = q.limits ?? { text: 60, vector: 60, important: 10 };
  const mine = sql`project_id = ${q.projectId} and (task_id is null or task_id <> ${q.taskId})`;
  const lexemes = sql`${q.lexemes}::text[]`;
  const text = q.lexemes.length > 0;
  const tsq = anyOf(q.lexemes);
  const vec = q.vector && sql`${vectorLiteral(q.vector.values)}::vector`;
  const support = q.vector ? await vectorSupport(db) : null;
  const vectorSearch = Boolean(vec && support);
  // The transaction only scopes the HNSW settings: a full-text recall is one statement, not three.
  const scoped = (fn: (tx: Queryable) => Promise<MemoryCandidate[]>) => (vectorSearch ? atomically(db, fn) : fn(db));
  return scoped(async (tx) => {
    if (vec && support) {
      // A project's memories are a fraction of the index: search further than the default 40 before filtering.
      await tx.query(sql`select set_config('hnsw.ef_search', '200', true)`);
      if (support.version && support.version.localeCompare('0.8', undefined, { numeric: true }) >= 0)
        await tx.query(sql`select set_config('hnsw.iterative_scan', 'relaxed_order', true)`);
    }
    const found = await rows(
      tx,
      CandidateRow,
      sql`with text_hits as (
            ${
              text
                ? sql`select id, ts_rank_cd(search, ${tsq}::tsquery, 1) as text_rank from (
                         select id, search from memories where ${mine} and search @@ ${tsq}::tsquery
                          order by ts_rank(search, ${tsq}::tsquery, 1) desc limit ${limits.text * 3}) pre
                       order by text_rank desc limit ${limits.text}`
                : sql`select null::uuid as id, null::real as text_rank where false`
            }),
          vector_hits as (
            ${
              vec && q.vector
                ? sql`select id, 1 - (embedding <=> ${vec}) as similarity from memories
                       where ${mine} and embedding is not null and embedding_model = ${q.vector.model}
                       order by embedding <=> ${vec} limit ${limits.vector}`
                : sql`select null::uuid as id, null::float8 as similarity where false`
            }),
          important as (
            select id from memories where ${mine} order by importance desc, inserted_at desc limit ${limits.important}),
          ids as (select id from text_hits union select id from vector_hits union select id from important)
          select m.id, m.type, m.content, m.importance, m.inserted_at, t.text_rank::float8 as text_rank,
                 array(select u.lexeme from unnest(m.search) u where u.lexeme = any(${lexemes})) as matched,
                 v.similarity::float8 as similarity
            from ids join memories m using (id) left join text_hits t using (id) left join vector_hits v using (id)`,
    );
    return found.map((r) => ({
      id: r.id,
      type: r.type,
      content: r.content,
      importance: r.importance,
      insertedAt: r.inserted_at,
      textRank: r.text_rank,
      matched: r.matched,
      similarity: r.similarity,
    }));
  });
}

/** The memories a Reason step used were accessed now. */
export async function touchMemories(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await exec(db, sql`update memories set accessed_at = now() where id = any(${ids}::uuid[])`);
}

export interface MemoryInput {
  projectId: string;
  taskId: string | null;
  type: MemoryType;
  content: string;
  importance: number;
  embedding?: { values: number[]; model: string } | null;
}

export interface Remembered {
  id: string;
  /** `reinforced`: the same lesson was stored already; its importance rose instead. */
  action: 'inserted' | 'reinforced';
}

// What learning a lesson again adds to its importance.
const REINFORCE = 0.05;

/**
 * Stores a memory once: a near-identical one (word-shingle Jaccard ≥ 0.8
 * among the stored memories sharing most words with it, or the same
 * normalized text) is reinforced — importance up, accessed now — instead.
 */
export async function rememberMemory(db: Queryable, m: MemoryInput): Promise<Remembered> {
  const lexemes = await queryLexemes(db, m.content);
  const tsq = anyOf(lexemes);
  const similar = lexemes.length
    ? await rows(
        db,
        IdContentRow,
        sql`select id, content from memories where project_id = ${m.projectId} and search @@ ${tsq}::tsquery
             order by ts_rank_cd(search, ${tsq}::tsquery, 1) desc limit 10`,
      )
    : [];
  const dup = duplicateOf(m.content, similar);
  if (dup) {
    await exec(
      db,
      sql`update memories set importance = least(1, greatest(importance, ${m.importance}) + ${REINFORCE}),
                 reinforced = reinforced + 1, accessed_at = now()
           where id = ${dup.id}`,
    );
    return { id: dup.id, action: 'reinforced' };
  }
  const withVector = m.embedding ? await vectorSupport(db) : null;
  const embedding =
    m.embedding && withVector?.available
      ? sql`, embedding, embedding_model) values (${m.projectId}, ${m.taskId}, ${m.type}, ${m.content}, ${m.importance},
              ${vectorLiteral(m.embedding.values)}::vector, ${m.embedding.model})`
      : sql`) values (${m.projectId}, ${m.taskId}, ${m.type}, ${m.content}, ${m.importance})`;
  const r = await one(
    db,
    IdInsertedRow,
    sql`insert into memories (project_id, task_id, type, content, importance ${embedding}
        on conflict (project_id, content_hash) do update
          set importance = least(1, greatest(memories.importance, excluded.importance) + ${REINFORCE}),
              reinforced = memories.reinforced + 1, accessed_at = now()
        returning id, (xmax = 0) as inserted`,
  );
  return { id: r.id, action: r.inserted ? 'inserted' : 'reinforced' };
}

/** Memories of the project stored without an embedding of `model` (the endpoint was down, or configured later). */
export async function memoriesToEmbed(
  db: Queryable,
  projectId: string,
  model: string,
  limit: number,
): Promise<{ id: string; content: string }[]> {
  return rows(
    db,
    IdContentRow,
    sql`select id, content from memories
         where project_id = ${projectId} and (embedding is null or embedding_model is distinct from ${model})
         order by importance desc, inserted_at desc limit ${limit}`,
  );
}

export async function setEmbeddings(
  db: Queryable,
  model: string,
  items: readonly { id: string; values: number[] }[],
): Promise<void> {
  if (items.length === 0) return;
  await exec(
    db,
    sql`update memories m set embedding = u.v::vector, embedding_model = ${model}
          from unnest(${items.map((i) => i.id)}::uuid[], ${items.map((i) => vectorLiteral(i.values))}::text[]) as u(id, v)
         where m.id = u.id`,
  );
}
