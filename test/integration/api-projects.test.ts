import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { transitionProject } from '../../src/projects/transition.js';
import { type Harness, seedProject, seedTask, settledClone, startHarness } from './api-harness.js';

let h: Harness;
/** The queued re-plan of a project: written in the same transaction as its PRD revision. */
async function replanJob(projectId: string): Promise<{ revisionId: string; actor: { type: string } } | null> {
  const { rows } = await h.db.pool.query(
    `select j.payload from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
      where t.identifier = 'replan_revision' and j.key = 'replan:' || $1`,
    [projectId],
  );
  return rows[0]?.payload ?? null;
}

function git(cwd: string, ...args: string[]) {
  return execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd, stdio: 'pipe' }).toString();
}

function makeOrigin(name: string): string {
  const dir = path.join(h.home, 'origins', name);
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'README.md'), `# ${name}\n`);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'init');
  return `file://${dir}`;
}

beforeAll(async () => {
  h = await startHarness({ prdMaxBytes: 2000 }, true, { work: true });
});
afterAll(async () => {
  await h?.close();
});

describe('POST /api/projects', () => {
  test('detects an existing clone under the search root', async () => {
    const url = makeOrigin('alpha');
    const clone = path.join(h.home, 'repos', 'somewhere', 'alpha');
    mkdirSync(path.dirname(clone), { recursive: true });
    git(path.dirname(clone), 'clone', '-q', url, clone);
    const res = await h.req('POST', '/api/projects', { name: 'alpha', git_url: url, prd: '# PRD\n\nFR-1 do it' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      name: 'alpha',
      git_url: url,
      working_path: clone,
      status: 'pending',
      source: 'api',
    });
    expect(res.body.prd_content).toContain('FR-1');
    expect(res.body.current_revision_id).toBeTruthy();
    expect(await replanJob(res.body.id)).toMatchObject({ revisionId: res.body.current_revision_id });
    const ev = await h.db.pool.query(
      'select kind, actor_type, actor_id from events where project_id = $1 order by id',
      [res.body.id],
    );
    expect(ev.rows).toEqual([
      { kind: 'project.created', actor_type: 'api_key', actor_id: h.writeId },
      { kind: 'project.prd_updated', actor_type: 'api_key', actor_id: h.writeId },
    ]);
  });

  test('clones a missing repository into $SAMGITA_HOME/repos/<name>', async () => {
    const url = makeOrigin('beta');
    const res = await h.req('POST', '/api/projects', { name: 'Beta Project', git_url: url });
    // Accepted at once; the server's worker clones.
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ working_path: null, clone: { state: 'cloning', error: null } });
    const detail = await settledClone(h, res.body.id);
    expect(detail).toMatchObject({ working_path: path.join(h.home, 'repos', 'beta-project'), clone: null });
    expect(existsSync(path.join(detail.working_path, 'README.md'))).toBe(true);
  });

  test('working_path must be a clone of git_url; clone=false leaves it unset', async () => {
    const url = makeOrigin('gamma');
    const other = makeOrigin('delta');
    const wrong = await h.req('POST', '/api/projects', { name: 'g', git_url: url, working_path: other.slice(7) });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.field).toBe('working_path');
    const none = await h.req('POST', '/api/projects', { name: 'g', git_url: url, clone: false });
    expect(none.status).toBe(201);
    expect(none.body.working_path).toBeNull();
    const dup = await h.req('POST', '/api/projects', { name: 'g2', git_url: url, clone: false });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'CONFLICT', field: 'git_url' });
  });

  test('bad inputs name the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ git_url: 'https://x.test/r.git' }, 'name'],
      [{ name: 'x' }, 'git_url'],
      [{ name: '', git_url: 'https://x.test/r.git' }, 'name'],
      [{ name: 'x', git_url: 'not a url' }, 'git_url'],
      [{ name: 'x', git_url: 'https://x.test/r.git', config: 'nope' }, 'config'],
      [{ name: 'x', git_url: 'https://x.test/r.git', clone: 'maybe' }, 'clone'],
    ];
    for (const [body, field] of cases) {
      const res = await h.req('POST', '/api/projects', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_INPUT');
      expect(res.body.error.field, JSON.stringify(body)).toBe(field);
    }
    const notJson = await h.req('POST', '/api/projects', 'name=x', { 'content-type': 'text/plain' });
    expect(notJson.status).toBe(400);
    const unreachable = await h.req('POST', '/api/projects', {
      name: 'gone',
      git_url: `file://${h.home}/nothing-here`,
    });
    // Accepted, then the clone fails in the worker: after its attempts the project says why.
    expect(unreachable.status).toBe(202);
    const failed = await settledClone(h, unreachable.body.id);
    expect(failed).toMatchObject({ working_path: null, clone: { state: 'failed' } });
    expect(failed.clone.error).toMatch(/cannot clone .*nothing-here/);
  });
});

describe('list, get, update', () => {
  test('cursor pagination and status filter', async () => {
    for (let i = 0; i < 5; i++) await seedProject(h, `page-${i}`, i % 2 ? 'running' : 'completed');
    const seen = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await h.req('GET', `/api/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.data.length).toBeLessThanOrEqual(2);
      for (const p of res.body.data) {
        expect(seen.has(p.id)).toBe(false);
        seen.add(p.id);
      }
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    const total = await h.db.pool.query('select count(*)::int as n from projects');
    expect(seen.size).toBe(total.rows[0].n);
    expect(pages).toBe(Math.ceil(seen.size / 2));
    const running = await h.req('GET', '/api/projects?status=running');
    expect(running.body.data.length).toBe(2);
    expect((await h.req('GET', '/api/projects?status=bogus')).body.error.field).toBe('status');
    expect((await h.req('GET', '/api/projects?limit=0')).body.error.field).toBe('limit');
    expect((await h.req('GET', '/api/projects?cursor=zzz')).body.error.field).toBe('cursor');
  });

  test('get with task counts; 404 and 400', async () => {
    const id = await seedProject(h, 'counts');
    await seedTask(h, id, { status: 'completed' });
    await seedTask(h, id, { status: 'completed' });
    await seedTask(h, id, { status: 'failed' });
    const res = await h.req('GET', `/api/projects/${id}`);
    expect(res.body.task_counts).toEqual({ completed: 2, failed: 1 });
    expect(res.body.tasks_total).toBe(3);
    expect((await h.req('GET', '/api/projects/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await h.req('GET', '/api/projects/nope')).body.error.field).toBe('id');
  });

  test('PUT updates name and config and records the change', async () => {
    const id = await seedProject(h, 'upd');
    const res = await h.req('PUT', `/api/projects/${id}`, { name: 'renamed', config: { budget: { usd: 5 } } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'renamed', config: { budget: { usd: 5 } } });
    expect((await h.req('PUT', `/api/projects/${id}`, {})).status).toBe(400);
    expect((await h.req('PUT', `/api/projects/${id}`, { name: { a: 1 } })).body.error.field).toBe('name');
    expect((await h.req('PUT', '/api/projects/00000000-0000-4000-8000-000000000000', { name: 'x' })).status).toBe(404);
    const ev = await h.db.pool.query("select data from events where project_id = $1 and kind = 'project.updated'", [
      id,
    ]);
    expect(ev.rows[0].data.fields.sort()).toEqual(['config', 'name']);
  });
});

describe('lifecycle', () => {
  test('pause, resume, cancel, archive, and 409 for the rest', async () => {
    const id = await seedProject(h, 'life', 'running');
    const queued = await seedTask(h, id, { status: 'queued' });
    const done = await seedTask(h, id, { status: 'completed' });
    await h.db.pool.query(
      `select graphile_worker.add_job('run_task', json_build_object('taskId', $1::text), job_key => 'task:' || $1)`,
      [queued],
    );
    expect((await h.req('POST', `/api/projects/${id}/pause`)).body.status).toBe('paused');
    expect((await h.req('POST', `/api/projects/${id}/pause`)).status).toBe(409);
    const resumed = await h.req('POST', `/api/projects/${id}/resume`, { reason: 'go on' });
    expect(resumed.body).toMatchObject({ status: 'running', status_reason: 'go on' });
    const archiveEarly = await h.req('POST', `/api/projects/${id}/archive`);
    expect(archiveEarly.status).toBe(409);
    expect(archiveEarly.body.error.hint).toMatch(/pause, cancel/);
    expect((await h.req('DELETE', `/api/projects/${id}`)).status).toBe(409);
    expect((await h.req('POST', `/api/projects/${id}/cancel`)).body.status).toBe('cancelled');
    const tasks = await h.db.pool.query('select id, status from tasks where project_id = $1', [id]);
    expect(Object.fromEntries(tasks.rows.map((r) => [r.id, r.status]))).toEqual({
      [queued]: 'cancelled',
      [done]: 'completed',
    });
    const jobs = await h.db.pool.query(
      "select count(*)::int as n from graphile_worker.jobs where key = 'task:' || $1",
      [queued],
    );
    expect(jobs.rows[0].n).toBe(0);
    expect((await h.req('POST', `/api/projects/${id}/resume`)).status).toBe(409);
    expect((await h.req('POST', `/api/projects/${id}/archive`)).body.status).toBe('archived');
    expect((await h.req('PUT', `/api/projects/${id}`, { name: 'x' })).status).toBe(409);
    const kinds = await h.db.pool.query(
      "select kind from events where project_id = $1 and kind like 'project.%' order by id",
      [id],
    );
    expect(kinds.rows.map((r) => r.kind)).toEqual([
      'project.paused',
      'project.resumed',
      // A resume through the API moves the project on in the same transaction (it used to leave it idle):
      // its phase had no tasks left, so it advanced to the one with the queued task.
      'project.phase_changed',
      'project.cancelled',
      'project.archived',
    ]);
    expect((await h.req('DELETE', `/api/projects/${id}`)).status).toBe(204);
    expect((await h.req('GET', `/api/projects/${id}`)).status).toBe(404);
    expect((await h.req('POST', `/api/projects/${id}/pause`)).status).toBe(404);
  });

  test('resume of a completed project is 409 CONFLICT; transitionProject is usable directly', async () => {
    const id = await seedProject(h, 'done', 'completed');
    const res = await h.req('POST', `/api/projects/${id}/resume`);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'CONFLICT' });
    expect(res.body.error.message).toMatch(/cannot resume a project that is completed/);
    const r = await transitionProject(h.db.pool, id, 'archive', { type: 'runner', id: 'r1' });
    expect(r).toMatchObject({ from: 'completed', to: 'archived' });
  });
});

describe('PRD', () => {
  test('JSON, multipart upload, unchanged, too large, archived', async () => {
    const id = await seedProject(h, 'prd');
    const a = await h.req('PUT', `/api/projects/${id}/prd`, { content: '# PRD v1' });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ project_id: id, source: 'api', created: true });
    const same = await h.req('PUT', `/api/projects/${id}/prd`, { content: '# PRD v1' });
    expect(same.body).toMatchObject({ id: a.body.id, created: false });
    // An unchanged PRD still queues its re-plan: a re-save must be able to repair a lost one.
    expect(await replanJob(id)).toMatchObject({ revisionId: a.body.id, actor: { type: 'api_key' } });

    const boundary = '----samgita';
    const multipart = (text: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="PRD.md"\r\nContent-Type: text/markdown\r\n\r\n${text}\r\n--${boundary}--\r\n`;
    const up = await h.req('PUT', `/api/projects/${id}/prd`, multipart('# PRD v2 uploaded'), {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    });
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ source: 'upload', created: true });
    const p = await h.req('GET', `/api/projects/${id}`);
    expect(p.body).toMatchObject({ prd_content: '# PRD v2 uploaded', current_revision_id: up.body.id });
    expect(await replanJob(id)).toMatchObject({ revisionId: up.body.id });

    const big = 'x'.repeat(5000);
    const tooBigUpload = await h.req('PUT', `/api/projects/${id}/prd`, multipart(big), {
      'content-type': `multipart/form-data; boundary=${boundary}`,
    });
    expect(tooBigUpload.status).toBe(413);
    expect(tooBigUpload.body.error.code).toBe('PAYLOAD_TOO_LARGE');
    const tooBigJson = await h.req('PUT', `/api/projects/${id}/prd`, { content: big });
    expect(tooBigJson.status).toBe(413);
    expect(tooBigJson.body.error.code).toBe('PAYLOAD_TOO_LARGE');

    expect((await h.req('PUT', `/api/projects/${id}/prd`, { content: '' })).body.error.field).toBe('content');
    expect((await h.req('PUT', `/api/projects/${id}/prd`, { text: 'x' })).body.error.field).toBe('content');
    expect(
      (await h.req('PUT', '/api/projects/00000000-0000-4000-8000-000000000000/prd', { content: 'x' })).status,
    ).toBe(404);
    const revs = await h.db.pool.query('select source from prd_revisions where project_id = $1 order by inserted_at', [
      id,
    ]);
    expect(revs.rows.map((r) => r.source)).toEqual(['api', 'upload']);
  });
});

describe('clone (FR-1.9)', () => {
  test('copies config and PRD under a new name and git URL', async () => {
    const src = await h.req('POST', '/api/projects', {
      name: 'src',
      git_url: 'https://example.com/src.git',
      clone: false,
      config: { phases: ['development'] },
      prd: '# source PRD',
    });
    expect(src.status).toBe(201);
    const res = await h.req('POST', `/api/projects/${src.body.id}/clone`, {
      name: 'copy',
      git_url: 'https://example.com/copy.git',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'copy', config: { phases: ['development'] }, prd_content: '# source PRD' });
    expect(res.body.id).not.toBe(src.body.id);
    const dup = await h.req('POST', `/api/projects/${src.body.id}/clone`, {
      name: 'c',
      git_url: 'https://example.com/copy.git',
    });
    expect(dup.status).toBe(409);
    expect((await h.req('POST', `/api/projects/${src.body.id}/clone`, { name: 'c' })).body.error.field).toBe('git_url');
    const missing = await h.req('POST', '/api/projects/00000000-0000-4000-8000-000000000000/clone', {
      name: 'c',
      git_url: 'https://example.com/zz.git',
    });
    expect(missing.status).toBe(404);
  });
});
