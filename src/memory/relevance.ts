/**
 * Which project memories a task's Reason step should see: the query text built
 * from the task, and the one scoring formula that orders the candidates the
 * store retrieved (src/store/memories.ts). Pure: no I/O, the clock passed in.
 *
 *   score = w.text · text + w.vector · vector + w.importance · importance + w.recency · recency
 *
 *   text       ts_rank_cd of the memory against the task's OR-ed lexemes,
 *              divided by the best candidate's (so the best text match is 1)
 *   vector     cosine similarity of the embeddings, clamped to [0, 1]
 *   importance as stored, in [0, 1] (raised when a lesson is learned again)
 *   recency    0.5 ^ (age in days / 14), from when the memory was first stored
 *
 * The weights depend on what the retrieval could use (WEIGHTS): relevance
 * dominates whenever there is any, so a planted fact about the task's files
 * beats a generic but "important" one; with no usable query words the order
 * is importance, then recency, as before relevance existed.
 */
import type { MemoryType } from '../store/memories.js';

export type RetrievalMode = 'hybrid' | 'fulltext' | 'importance';

export interface Weights {
  text: number;
  vector: number;
  importance: number;
  recency: number;
}

export const WEIGHTS: Record<RetrievalMode, Weights> = {
  hybrid: { text: 0.3, vector: 0.45, importance: 0.15, recency: 0.1 },
  fulltext: { text: 0.65, vector: 0, importance: 0.2, recency: 0.15 },
  importance: { text: 0, vector: 0, importance: 0.6, recency: 0.4 },
};

export const RECENCY_HALF_LIFE_DAYS = 14;

/** What the store found for one memory, before scoring. */
export interface MemoryCandidate {
  id: string;
  type: MemoryType;
  content: string;
  importance: number;
  insertedAt: Date;
  /** ts_rank_cd against the task's query; null when the memory matched no query word. */
  textRank: number | null;
  /** The query's lexemes the memory contains. */
  matched: string[];
  /** Cosine similarity of the embeddings; null when not compared (no vector, other model). */
  similarity: number | null;
}

export interface ScoredMemory {
  id: string;
  type: MemoryType;
  content: string;
  score: number;
  /** Each term of the formula before weighting, so the record says why. */
  parts: Weights;
  matched: string[];
  similarity: number | null;
}

export function recency(insertedAt: Date, now: Date): number {
  const days = Math.max(0, now.getTime() - insertedAt.getTime()) / 86_400_000;
  return 0.5 ** (days / RECENCY_HALF_LIFE_DAYS);
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/** Best first; ties go to the more important, then the newer memory. */
export function scoreMemories(candidates: readonly MemoryCandidate[], mode: RetrievalMode, now: Date): ScoredMemory[] {
  const w = WEIGHTS[mode];
  const bestRank = Math.max(0, ...candidates.map((c) => c.textRank ?? 0));
  return candidates
    .map((c) => {
      const parts: Weights = {
        text: bestRank > 0 && c.textRank ? round(c.textRank / bestRank) : 0,
        vector: c.similarity === null ? 0 : round(Math.min(1, Math.max(0, c.similarity))),
        importance: round(Math.min(1, Math.max(0, c.importance))),
        recency: round(recency(c.insertedAt, now)),
      };
      const score =
        w.text * parts.text + w.vector * parts.vector + w.importance * parts.importance + w.recency * parts.recency;
      return {
        scored: {
          id: c.id,
          type: c.type,
          content: c.content,
          score: round(score),
          parts,
          matched: c.matched,
          similarity: c.similarity === null ? null : round(c.similarity),
        },
        at: c.insertedAt.getTime(),
      };
    })
    .sort(
      (a, b) => b.scored.score - a.scored.score || b.scored.parts.importance - a.scored.parts.importance || b.at - a.at,
    )
    .map((x) => x.scored);
}

/** What retrieval can use: vectors need a query embedding, full text needs query words. */
export function retrievalMode(queryLexemes: number, haveQueryVector: boolean): RetrievalMode {
  if (haveQueryVector) return 'hybrid';
  return queryLexemes > 0 ? 'fulltext' : 'importance';
}

export interface TaskForQuery {
  key: string;
  title: string;
  description: string;
  acceptanceCriteria: readonly string[];
  areas: readonly string[];
  requirement: { key: string; title: string; body: string } | null;
}

// Enough of a long description to find what it is about, without a query of thousands of words.
const QUERY_CHARS = 4000;

/**
 * The text a task is looked up by: what it says it is about (title, areas,
 * requirement title first — they name the subject most densely), then its
 * description, criteria and the requirement's body.
 */
export function taskQueryText(t: TaskForQuery): string {
  return [
    t.title,
    t.areas.join(' '),
    t.requirement?.title ?? '',
    t.description,
    t.acceptanceCriteria.join('\n'),
    t.requirement?.body ?? '',
  ]
    .filter((s) => s.trim())
    .join('\n')
    .slice(0, QUERY_CHARS);
}
