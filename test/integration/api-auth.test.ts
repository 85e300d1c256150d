import { afterAll, beforeAll, expect, test } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/auth/keys.js';
import { type Harness, startHarness } from './api-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, false);
});
afterAll(async () => {
  await h?.close();
});

test('with no key in the database everything but /health is refused, with a hint', async () => {
  const health = await h.req('GET', '/health', undefined, { authorization: '' });
  expect(health.status).toBe(200);
  expect(health.body).toMatchObject({ status: 'ok', db: 'ok' });
  for (const [method, url] of [
    ['GET', '/api/projects'],
    ['POST', '/api/projects'],
    ['GET', '/api/events'],
    ['GET', '/metrics'],
  ] as const) {
    const res = await h.req(method, url, method === 'POST' ? {} : undefined, { authorization: '' });
    expect(res.status, url).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(res.body.error.hint).toContain('samgita keys create --name ci --scope write');
  }
  // The OpenAPI document and docs page stay public.
  expect((await h.req('GET', '/openapi.json', undefined, { authorization: '' })).status).toBe(200);
  expect((await h.req('GET', '/docs', undefined, { authorization: '' })).status).toBeLessThan(400);
});

test('keys: bearer and x-api-key, read vs write scope, revoked, malformed, unknown', async () => {
  const w = await createApiKey(h.db.pool, { name: 'ci', scope: 'write' });
  const r = await createApiKey(h.db.pool, { name: 'dash', scope: 'read' });
  expect(w.key).toMatch(/^sg_[0-9a-f]{12}_[0-9a-f]{64}$/);
  const stored = await h.db.pool.query('select hash from api_keys where id = $1', [w.id]);
  expect(stored.rows[0].hash).not.toContain(w.key.slice(16));

  expect((await h.req('GET', '/api/projects', undefined, { authorization: `Bearer ${w.key}` })).status).toBe(200);
  expect((await h.req('GET', '/api/projects', undefined, { authorization: '', 'x-api-key': r.key })).status).toBe(200);

  const forbidden = await h.req(
    'POST',
    '/api/webhooks',
    { url: 'http://x.test/', events: ['*'] },
    {
      authorization: `Bearer ${r.key}`,
    },
  );
  expect(forbidden.status).toBe(403);
  expect(forbidden.body.error.code).toBe('FORBIDDEN');

  const noKey = await h.req('GET', '/api/projects', undefined, { authorization: '' });
  expect(noKey.status).toBe(401);
  expect(noKey.body.error.message).toMatch(/API key is required/);

  const malformed = await h.req('GET', '/api/projects', undefined, { authorization: 'Bearer nope' });
  expect(malformed.status).toBe(401);
  expect(malformed.body.error.message).toMatch(/malformed/);

  const wrongSecret = w.key.slice(0, -4) + '0000';
  expect((await h.req('GET', '/api/projects', undefined, { authorization: `Bearer ${wrongSecret}` })).status).toBe(401);

  await revokeApiKey(h.db.pool, w.prefix);
  // Verified keys are cached for a few seconds; the revocation event clears the
  // cache, so the key is refused as soon as the server hears of it (milliseconds),
  // far sooner than the cache would expire.
  const t0 = Date.now();
  let revoked = await h.req('GET', '/api/projects', undefined, { authorization: `Bearer ${w.key}` });
  while (revoked.status !== 401 && Date.now() - t0 < 4_000) {
    await new Promise((r) => setTimeout(r, 10));
    revoked = await h.req('GET', '/api/projects', undefined, { authorization: `Bearer ${w.key}` });
  }
  // Refused within 4 s, before the 5 s cache entry could have expired on its own.
  expect(revoked.status).toBe(401);
  expect(revoked.body.error.message).toMatch(/revoked/);

  const audit = await h.db.pool.query("select kind from events where subject_type = 'api_key' order by id");
  expect(audit.rows.map((x) => x.kind)).toEqual(['api_key.created', 'api_key.created', 'api_key.revoked']);
});

test('rate limiting answers 429 with retry-after', async () => {
  const h2 = await startHarness({ rateLimit: { perSecond: 1, burst: 3 } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await h2.req('GET', '/api/runners')).status);
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses).toContain(429);
    const res = await h2.req('GET', '/api/runners');
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  } finally {
    await h2.close();
  }
});

test('failed authentication is limited per address: 10 a minute, then 429 (keys that worked keep working)', async () => {
  const k = await createApiKey(h.db.pool, { name: 'limited', scope: 'read' });
  const from = (remoteAddress: string, headers: Record<string, string>) =>
    h.app.inject({ method: 'GET', url: '/api/projects', headers, remoteAddress });
  // k authenticates once (from anywhere): the server now knows it as good.
  expect((await from('192.0.2.1', { authorization: `Bearer ${k.key}` })).statusCode).toBe(200);

  const ip = '198.51.100.20';
  const wrong = `${k.key.slice(0, -4)}0000`;
  // Requests without a credential are not guesses: they do not count.
  for (let i = 0; i < 12; i++) expect((await from(ip, {})).statusCode).toBe(401);
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) {
    statuses.push((await from(ip, { authorization: i % 2 ? 'Bearer nope' : `Bearer ${wrong}` })).statusCode);
  }
  expect(statuses).toEqual(Array(10).fill(401));
  const limited = await from(ip, { authorization: `Bearer ${wrong}` });
  expect(limited.statusCode).toBe(429);
  expect(limited.json().error.code).toBe('RATE_LIMITED');
  const wait = Number(limited.headers['retry-after']);
  expect(wait).toBeGreaterThan(0);
  expect(wait).toBeLessThanOrEqual(60);
  // x-api-key is the same credential path.
  expect((await from(ip, { 'x-api-key': wrong })).statusCode).toBe(429);
  // A key that has authenticated still works from the limited address...
  expect((await from(ip, { 'x-api-key': k.key })).statusCode).toBe(200);
  // ...a valid key the server has not yet seen work waits like a guess...
  const unseen = await createApiKey(h.db.pool, { name: 'unseen', scope: 'read' });
  expect((await from(ip, { authorization: `Bearer ${unseen.key}` })).statusCode).toBe(429);
  // ...and other addresses are not affected.
  expect((await from('198.51.100.21', { authorization: `Bearer ${unseen.key}` })).statusCode).toBe(200);
  expect((await from('198.51.100.21', { authorization: `Bearer ${wrong}` })).statusCode).toBe(401);

  // A revoked key is a former key, not a guess: refused, never limited.
  const gone = await createApiKey(h.db.pool, { name: 'gone', scope: 'read' });
  await revokeApiKey(h.db.pool, gone.id);
  const revoked: number[] = [];
  for (let i = 0; i < 12; i++) {
    revoked.push((await from('198.51.100.22', { authorization: `Bearer ${gone.key}` })).statusCode);
  }
  expect(revoked).toEqual(Array(12).fill(401));
});
