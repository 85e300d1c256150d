import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MAX_REQUIREMENTS } from '../../src/planner/thread-worker.js';
import { type Harness, seedProject, startHarness } from './api-harness.js';

/** The cases an independent probe found answered 500 or silently wrong, each as a user meets it. */

let h: Harness;
let id: string;
const events = async () => (await h.db.pool.query('select count(*)::int as n from events')).rows[0].n as number;

beforeAll(async () => {
  h = await startHarness({ rateLimit: false });
  id = await seedProject(h, 'hostile');
});
afterAll(async () => {
  await h?.close();
});

describe('bad input is a 4xx that names the problem, and changes nothing', () => {
  test('a field that is not one (status) is refused, not audited as a change', async () => {
    const before = await events();
    const r = await h.req('PUT', `/api/projects/${id}`, { status: 'completed' });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'status' });
    expect(r.body.error.message).toMatch(/not a field of this request/);
    expect(await events()).toBe(before);
  });

  test.each([
    ['a number for a string', { name: 123 }],
    ['an array for a string', { name: ['x'] }],
    ['a NUL in a string', { name: 'a\u0000b' }],
    ['a lone surrogate', { name: 'x\ud800' }],
  ])('%s is refused without coercion', async (_what, body) => {
    const r = await h.req('PUT', `/api/projects/${id}`, body);
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('name');
    const p = await h.req('GET', `/api/projects/${id}`);
    expect(p.body.name).toBe('hostile');
  });

  test('JSON nested 5,000 deep is a 400, not a stack overflow', async () => {
    const r = await h.req('PUT', `/api/projects/${id}`, `{"config":${'['.repeat(5000)}${']'.repeat(5000)}}`, {
      'content-type': 'application/json',
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/nested deeper than/);
  });

  test('a PRD over the documented size is a 413 however it is sent', async () => {
    const r = await h.req('PUT', `/api/projects/${id}/prd`, { content: 'x'.repeat(1024 * 1024 + 10) });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    expect((await h.req('GET', `/api/projects/${id}`)).body.prd_content).toBeNull();
  });

  test('a Last-Event-ID past any event is a 400 before the stream opens', async () => {
    const r = await h.req('GET', '/api/events/stream', undefined, { 'last-event-id': '99999999999999999999' });
    expect(r.status).toBe(400);
    expect(r.body.error.field).toBe('Last-Event-ID');
  });

  test('a PRD with more requirements than can be planned: the preview says so, and saving stores nothing', async () => {
    let prd = '# Big\n\n## Functional Requirements\n\n';
    for (let i = 1; i <= MAX_REQUIREMENTS + 500; i++) prd += `- FR-${i}: The system shall do thing ${i}\n`;
    const preview = await h.req('POST', `/api/ui/projects/${id}/prd/preview`, { content: prd });
    expect(preview.status).toBe(400);
    expect(preview.body.error).toMatchObject({ code: 'PRD_INVALID' });
    expect(preview.body.error.message).toMatch(new RegExp(`at most ${MAX_REQUIREMENTS}`));
    const save = await h.req('PUT', `/api/projects/${id}/prd`, { content: prd });
    expect(save.status).toBe(400);
    expect((await h.db.pool.query('select count(*)::int as n from prd_revisions')).rows[0].n).toBe(0);
  });
});

describe('what Node parses and times out answers in the one error shape too', () => {
  let server: Harness;
  let port: number;
  beforeAll(async () => {
    server = await startHarness({ rateLimit: false, requestTimeoutMs: 1000 });
    const address = await server.app.listen({ port: 0, host: '127.0.0.1' });
    port = Number(new URL(address).port);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Writes raw bytes and reads the whole answer until the server closes the connection. */
  async function raw(chunks: string[]): Promise<string> {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => {
      answer += d;
    });
    const closed = new Promise((r) => socket.once('close', r));
    socket.on('error', () => {});
    for (const c of chunks) socket.write(c);
    await closed;
    return answer;
  }

  const bodyOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));

  test('headers too large: 431 with the error body', async () => {
    const answer = await raw([`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`]);
    expect(answer).toMatch(/^HTTP\/1.1 431 /);
    expect(bodyOf(answer)).toMatchObject({ error: { code: 'INVALID_INPUT' } });
  });

  test('a slow client (a body that never completes) is cut off with 408, holding nothing', async () => {
    const answer = await raw([
      `PUT /api/projects/${id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${server.write}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na`,
    ]);
    expect(answer).toMatch(/^HTTP\/1.1 408 /);
    expect(bodyOf(answer)).toMatchObject({ error: { code: 'REQUEST_TIMEOUT' } });
  });

  test('a path parameter past the length limit: 414 with the error body', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/projects/${'a'.repeat(200)}`, {
      headers: { authorization: `Bearer ${server.write}` },
    });
    expect(res.status).toBe(414);
    expect(await res.json()).toMatchObject({ error: { code: 'INVALID_INPUT' } });
  });
});
