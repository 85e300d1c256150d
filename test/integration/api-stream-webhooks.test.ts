import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { validate } from '@readme/openapi-parser';
import type { Runner } from 'graphile-worker';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadEnvConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log/logger.js';
import { WebhookDispatcher } from '../../src/outgoing-webhooks/dispatch.js';
import { verifySignature } from '../../src/outgoing-webhooks/signature.js';
import { parseAllowList } from '../../src/outgoing-webhooks/target-policy.js';
import { runWebhookWorker } from '../../src/outgoing-webhooks/worker.js';
import { type Harness, seedProject, startHarness } from './api-harness.js';

let h: Harness;
let base: string;

beforeAll(async () => {
  // The receivers below listen on 127.0.0.1, which webhooks may reach only when allowed.
  h = await startHarness({
    heartbeatMs: 200,
    env: loadEnvConfig({ SAMGITA_HOME: os.tmpdir(), LOG_LEVEL: 'silent', SAMGITA_WEBHOOK_ALLOW: '127.0.0.1/32' }),
  });
  base = await h.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await h?.close();
});

interface SseEvent {
  id?: string;
  event?: string;
  data?: string;
}

/** Reads SSE frames from a streaming fetch until `until` is satisfied or the timeout passes. */
async function readSse(
  url: string,
  headers: Record<string, string>,
  until: (events: SseEvent[], raw: string) => boolean,
  onOpen?: () => Promise<void>,
  timeoutMs = 5000,
): Promise<{ events: SseEvent[]; raw: string; status: number; contentType: string | null }> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${h.write}`, ...headers }, signal: ac.signal });
  const events: SseEvent[] = [];
  let raw = '';
  const reader = res.body!.getReader();
  const dec = new TextDecoder();
  const deadline = Date.now() + timeoutMs;
  let opened = false;
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<null>((r) => setTimeout(() => r(null), Math.max(1, deadline - Date.now()))),
      ]);
      if (!chunk || chunk.done) break;
      raw += dec.decode(chunk.value);
      events.length = 0;
      for (const frame of raw.split('\n\n')) {
        const e: SseEvent = {};
        for (const line of frame.split('\n')) {
          const m = /^(id|event|data): (.*)$/.exec(line);
          if (m) e[m[1] as keyof SseEvent] = m[2] ?? '';
        }
        if (e.data !== undefined) events.push(e);
      }
      if (
        (!opened && raw.includes(': live')) ||
        (!opened && onOpen && raw.includes('retry:') && !url.includes('events/stream'))
      ) {
        opened = true;
        await onOpen?.();
      }
      if (until(events, raw)) break;
    }
  } finally {
    ac.abort();
  }
  return { events, raw, status: res.status, contentType: res.headers.get('content-type') };
}

describe('SSE', () => {
  test('events stream delivers new events live, filters, heartbeats, and resumes with Last-Event-ID', async () => {
    const pid = await seedProject(h, 'sse', 'running');
    const got = await readSse(
      `${base}/api/events/stream?project_id=${pid}`,
      {},
      (events, raw) => events.some((e) => e.event === 'project.paused') && raw.includes(': heartbeat'),
      async () => {
        await h.req('POST', `/api/projects/${pid}/pause`);
      },
    );
    expect(got.status).toBe(200);
    expect(got.contentType).toMatch(/text\/event-stream/);
    const paused = got.events.find((e) => e.event === 'project.paused')!;
    expect(JSON.parse(paused.data!)).toMatchObject({ kind: 'project.paused', project_id: pid, actor_type: 'api_key' });
    expect(got.raw).toContain(': heartbeat');

    // Missed while disconnected: resumed from Last-Event-ID.
    await h.req('POST', `/api/projects/${pid}/resume`);
    const resumed = await readSse(
      `${base}/api/events/stream?project_id=${pid}`,
      { 'last-event-id': paused.id! },
      (events) => events.some((e) => e.event === 'project.completed'),
    );
    // A resume moves the project on in the same transaction: with no task left, it completes.
    expect(resumed.events.map((e) => e.event)).toEqual(['project.resumed', 'project.completed']);
  });

  test('agent logs stream: existing lines, then new ones', async () => {
    const pid = await seedProject(h, 'logs');
    const { rows } = await h.db.pool.query<{ id: string }>(
      `insert into agent_runs (project_id, agent_type, node) values ($1, 'eng-qa', 'n') returning id`,
      [pid],
    );
    const run = rows[0]!.id;
    await h.db.pool.query(`insert into agent_logs (agent_run_id, stream, line) values ($1, 'stdout', 'old line')`, [
      run,
    ]);
    const got = await readSse(
      `${base}/api/agents/${run}/logs`,
      { accept: 'text/event-stream' },
      (events) => events.some((e) => e.data?.includes('new line')),
      async () => {
        await new Promise((r) => setTimeout(r, 100));
        await h.db.pool.query(`insert into agent_logs (agent_run_id, stream, line) values ($1, 'stderr', 'new line')`, [
          run,
        ]);
      },
    );
    const lines = got.events.filter((e) => e.event === 'log').map((e) => JSON.parse(e.data!).line);
    expect(lines).toEqual(['old line', 'new line']);
  });
});

describe('webhooks', () => {
  interface Received {
    headers: IncomingMessage['headers'];
    body: string;
    at: number;
  }
  const servers: Server[] = [];
  let dispatcher: WebhookDispatcher;
  let worker: Runner;

  async function receiver(handler: (n: number, event: string) => { status: number; delayMs?: number }) {
    const received: Received[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body, at: Date.now() });
        const event = String(req.headers['x-samgita-event']);
        const { status, delayMs } = handler(
          received.filter((r) => r.headers['x-samgita-event'] === event).length,
          event,
        );
        setTimeout(() => res.writeHead(status).end('ok'), delayMs ?? 0);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
  }

  beforeAll(async () => {
    dispatcher = new WebhookDispatcher(h.db.pool, createLogger({ level: 'silent' }), { sweepIntervalMs: 500 });
    await dispatcher.start();
    worker = await runWebhookWorker({
      pool: h.db.pool,
      concurrency: 4,
      pollIntervalMs: 200,
      timeoutMs: 3000,
      allow: parseAllowList('127.0.0.1/32'),
    });
  });
  afterAll(async () => {
    await dispatcher?.stop();
    await worker?.stop();
    for (const s of servers) s.close();
  });

  test('register: validation, secret shown once, list, delete', async () => {
    expect((await h.req('POST', '/api/webhooks', { url: 'ftp://x', events: ['*'] })).body.error.field).toBe('url');
    expect((await h.req('POST', '/api/webhooks', { url: 'http://x.test', events: [] })).body.error.field).toBe(
      'events',
    );
    const unknown = await h.req('POST', '/api/webhooks', {
      url: 'http://x.test',
      events: ['task.completed', 'task.exploded'],
    });
    expect(unknown.body.error.field).toBe('events.1');
    expect((await h.req('POST', '/api/webhooks', { events: ['*'] })).body.error.field).toBe('url');
    const created = await h.req('POST', '/api/webhooks', { url: 'http://x.test/h', events: ['project.completed'] });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    const list = await h.req('GET', '/api/webhooks');
    const listed = list.body.data.find((w: { id: string }) => w.id === created.body.id);
    expect(listed.secret).toBeUndefined();
    expect((await h.req('DELETE', `/api/webhooks/${created.body.id}`)).status).toBe(204);
    expect((await h.req('DELETE', `/api/webhooks/${created.body.id}`)).status).toBe(404);
    expect((await h.req('GET', `/api/webhooks/${created.body.id}/deliveries`)).status).toBe(404);
  });

  test('signed deliveries; a failing, slow receiver is retried while a good one is served promptly', async () => {
    const good = await receiver(() => ({ status: 200 }));
    const flaky = await receiver((n, event) =>
      event === 'project.paused' && n === 1 ? { status: 500, delayMs: 1500 } : { status: 204 },
    );
    const secret = 'a-test-secret-of-enough-length';
    const g = await h.req('POST', '/api/webhooks', { url: good.url, events: ['project.paused'], secret });
    const f = await h.req('POST', '/api/webhooks', { url: flaky.url, events: ['*'] });
    expect(g.body.secret).toBe(secret);

    const pid = await seedProject(h, 'hooks', 'running');
    const t0 = Date.now();
    expect((await h.req('POST', `/api/projects/${pid}/pause`)).status).toBe(200);

    await waitFor(() => good.received.length >= 1, 5000);
    const goodLatency = good.received[0]!.at - t0;
    expect(goodLatency).toBeLessThan(1500);
    const d = good.received[0]!;
    expect(d.headers['x-samgita-event']).toBe('project.paused');
    expect(d.headers['x-samgita-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(verifySignature(secret, d.headers['x-samgita-signature'] as string, d.body)).toBe(true);
    expect(verifySignature('wrong', d.headers['x-samgita-signature'] as string, d.body)).toBe(false);
    const payload = JSON.parse(d.body);
    expect(payload).toMatchObject({
      event: 'project.paused',
      project_id: pid,
      data: { from: 'running', to: 'paused' },
    });
    expect(typeof payload.id).toBe('number');

    // The flaky receiver fails first, then is retried after graphile-worker's backoff (~e^1 s).
    await waitFor(
      () => flaky.received.filter((r) => r.headers['x-samgita-event'] === 'project.paused').length >= 2,
      15000,
    );
    const fd = await waitForDelivery(f.body.id, 'project.paused', 'succeeded');
    expect(fd).toMatchObject({ attempts: 2, response_status: 204 });
    const gd = await waitForDelivery(g.body.id, 'project.paused', 'succeeded');
    expect(gd).toMatchObject({ attempts: 1, response_status: 200 });
    // Idempotent: a second sweep creates nothing new.
    await dispatcher.sweep();
    const n = await h.db.pool.query('select count(*)::int as n from webhook_deliveries where webhook_id = $1', [
      g.body.id,
    ]);
    expect(n.rows[0].n).toBe(1);
    const filtered = await h.req('GET', `/api/webhooks/${f.body.id}/deliveries?status=succeeded&limit=1`);
    expect(filtered.body.data).toHaveLength(1);
    expect((await h.req('GET', `/api/webhooks/${f.body.id}/deliveries?status=lost`)).body.error.field).toBe('status');
  }, 30_000);

  async function waitForDelivery(webhookId: string, event: string, status: string) {
    let found: Record<string, unknown> | undefined;
    await waitFor(async () => {
      const res = await h.req('GET', `/api/webhooks/${webhookId}/deliveries`);
      found = res.body.data.find((x: { event: string; status: string }) => x.event === event && x.status === status);
      return !!found;
    }, 15000);
    return found;
  }
});

test('the OpenAPI document is valid 3.1 and lists every API route', async () => {
  const res = await h.req('GET', '/openapi.json', undefined, { authorization: '' });
  expect(res.body.openapi).toBe('3.1.0');
  const result = await validate(structuredClone(res.body));
  expect(result.valid, JSON.stringify(result)).toBe(true);
  const paths = Object.keys(res.body.paths);
  for (const p of [
    '/api/projects',
    '/api/projects/{id}',
    '/api/projects/{id}/pause',
    '/api/projects/{id}/resume',
    '/api/projects/{id}/cancel',
    '/api/projects/{id}/archive',
    '/api/projects/{id}/prd',
    '/api/projects/{id}/clone',
    '/api/projects/import',
    '/api/projects/{id}/tasks',
    '/api/projects/{id}/tasks/{tid}',
    '/api/projects/{id}/tasks/{tid}/retry',
    '/api/projects/{id}/agents',
    '/api/agents/{id}',
    '/api/agents/{id}/logs',
    '/api/projects/{id}/artifacts',
    '/api/artifacts/{id}',
    '/api/events',
    '/api/events/stream',
    '/api/runners',
    '/api/webhooks',
    '/api/webhooks/{id}',
    '/api/webhooks/{id}/deliveries',
    '/health',
    '/metrics',
  ]) {
    expect(paths, p).toContain(p);
  }
  const docs = await fetch(`${base}/docs`, { redirect: 'follow' });
  expect(docs.status).toBe(200);
  expect(await docs.text()).toMatch(/swagger/i);
});

async function waitFor(fn: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
