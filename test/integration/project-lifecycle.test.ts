/**
 * One owner for a project's status (src/projects/transition.ts), proven from
 * outside: a trigger installed by this test logs every change of
 * projects.status, and each must have its event, recorded in the same
 * transaction (same now()). And a project started or resumed from any door —
 * the REST API (which the status page uses), the CLI — has its runnable tasks
 * queued, with their jobs, by the time the call returns, in that same transaction.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeClaudeEnv, makeRepo, samgita } from '../support/cli.js';
import { writeFakeScript } from '../support/fake-claude/index.js';
import { type Harness, startHarness } from './api-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.db.pool.query(`
    create table status_log (project_id uuid, from_status text, to_status text, at timestamptz default now());
    create function log_project_status() returns trigger language plpgsql as $$
    begin
      insert into status_log (project_id, from_status, to_status) values (new.id, old.status, new.status);
      return null;
    end $$;
    create trigger log_project_status after update of status on projects
      for each row when (old.status is distinct from new.status) execute function log_project_status();`);
});
afterAll(async () => {
  await h?.close();
});

const q = async <T extends Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await h.db.pool.query<T>(sql, params)).rows;

/** Every logged status change of `projectId` with the event of its own transaction (or null). */
async function changesWithEvents(projectId: string) {
  return q<{ from_status: string; to_status: string; event: string | null }>(
    `select l.from_status, l.to_status,
            (select e.kind from events e
              where e.project_id = l.project_id and e.created_at = l.at
                and e.data->>'from' = l.from_status and e.data->>'to' = l.to_status
              limit 1) as event
       from status_log l where l.project_id = $1 order by l.at`,
    [projectId],
  );
}

/** A pending project with two tasks in development: `a` ready, `b` waiting for `a`. */
async function seedProjectWithTasks(name: string): Promise<{ id: string; a: string; b: string }> {
  const [p] = await q<{ id: string }>(
    `insert into projects (name, git_url, config) values ($1, $2, '{"phases": ["development"]}') returning id`,
    [name, `https://example.com/${name}.git`],
  );
  const id = p!.id;
  const [a] = await q<{ id: string }>(
    `insert into tasks (project_id, key, title, phase, agent_type) values ($1, 'a', 'A', 'development', 'eng-backend') returning id`,
    [id],
  );
  const [b] = await q<{ id: string }>(
    `insert into tasks (project_id, key, title, phase, agent_type) values ($1, 'b', 'B', 'development', 'eng-backend') returning id`,
    [id],
  );
  await q('insert into task_dependencies (task_id, depends_on) values ($1, $2)', [b!.id, a!.id]);
  return { id, a: a!.id, b: b!.id };
}

/** Task statuses, whether each has a job, and whether it was queued in the transaction of `eventKind`. */
async function queueState(projectId: string, eventKind: string) {
  return q<{ key: string; status: string; job: boolean; same_tx: boolean | null }>(
    `select t.key, t.status,
            exists (select 1 from graphile_worker.jobs j where j.key = 'task:' || t.id::text) as job,
            t.queued_at = (select max(created_at) from events e where e.project_id = t.project_id and e.kind = $2) as same_tx
       from tasks t where t.project_id = $1 order by t.key`,
    [projectId, eventKind],
  );
}

describe('project lifecycle: one owner, every door', () => {
  it('REST API start and resume queue runnable tasks in the transaction of the status change', async () => {
    const p = await seedProjectWithTasks('api-door');
    const started = await h.req('POST', `/api/projects/${p.id}/start`);
    expect(started.status).toBe(200);
    expect(started.body.status).toBe('running');
    expect(await queueState(p.id, 'project.started')).toEqual([
      { key: 'a', status: 'queued', job: true, same_tx: true },
      { key: 'b', status: 'blocked', job: false, same_tx: null },
    ]);
    expect((await h.req('POST', `/api/projects/${p.id}/pause`)).body.status).toBe('paused');
    expect(await queueState(p.id, 'project.paused')).toEqual([
      { key: 'a', status: 'pending', job: false, same_tx: null },
      { key: 'b', status: 'blocked', job: false, same_tx: null },
    ]);
    expect((await h.req('POST', `/api/projects/${p.id}/resume`)).body.status).toBe('running');
    expect(await queueState(p.id, 'project.resumed')).toEqual([
      { key: 'a', status: 'queued', job: true, same_tx: true },
      { key: 'b', status: 'blocked', job: false, same_tx: null },
    ]);
    for (const c of await changesWithEvents(p.id)) expect(c.event, `${c.from_status} → ${c.to_status}`).not.toBeNull();
  });

  it('CLI start and resume do the same, through the real process', async () => {
    const p = await seedProjectWithTasks('cli-door');
    const env = { DATABASE_URL: h.db.url, SAMGITA_HOME: h.home };
    const start = await samgita(['start', p.id], env);
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(/cli-door is running: 1 task\(s\) queued for the runners/);
    expect(await queueState(p.id, 'project.started')).toContainEqual({
      key: 'a',
      status: 'queued',
      job: true,
      same_tx: true,
    });
    expect((await samgita(['pause', p.id], env)).code).toBe(0);
    const resume = await samgita(['resume', p.id], env);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(/1 task\(s\) queued/);
    expect(await queueState(p.id, 'project.resumed')).toContainEqual({
      key: 'a',
      status: 'queued',
      job: true,
      same_tx: true,
    });
    // A door that does not apply answers with the lifecycle table's reason (usage error, exit 2).
    const again = await samgita(['start', p.id], env);
    expect(again.code).toBe(0);
    const archive = await samgita(['archive', p.id], env);
    expect(archive.code).toBe(2);
    expect(archive.stderr).toMatch(/cannot archive a project that is running/);
    for (const c of await changesWithEvents(p.id)) expect(c.event, `${c.from_status} → ${c.to_status}`).not.toBeNull();
  });

  it('every status change of a full run (fail, retry, complete, archive) has its event in the same transaction', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-lifecycle-'));
    const repo = await makeRepo({
      'PRD.md':
        '# Tool\n\n## Functional Requirements\n\n| ID | Requirement | Priority |\n|----|----|----|\n| FR-1 | Print hello | P0 |\n| FR-2 | Print bye | P1 |\n',
      'samgita.yaml': 'phases: [development]\nlimits:\n  max_attempts: 1\nverify:\n  test: "true"\n',
    });
    const script = writeFakeScript(home, [
      { match: 'Implement FR-2', steps: [{ crash: { code: 3 } }] },
      { steps: [{ text: 'done' }] },
    ]);
    const env = fakeClaudeEnv({ databaseUrl: h.db.url, home, script });
    const first = await samgita(['run', repo], env);
    expect(first.code).toBe(1);
    const [p] = await q<{ id: string; status: string }>('select id, status from projects where working_path = $1', [
      repo,
    ]);
    expect(p!.status).toBe('failed');
    writeFakeScript(home, [{ steps: [{ text: 'fixed' }] }]);
    const retry = await samgita(['retry', 'development/fr-2-implement', '--project', p!.id], env);
    expect(retry.code).toBe(0);
    const second = await samgita(['run', repo], env);
    expect(second.code).toBe(0);
    expect((await samgita(['archive', p!.id], env)).code).toBe(0);

    const changes = await changesWithEvents(p!.id);
    expect(changes.map((c) => `${c.from_status}→${c.to_status}:${c.event}`)).toEqual([
      'pending→running:project.started',
      'running→failed:project.failed',
      'failed→running:project.resumed',
      'running→completed:project.completed',
      'completed→archived:project.archived',
    ]);
  });
});
