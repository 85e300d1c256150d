/**
 * The merge queue's git operations (src/git/integrate.ts) on real
 * repositories: a branch with nothing new, a clean merge, a conflict, a merge
 * left half-way by a killed runner, and branch heads read from the ref files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { branchHead, checkoutIntegration, mergeTaskBranch } from '../../src/git/integrate.js';
import { git, makeRepo } from '../support/cli.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const who = { name: 'Samgita', email: 'samgita@example.com' };

/** A repository with `main`, a task branch `t` changing `a.txt`, and the queue's checkout at main. */
async function queue(): Promise<{ repo: string; dir: string; main: string }> {
  const repo = await makeRepo({ 'a.txt': 'a\n', 'b.txt': 'b\n' });
  dirs.push(repo);
  const main = await git(repo, 'rev-parse', 'main');
  await git(repo, 'switch', '-q', '-c', 't');
  fs.writeFileSync(path.join(repo, 'a.txt'), 'a from t\n');
  await git(repo, 'commit', '-qam', 'task');
  await git(repo, 'switch', '-q', 'main');
  const dir = `${repo}-queue`;
  dirs.push(dir);
  await checkoutIntegration(repo, dir, main);
  return { repo, dir, main };
}

describe('merge queue git', () => {
  it('merges a task branch with its trailers; merging it again finds nothing new and leaves HEAD alone', async () => {
    const { dir, main } = await queue();
    const merged = await mergeTaskBranch(dir, 't', 'Integrate t', { 'Samgita-Task': 'x' }, who);
    expect(merged).toMatchObject({ kind: 'merged', files: ['a.txt'] });
    const sha = merged.kind === 'merged' ? merged.sha : '';
    expect(await git(dir, 'rev-parse', 'HEAD')).toBe(sha);
    expect(await git(dir, 'rev-parse', `${sha}^1`)).toBe(main);
    expect(await git(dir, 'log', '-1', '--format=%B')).toContain('Samgita-Task: x');
    expect(await mergeTaskBranch(dir, 't', 'again', {}, who)).toEqual({ kind: 'nothing' });
    expect(await git(dir, 'rev-parse', 'HEAD')).toBe(sha);
  });

  it('a conflict is reported with its files and hunks, and the checkout is back at the head', async () => {
    const { repo, dir, main } = await queue();
    fs.writeFileSync(path.join(repo, 'a.txt'), 'a from main\n');
    await git(repo, 'commit', '-qam', 'main moves');
    const head = await git(repo, 'rev-parse', 'main');
    await checkoutIntegration(repo, dir, head);
    const r = await mergeTaskBranch(dir, 't', 'Integrate t', {}, who);
    expect(r).toMatchObject({ kind: 'conflict', files: ['a.txt'] });
    expect(r.kind === 'conflict' && r.hunks).toContain('<<<<<<<');
    expect(await git(dir, 'rev-parse', 'HEAD')).toBe(head);
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    expect(head).not.toBe(main);
  });

  it('a merge a killed runner left half-way is aborted before the next one, and leftovers are cleaned', async () => {
    const { repo, dir, main } = await queue();
    fs.writeFileSync(path.join(repo, 'a.txt'), 'a from main\n');
    await git(repo, 'commit', '-qam', 'main moves');
    await git(dir, 'checkout', '-q', '--detach', 'main');
    // What a runner killed mid-merge leaves: a merge in progress with conflict markers, and a stray file.
    await git(dir, 'merge', '--no-ff', 't').catch(() => {});
    expect(await git(dir, 'rev-parse', '-q', '--verify', 'MERGE_HEAD')).not.toBe('');
    fs.writeFileSync(path.join(dir, 'stray.txt'), 'x\n');
    await checkoutIntegration(repo, dir, main);
    await expect(git(dir, 'rev-parse', '-q', '--verify', 'MERGE_HEAD')).rejects.toThrow();
    expect(await git(dir, 'status', '--porcelain')).toBe('');
    expect(fs.existsSync(path.join(dir, 'stray.txt'))).toBe(false);
    expect(await mergeTaskBranch(dir, 't', 'Integrate t', {}, who)).toMatchObject({ kind: 'merged' });
  });

  it('branch heads agree with git, loose or packed, and a missing branch is null', async () => {
    const { repo, main } = await queue();
    expect(await branchHead(repo, 'main')).toBe(main);
    expect(await branchHead(repo, 't')).toBe(await git(repo, 'rev-parse', 't'));
    expect(await branchHead(repo, 'gone')).toBeNull();
    await git(repo, 'pack-refs', '--all');
    expect(await branchHead(repo, 'main')).toBe(main);
  });
});
