import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createApiKey, revokeApiKey } from '../../src/auth/keys.js';
import { loadEnvConfig } from '../../src/config/env.js';
import { SESSION_ROUTES } from '../../src/web-ui/session-cookie.js';
import { type Harness, seedProject, startHarness } from './api-harness.js';

/**
 * The status page's sessions (docs/status-page.md): server-side rows made from a
 * key, a cookie with only the session id, the routes it reaches, sign-out, key
 * revocation, expiry, Secure by configuration, and the failed sign-in limit.
 */

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read JSON bodies loosely
  body: any;
  headers: Record<string, string | string[] | number | undefined>;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

async function call(
  h: Harness,
  method: Method,
  url: string,
  opts: { headers?: Record<string, string>; body?: unknown; remoteAddress?: string } = {},
): Promise<Reply> {
  const res = await h.app.inject({
    method,
    url,
    headers: opts.headers ?? {},
    ...(opts.body !== undefined ? { payload: opts.body as object } : {}),
    ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
  });
  let body: unknown = null;
  try {
    body = res.body ? JSON.parse(res.body) : null;
  } catch {
    body = null;
  }
  return { status: res.statusCode, body, headers: res.headers };
}

function setCookie(r: Reply): string {
  const v = r.headers['set-cookie'];
  return Array.isArray(v) ? v.join('\n') : String(v ?? '');
}

async function signIn(
  h: Harness,
  key: string,
  opts: { headers?: Record<string, string>; scope?: string; remoteAddress?: string } = {},
): Promise<{ res: Reply; cookie: string; token: string }> {
  const res = await call(h, 'POST', '/api/session', {
    headers: { 'x-samgita-ui': '1', ...(opts.headers ?? {}) },
    body: { key, ...(opts.scope ? { scope: opts.scope } : {}) },
    ...(opts.remoteAddress ? { remoteAddress: opts.remoteAddress } : {}),
  });
  const cookie = setCookie(res);
  const token = /samgita_session=([^;]*)/.exec(cookie)?.[1] ?? '';
  return { res, cookie, token };
}

const withCookie = (token: string, extra: Record<string, string> = {}) => ({
  cookie: `samgita_session=${token}`,
  ...extra,
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('signing in', () => {
  test('makes a server-side session; the cookie holds only its id', async () => {
    const { res, cookie, token } = await signIn(h, h.write);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'test-write', scope: 'write' });
    expect(Date.parse(res.body.expires_at) - Date.now()).toBeGreaterThan(11.9 * 3600_000);
    expect(Date.parse(res.body.expires_at) - Date.now()).toBeLessThanOrEqual(12 * 3600_000);
    expect(cookie).toMatch(/^samgita_session=[A-Za-z0-9_-]{43}; /);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect(cookie).toContain('Max-Age=43200');
    expect(cookie).not.toContain('Secure');
    // Neither the key nor any part of its secret is in the cookie.
    const secret = h.write.split('_')[2]!;
    expect(cookie).not.toContain(h.write);
    expect(cookie).not.toContain(secret.slice(0, 16));
    expect(cookie).not.toContain(h.write.split('_')[1]!);

    // The row: the id's SHA-256 only, the key it came from, its scope and times.
    const { rows } = await h.db.pool.query(
      `select token_hash, api_key_id, scope, created_at, expires_at, revoked_at, last_seen_at
         from api_sessions where api_key_id = $1 order by created_at desc limit 1`,
      [h.writeId],
    );
    expect(rows[0].token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(rows[0].token_hash).not.toContain(token);
    expect(rows[0].scope).toBe('write');
    expect(rows[0].revoked_at).toBeNull();
    expect(rows[0].expires_at.getTime() - rows[0].created_at.getTime()).toBe(12 * 3600_000);
    const all = await h.db.pool.query('select * from api_sessions');
    expect(JSON.stringify(all.rows)).not.toContain(token);

    const me = await call(h, 'GET', '/api/session', { headers: withCookie(token) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ name: 'test-write', scope: 'write', expires_at: res.body.expires_at });
  });

  test('needs the page header, a valid key, and never gives more than the key’s scope', async () => {
    const noHeader = await call(h, 'POST', '/api/session', { body: { key: h.write } });
    expect(noHeader.status).toBe(403);
    expect(noHeader.body.error.code).toBe('FORBIDDEN');
    expect(setCookie(noHeader)).toBe('');

    const wrong = await signIn(h, `${h.write.slice(0, -4)}0000`, { remoteAddress: '198.51.100.1' });
    expect(wrong.res.status).toBe(401);
    expect(wrong.res.body.error).toMatchObject({ code: 'UNAUTHORIZED', field: 'key' });
    expect(wrong.token).toBe('');

    const readUp = await signIn(h, h.read, { scope: 'write' });
    expect(readUp.res.status).toBe(403);
    expect(readUp.token).toBe('');

    const read = await signIn(h, h.read);
    expect(read.res.body.scope).toBe('read');
    // A view-only session from a write key.
    const down = await signIn(h, h.write, { scope: 'read' });
    expect(down.res.body.scope).toBe('read');
    const id = await seedProject(h, 'scoped', 'completed');
    for (const token of [read.token, down.token]) {
      const res = await call(h, 'POST', `/api/projects/${id}/archive`, {
        headers: withCookie(token, { 'x-samgita-ui': '1' }),
        body: {},
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
  });
});

describe('what the cookie reaches', () => {
  test('the page’s routes, its writes only with the page header, and nothing else', async () => {
    const { token } = await signIn(h, h.write);
    const id = await seedProject(h, 'reach', 'completed');
    for (const url of [
      '/api/session',
      '/api/ui/projects',
      '/api/ui/agents',
      '/api/ui/costs',
      '/api/projects',
      `/api/projects/${id}`,
      `/api/projects/${id}/tasks`,
    ]) {
      const res = await call(h, 'GET', url, { headers: withCookie(token) });
      expect(res.status, url).toBe(200);
    }

    // Not /metrics, webhooks, runners, the event log, artifacts, or updates and deletes.
    for (const [method, url] of [
      ['GET', '/metrics'],
      ['GET', '/api/webhooks'],
      ['POST', '/api/webhooks'],
      ['DELETE', '/api/webhooks/00000000-0000-0000-0000-000000000000'],
      ['GET', '/api/runners'],
      ['GET', '/api/events'],
      ['GET', `/api/projects/${id}/artifacts`],
      ['PUT', `/api/projects/${id}`],
      ['DELETE', `/api/projects/${id}`],
    ] as const) {
      const res = await call(h, method, url, {
        headers: withCookie(token, { 'x-samgita-ui': '1' }),
        ...(method === 'POST' || method === 'PUT' ? { body: {} } : {}),
      });
      expect(res.status, `${method} ${url}`).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
      expect(res.body.error.message).toMatch(/needs an API key/);
    }
    // The same routes with the key itself work (so the refusals above are about the cookie).
    expect((await call(h, 'GET', '/metrics', { headers: { authorization: `Bearer ${h.write}` } })).status).toBe(200);
    expect((await call(h, 'GET', '/api/webhooks', { headers: { authorization: `Bearer ${h.write}` } })).status).toBe(
      200,
    );

    // A page write: refused without the page's header (CSRF), done with it.
    const csrf = await call(h, 'POST', `/api/projects/${id}/archive`, { headers: withCookie(token), body: {} });
    expect(csrf.status).toBe(401);
    const archived = await call(h, 'POST', `/api/projects/${id}/archive`, {
      headers: withCookie(token, { 'x-samgita-ui': '1' }),
      body: {},
    });
    expect(archived.status).toBe(200);
    expect(archived.body.status).toBe('archived');
    const actor = await h.db.pool.query(
      `select actor_type, actor_id from events where subject_id = $1 and kind like 'project.%' order by id desc limit 1`,
      [id],
    );
    expect(actor.rows[0]).toMatchObject({ actor_type: 'api_key', actor_id: h.writeId });
  });

  test('the list of routes matches the server and what the page calls', async () => {
    const shape = (url: string) => url.replace(/:[a-z]+/g, ':p');
    for (const entry of SESSION_ROUTES) {
      const [method, url] = entry.split(' ') as ['GET', string];
      expect(h.app.hasRoute({ method, url }), entry).toBe(true);
    }
    // Every /api path in web/src (template parameters as :p) is on the list, whatever the method.
    const allowed = new Set([...SESSION_ROUTES].map((e) => shape(e.split(' ')[1]!)));
    const dir = path.resolve('web/src');
    const files = (await readdir(dir, { recursive: true })).filter((f) => /\.tsx?$/.test(f));
    const called = new Set<string>();
    for (const f of files) {
      const text = await readFile(path.join(dir, f), 'utf8');
      for (const m of text.matchAll(/['`](\/api\/[^'`?]*)/g)) {
        const url = m[1]!
          .replace(/\$\{[^}`]+\}/g, ':p')
          .replace(/\$\{.*$/, '')
          .replace(/\/$/, '');
        called.add(url);
      }
    }
    // A template parameter may stand for a fixed segment (`/api/projects/${id}/${action}`).
    const covered = (url: string) =>
      [...allowed].some((a) => {
        const want = a.split('/');
        const got = url.split('/');
        return want.length === got.length && got.every((seg, i) => seg === want[i] || seg === ':p');
      });
    expect(called.size).toBeGreaterThan(10);
    expect([...called].filter((u) => !covered(u))).toEqual([]);
  });

  test('a cookie holding a raw API key (the old scheme) is not a session', async () => {
    const res = await call(h, 'GET', '/api/ui/projects', { headers: withCookie(h.write) });
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/session is not valid/);
    // Browsers still holding such a cookie after an upgrade do not use up their address's failure limit...
    for (let i = 0; i < 12; i++) {
      const r = await call(h, 'GET', '/api/session', { headers: withCookie(h.read), remoteAddress: '192.0.2.70' });
      expect(r.status).toBe(401);
    }
    // ...while well-formed session ids that match nothing do.
    const guesses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const r = await call(h, 'GET', '/api/session', {
        headers: withCookie(`${'A'.repeat(40)}${String(i).padStart(3, '0')}`),
        remoteAddress: '192.0.2.71',
      });
      guesses.push(r.status);
    }
    expect(guesses).toEqual([...Array(10).fill(401), 429]);
  });
});

describe('ending a session', () => {
  test('sign-out revokes it server-side: the same cookie is refused afterwards', async () => {
    const { token } = await signIn(h, h.write);
    expect((await call(h, 'GET', '/api/ui/projects', { headers: withCookie(token) })).status).toBe(200);
    const out = await call(h, 'DELETE', '/api/session', { headers: withCookie(token, { 'x-samgita-ui': '1' }) });
    expect(out.status).toBe(204);
    expect(setCookie(out)).toMatch(/^samgita_session=; .*Max-Age=0/);
    const again = await call(h, 'GET', '/api/ui/projects', { headers: withCookie(token) });
    expect(again.status).toBe(401);
    expect(again.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/signed out/) });
    const { rows } = await h.db.pool.query('select revoked_at from api_sessions where token_hash = $1', [
      createHash('sha256').update(token).digest('hex'),
    ]);
    expect(rows[0].revoked_at).toBeInstanceOf(Date);
    // The key itself still works: signing out ends the session, not the key.
    expect((await call(h, 'GET', '/api/ui/projects', { headers: { authorization: `Bearer ${h.write}` } })).status).toBe(
      200,
    );
  });

  test('revoking the key ends its sessions; deleting it deletes them', async () => {
    const k = await createApiKey(h.db.pool, { name: 'short-lived', scope: 'write' });
    const a = await signIn(h, k.key);
    const b = await signIn(h, k.key);
    expect((await call(h, 'GET', '/api/session', { headers: withCookie(a.token) })).status).toBe(200);
    await revokeApiKey(h.db.pool, k.id);
    for (const token of [a.token, b.token]) {
      const res = await call(h, 'GET', '/api/session', { headers: withCookie(token) });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/key this session was made from has been revoked/);
    }

    const k2 = await createApiKey(h.db.pool, { name: 'deleted', scope: 'read' });
    const c = await signIn(h, k2.key);
    expect((await call(h, 'GET', '/api/session', { headers: withCookie(c.token) })).status).toBe(200);
    await h.db.pool.query('delete from api_keys where id = $1', [k2.id]);
    expect((await h.db.pool.query('select 1 from api_sessions where api_key_id = $1', [k2.id])).rowCount).toBe(0);
    expect((await call(h, 'GET', '/api/session', { headers: withCookie(c.token) })).status).toBe(401);
  });

  test('an expired session is refused', async () => {
    const { token } = await signIn(h, h.write);
    expect((await call(h, 'GET', '/api/session', { headers: withCookie(token) })).status).toBe(200);
    await h.db.pool.query(
      `update api_sessions set created_at = now() - interval '13 hours', expires_at = now() - interval '1 hour'
        where token_hash = $1`,
      [createHash('sha256').update(token).digest('hex')],
    );
    const res = await call(h, 'GET', '/api/session', { headers: withCookie(token) });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/expired/) });
  });
});

describe('configuration', () => {
  test('X-Forwarded-Proto does not make the cookie Secure; configuration does', async () => {
    const plain = await signIn(h, h.write, { headers: { 'x-forwarded-proto': 'https' } });
    expect(plain.res.status).toBe(200);
    expect(plain.cookie).not.toContain('Secure');
    const out = await call(h, 'DELETE', '/api/session', {
      headers: withCookie(plain.token, { 'x-forwarded-proto': 'https' }),
    });
    expect(setCookie(out)).not.toContain('Secure');

    // SAMGITA_COOKIE_SECURE=1 (the plugin reads process.env when buildServer does not hand it the env).
    vi.stubEnv('SAMGITA_COOKIE_SECURE', '1');
    let secure: Harness | undefined;
    try {
      secure = await startHarness({
        env: loadEnvConfig({ SAMGITA_HOME: os.tmpdir(), LOG_LEVEL: 'silent', SAMGITA_COOKIE_SECURE: '1' }),
      });
    } finally {
      vi.unstubAllEnvs();
    }
    try {
      const s = await signIn(secure, secure.write);
      expect(s.cookie).toMatch(/; Secure$/);
    } finally {
      await secure.close();
    }
  });

  test('SAMGITA_COOKIE_SECURE and SAMGITA_TRUST_PROXY are read and checked', () => {
    const base = { SAMGITA_HOME: os.tmpdir() };
    expect(loadEnvConfig(base)).toMatchObject({ trustProxy: false, cookieSecure: false });
    expect(loadEnvConfig({ ...base, SAMGITA_PUBLIC_URL: 'https://samgita.example.com' }).cookieSecure).toBe(true);
    expect(loadEnvConfig({ ...base, SAMGITA_PUBLIC_URL: 'http://localhost:4000' }).cookieSecure).toBe(false);
    expect(
      loadEnvConfig({ ...base, SAMGITA_PUBLIC_URL: 'https://x.example', SAMGITA_COOKIE_SECURE: '0' }).cookieSecure,
    ).toBe(false);
    expect(loadEnvConfig({ ...base, SAMGITA_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadEnvConfig({ ...base, SAMGITA_TRUST_PROXY: '10.0.0.5, 10.1.0.0/16,loopback' }).trustProxy).toEqual([
      '10.0.0.5',
      '10.1.0.0/16',
      'loopback',
    ]);
    expect(loadEnvConfig({ ...base, SAMGITA_TRUST_PROXY: '::1,fd00::/8' }).trustProxy).toEqual(['::1', 'fd00::/8']);
    for (const bad of ['2', 'yes', '10.0.0.0/33', 'proxy.internal', '10.0.0.1,']) {
      expect(() => loadEnvConfig({ ...base, SAMGITA_TRUST_PROXY: bad }), bad).toThrow(/SAMGITA_TRUST_PROXY/);
    }
    expect(() => loadEnvConfig({ ...base, SAMGITA_COOKIE_SECURE: 'on' })).toThrow(/SAMGITA_COOKIE_SECURE/);
  });

  test('X-Forwarded-For names the client only when SAMGITA_TRUST_PROXY trusts the peer', async () => {
    const wrong = `${h.read.slice(0, -4)}0000`;
    // Not trusted (the default): every failure counts against the socket's address, whatever the header says.
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) {
      const r = await signIn(h, wrong, { remoteAddress: '192.0.2.50', headers: { 'x-forwarded-for': `10.7.0.${i}` } });
      statuses.push(r.res.status);
    }
    expect(statuses).toEqual([...Array(10).fill(401), 429]);

    const proxied = await startHarness({
      env: loadEnvConfig({ SAMGITA_HOME: os.tmpdir(), LOG_LEVEL: 'silent', SAMGITA_TRUST_PROXY: '192.0.2.60' }),
    });
    try {
      const bad = `${proxied.read.slice(0, -4)}0000`;
      const through: number[] = [];
      for (let i = 0; i < 11; i++) {
        const r = await signIn(proxied, bad, {
          remoteAddress: '192.0.2.60',
          headers: { 'x-forwarded-for': `10.8.0.${i}` },
        });
        through.push(r.res.status);
      }
      // Eleven different clients behind the trusted proxy: none is limited.
      expect(through).toEqual(Array(11).fill(401));
    } finally {
      await proxied.close();
    }
  });
});

describe('the failed sign-in limit', () => {
  test('ten failures a minute per address, then 429 with Retry-After; keys that worked still sign in', async () => {
    const ip = '203.0.113.9';
    const wrong = `${h.write.slice(0, -4)}0000`;
    // The write key has authenticated on this server (earlier tests): it stays usable below.
    for (let i = 0; i < 10; i++) {
      const r = await signIn(h, wrong, { remoteAddress: ip });
      expect(r.res.status, `attempt ${i + 1}`).toBe(401);
    }
    const limited = await signIn(h, wrong, { remoteAddress: ip });
    expect(limited.res.status).toBe(429);
    expect(limited.res.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.res.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.res.headers['retry-after'])).toBeLessThanOrEqual(60);

    // A key never seen to work waits like a guess (even a valid one: the server cannot tell them apart unchecked).
    const fresh = await createApiKey(h.db.pool, { name: 'fresh', scope: 'read' });
    expect((await signIn(h, fresh.key, { remoteAddress: ip })).res.status).toBe(429);
    // The API-key hook shares the limit.
    const api = await call(h, 'GET', '/api/ui/projects', {
      headers: { authorization: `Bearer ${wrong}` },
      remoteAddress: ip,
    });
    expect(api.status).toBe(429);
    // A key that has authenticated still signs in from the limited address.
    const ok = await signIn(h, h.write, { remoteAddress: ip });
    expect(ok.res.status).toBe(200);
    // Other addresses are not affected.
    expect((await signIn(h, wrong, { remoteAddress: '203.0.113.10' })).res.status).toBe(401);
    expect((await signIn(h, fresh.key, { remoteAddress: '203.0.113.10' })).res.status).toBe(200);
  });
});
