/**
 * One local "GitHub" for tests: the OpenAPI-validating REST server, the git
 * smart-HTTP server, a bare repository, and the Samgita GitHub App mounted on
 * a fastify server, with helpers to push commits and deliver signed webhooks.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { GitHubApp } from '../../../src/github/app.js';
import type { GitHubConfig } from '../../../src/github/config.js';
import { mountGitHubApp } from '../../../src/github/mount.js';
import { createLogger } from '../../../src/log/logger.js';
import { startServerWork } from '../../../src/server/work.js';
import { type FakeGitHub, type FakeRepo, startFakeGitHub } from './api-server.js';
import { type GitServer, startGitServer } from './git-server.js';
import { type DeliveryResult, deliver, examplePayload, forRepo } from './webhooks.js';

export const INSTALLATION_ID = 42;
export const APP_ID = 1234;

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Octo Cat',
  GIT_AUTHOR_EMAIL: 'octocat@example.com',
  GIT_COMMITTER_NAME: 'Octo Cat',
  GIT_COMMITTER_EMAIL: 'octocat@example.com',
};

export function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

export interface GitHubHarness {
  root: string;
  home: string;
  api: FakeGitHub;
  git: GitServer;
  repo: FakeRepo;
  server: FastifyInstance;
  github: GitHubApp;
  config: GitHubConfig;
  webhookUrl: string;
  /** A human's working clone of the repository (pushes by file path, like a developer would). */
  work: string;
  commit(files: Record<string, string>, message: string, branch?: string): string;
  send(
    event: string,
    payload: Record<string, unknown>,
    opts?: { id?: string; signature?: string },
  ): Promise<DeliveryResult>;
  payload(event: string, action?: string): Record<string, unknown>;
  pushPayload(opts: { ref: string; before: string; after: string; files: string[] }): Record<string, unknown>;
  close(): Promise<void>;
}

export async function startGitHubHarness(
  pool: pg.Pool,
  opts: { files?: Record<string, string>; retryEveryMs?: number; listen?: boolean; work?: boolean } = {},
): Promise<GitHubHarness> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'samgita-gh-'));
  const home = path.join(root, 'home');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const api = await startFakeGitHub({ appId: APP_ID, privateKey: pem });
  const gitRoot = path.join(root, 'git');
  const bareDir = path.join(gitRoot, 'acme', 'widgets.git');
  mkdirSync(bareDir, { recursive: true });
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', bareDir]);
  const work = path.join(root, 'work');
  execFileSync('git', ['clone', '-q', bareDir, work], { stdio: 'ignore' });
  sh(work, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  for (const [f, c] of Object.entries(opts.files ?? { 'README.md': '# widgets\n' }))
    writeFileSync(path.join(work, f), c);
  sh(work, 'add', '.');
  sh(work, 'commit', '-q', '-m', 'Initial commit');
  sh(work, 'push', '-q', 'origin', 'main');
  const repo = api.addRepo({
    owner: 'acme',
    name: 'widgets',
    defaultBranch: 'main',
    bareDir,
    installationId: INSTALLATION_ID,
    collaborators: new Map([
      ['octocat', 'admin'],
      ['hubot', 'read'],
    ]),
  });
  const git = await startGitServer({ root: gitRoot, tokenValid: (t, r) => api.tokenValid(t, r) });
  api.gitBaseUrl = git.url;

  const config: GitHubConfig = {
    appId: APP_ID,
    privateKey: pem,
    webhookSecret: 'test-webhook-secret',
    baseUrl: api.url,
    publicUrl: 'https://samgita.test',
    webhookPath: '/api/github/webhooks',
  };
  const server = Fastify();
  const github = await mountGitHubApp(server, {
    pool,
    config,
    samgitaHome: home,
    log: createLogger({ level: 'silent' }),
    octokit: { throttle: false, retryAfterBaseValue: 5, retries: 3 },
    listen: opts.listen ?? true,
    retryEveryMs: opts.retryEveryMs ?? 60_000,
  });
  // The server's worker carries out accepted deliveries, as in `samgita serve`.
  const serverWork = await (opts.work === false
    ? { stop: async () => {} }
    : startServerWork({
        pool,
        log: createLogger({ level: 'silent' }),
        webhooks: false,
        github,
        pollIntervalMs: 200,
      }));
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  const webhookUrl = `${address}${config.webhookPath}`;
  const cloneUrl = `${git.url}/acme/widgets.git`;
  const adapt = (p: Record<string, unknown>) =>
    forRepo(p, { owner: 'acme', name: 'widgets', id: repo.id, defaultBranch: 'main', cloneUrl }, INSTALLATION_ID);

  return {
    root,
    home,
    api,
    git,
    repo,
    server,
    github,
    config,
    webhookUrl,
    work,
    commit(files, message, branch = 'main') {
      sh(work, 'checkout', '-q', branch);
      for (const [f, c] of Object.entries(files)) writeFileSync(path.join(work, f), c);
      sh(work, 'add', '.');
      sh(work, 'commit', '-q', '-m', message);
      sh(work, 'push', '-q', 'origin', branch);
      return sh(work, 'rev-parse', 'HEAD');
    },
    // Waits for an accepted delivery's work, so a test reads its effects right after sending.
    send: async (event, payload, o) => {
      const r = await deliver(webhookUrl, config.webhookSecret, event, payload, o);
      if (r.status === 202) await deliveryWorked(pool, r.id);
      return r;
    },
    payload: (event, action) => adapt(examplePayload(event, action)),
    pushPayload({ ref, before, after, files }) {
      const p = adapt(examplePayload('push'));
      const commits = (p.commits as Record<string, unknown>[]) ?? [];
      const base = commits[0] ?? (p.head_commit as Record<string, unknown>);
      const commit = { ...base, id: after, tree_id: after, added: files, modified: [], removed: [] };
      Object.assign(p, { ref, before, after, created: false, deleted: false, commits: [commit], head_commit: commit });
      p.sender = { ...(p.sender as object), login: 'octocat', type: 'User' };
      return p;
    },
    async close() {
      await serverWork.stop();
      await server.close();
      await git.close();
      await api.close();
    },
  };
}

/** Waits until a delivery's job has finished it, or has failed at least once (its error recorded). */
export async function deliveryWorked(pool: pg.Pool, id: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await pool.query<{ status: string; last_error: string | null }>(
      'select status, last_error from github_deliveries where delivery_id = $1',
      [id],
    );
    const row = rows[0];
    if (!row || row.status === 'done' || row.last_error !== null) return;
    if (Date.now() > deadline) throw new Error(`delivery ${id} was not worked within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
