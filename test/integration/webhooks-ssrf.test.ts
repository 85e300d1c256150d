/**
 * Outgoing webhooks are not an SSRF tool (issue 14): a real listener on
 * 127.0.0.1 receives nothing from webhooks pointed at internal addresses,
 * whether refused at registration (literal IPs in every spelling) or at
 * delivery (host names resolving inside); it does receive when the operator's
 * allow-list says so. Response bodies are short, redacted, and for write keys.
 */
import type { LookupAddress } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { loadEnvConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log/logger.js';
import { WebhookDispatcher } from '../../src/outgoing-webhooks/dispatch.js';
import { systemResolver } from '../../src/outgoing-webhooks/safe-post.js';
import { parseAllowList } from '../../src/outgoing-webhooks/target-policy.js';
import { runWebhookWorker } from '../../src/outgoing-webhooks/worker.js';
import { type Harness, seedProject, startHarness } from './api-harness.js';

interface Hit {
  path: string;
  host: string;
}

/** A listener on 127.0.0.1 that records every connection and request. */
async function listener(answer: (path: string, port: number) => { status: number; body?: string; location?: string }) {
  const hits: Hit[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const pathname = req.url ?? '';
      hits.push({ path: pathname, host: String(req.headers.host) });
      const a = answer(pathname, port);
      res.writeHead(a.status, a.location ? { location: a.location } : {}).end(a.body ?? 'ok');
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hits,
    connections: () => connections,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

interface DeliveryView {
  event: string;
  status: string;
  attempts: number;
  response_status: number | null;
  response_body: string | null;
  error: string | null;
}

async function deliveries(h: Harness, webhookId: string, key = h.write): Promise<DeliveryView[]> {
  const res = await h.req('GET', `/api/webhooks/${webhookId}/deliveries`, undefined, {
    authorization: `Bearer ${key}`,
  });
  expect(res.status).toBe(200);
  return res.body.data;
}

async function settled(h: Harness, webhookId: string, accept: (d: DeliveryView) => boolean): Promise<DeliveryView> {
  let found: DeliveryView | undefined;
  await waitFor(async () => {
    found = (await deliveries(h, webhookId)).find((d) => d.event === 'project.paused' && accept(d));
    return !!found;
  });
  return found!;
}

async function pauseAProject(h: Harness, name: string): Promise<void> {
  const pid = await seedProject(h, name, 'running');
  expect((await h.req('POST', `/api/projects/${pid}/pause`)).status).toBe(200);
}

describe('by default (no SAMGITA_WEBHOOK_ALLOW)', () => {
  let h: Harness;
  let dispatcher: WebhookDispatcher;
  let worker: Runner;
  let target: Awaited<ReturnType<typeof listener>>;
  const SECRET = 'whsec_test_secret_of_enough_length_0001';
  const resolved: string[] = [];
  // *.test names are answered here (DNS has none of them); anything else goes to the system resolver.
  const fakeDns: Record<string, LookupAddress[]> = {
    'rebind.test': [{ address: '127.0.0.1', family: 4 }],
    'mixed.test': [
      { address: '93.184.215.14', family: 4 },
      { address: '::1', family: 6 },
    ],
    'meta.test': [{ address: '169.254.169.254', family: 4 }],
    'allowed.test': [{ address: '127.0.0.1', family: 4 }],
  };

  beforeAll(async () => {
    h = await startHarness();
    target = await listener((p, port) => {
      if (p === '/redirect') return { status: 302, location: `http://127.0.0.1:${port}/landed` };
      // An answer that echoes the secret and is long: what is kept must be redacted and short.
      return { status: 200, body: `echo ${SECRET} ${'y'.repeat(5000)}` };
    });
    dispatcher = new WebhookDispatcher(h.db.pool, createLogger({ level: 'silent' }), { sweepIntervalMs: 500 });
    await dispatcher.start();
    worker = await runWebhookWorker({
      pool: h.db.pool,
      concurrency: 4,
      pollIntervalMs: 100,
      timeoutMs: 5000,
      allow: parseAllowList('allowed.test'),
      resolve: async (host) => {
        resolved.push(host);
        return fakeDns[host] ?? systemResolver(host);
      },
    });
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await worker?.stop();
    await target?.close();
    await h?.close();
  });

  test('literal internal addresses and credentials are refused at registration with 400 url', async () => {
    const p = target.port;
    const refused = [
      `http://127.0.0.1:${p}/`,
      `http://0x7f000001:${p}/`,
      `http://2130706433:${p}/`,
      `http://0177.0.0.1:${p}/`,
      `http://127.1:${p}/`,
      `http://[::1]:${p}/`,
      `http://[::ffff:127.0.0.1]:${p}/`,
      `http://[::ffff:7f00:1]:${p}/`,
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.1/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://[fd00::1]/',
      'http://[fe80::1]/',
    ];
    for (const url of refused) {
      const res = await h.req('POST', '/api/webhooks', { url, events: ['project.paused'] });
      expect(res.status, url).toBe(400);
      expect(res.body.error, url).toMatchObject({ code: 'INVALID_INPUT', field: 'url' });
      expect(res.body.error.message, url).toMatch(/which webhooks may not reach.*SAMGITA_WEBHOOK_ALLOW=/);
    }
    const loop = await h.req('POST', '/api/webhooks', { url: `http://0x7f000001:${p}/`, events: ['*'] });
    expect(loop.body.error.message).toBe(
      "url points at 127.0.0.1, a loopback address, which webhooks may not reach; use a public address, or have the server's operator allow it with SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32",
    );
    const creds = await h.req('POST', '/api/webhooks', {
      url: 'https://user:hunter2@hooks.example.com/x',
      events: ['project.paused'],
    });
    expect(creds.status).toBe(400);
    expect(creds.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'url' });
    expect(creds.body.error.message).toMatch(/must not contain credentials/);
    const scheme = await h.req('POST', '/api/webhooks', { url: 'gopher://127.0.0.1:6379/_x', events: ['*'] });
    expect(scheme.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'url' });
    expect(scheme.body.error.message).toMatch(/must be http:\/\/ or https:\/\//);

    expect((await h.req('GET', '/api/webhooks')).body.data).toEqual([]);
    expect(target.connections()).toBe(0);
  });

  test('host names resolving inside are refused at delivery: nothing reaches the listener; allowed ones do', async () => {
    const p = target.port;
    const create = async (url: string) => {
      const res = await h.req('POST', '/api/webhooks', { url, events: ['project.paused'], secret: SECRET });
      expect(res.status, url).toBe(201);
      return res.body.id as string;
    };
    const localhost = await create(`http://localhost:${p}/localhost`);
    const rebind = await create(`http://rebind.test:${p}/rebind`);
    const mixed = await create(`http://mixed.test:${p}/mixed`);
    const meta = await create(`http://meta.test:${p}/meta`);
    const allowed = await create(`http://allowed.test:${p}/allowed`);
    const redirect = await create(`http://allowed.test:${p}/redirect`);
    // Rows from before the policy (or written around the API) are checked again at delivery.
    const legacy = await h.db.pool.query<{ id: string }>(
      `insert into webhooks (url, events, secret) values ($1, '{project.paused}', $3), ($2, '{project.paused}', $3) returning id`,
      [`http://127.0.0.1:${p}/legacy`, `http://user:hunter2@allowed.test:${p}/creds`, SECRET],
    );
    const [legacyIp, legacyCreds] = legacy.rows.map((r) => r.id);

    await pauseAProject(h, 'ssrf');

    const reasonOf = async (id: string) => {
      const d = await settled(h, id, (x) => x.status === 'failed');
      // Refused is final at once: one attempt, no retry scheduled.
      expect(d).toMatchObject({ attempts: 1, response_status: null, response_body: null });
      return d.error;
    };
    expect(await reasonOf(localhost)).toMatch(
      /^refused: localhost resolves to (127\.0\.0\.1|::1), a loopback address; allow it with SAMGITA_WEBHOOK_ALLOW=localhost \(or (127\.0\.0\.1\/32|::1\/128)\)$/,
    );
    expect(await reasonOf(rebind)).toBe(
      'refused: rebind.test resolves to 127.0.0.1, a loopback address; allow it with SAMGITA_WEBHOOK_ALLOW=rebind.test (or 127.0.0.1/32)',
    );
    // One public address does not excuse an internal one.
    expect(await reasonOf(mixed)).toMatch(/^refused: mixed\.test resolves to ::1, a loopback address;/);
    expect(await reasonOf(meta)).toMatch(/^refused: meta\.test resolves to 169\.254\.169\.254, a link-local address;/);
    expect(await reasonOf(legacyIp!)).toBe(
      'refused: 127.0.0.1 is a loopback address; allow it with SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32',
    );
    expect(await reasonOf(legacyCreds!)).toMatch(/^refused: url must not contain credentials/);

    const ok = await settled(h, allowed, (x) => x.status === 'succeeded');
    expect(ok).toMatchObject({ attempts: 1, response_status: 200, error: null });
    // A redirect is the answer: recorded, not followed.
    const moved = await settled(h, redirect, (x) => x.response_status === 302);
    expect(moved.error).toBe('receiver answered HTTP 302 (redirects are not followed)');

    // The listener saw exactly the allowed deliveries, addressed by the allowed name, and never /landed.
    // (the 302 is retried after graphile-worker's backoff, so /redirect may have come twice by now)
    expect([...new Set(target.hits.map((x) => x.path))].sort()).toEqual(['/allowed', '/redirect']);
    for (const hit of target.hits) expect(hit.host).toBe(`allowed.test:${p}`);
    // allowed.test exists in no DNS: the connection went to the address the policy checked, not a new lookup.
    expect(resolved.filter((x) => x === 'allowed.test').length).toBeGreaterThanOrEqual(2);
    expect(resolved).not.toContain('127.0.0.1');
  }, 30_000);

  test('response bodies: a short redacted excerpt, to write keys only', async () => {
    const { rows } = await h.db.pool.query<{ id: string }>(
      `select id from webhooks where url like 'http://allowed.test:%/allowed'`,
    );
    const id = rows[0]!.id;
    const asWrite = (await deliveries(h, id, h.write)).find((d) => d.status === 'succeeded')!;
    expect(asWrite.response_body).toHaveLength(256);
    expect(asWrite.response_body).toMatch(/^echo \[redacted:webhook secret\] y+$/);
    expect(asWrite.response_body).not.toContain(SECRET);
    const asRead = (await deliveries(h, id, h.read)).find((d) => d.status === 'succeeded')!;
    expect(asRead.response_body).toBeNull();
    expect(asRead.response_status).toBe(200);
    // What is stored is the excerpt, not the 5 kB answer.
    const stored = await h.db.pool.query<{ n: number }>(
      'select max(length(response_body))::int as n from webhook_deliveries where webhook_id = $1',
      [id],
    );
    expect(stored.rows[0]!.n).toBe(256);
  });
});

describe('with SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32', () => {
  let h: Harness;
  let home: string;
  let dispatcher: WebhookDispatcher;
  let worker: Runner;
  let target: Awaited<ReturnType<typeof listener>>;

  beforeAll(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), 'samgita-ssrf-'));
    h = await startHarness({
      env: loadEnvConfig({ SAMGITA_HOME: home, LOG_LEVEL: 'silent', SAMGITA_WEBHOOK_ALLOW: '127.0.0.1/32' }),
    });
    target = await listener(() => ({ status: 204 }));
    dispatcher = new WebhookDispatcher(h.db.pool, createLogger({ level: 'silent' }), { sweepIntervalMs: 500 });
    await dispatcher.start();
    // No `allow` option: the deliverer reads the variable itself, as `samgita serve` does.
    vi.stubEnv('SAMGITA_WEBHOOK_ALLOW', '127.0.0.1/32');
    worker = await runWebhookWorker({ pool: h.db.pool, concurrency: 2, pollIntervalMs: 100, timeoutMs: 5000 });
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    await dispatcher?.stop();
    await worker?.stop();
    await target?.close();
    await h?.close();
    await rm(home, { recursive: true, force: true });
  });

  test('the listener on 127.0.0.1 receives; other loopback forms stay refused', async () => {
    const p = target.port;
    const created = await h.req('POST', '/api/webhooks', {
      url: `http://0x7f000001:${p}/env`,
      events: ['project.paused'],
    });
    expect(created.status).toBe(201);
    expect(created.body.url).toBe(`http://127.0.0.1:${p}/env`);
    const v6 = await h.req('POST', '/api/webhooks', { url: `http://[::1]:${p}/v6`, events: ['project.paused'] });
    expect(v6.status).toBe(400);
    expect(v6.body.error.message).toMatch(/SAMGITA_WEBHOOK_ALLOW=::1\/128/);

    await pauseAProject(h, 'allowed');
    const d = await settled(h, created.body.id, (x) => x.status === 'succeeded');
    expect(d).toMatchObject({ attempts: 1, response_status: 204 });
    expect(target.hits.map((x) => x.path)).toEqual(['/env']);
  }, 30_000);
});
