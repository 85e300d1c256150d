import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fakeClaudePath } from './fake-claude/index.js';

const run = promisify(execFile);
export const SAMGITA_BIN = fileURLToPath(new URL('../../bin/samgita.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `samgita` command as a user would, in a child process. */
export async function samgita(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 120_000,
): Promise<CliResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SAMGITA_BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      timeout: timeoutMs,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Environment that points samgita at a test database and the scripted stand-in CLI. */
export function fakeClaudeEnv(opts: {
  databaseUrl: string;
  home: string;
  script?: string;
  log?: string;
  loggedIn?: boolean;
}) {
  return {
    DATABASE_URL: opts.databaseUrl,
    SAMGITA_HOME: opts.home,
    SAMGITA_CLAUDE_BIN: fakeClaudePath,
    SAMGITA_CLAUDE_PASS_ENV: 'FAKE_CLAUDE_SCRIPT,FAKE_CLAUDE_LOG,FAKE_CLAUDE_LOGGED_IN',
    FAKE_CLAUDE_SCRIPT: opts.script,
    FAKE_CLAUDE_LOG: opts.log,
    FAKE_CLAUDE_LOGGED_IN: opts.loggedIn === false ? '0' : '1',
    // The stand-in CLI runs sandboxed like the real one: its script and log must be visible inside.
    SAMGITA_SANDBOX_BIND: [
      ...new Set([opts.script, opts.log].filter((f): f is string => !!f).map((f) => path.dirname(f))),
    ].join(':'),
  };
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

export async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd, env: { ...process.env, ...GIT_ENV } });
  return stdout.trim();
}

/** A new git repository with the given files committed on `main`. */
export async function makeRepo(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'samgita-repo-'));
  await git(dir, 'init', '-q', '-b', 'main');
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  await git(dir, 'add', '.');
  await git(dir, 'commit', '-q', '-m', 'Initial commit');
  return dir;
}
