/**
 * git through the helper process (src/spawner/helper.ts): the same answers as
 * in-process git (output, raw output, stdin, failures, timeouts), the calls
 * really run in the helper, and a helper that dies fails only the calls it
 * had (with a message that says so) before the next call starts another.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { git } from '../../src/git/git.js';
import { spawner, useSpawner } from '../../src/spawner/helper.js';
import { makeRepo } from '../support/cli.js';
import { waitFor } from '../support/runner-harness.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** Pids of this process's children that are the helper (`node -e <script>`). */
function helperPids(): number[] {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).toString();
  return out
    .split('\n')
    .filter((l) => l.includes("require('node:child_process')"))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** A one-file repository, and git through the helper until the test ends. */
async function repoWithHelper(): Promise<string> {
  const repo = await makeRepo({ 'a.txt': 'a\n' });
  cleanups.push(() => fs.rmSync(repo, { recursive: true, force: true }));
  cleanups.push(useSpawner());
  return repo;
}

async function bothWays<T>(fn: () => Promise<T>): Promise<[T, T]> {
  const inProcess = await fn();
  const release = useSpawner();
  cleanups.push(release);
  const viaHelper = await fn();
  return [inProcess, viaHelper];
}

describe('git through the helper process', () => {
  it('answers as in-process git does, and runs in a separate process', async () => {
    const repo = await makeRepo({ 'a.txt': 'a\n' });
    cleanups.push(() => fs.rmSync(repo, { recursive: true, force: true }));
    const [a, b] = await bothWays(async () => ({
      head: await git(repo, ['rev-parse', 'HEAD']),
      raw: await git(repo, ['show', 'HEAD:a.txt'], { raw: true }),
      hashed: await git(repo, ['hash-object', '--stdin'], { input: 'hello\n' }),
      failed: await git(repo, ['rev-parse', '--verify', 'no-such-ref']).catch((e: Error) => e.message),
      tolerated: await git(repo, ['rev-parse', '--verify', 'no-such-ref'], { allowFailure: true }),
      // A fixed date: the ident ends with the time, which would differ between the two runs.
      env: await git(repo, ['var', 'GIT_AUTHOR_IDENT'], {
        env: { GIT_AUTHOR_NAME: 'Helper Test', GIT_AUTHOR_DATE: '@1700000000 +0000' },
      }),
    }));
    expect(b).toEqual(a);
    expect(a.raw).toBe('a\n');
    expect(a.hashed).toMatch(/^[0-9a-f]{40}$/);
    expect(a.failed).toMatch(/git rev-parse --verify no-such-ref failed in .*: fatal: Needed a single revision/);
    expect(a.env).toMatch(/^Helper Test <.*> 1700000000 \+0000$/);
    expect(spawner()).not.toBeNull();
    expect(helperPids()).toHaveLength(1);
  });

  it('kills a git past its timeout and says so', async () => {
    const repo = await repoWithHelper();
    const err = await git(repo, ['-c', 'alias.wait=!exec sleep 30', 'wait'], { timeoutMs: 300 }).catch((e: Error) => e);
    expect(String(err)).toMatch(/git -c alias.wait=!exec sleep 30 wait failed in .*: timed out after 300 ms/);
  });

  it('a helper that dies fails the calls it had; the next call starts another', async () => {
    const repo = await repoWithHelper();
    await git(repo, ['rev-parse', 'HEAD']);
    const [first] = helperPids();
    const running = git(repo, ['-c', 'alias.wait=!exec sleep 30', 'wait']).catch((e: Error) => e);
    // Killed while the call is out (its git is running: the helper has a child).
    await waitFor('git running under the helper', async () => {
      const kids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(first)])
        .toString()
        .trim();
      return kids.length > 0;
    });
    process.kill(first!, 'SIGKILL');
    const err = await running;
    expect(String(err)).toMatch(/GIT_FAILED|failed in/);
    expect(String(err)).toMatch(/spawner process exited \(SIGKILL\) while its call was running/);
    expect(await git(repo, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
    const [second] = helperPids();
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
  });

  it('SIGINT and SIGTERM to the process group leave the helper to the runner', async () => {
    const repo = await repoWithHelper();
    await git(repo, ['rev-parse', 'HEAD']);
    const [pid] = helperPids();
    process.kill(pid!, 'SIGINT');
    process.kill(pid!, 'SIGTERM');
    // Answered by the same helper: the signals did not end it.
    expect(await git(repo, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
    expect(helperPids()).toEqual([pid]);
  });

  it('the helper goes when its last user releases it, and git runs in-process again', async () => {
    const repo = await makeRepo({ 'a.txt': 'a\n' });
    cleanups.push(() => fs.rmSync(repo, { recursive: true, force: true }));
    const one = useSpawner();
    const two = useSpawner();
    await git(repo, ['rev-parse', 'HEAD']);
    expect(helperPids()).toHaveLength(1);
    one();
    expect(spawner()).not.toBeNull();
    two();
    expect(spawner()).toBeNull();
    await waitFor('helper gone', async () => helperPids().length === 0);
    expect(await git(repo, ['rev-parse', '--abbrev-ref', 'HEAD'])).toBe('main');
  });
});
