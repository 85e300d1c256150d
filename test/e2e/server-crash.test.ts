import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/keys.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type GitHubHarness, startGitHubHarness } from '../support/github/harness.js';
import { deliver } from '../support/github/webhooks.js';
import { type ServeProcess, spawnServe, until } from '../support/serve.js';

/**
 * Accept, persist, then work, seen from outside: a real `samgita serve`
 * SIGKILLed in the middle of work it has already answered for, restarted, and
 * the work is carried out: nothing a client was told was accepted is lost.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function home(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'samgita-crash-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function track(s: ServeProcess): ServeProcess {
  cleanups.push(() => s.kill());
  return s;
}

/** A PRD big enough that planning it takes a while (it runs on the planner thread). */
function bigPrd(n: number): string {
  let s = '# Ledger\n\n## Functional Requirements\n\n';
  for (let i = 1; i <= n; i++) s += `- FR-${i}: The ledger records entry kind ${i} with its amount and date\n`;
  return s;
}

describe('a server killed mid-work', () => {
  let db: TestDatabase;

  test('a PRD saved then a crash: after restart the project is planned; nothing was lost', async () => {
    db = await createTestDatabase();
    cleanups.push(() => db.drop());
    const key = (await createApiKey(db.pool, { name: 'crash', scope: 'write' })).key;
    const samgitaHome = home();
    const env = { DATABASE_URL: db.url, SAMGITA_HOME: samgitaHome };
    let s = track(await spawnServe(env, ['--no-webhooks']));
    const { rows } = await db.pool.query<{ id: string }>(
      `insert into projects (name, git_url, status, source) values ('ledger', 'https://example.com/ledger.git', 'pending', 'api')
       returning id`,
    );
    const id = rows[0]!.id;
    const res = await fetch(`${s.url}/api/projects/${id}/prd`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: bigPrd(1500) }),
    });
    expect(res.status).toBe(200);
    await s.kill(); // the re-plan is queued (or running on the planner thread): both die here

    s = track(await spawnServe(env, ['--no-webhooks']));
    const tasks = await until(
      'the re-plan to run after the restart',
      async () => {
        const { rows: t } = await db.pool.query<{ n: number }>(
          'select count(*)::int as n from tasks where project_id = $1',
          [id],
        );
        return t[0]!.n > 0 ? t[0]!.n : null;
      },
      90_000,
    );
    expect(tasks).toBeGreaterThan(1500);
    await s.kill();
  }, 240_000);

  test('a GitHub delivery accepted while GitHub hangs, the server killed: after restart the delivery is carried out', async () => {
    const gdb = await createTestDatabase();
    cleanups.push(() => gdb.drop());
    const gh: GitHubHarness = await startGitHubHarness(gdb.pool, { listen: false, work: false });
    cleanups.push(() => gh.close());
    // GitHub unreachable: a listener that accepts and never answers.
    const sockets: net.Socket[] = [];
    const black = net.createServer((c) => void sockets.push(c));
    await new Promise<void>((r) => black.listen(0, '127.0.0.1', r));
    cleanups.push(() => {
      for (const c of sockets) c.destroy();
      black.close();
    });
    const samgitaHome = home();
    const appEnv = (githubUrl: string) => ({
      DATABASE_URL: gdb.url,
      SAMGITA_HOME: samgitaHome,
      APP_ID: String(gh.config.appId),
      PRIVATE_KEY: gh.config.privateKey,
      WEBHOOK_SECRET: gh.config.webhookSecret,
      GITHUB_URL: githubUrl,
    });
    let s = track(
      await spawnServe(appEnv(`http://127.0.0.1:${(black.address() as net.AddressInfo).port}`), ['--no-webhooks']),
    );
    const install = gh.payload('installation', 'created');
    install.repositories = [
      { id: gh.repo.id, node_id: 'R_1', name: 'widgets', full_name: 'acme/widgets', private: true },
    ];
    const hook = (url: string, id?: string) =>
      deliver(`${url}${gh.config.webhookPath}`, gh.config.webhookSecret, 'installation', install, id ? { id } : {});

    // Answered at once although the handler cannot reach GitHub.
    const first = await hook(s.url);
    expect(first.status).toBe(202);
    expect(JSON.parse(first.body)).toMatchObject({ state: 'queued' });
    await until('the handler to be calling GitHub', () => sockets.length > 0);
    await s.kill();
    const projects = async () =>
      (await gdb.pool.query<{ github_repo: string }>('select github_repo from projects')).rows;
    expect(await projects()).toEqual([]);

    // GitHub's redelivery of the unfinished delivery reaches the restarted server: it is processed, not dropped.
    s = track(await spawnServe(appEnv(gh.api.url), ['--no-webhooks']));
    const again = await hook(s.url, first.id);
    expect(again.status).toBe(202);
    // Registered and linked (the link is written after the project row): wait for the whole of it.
    await until(
      'the project to be registered',
      async () => (await projects()).some((p) => p.github_repo === 'acme/widgets'),
      60_000,
    );
    expect(await projects()).toEqual([{ github_repo: 'acme/widgets' }]);
    await until('the delivery to be done', async () => {
      const { rows } = await gdb.pool.query('select status from github_deliveries where delivery_id = $1', [first.id]);
      return rows[0]?.status === 'done';
    });
    // Once done, a further redelivery is a duplicate and changes nothing.
    const third = await hook(s.url, first.id);
    expect(JSON.parse(third.body)).toMatchObject({ state: 'duplicate' });
    await s.kill();
  }, 240_000);
});
