import { describe, expect, it } from 'vitest';
import { createEmbedder, EMBEDDING_DIMENSIONS, embeddingsConfigFromEnv } from '../../src/embeddings/client.js';
import { duplicateOf, extractMemories, normalize, similarity } from '../../src/memory/extract.js';
import {
  type MemoryCandidate,
  recency,
  retrievalMode,
  scoreMemories,
  taskQueryText,
  WEIGHTS,
} from '../../src/memory/relevance.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000);

function cand(over: Partial<MemoryCandidate>): MemoryCandidate {
  return {
    id: over.id ?? 'm',
    type: 'semantic',
    content: 'x',
    importance: 0.5,
    insertedAt: NOW,
    textRank: null,
    matched: [],
    similarity: null,
    ...over,
  };
}

describe('scoreMemories', () => {
  it('weights sum to 1 in every mode', () => {
    for (const w of Object.values(WEIGHTS)) expect(w.text + w.vector + w.importance + w.recency).toBeCloseTo(1);
  });

  it('halves recency every 14 days', () => {
    expect(recency(NOW, NOW)).toBe(1);
    expect(recency(daysAgo(14), NOW)).toBeCloseTo(0.5);
    expect(recency(daysAgo(28), NOW)).toBeCloseTo(0.25);
  });

  it('lets a relevant memory beat a more important, newer one with full text', () => {
    const scored = scoreMemories(
      [
        cand({ id: 'important', importance: 0.95, textRank: null }),
        cand({ id: 'relevant', importance: 0.4, insertedAt: daysAgo(30), textRank: 0.2, matched: ['webhook'] }),
        cand({ id: 'partly', importance: 0.5, textRank: 0.05, matched: ['token'] }),
      ],
      'fulltext',
      NOW,
    );
    expect(scored.map((s) => s.id)).toEqual(['relevant', 'partly', 'important']);
    expect(scored[0]!.parts.text).toBe(1);
    expect(scored[1]!.parts.text).toBe(0.25);
  });

  it('uses similarity in hybrid mode and orders by importance alone when nothing else is known', () => {
    const hybrid = scoreMemories(
      [cand({ id: 'near', similarity: 0.9 }), cand({ id: 'far', similarity: 0.1, textRank: 0.1 })],
      'hybrid',
      NOW,
    );
    expect(hybrid[0]!.id).toBe('near');
    const plain = scoreMemories(
      [cand({ id: 'low', importance: 0.2 }), cand({ id: 'high', importance: 0.9 })],
      'importance',
      NOW,
    );
    expect(plain.map((s) => s.id)).toEqual(['high', 'low']);
  });

  it('picks the mode from what retrieval has', () => {
    expect(retrievalMode(3, true)).toBe('hybrid');
    expect(retrievalMode(3, false)).toBe('fulltext');
    expect(retrievalMode(0, false)).toBe('importance');
  });

  it('looks a task up by its title, areas and requirement first', () => {
    const q = taskQueryText({
      key: 'k',
      title: 'Throttle deliveries',
      description: 'Long text',
      acceptanceCriteria: ['criterion'],
      areas: ['src/outgoing-webhooks/deliver.ts'],
      requirement: { key: 'FR-1', title: 'Throttling', body: 'Body' },
    });
    expect(q.split('\n').slice(0, 3)).toEqual([
      'Throttle deliveries',
      'src/outgoing-webhooks/deliver.ts',
      'Throttling',
    ]);
    expect(q).toContain('criterion');
  });
});

describe('extractMemories', () => {
  const summary = [
    'I added throttling to webhook deliveries.',
    '',
    '- `src/outgoing-webhooks/deliver.ts` now uses the token bucket from `src/server/rate-limit.ts`.',
    '- The dispatcher in src/outgoing-webhooks/dispatch.ts runs every second and picks due deliveries.',
    '- Ran `npx vitest run test/integration/webhooks-ssrf.test.ts` — all 12 tests pass.',
    '',
    '```bash',
    'npm run lint',
    '```',
    'Everything is green.',
  ].join('\n');

  it('keeps facts about files as semantic memories and commands as procedural ones', () => {
    const got = extractMemories({ key: 'T-1', agentType: 'backend', summary, continuity: [] });
    expect(got.filter((m) => m.type === 'semantic').map((m) => m.content)).toEqual([
      '`src/outgoing-webhooks/deliver.ts` now uses the token bucket from `src/server/rate-limit.ts`.',
      'The dispatcher in src/outgoing-webhooks/dispatch.ts runs every second and picks due deliveries.',
    ]);
    expect(got.filter((m) => m.type === 'procedural').map((m) => m.content)).toEqual([
      'Ran `npx vitest run test/integration/webhooks-ssrf.test.ts` — all 12 tests pass.',
      'Command that worked in T-1: npm run lint',
    ]);
  });

  it('keeps what fixed an earlier loop’s failure', () => {
    const got = extractMemories({
      key: 'T-1',
      agentType: 'backend',
      summary: 'Fixed the failing import by exporting parseArgs from src/cli/args.ts.',
      continuity: ['Loop 1: verify failed: npm test exited 1\nTypeError: parseArgs is not a function'],
    });
    expect(got).toContainEqual({
      type: 'procedural',
      content:
        'After "Loop 1: verify failed: npm test exited 1", what fixed it: Fixed the failing import by exporting parseArgs from src/cli/args.ts.',
      importance: 0.65,
    });
  });

  it('finds nothing in an empty or plain summary', () => {
    expect(extractMemories({ key: 'T', agentType: 'a', summary: '', continuity: [] })).toEqual([]);
    expect(extractMemories({ key: 'T', agentType: 'a', summary: 'Done. All good.', continuity: [] })).toEqual([]);
  });
});

describe('duplicates', () => {
  it('normalizes case, punctuation and spacing', () => {
    expect(normalize('  Run `npm test`,  THEN lint! ')).toBe('run npm test then lint');
  });

  it('finds a near-identical memory and not a merely related one', () => {
    const stored = [
      { id: 'a', content: 'Run `npm run build:web` before the page tests: they serve web/dist.' },
      { id: 'b', content: 'The page tests use playwright-core with the machine chromium.' },
    ];
    expect(duplicateOf('Run npm run build:web before the page tests; they serve web/dist (T-9).', stored)?.id).toBe(
      'a',
    );
    expect(duplicateOf('The page tests need chromium installed.', stored)).toBeNull();
    expect(similarity('a b c d', 'a b c d')).toBe(1);
  });
});

describe('embeddings client', () => {
  it('reads its configuration from the environment, and is off without a URL', () => {
    expect(embeddingsConfigFromEnv({})).toBeNull();
    expect(
      embeddingsConfigFromEnv({
        SAMGITA_EMBEDDINGS_URL: 'https://api.openai.com/v1/',
        SAMGITA_EMBEDDINGS_API_KEY: 'k',
      }),
    ).toEqual({ url: 'https://api.openai.com/v1', model: 'text-embedding-3-small', apiKey: 'k', timeoutMs: 5000 });
    expect(() => embeddingsConfigFromEnv({ SAMGITA_EMBEDDINGS_URL: 'ftp://x' })).toThrow(/SAMGITA_EMBEDDINGS_URL/);
    expect(() =>
      embeddingsConfigFromEnv({ SAMGITA_EMBEDDINGS_URL: 'http://x', SAMGITA_EMBEDDINGS_TIMEOUT_MS: 'soon' }),
    ).toThrow(/TIMEOUT_MS/);
  });

  const config = { url: 'http://e/v1', model: 'm', apiKey: 'sk-secret', timeoutMs: 1000 };
  const answer = (body: unknown, status = 200) =>
    (async () => new Response(JSON.stringify(body), { status })) as unknown as typeof fetch;

  it('orders vectors by index and checks their width', async () => {
    const v = (x: number) => new Array(EMBEDDING_DIMENSIONS).fill(x);
    const ok = await createEmbedder(
      config,
      answer({
        data: [
          { index: 1, embedding: v(2) },
          { index: 0, embedding: v(1) },
        ],
      }),
    ).embed(['a', 'b']);
    expect(ok.ok && ok.vectors.map((x) => x[0])).toEqual([1, 2]);
    const narrow = await createEmbedder(config, answer({ data: [{ index: 0, embedding: [1, 2] }] })).embed(['a']);
    expect(narrow).toEqual({ ok: false, reason: 'model m returns 2 dimensions; memories store 1536' });
  });

  it('reports failures without the key', async () => {
    const failed = await createEmbedder(config, answer({ error: 'sk-secret is wrong' }, 401)).embed(['a']);
    expect(failed).toEqual({ ok: false, reason: 'embeddings endpoint answered 401' });
    const down = await createEmbedder(config, (async () => {
      throw new Error('connect ECONNREFUSED');
    }) as unknown as typeof fetch).embed(['a']);
    expect(down).toEqual({ ok: false, reason: 'embeddings endpoint unreachable: connect ECONNREFUSED' });
  });
});
