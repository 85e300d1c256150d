/**
 * The embeddings endpoint: an OpenAI-compatible `POST {SAMGITA_EMBEDDINGS_URL}/embeddings`
 * (the URL includes the API version, as OpenAI's SDKs take it: https://api.openai.com/v1).
 * Optional: without SAMGITA_EMBEDDINGS_URL memories are recalled by full text only.
 *
 * Never throws and never fails a task: a timeout, a 5xx or a malformed answer
 * comes back as `{ ok: false, reason }`, and the caller falls back to full text
 * and records the reason. The API key goes only into the Authorization header —
 * never into a reason, a log line or the database.
 */
import { z } from 'zod';

/** The width of the `memories.embedding` column (migrations/0900_memory_relevance.sql). */
export const EMBEDDING_DIMENSIONS = 1536;

export interface EmbeddingsConfig {
  /** Base URL, e.g. https://api.openai.com/v1; `/embeddings` is appended. */
  url: string;
  model: string;
  apiKey: string | null;
  timeoutMs: number;
}

export type EmbedResult = { ok: true; vectors: number[][] } | { ok: false; reason: string };

export interface Embedder {
  readonly model: string;
  embed(texts: readonly string[], signal?: AbortSignal): Promise<EmbedResult>;
}

const DEFAULT_MODEL = 'text-embedding-3-small';
const DEFAULT_TIMEOUT_MS = 5000;

/**
 * From SAMGITA_EMBEDDINGS_URL, _MODEL, _API_KEY and _TIMEOUT_MS; null when no URL
 * is set. A malformed value is an error naming the variable (not its value: it
 * may be the key).
 */
export function embeddingsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): EmbeddingsConfig | null {
  const url = env.SAMGITA_EMBEDDINGS_URL?.trim();
  if (!url) return null;
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new Error('SAMGITA_EMBEDDINGS_URL must be an http(s) URL, e.g. https://api.openai.com/v1');
  const timeout = env.SAMGITA_EMBEDDINGS_TIMEOUT_MS?.trim();
  const timeoutMs = timeout ? Number(timeout) : DEFAULT_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100 || timeoutMs > 120_000)
    throw new Error('SAMGITA_EMBEDDINGS_TIMEOUT_MS must be a whole number of milliseconds between 100 and 120000');
  return {
    url: url.replace(/\/+$/, ''),
    model: env.SAMGITA_EMBEDDINGS_MODEL?.trim() || DEFAULT_MODEL,
    apiKey: env.SAMGITA_EMBEDDINGS_API_KEY?.trim() || null,
    timeoutMs,
  };
}

const EmbeddingsAnswer = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number()) })),
});

// Inputs longer than this are cut: memories are short, and endpoints cap input tokens (8191 for OpenAI's).
const MAX_INPUT_CHARS = 8000;

export function createEmbedder(config: EmbeddingsConfig, fetchImpl: typeof fetch = fetch): Embedder {
  const endpoint = `${config.url}/embeddings`;
  return {
    model: config.model,
    async embed(texts, signal) {
      if (texts.length === 0) return { ok: true, vectors: [] };
      const timeout = AbortSignal.timeout(config.timeoutMs);
      let res: Response;
      try {
        res = await fetchImpl(endpoint, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(config.apiKey ? { authorization: `Bearer ${config.apiKey}` } : {}),
          },
          body: JSON.stringify({ model: config.model, input: texts.map((t) => t.slice(0, MAX_INPUT_CHARS)) }),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (err) {
        if (timeout.aborted) return { ok: false, reason: `embeddings endpoint timed out after ${config.timeoutMs} ms` };
        if (signal?.aborted) return { ok: false, reason: 'cancelled' };
        return { ok: false, reason: `embeddings endpoint unreachable: ${(err as Error).message}` };
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        if (timeout.aborted) return { ok: false, reason: `embeddings endpoint timed out after ${config.timeoutMs} ms` };
        return { ok: false, reason: `embeddings endpoint answered ${res.status} without JSON` };
      }
      if (!res.ok) return { ok: false, reason: `embeddings endpoint answered ${res.status}` };
      const parsed = EmbeddingsAnswer.safeParse(body);
      if (!parsed.success) return { ok: false, reason: 'embeddings endpoint answered without data[].embedding' };
      const vectors: number[][] = new Array(texts.length);
      for (const d of parsed.data.data) vectors[d.index] = d.embedding;
      for (let i = 0; i < texts.length; i++) {
        const v = vectors[i];
        if (!v) return { ok: false, reason: `embeddings endpoint returned no vector for input ${i}` };
        if (v.length !== EMBEDDING_DIMENSIONS)
          return {
            ok: false,
            reason: `model ${config.model} returns ${v.length} dimensions; memories store ${EMBEDDING_DIMENSIONS}`,
          };
      }
      return { ok: true, vectors };
    },
  };
}
