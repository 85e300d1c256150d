import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../src/auth/keys.js';
import { loadEnvConfig } from '../../src/config/env.js';
import { parseCommand } from '../../src/github/commands.js';
import { loadGitHubConfig } from '../../src/github/config.js';
import { buildServer } from '../../src/server/build.js';
import { createTestDatabase, type TestDatabase } from '../support/db.js';
import { type GitHubHarness, sh, startGitHubHarness } from '../support/github/harness.js';
import { deliver } from '../support/github/webhooks.js';

const PRD = `# Widgets

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | Greet the user by name | P0 |
`;

describe('GitHub App configuration', () => {
  const pem = generateKeyPairSync('rsa', { modulusLength: 1024 })
    .privateKey.export({ type: 'pkcs1', format: 'pem' })
    .toString();
  it('is off without APP_ID', () => {
    expect(loadGitHubConfig({})).toBeNull();
  });
  it('names the variable and the fix', () => {
    expect(() => loadGitHubConfig({ APP_ID: 'abc' })).toThrow(/APP_ID must be the numeric App ID/);
    expect(() => loadGitHubConfig({ APP_ID: '12' })).toThrow(/PRIVATE_KEY is not set/);
    expect(() => loadGitHubConfig({ APP_ID: '12', PRIVATE_KEY: 'nope', WEBHOOK_SECRET: 's' })).toThrow(
      /not a PEM private key/,
    );
    expect(() => loadGitHubConfig({ APP_ID: '12', PRIVATE_KEY: pem })).toThrow(/WEBHOOK_SECRET is not set/);
    expect(() => loadGitHubConfig({ APP_ID: '12', PRIVATE_KEY_PATH: '/nonexistent.pem', WEBHOOK_SECRET: 's' })).toThrow(
      /cannot be read/,
    );
    expect(() =>
      loadGitHubConfig({ APP_ID: '12', PRIVATE_KEY: pem, WEBHOOK_SECRET: 's', GITHUB_URL: 'ftp://x' }),
    ).toThrow(/GITHUB_URL/);
  });
  it('reads the key from a path or from an escaped one-line value', () => {
    const file = path.join(os.tmpdir(), `samgita-key-${process.pid}.pem`);
    writeFileSync(file, pem);
    const c = loadGitHubConfig({
      APP_ID: '12',
      PRIVATE_KEY_PATH: file,
      WEBHOOK_SECRET: 's',
      GITHUB_URL: 'https://ghe.example.com/api/v3/',
    });
    expect(c).toMatchObject({
      appId: 12,
      baseUrl: 'https://ghe.example.com/api/v3',
      webhookPath: '/api/github/webhooks',
    });
    const oneLine = loadGitHubConfig({ APP_ID: '12', PRIVATE_KEY: pem.replace(/\n/g, '\\n'), WEBHOOK_SECRET: 's' });
    expect(oneLine?.privateKey.trim()).toBe(pem.trim());
  });
  it('parses comment commands', () => {
    expect(parseCommand('hello')).toBeNull();
    expect(parseCommand('/samgita status')).toEqual({ name: 'status' });
    expect(parseCommand('LGTM\n/samgita retry development/fr-1-implement')).toEqual({
      name: 'retry',
      task: 'development/fr-1-implement',
    });
    expect(parseCommand('/samgita retry')).toMatchObject({ name: 'help' });
    expect(parseCommand('/samgita dance')).toMatchObject({ name: 'help', reason: 'unknown command `dance`' });
  });
});

describe('GitHub App webhooks', () => {
  let db: TestDatabase;
  let gh: GitHubHarness;
  let dashboard = 0;

  beforeAll(async () => {
    db = await createTestDatabase();
    gh = await startGitHubHarness(db.pool, { listen: false });
    const install = gh.payload('installation', 'created');
    install.repositories = [
      { id: gh.repo.id, node_id: 'R_1', name: 'widgets', full_name: 'acme/widgets', private: true },
    ];
    expect((await gh.send('installation', install)).status).toBe(202);
    const before = sh(gh.work, 'rev-parse', 'HEAD');
    const after = gh.commit({ 'PRD.md': PRD, 'samgita.yaml': 'phases: [development]\n' }, 'Add PRD');
    expect(
      (await gh.send('push', gh.pushPayload({ ref: 'refs/heads/main', before, after, files: ['PRD.md'] }))).status,
    ).toBe(202);
    await gh.github.idle();
    dashboard = gh.api.state.issues.find((i) => i.title === 'Samgita dashboard')!.number;
  });
  afterAll(async () => {
    await gh?.close();
    await db?.drop();
  });

  const comment = async (body: string, login = 'octocat') => {
    const p = gh.payload('issue_comment', 'created');
    Object.assign(p.issue as object, { number: dashboard });
    Object.assign(p.comment as object, { body, user: { ...((p.comment as { user: object }).user ?? {}), login } });
    p.sender = { ...(p.sender as object), login, type: 'User' };
    const n = gh.api.state.issues.find((i) => i.number === dashboard)!.comments.length;
    expect((await gh.send('issue_comment', p)).status).toBe(202);
    const replies = gh.api.state.issues.find((i) => i.number === dashboard)!.comments;
    return replies
      .slice(n)
      .map((c) => c.body)
      .join('\n');
  };

  it('rejects a delivery whose signature does not match, and processes nothing', async () => {
    const n = gh.api.requests.length;
    const r = await gh.send(
      'push',
      gh.pushPayload({ ref: 'refs/heads/main', before: 'a'.repeat(40), after: 'b'.repeat(40), files: ['PRD.md'] }),
      {
        signature: `sha256=${'0'.repeat(64)}`,
      },
    );
    expect(r.status).toBe(401);
    expect(gh.api.requests.length).toBe(n);
  });

  it('answers a signed body that is not a JSON object with 400 in the one error shape, storing nothing', async () => {
    const n = (await db.pool.query('select count(*)::int as n from github_deliveries')).rows[0].n;
    for (const payload of [null, [], 'x', 42]) {
      const r = await deliver(gh.webhookUrl, gh.config.webhookSecret, 'push', payload);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code: 'INVALID_INPUT' } });
    }
    const bad = await deliver(gh.webhookUrl, 'wrong-secret', 'push', {});
    expect(bad.status).toBe(401);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await db.pool.query('select count(*)::int as n from github_deliveries')).rows[0].n).toBe(n);
  });

  it('answers /samgita status, plan and pause for users with write access', async () => {
    expect(await comment('/samgita status')).toMatch(/status \*\*running\*\* · phase \*\*development\*\*/);
    expect(await comment('/samgita plan')).toMatch(/Plan for the PRD on the default branch/);
    expect(await comment('/samgita pause')).toMatch(/Paused/);
    expect((await db.pool.query('select status from projects')).rows[0].status).toBe('paused');
    expect(await comment('/samgita resume')).toMatch(/Resumed in phase/);
    expect(await comment('/samgita retry nope')).toMatch(/No task `nope`/);
  });

  it('refuses commands from users without write access, saying why', async () => {
    expect(await comment('/samgita pause', 'hubot')).toMatch(/need write access .*you have `read`/);
    expect((await db.pool.query('select status from projects')).rows[0].status).toBe('running');
  });

  it('retries GitHub 5xx with backoff instead of losing the reply', async () => {
    gh.api.failNext(/^POST .*\/issues\/\d+\/comments$/, 502, 2);
    expect(await comment('/samgita status')).toMatch(/status \*\*running\*\*/);
    expect(gh.api.requests.filter((r) => r.status === 502)).toHaveLength(2);
  });

  it('defers publishing while GitHub is down and publishes later without re-running the agent', async () => {
    const { rows } = await db.pool.query<{ id: string; project_id: string; key: string; working_path: string }>(
      `select t.id, t.project_id, t.key, p.working_path from tasks t join projects p on p.id = t.project_id limit 1`,
    );
    const t = rows[0]!;
    const wt = path.join(gh.root, 'wt');
    sh(t.working_path, 'worktree', 'add', '-q', '-b', 'samgita/manual', wt, 'main');
    writeFileSync(path.join(wt, 'greeting.txt'), 'hi\n');
    sh(wt, 'add', '.');
    sh(wt, 'commit', '-q', '-m', 'work');
    gh.api.failNext(/^GET .*\/pulls$/, 503, 10);
    const input = {
      projectId: t.project_id,
      taskId: t.id,
      taskKey: t.key,
      title: 'Greet',
      description: 'Greets',
      agentType: 'eng-backend',
      branch: 'samgita/manual',
      baseBranch: 'main',
      worktree: wt,
      headSha: null,
      verify: { passed: true, summary: 'all verify commands passed' },
      costUsd: 0.5,
      tokens: 1234,
    };
    const deferred = await gh.github.publisher.publish(input);
    expect(deferred).toEqual({ prNumber: 0, prUrl: '', awaitingMerge: true });
    await db.pool.query(`update tasks set status = 'pending', rarv_step = 'done', pr_number = 0 where id = $1`, [t.id]);
    gh.api.clearFailures();
    expect(await gh.github.publisher.retryPending()).toBe(1);
    const after = await db.pool.query(`select pr_number, pr_url, payload from tasks where id = $1`, [t.id]);
    expect(after.rows[0].pr_number).toBeGreaterThan(0);
    expect(after.rows[0].payload.github).toBeUndefined();
    expect(gh.api.state.pulls.filter((p) => p.head === 'samgita/manual')).toHaveLength(1);
    // Publishing again updates the one PR instead of opening a second.
    await gh.github.publisher.publish(input);
    expect(gh.api.state.pulls.filter((p) => p.head === 'samgita/manual')).toHaveLength(1);
  });

  it('commits a PRD saved through the API to the default branch and re-plans at that commit', async () => {
    const project = (await db.pool.query(`select id from projects where source = 'github'`)).rows[0];
    const edited = PRD.replace(
      '| FR-1 | Greet the user by name | P0 |',
      '| FR-1 | Greet the user by name | P0 |\n| FR-2 | Say goodbye | P1 |',
    );
    const app = await buildServer({
      pool: db.pool,
      env: loadEnvConfig({ HOME: os.tmpdir() }),
      rateLimit: false,
      commitPrd: (id, content, author) => gh.github.commitPrd(id, content, author),
    });
    try {
      const { key: secret } = await createApiKey(db.pool, { name: 'gh-test', scope: 'write' });
      const res = await app.inject({
        method: 'PUT',
        url: `/api/projects/${project.id}/prd`,
        headers: { authorization: `Bearer ${secret}` },
        payload: { content: edited },
      });
      expect(res.statusCode, res.body).toBe(200);
      const rev = res.json();
      expect(rev.source).toBe('github');
      // The repository is the desired state: PRD.md changed on the default branch, by the App.
      expect(sh(gh.repo.bareDir, 'show', `main:PRD.md`)).toBe(edited.trim());
      expect(sh(gh.repo.bareDir, 'rev-parse', 'main')).toBe(rev.commit_sha);
      const tasks = await db.pool.query(`select key from tasks where project_id = $1 and key like '%fr-2%'`, [
        project.id,
      ]);
      expect(tasks.rowCount).toBeGreaterThan(0);
      // The push webhook for that same commit changes nothing more.
      const revisions = (
        await db.pool.query('select count(*)::int as n from prd_revisions where project_id = $1', [project.id])
      ).rows[0].n;
      const before = sh(gh.work, 'rev-parse', 'HEAD');
      sh(gh.work, 'pull', '-q', 'origin', 'main');
      expect(
        (
          await gh.send(
            'push',
            gh.pushPayload({ ref: 'refs/heads/main', before, after: rev.commit_sha, files: ['PRD.md'] }),
          )
        ).status,
      ).toBe(202);
      await gh.github.idle();
      expect(
        (await db.pool.query('select count(*)::int as n from prd_revisions where project_id = $1', [project.id]))
          .rows[0].n,
      ).toBe(revisions);
    } finally {
      await app.close();
    }
  });

  it('archives the project when the App is uninstalled', async () => {
    const p = gh.payload('installation', 'deleted');
    p.repositories = [{ id: gh.repo.id, node_id: 'R_1', name: 'widgets', full_name: 'acme/widgets', private: true }];
    expect((await gh.send('installation', p)).status).toBe(202);
    expect((await db.pool.query('select status from projects')).rows[0].status).toBe('archived');
  });

  it('matched GitHub’s OpenAPI description throughout', async () => {
    await gh.github.idle();
    expect(gh.api.violations).toEqual([]);
  });
});
