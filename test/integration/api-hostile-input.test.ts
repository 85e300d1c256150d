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
