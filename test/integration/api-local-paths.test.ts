import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createApiKey } from '../../src/auth/keys.js';
import { type EnvConfig, loadEnvConfig } from '../../src/config/env.js';
import { createTestDatabase } from '../support/db.js';
import { processesWithEnv } from '../support/processes.js';
import { type ServeProcess, spawnServe, until } from '../support/serve.js';
import { type Harness, settledClone, startHarness } from './api-harness.js';

/** Issue 14: project paths only under the project roots, safe git URLs, bounded suggestions, crash-safe clones. */

const SECRET = `ghp_${randomBytes(12).toString('hex')}`;
const outside = mkdtempSync(path.join(os.tmpdir(), 'samgita-outside-'));
const home = mkdtempSync(path.join(os.tmpdir(), 'samgita-home-'));
let env: EnvConfig;
let h: Harness;
const bodies: string[] = [];

function git(cwd: string, ...args: string[]) {
  return execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd, stdio: 'pipe' }).toString();
}

/** A repository with one commit; its origin set to `origin` when given. */
function makeRepo(dir: string, origin?: string): string {
  mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(path.join(dir, 'README.md'), '# r\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'init');
  if (origin) git(dir, 'remote', 'add', 'origin', origin);
  return dir;
}

async function req(method: string, url: string, body?: unknown) {
  const res = await h.req(method, url, body);
  bodies.push(res.text);
  return res;
}

beforeAll(async () => {
  env = loadEnvConfig({ SAMGITA_HOME: home, LOG_LEVEL: 'silent' });
  h = await startHarness({ env }, true, { work: true });
});
afterAll(async () => {
  await h?.close();
  rmSync(outside, { recursive: true, force: true });
  rmSync(home, { recursive: true, force: true });
});

describe('working_path', () => {
  test('outside the roots: one 400 whether or not the path exists, through symlinks too', async () => {
    const url = `https://${SECRET}@github.com/acme/secret.git`;
    const existing = makeRepo(path.join(outside, 'real'), url);
    const link = path.join(home, 'sneaky');
    symlinkSync(existing, link);
    const messages = new Set<string>();
    for (const wp of [
      existing,
      path.join(outside, 'does-not-exist'),
      '/etc',
      link,
      `${home}/../${path.basename(outside)}/real`,
    ]) {
      const res = await req('POST', '/api/projects', {
        name: 'wp',
        git_url: 'https://github.com/acme/x.git',
        working_path: wp,
      });
      expect(res.status, wp).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'working_path' });
      expect(res.body.error.message).toContain(home);
      expect(res.body.error.hint).toContain('SAMGITA_PROJECT_ROOTS');
      messages.add(res.body.error.message);
    }
    expect(messages.size).toBe(1);
  });

  test('a clone of a different repository is named as such, its origin never shown', async () => {
    const dir = makeRepo(
      path.join(home, 'work', 'other'),
      `https://x-access-token:${SECRET}@github.com/acme/other.git`,
    );
    const res = await req('POST', '/api/projects', {
      name: 'other',
      git_url: 'https://github.com/acme/wanted.git',
      working_path: dir,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('is a clone of a different repository');
    expect(res.body.error.message).not.toContain('acme/other');
  });

  test('under SAMGITA_PROJECT_ROOTS it is accepted', async () => {
    // The clone's origin carries a token (as a CI checkout's does); the project's URL must not.
    const dir = makeRepo(path.join(outside, 'rooted'), `https://${SECRET}@github.com/acme/rooted.git`);
    const url = 'https://github.com/acme/rooted.git';
    const refused = await req('POST', '/api/projects', { name: 'rooted', git_url: url, working_path: dir });
    expect(refused.status).toBe(400);
    env.projectRoots = [outside];
    try {
      const ok = await req('POST', '/api/projects', { name: 'rooted', git_url: url, working_path: dir });
      expect(ok.status).toBe(201);
      expect(ok.body.working_path).toBe(dir);
      const dup = await req('POST', '/api/projects', { name: 'rooted2', git_url: url, clone: false });
      expect(dup.status).toBe(409);
    } finally {
      env.projectRoots = [];
    }
  });

  test('a git_url with credentials is refused: they would be stored, shown and logged', async () => {
    for (const url of [
      `https://x-access-token:${SECRET}@github.com/acme/a.git`,
      `https://${SECRET}@github.com/acme/a.git`,
    ]) {
      const res = await req('POST', '/api/projects', { name: 'creds', git_url: url, clone: false });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'git_url' });
      expect(res.body.error.message).toMatch(/carries credentials/);
    }
  });
});

describe('git_url', () => {
  test('a local repository outside the roots is refused unless SAMGITA_ALLOW_LOCAL_GIT', async () => {
    const repo = makeRepo(path.join(outside, 'local-origin'));
    for (const u of [repo, `file://${repo}`]) {
      const res = await req('POST', '/api/projects', { name: 'loc', git_url: u });
      expect(res.status, u).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'git_url' });
      expect(res.body.error.hint).toContain('SAMGITA_ALLOW_LOCAL_GIT');
    }
    env.allowLocalGit = true;
    try {
      const res = await req('POST', '/api/projects', { name: 'loc', git_url: `${repo}/` });
      expect(res.status).toBe(202);
      expect(res.body.git_url).toBe(`file://${repo}`);
      expect(await settledClone(h, res.body.id)).toMatchObject({ clone: null });
      expect(existsSync(path.join(home, 'repos', 'loc', 'README.md'))).toBe(true);
    } finally {
      env.allowLocalGit = false;
    }
  });

  test('ext::, fd::, <transport>:: and option-like values are refused', async () => {
    for (const u of [
      'ext::sh -c touch% /tmp/pwned',
      'fd::3',
      'foo::bar',
      '-uhelp',
      '--upload-pack=x',
      'ssh://-oProxyCommand=x/y',
    ]) {
      const res = await req('POST', '/api/projects', { name: 'evil', git_url: u });
      expect(res.status, u).toBe(400);
      expect(res.body.error.field, u).toBe('git_url');
    }
  });

  test('/x, /x/ and file:///x/ are one repository', async () => {
    const repo = makeRepo(path.join(home, 'origins', 'same'));
    const first = await req('POST', '/api/projects', { name: 'same', git_url: repo, clone: false });
    expect(first.status).toBe(201);
    expect(first.body.git_url).toBe(`file://${repo}`);
    for (const u of [`${repo}/`, `file://${repo}/`, `file://${repo}`, repo]) {
      const res = await req('POST', '/api/projects', { name: 'same2', git_url: u, clone: false });
      expect(res.status, u).toBe(409);
      expect(res.body.error.field).toBe('git_url');
    }
  });

  test('credentials never appear in error messages', async () => {
    const url = `https://${SECRET}@127.0.0.1:1/acme/creds.git`;
    const failed = await req('POST', '/api/projects', { name: 'creds', git_url: url });
    expect(failed.status).toBe(400);
    expect(failed.body.error.code).toBe('INVALID_INPUT');
    expect(failed.text).not.toContain(SECRET);
    expect(existsSync(path.join(home, 'repos', 'creds'))).toBe(false);
    const repos = path.join(home, 'repos');
    expect(existsSync(repos) ? readdirSync(repos).filter((n) => n.includes('.tmp-')) : []).toEqual([]);
  });
});

describe('project name', () => {
  test.each(['.', '..', 'a/b', '../x', 'a\\b', 'a\u0000b', '-rf', '.hidden', 'x'.repeat(101)])(
    'refused: %j',
    async (name) => {
      const res = await req('POST', '/api/projects', { name, git_url: 'https://github.com/acme/n.git', clone: false });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'INVALID_INPUT', field: 'name' });
    },
  );
});

describe('GET /api/ui/repos/suggest', () => {
  test('reads origins from .git/config: few git processes, cached, credentials removed', async () => {
    const root = path.join(home, 'repos', 'suggest');
    for (let i = 0; i < 30; i++) {
      const dir = path.join(root, `r${String(i).padStart(2, '0')}`);
      mkdirSync(path.join(dir, '.git'), { recursive: true });
      writeFileSync(
        path.join(dir, '.git', 'config'),
        `[core]\n\tbare = false\n[remote "origin"]\n\turl = https://${SECRET}@github.com/acme/r${i}.git\n`,
      );
    }
    // One whose config needs git itself (an include): the only process the route should run.
    const inc = makeRepo(path.join(root, 'zz-include'), 'https://github.com/acme/inc.git');
    writeFileSync(path.join(inc, '.git', 'extra'), '');
    git(inc, 'config', 'include.path', 'extra');

    const bin = mkdtempSync(path.join(os.tmpdir(), 'samgita-gitcount-'));
    const log = path.join(bin, 'calls');
    writeFileSync(log, '');
    const realGit = execFileSync('sh', ['-c', 'command -v git']).toString().trim();
    writeFileSync(path.join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${realGit}' "$@"\n`);
    chmodSync(path.join(bin, 'git'), 0o755);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath}`;
    // The route's own git processes (the test's `git init` and the like run through the wrapper too).
    const calls = () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((l) => !/^(-c|init|add|commit|remote add|config)\b/.test(l) && l).length;
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => req('GET', '/api/ui/repos/suggest?git_url=https://github.com/acme/r7.git')),
      );
      for (const r of results) expect(r.status).toBe(200);
      const first = results[0]!.body;
      const mine = first.suggestions.filter((s: { path: string }) => s.path.startsWith(root));
      expect(mine).toHaveLength(31);
      expect(mine.find((s: { path: string }) => s.path.endsWith('r07')).origin).toBe(
        'https://***@github.com/acme/r7.git',
      );
      expect(mine.find((s: { path: string }) => s.path === inc).origin).toBe('https://github.com/acme/inc.git');
      expect(first.detected).toBe(path.join(root, 'r07'));
      for (const r of results) expect(r.body).toEqual(first);
      // 10 parallel calls over 31 repositories: one git process (the include), not 10 × 31.
      expect(calls()).toBe(1);

      const again = await req('GET', '/api/ui/repos/suggest');
      expect(again.body.suggestions).toEqual(first.suggestions);
      expect(calls()).toBe(1);

      // A new repository at the top of a search root changes its mtime: seen at once.
      makeRepo(path.join(home, 'repos', 'fresh'), 'https://github.com/acme/fresh.git');
      const fresh = await req('GET', '/api/ui/repos/suggest?git_url=https://github.com/acme/fresh.git');
      expect(fresh.body.detected).toBe(path.join(home, 'repos', 'fresh'));
      expect(readFileSync(log, 'utf8')).toContain(`remote get-url origin`);
      expect(calls()).toBe(2); // the root was walked again: the include repository asked git once more
    } finally {
      process.env.PATH = savedPath;
      rmSync(bin, { recursive: true, force: true });
    }
  });

  test('bounded: a root with hundreds of directories lists at most 50 repositories', async () => {
    const root = path.join(home, 'repos', 'many');
    for (let i = 0; i < 120; i++) mkdirSync(path.join(root, `d${i}`, '.git'), { recursive: true });
    const res = await req('GET', '/api/ui/repos/suggest');
    expect(res.status).toBe(200);
    expect(res.body.suggestions.filter((s: { path: string }) => s.path.startsWith(root)).length).toBeLessThanOrEqual(
      50,
    );
  });
});

test('no response body carried the secret', () => {
  expect(bodies.length).toBeGreaterThan(10);
  for (const b of bodies) expect(b).not.toContain(SECRET);
});

describe('crash during a clone', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let server: ServeProcess | undefined;
  let listener: net.Server | undefined;
  const sockets: net.Socket[] = [];
  const crashHome = mkdtempSync(path.join(os.tmpdir(), 'samgita-crash-'));
  const mark = `SAMGITA_TEST_MARK=${randomBytes(8).toString('hex')}`;

  afterAll(async () => {
    await server?.kill();
    for (const s of sockets) s.destroy();
    listener?.close();
    await db?.drop();
    rmSync(crashHome, { recursive: true, force: true });
  });

  const serve = () => {
    const [k, v] = mark.split('=') as [string, string];
    return spawnServe({ DATABASE_URL: db!.url, SAMGITA_HOME: crashHome, [k]: v }, ['--no-webhooks']);
  };

  const cloneProcesses = () =>
    processesWithEnv(mark).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('clone');
      } catch {
        return false;
      }
    });

  test('accepted at once; the git child dies with the server; after restart the clone job resumes, and never leaves a half-made clone', async () => {
    db = await createTestDatabase();
    const key = (await createApiKey(db.pool, { name: 'crash', scope: 'write' })).key;
    listener = net.createServer((s) => void sockets.push(s)); // accepts, never answers
    await new Promise<void>((r) => listener!.listen(0, '127.0.0.1', r));
    const gitUrl = `git://127.0.0.1:${(listener.address() as net.AddressInfo).port}/x`;
    const create = (url: string) =>
      fetch(`${url}/api/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'hang', git_url: gitUrl }),
      });

    let s = await serve();
    server = s;
    // Answered at once although the clone hangs: the server's worker clones.
    const accepted = await create(s.url);
    expect(accepted.status).toBe(202);
    const project = (await accepted.json()) as { id: string; working_path: string | null; clone: unknown };
    expect(project).toMatchObject({ working_path: null, clone: { state: 'cloning', error: null } });
    await until('git to connect', () => sockets.length > 0);
    await until('the clone process', () => cloneProcesses().length > 0);
    const repos = path.join(crashHome, 'repos');
    expect(readdirSync(repos).filter((n) => n.startsWith('hang.tmp-'))).toHaveLength(1);
    expect(existsSync(path.join(repos, 'hang'))).toBe(false);

    await s.kill();
    await until('the orphaned git to die', () => processesWithEnv(mark).length === 0, 10_000);

    // Restart with the remote refusing connections: the clone job is taken up again (not lost),
    // fails its remaining attempts, and says so on the project; nothing half-made is left.
    for (const sock of sockets) sock.destroy();
    await new Promise<void>((r) => listener!.close(() => r()));
    listener = undefined;
    s = await serve();
    server = s;
    const state = await until(
      'the resumed clone to give up',
      async () => {
        const { rows } = await db!.pool.query<{ clone_state: string | null; clone_error: string | null }>(
          'select clone_state, clone_error from projects where id = $1',
          [project.id],
        );
        return rows[0]?.clone_state === 'failed' ? rows[0] : null;
      },
      60_000,
    );
    expect(state.clone_error).toMatch(/cannot clone/);
    expect(readdirSync(repos)).toEqual([]);
    const again = await create(s.url);
    expect(again.status).toBe(409);
    await s.kill();
  }, 120_000);
});
