import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Harness, seedProject, seedTask, startHarness } from './api-harness.js';

/**
 * A fuzz suite over every route of the OpenAPI document: path parameters,
 * query strings and JSON bodies generated from each operation's own schemas,
 * mixed with hostile values (NUL, lone surrogates, huge numbers, wrong types,
 * crafted cursors, deep nesting, malformed JSON and multipart). Every answer
 * must be below 500 and in the one error shape, and a rejected request must
 * store nothing. The seed is fixed so CI is repeatable; FUZZ_SEED varies it.
 */

type Schema = Record<string, unknown>;
interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; schema?: Schema }[];
  body: Schema | null;
  multipart: boolean;
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.FUZZ_RUNS ?? 50);

const HOSTILE_STRINGS = [
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202e\u0301',
  '../../..',
  '%00',
  ' '.repeat(3),
  'x'.repeat(5000),
  '1e+400',
  '-1',
  '99999999999999999999',
  "'; drop table projects; --",
  'ext::sh -c id',
  'file:///etc/passwd',
  'http://127.0.0.1:1/',
];

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** A crafted cursor: base64url JSON of anything, or not base64 at all. */
const cursorArb = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
  fc.constantFrom(
    Buffer.from('["x","y"]').toString('base64url'),
    Buffer.from('[1e+20]').toString('base64url'),
    Buffer.from('[1e+20,"00000000-0000-0000-0000-000000000000"]').toString('base64url'),
    Buffer.from('["2026-13-45 99:99:99+00","00000000-0000-0000-0000-000000000000"]').toString('base64url'),
    '!!!',
  ),
);

const wrongType = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant([]),
  fc.constant({}),
  fc.array(fc.string(), { maxLength: 2 }),
  hostileString,
);

/** Values for a JSON schema: mostly of its shape, sometimes hostile or of the wrong type. */
function valueFor(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 1 });
  const alt = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (alt?.length) return fc.oneof(...alt.map((s) => valueFor(s, depth + 1)));
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : schema.type ? [schema.type as string] : [];
  const shaped: fc.Arbitrary<unknown>[] = [];
  if (Array.isArray(schema.enum)) shaped.push(fc.constantFrom(...(schema.enum as unknown[])));
  for (const t of types) {
    if (t === 'string') {
      shaped.push(
        schema.format === 'uuid'
          ? fc.uuid()
          : schema.format === 'date-time'
            ? fc.date({ noInvalidDate: true }).map((d) => d.toISOString())
            : fc.string({ maxLength: 30 }),
      );
    } else if (t === 'integer') shaped.push(fc.oneof(fc.integer({ min: -5, max: 600 }), fc.constant(1e20)));
    else if (t === 'number') shaped.push(fc.oneof(fc.double({ noNaN: true }), fc.constant(-1)));
    else if (t === 'boolean') shaped.push(fc.boolean());
    else if (t === 'null') shaped.push(fc.constant(null));
    else if (t === 'array') shaped.push(fc.array(valueFor(schema.items as Schema, depth + 1), { maxLength: 3 }));
    else if (t === 'object') {
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(props)) model[k] = valueFor(s, depth + 1);
      shaped.push(
        Object.keys(model).length
          ? fc.record(model, { requiredKeys: (schema.required as string[] | undefined) ?? [] })
          : fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
      );
    }
  }
  if (shaped.length === 0) shaped.push(fc.jsonValue({ maxDepth: 2 }));
  return fc.oneof(
    { weight: 6, arbitrary: fc.oneof(...shaped) },
    { weight: 1, arbitrary: hostileString },
    { weight: 1, arbitrary: wrongType },
  );
}

/** A whole JSON request body: from the schema, or something that is not one at all. */
function bodyFor(op: Operation): fc.Arbitrary<{ text: string; type: string }> {
  const json = (v: unknown) => ({ text: JSON.stringify(v) ?? 'null', type: 'application/json' });
  const alts: fc.Arbitrary<{ text: string; type: string }>[] = [
    valueFor(op.body ?? undefined).map(json),
    fc.constantFrom(
      { text: 'null', type: 'application/json' },
      { text: '[]', type: 'application/json' },
      { text: '"x"', type: 'application/json' },
      { text: '{"a":', type: 'application/json' },
      { text: '', type: 'application/json' },
      { text: `${'['.repeat(5000)}${']'.repeat(5000)}`, type: 'application/json' },
      { text: `{"name":${'{"x":'.repeat(3000)}1${'}'.repeat(3000)}}`, type: 'application/json' },
      { text: '{"__proto__":{"x":1}}', type: 'application/json' },
      { text: 'name=x', type: 'application/x-www-form-urlencoded' },
      {
        text: '--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nunterminated',
        type: 'multipart/form-data; boundary=b',
      },
      { text: 'garbage', type: 'multipart/form-data' },
      { text: '--b--\r\n', type: 'multipart/form-data; boundary=b' },
    ),
  ];
  return fc.oneof({ weight: 4, arbitrary: alts[0]! }, { weight: 2, arbitrary: alts[1]! });
}

/** Percent-encodes every byte (encodeURIComponent throws on lone surrogates). */
const pct = (s: string) => [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');

let h: Harness;
let ops: Operation[] = [];
const ids: Record<string, string[]> = {};

/** What a rejected request must leave untouched. */
async function fingerprint(): Promise<string> {
  const { rows } = await h.db.pool.query(
    `select (select count(*) from projects) p, (select count(*) from tasks) t, (select count(*) from prd_revisions) r,
            (select count(*) from webhooks) w, (select count(*) from api_keys) k, (select count(*) from events) e,
            (select count(*) from artifacts) a, (select count(*) from graphile_worker._private_jobs) j,
            (select coalesce(max(updated_at)::text, '') from projects) pu, (select coalesce(max(updated_at)::text, '') from tasks) tu`,
  );
  return JSON.stringify(rows[0]);
}

beforeAll(async () => {
  h = await startHarness({ rateLimit: false, prdMaxBytes: 64 * 1024 });
  const projectId = await seedProject(h, 'fuzz', 'running');
  const taskId = await seedTask(h, projectId, { key: 'fuzz-task' });
  ids.id = [projectId, randomUUID()];
  ids.tid = [taskId, randomUUID()];
  const doc = (await h.req('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, Record<string, unknown>>>;
  };
  for (const [p, methods] of Object.entries(doc.paths)) {
    for (const [method, def] of Object.entries(methods)) {
      const ok = (def.responses as Record<string, { content?: Record<string, unknown> }>)['200'];
      if (ok?.content?.['text/event-stream']) continue; // streams never end; covered by their own tests
      const content = (def.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined)?.content;
      ops.push({
        method: method.toUpperCase(),
        path: p,
        params: ((def.parameters as Operation['params']) ?? []).filter((x) => x.in === 'path' || x.in === 'query'),
        body: content?.['application/json']?.schema ?? null,
        multipart: Boolean(content?.['multipart/form-data']),
      });
    }
  }
  // Deletes last, so the other routes meet existing records.
  ops = [...ops.filter((o) => o.method !== 'DELETE'), ...ops.filter((o) => o.method === 'DELETE')];
}, 60_000);

afterAll(async () => {
  await h?.close();
});

describe('every route under generated and hostile input', () => {
  test('the document lists the routes', () => {
    expect(ops.length).toBeGreaterThan(30);
  });

  test('no 5xx, the one error shape, nothing stored when rejected', async () => {
    const failures: string[] = [];
    for (const op of ops) {
      const pathParams = op.params.filter((p) => p.in === 'path');
      const queryParams = op.params.filter((p) => p.in === 'query');
      const arb = fc.record({
        path: fc.record(
          Object.fromEntries(
            pathParams.map((p) => [
              p.name,
              fc.oneof(
                { weight: 4, arbitrary: fc.constantFrom(...(ids[p.name] ?? [randomUUID()])) },
                { weight: 1, arbitrary: hostileString.map(pct) },
                { weight: 1, arbitrary: fc.constantFrom('%ZZ', '%00', '%ud800', 'x'.repeat(300)) },
              ),
            ]),
          ),
        ),
        query: fc.record(
          Object.fromEntries(
            queryParams.map((p) => [p.name, p.name === 'cursor' ? cursorArb : valueFor(p.schema).map(String)]),
          ),
          { requiredKeys: [] },
        ),
        body: op.body || op.multipart ? bodyFor(op) : fc.constant(null),
      });
      await fc.assert(
        fc.asyncProperty(arb, async (input) => {
          let url = op.path;
          for (const [k, v] of Object.entries(input.path)) url = url.replace(`{${k}}`, String(v));
          const qs = Object.entries(input.query)
            .map(([k, v]) => `${k}=${pct(String(v))}`)
            .join('&');
          if (qs) url += `?${qs}`;
          const before = await fingerprint();
          const res = await h.app.inject({
            method: op.method as 'GET',
            url,
            headers: {
              authorization: `Bearer ${h.write}`,
              ...(input.body ? { 'content-type': input.body.type } : {}),
            },
            ...(input.body ? { payload: input.body.text } : {}),
          });
          const where = `${op.method} ${url.slice(0, 200)} ${input.body ? input.body.text.slice(0, 120) : ''}`;
          if (res.statusCode >= 500) {
            failures.push(`${res.statusCode} ${where}: ${res.body.slice(0, 200)}`);
            return;
          }
          if (res.statusCode >= 400) {
            let body: { error?: { code?: unknown; message?: unknown } } | null = null;
            try {
              body = JSON.parse(res.body);
            } catch {
              body = null;
            }
            if (typeof body?.error?.code !== 'string' || typeof body.error.message !== 'string') {
              failures.push(`shape ${res.statusCode} ${where}: ${res.body.slice(0, 200)}`);
            }
            if ((await fingerprint()) !== before) failures.push(`stored on ${res.statusCode}: ${where}`);
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    }
    expect(failures).toEqual([]);
  }, 600_000);
});
