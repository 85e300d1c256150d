/**
 * A local stand-in for an OpenAI-compatible embeddings endpoint
 * (`POST /v1/embeddings`): deterministic vectors, a hashed bag of words in
 * 1536 dimensions (crudely stemmed, L2-normalized), so texts sharing words
 * are near. `mode` makes it fail like a real one: 500s or never answering.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const DIMS = 1536;
const STOP = new Set(
  'the a an and or of to in on for with is are be by it its as at from that this was were not no when each must can'.split(
    ' ',
  ),
);

function bucket(word: string): [number, number] {
  const h = createHash('md5').update(word).digest();
  return [h.readUInt32LE(0) % DIMS, h[4]! & 1 ? 1 : -1];
}

export function hashedEmbedding(text: string): number[] {
  const v = new Array<number>(DIMS).fill(0);
  const words = text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 2 && !STOP.has(w))
    .map((w) => w.replace(/(ing|ed|es|s)$/, ''));
  for (const w of words) {
    const [i, sign] = bucket(w);
    v[i]! += sign;
  }
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

export interface EmbeddingsServer {
  /** The base URL to configure (SAMGITA_EMBEDDINGS_URL): http://127.0.0.1:port/v1 */
  url: string;
  mode: 'ok' | 'error' | 'hang';
  requests: { authorization: string | undefined; inputs: number }[];
  close(): Promise<void>;
}

export async function startEmbeddingsServer(): Promise<EmbeddingsServer> {
  const state: EmbeddingsServer = { url: '', mode: 'ok', requests: [], close: async () => {} };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        res.writeHead(404).end();
        return;
      }
      const { model, input } = JSON.parse(body) as { model: string; input: string[] };
      state.requests.push({ authorization: req.headers.authorization, inputs: input.length });
      if (state.mode === 'hang') return;
      if (state.mode === 'error') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded"}}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          object: 'list',
          model,
          data: input.map((t, index) => ({ object: 'embedding', index, embedding: hashedEmbedding(t) })),
          usage: { prompt_tokens: 0, total_tokens: 0 },
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}
