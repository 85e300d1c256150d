import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Harness, seedProject, seedTask, startHarness } from './api-harness.js';

let h: Harness;
let pid: string;
const Z = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  h = await startHarness({ metricsPublic: false });
  pid = await seedProject(h, 'tasks', 'running');
});
afterAll(async () => {
  await h?.close();
});

async function seedRun(taskId: string | null, ended = false): Promise<string> {
  const { rows } = await h.db.pool.query<{ id: string }>(
    `insert into agent_runs (project_id, current_task_id, agent_type, node, status, ended_at)
     values ($1, $2, 'eng-backend', 'host-a', 'act', $3) returning id`,
    [pid, taskId, ended ? new Date() : null],
  );
  return rows[0]!.id;
}

describe('tasks', () => {
  test('filters and keyset pagination by (priority, id)', async () => {
    for (let i = 0; i < 7; i++) {
      await seedTask(h, pid, {
        priority: i % 3,
        status: i < 4 ? 'pending' : 'completed',
        phase: i % 2 ? 'qa' : 'development',
        agent_type: i === 0 ? 'ops-security' : 'eng-backend',
      });
    }
    const ids: string[] = [];
    let cursor: string | null = null;
    const prios: number[] = [];
    do {
      const res = await h.req('GET', `/api/projects/${pid}/tasks?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      for (const t of res.body.data) {
        ids.push(t.id);
        prios.push(t.priority);
      }
      cursor = res.body.next_cursor;
    } while (cursor);
    expect(ids.length).toBe(7);
    expect(new Set(ids).size).toBe(7);
    expect([...prios].sort()).toEqual(prios);
    expect((await h.req('GET', `/api/projects/${pid}/tasks?status=completed`)).body.data.length).toBe(3);
    expect((await h.req('GET', `/api/projects/${pid}/tasks?phase=qa`)).body.data.length).toBe(3);
    expect((await h.req('GET', `/api/projects/${pid}/tasks?agent_type=ops-security`)).body.data.length).toBe(1);
    expect((await h.req('GET', `/api/projects/${pid}/tasks?status=nope`)).body.error.field).toBe('status');
    expect((await h.req('GET', `/api/projects/${pid}/tasks?phase=nope`)).body.error.field).toBe('phase');
    expect((await h.req('GET', `/api/projects/${pid}/tasks?limit=501`)).body.error.field).toBe('limit');
    expect((await h.req('GET', `/api/projects/${Z}/tasks`)).status).toBe(404);
  });

  test('get one with dependencies, steps and runs; retry rules', async () => {
    const dep = await seedTask(h, pid, { status: 'completed' });
    const t = await seedTask(h, pid, { status: 'failed' });
    await h.db.pool.query('insert into task_dependencies (task_id, depends_on) values ($1, $2)', [t, dep]);
    await h.db.pool.query('update tasks set attempts = 3 where id = $1', [t]);
    const run = await seedRun(t, true);
    await h.db.pool.query(
      `insert into rarv_steps (agent_run_id, task_id, loop, step, status) values ($1, $2, 0, 'reason', 'completed')`,
      [run, t],
    );
    const res = await h.req('GET', `/api/projects/${pid}/tasks/${t}`);
    expect(res.status).toBe(200);
    expect(res.body.dependencies).toEqual([expect.objectContaining({ id: dep, status: 'completed' })]);
    expect(res.body.rarv_steps).toHaveLength(1);
    expect(res.body.agent_runs.map((r: { id: string }) => r.id)).toEqual([run]);
    expect((await h.req('GET', `/api/projects/${pid}/tasks/${Z}`)).status).toBe(404);
    expect((await h.req('GET', `/api/projects/${pid}/tasks/bad`)).body.error.field).toBe('tid');

    // The API's retry is the CLI's (projects/retry-task.ts): its dependency is done and the project runs, so the
    // task is queued at once (the API's own copy used to leave it pending, for no runner to pick up).
    const retried = await h.req('POST', `/api/projects/${pid}/tasks/${t}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ status: 'queued', attempts: 0 });
    const again = await h.req('POST', `/api/projects/${pid}/tasks/${t}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/cannot retry a task that is queued/);
    expect((await h.req('POST', `/api/projects/${pid}/tasks/${Z}/retry`)).status).toBe(404);
    const read = await h.req('POST', `/api/projects/${pid}/tasks/${t}/retry`, undefined, {
      authorization: `Bearer ${h.read}`,
    });
    expect(read.status).toBe(403);
    const ev = await h.db.pool.query(
      "select actor_id, data from events where kind = 'task.retried' and subject_id = $1",
      [t],
    );
    expect(ev.rows).toEqual([
      { actor_id: h.writeId, data: { key: expect.any(String), from: 'failed', previous_attempts: 3 } },
    ]);
  });
});

describe('agents, logs, artifacts, runners, events, metrics', () => {
  test('agents and their logs as JSON', async () => {
    const active = await seedRun(null);
    await seedRun(null, true);
    const list = await h.req('GET', `/api/projects/${pid}/agents`);
    expect(list.body.data.map((r: { id: string }) => r.id)).toContain(active);
    expect(list.body.data.every((r: { ended_at: unknown }) => r.ended_at === null)).toBe(true);
    expect((await h.req('GET', `/api/projects/${Z}/agents`)).status).toBe(404);
    expect((await h.req('GET', `/api/agents/${active}`)).body).toMatchObject({ id: active, agent_type: 'eng-backend' });
    expect((await h.req('GET', `/api/agents/${Z}`)).status).toBe(404);
    for (let i = 0; i < 5; i++) {
      await h.db.pool.query(`insert into agent_logs (agent_run_id, stream, line) values ($1, 'stdout', $2)`, [
        active,
        `line ${i}`,
      ]);
    }
    const logs = await h.req('GET', `/api/agents/${active}/logs?limit=3`);
    expect(logs.body.data.map((l: { line: string }) => l.line)).toEqual(['line 0', 'line 1', 'line 2']);
    const after = await h.req('GET', `/api/agents/${active}/logs?after=${logs.body.data[2].id}`);
    expect(after.body.data.map((l: { line: string }) => l.line)).toEqual(['line 3', 'line 4']);
    expect((await h.req('GET', `/api/agents/${Z}/logs`)).status).toBe(404);
    expect((await h.req('GET', `/api/agents/${active}/logs?after=-1`)).body.error.field).toBe('after');
  });

  test('artifacts list and get', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { rows } = await h.db.pool.query<{ id: string }>(
        `insert into artifacts (project_id, type, path, content, content_hash) values ($1, $2, $3, 'body', $4) returning id`,
        [pid, i ? 'code' : 'doc', `f${i}.ts`, `h${i}`],
      );
      ids.push(rows[0]!.id);
    }
    const page1 = await h.req('GET', `/api/projects/${pid}/artifacts?limit=2`);
    expect(page1.body.data).toHaveLength(2);
    expect(page1.body.data[0].content).toBeUndefined();
    const page2 = await h.req('GET', `/api/projects/${pid}/artifacts?limit=2&cursor=${page1.body.next_cursor}`);
    expect(page2.body.data).toHaveLength(1);
    expect(page2.body.next_cursor).toBeNull();
    expect((await h.req('GET', `/api/projects/${pid}/artifacts?type=doc`)).body.data).toHaveLength(1);
    expect((await h.req('GET', `/api/projects/${pid}/artifacts?type=zip`)).body.error.field).toBe('type');
    expect((await h.req('GET', `/api/artifacts/${ids[0]}`)).body).toMatchObject({ path: 'f0.ts', content: 'body' });
    expect((await h.req('GET', `/api/artifacts/${Z}`)).status).toBe(404);
    expect((await h.req('GET', `/api/projects/${Z}/artifacts`)).status).toBe(404);
  });

  test('runners with heartbeat age', async () => {
    await h.db.pool.query(
      `insert into runners (name, host, pid, capacity, heartbeat_at) values ('r1', 'host-a', 42, 2, now() - interval '30 seconds')`,
    );
    const res = await h.req('GET', '/api/runners');
    expect(res.body.data[0]).toMatchObject({ name: 'r1', host: 'host-a', capacity: 2 });
    expect(res.body.data[0].heartbeat_age_seconds).toBeGreaterThanOrEqual(29);
    expect((await h.req('GET', '/api/runners?status=zombie')).body.error.field).toBe('status');
  });

  test('events: the audit query with filters and cursor', async () => {
    const all = await h.req('GET', '/api/events?limit=500');
    expect(all.body.data.length).toBeGreaterThan(2);
    const ids = all.body.data.map((e: { id: number }) => e.id);
    expect([...ids].sort((a: number, b: number) => b - a)).toEqual(ids);
    const byActor = await h.req('GET', `/api/events?actor_id=${h.writeId}`);
    expect(byActor.body.data.map((e: { kind: string }) => e.kind)).toContain('task.retried');
    const prefix = await h.req('GET', `/api/events?kind=api_key.*&order=asc`);
    expect(prefix.body.data.map((e: { kind: string }) => e.kind)).toEqual(['api_key.created', 'api_key.created']);
    const p1 = await h.req('GET', '/api/events?limit=1&order=asc');
    const p2 = await h.req('GET', `/api/events?limit=1&order=asc&cursor=${p1.body.next_cursor}`);
    expect(p2.body.data[0].id).toBeGreaterThan(p1.body.data[0].id);
    expect((await h.req('GET', '/api/events?project_id=nope')).body.error.field).toBe('project_id');
    expect((await h.req('GET', '/api/events?order=sideways')).body.error.field).toBe('order');
  });

  test('metrics in Prometheus text format, behind a read key', async () => {
    await h.db.pool.query(`update tasks set duration_ms = 45000 where status = 'completed'`);
    const res = await h.req('GET', '/metrics', undefined, { authorization: `Bearer ${h.read}` });
    expect(res.status).toBe(200);
    expect(String(res.headers['content-type'])).toMatch(/text\/plain/);
    for (const name of [
      'samgita_queue_depth',
      'samgita_tasks{status="completed"}',
      'samgita_agent_runs_active{agent_type="eng-backend"}',
      'samgita_tokens_total{kind="input"}',
      'samgita_cost_usd_total',
      'samgita_runner_heartbeat_age_seconds{runner="r1"',
      'samgita_task_duration_seconds_bucket{le="60"}',
    ]) {
      expect(res.text, name).toContain(name);
    }
    expect((await h.req('GET', '/metrics', undefined, { authorization: '' })).status).toBe(401);
    expect((await h.req('GET', '/api/nothing-here')).status).toBe(404);
  });
});
