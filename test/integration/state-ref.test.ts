/**
 * The state ref's plumbing (src/git/state-ref.ts) on a real repository: what
 * is written reads back byte for byte (multi-byte text, nested directories,
 * few files and many: loose objects and a pack), an unchanged tree writes no
 * commit, and a ref moved by someone else is not overwritten.
 */
import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { readStateFiles, STATE_REF, stateHead, writeStateCommit } from '../../src/git/state-ref.js';
import { git, makeRepo } from '../support/cli.js';

const repos: string[] = [];
afterEach(() => {
  for (const r of repos.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

const identity = { name: 'Samgita', email: 'samgita@example.invalid' };

function stateFiles(n: number, salt: string): Record<string, string> {
  const files: Record<string, string> = {
    'project.json': `{"name":"ünïcødé ✓ ${salt}"}\n`,
    'README.md': `# State\n\nçà et là — ${salt}\n`,
  };
  for (let i = 0; i < n; i++) files[`tasks/t${String(i).padStart(4, '0')}.json`] = `{"i":${i},"s":"${salt}","x":"€"}\n`;
  files['continuity/deep/nested.md'] = `nested ${salt}\n`;
  return files;
}

describe('state ref plumbing', () => {
  it.each([
    ['a few files (loose objects)', 3],
    ['many files (one pack)', 250],
  ])('%s read back exactly as written', async (_what, n) => {
    const repo = await makeRepo({ 'a.txt': 'a\n' });
    repos.push(repo);
    const packsBefore = fs.readdirSync(`${repo}/.git/objects/pack`).filter((f) => f.endsWith('.pack')).length;
    const files = stateFiles(n, `run-${n}`);
    const first = await writeStateCommit(repo, files, { parent: null, message: 'State.', identity });
    expect(first.kind).toBe('written');
    const head = await stateHead(repo);
    expect(first).toEqual({ kind: 'written', sha: head });
    expect(await readStateFiles(repo, head!)).toEqual(files);
    expect(await git(repo, 'fsck', '--no-dangling')).toBe('');
    const packs = fs.readdirSync(`${repo}/.git/objects/pack`).filter((f) => f.endsWith('.pack')).length;
    expect(packs - packsBefore).toBe(n > 100 ? 1 : 0);

    // The same tree again: no commit. One file changed: a commit on top.
    expect(await writeStateCommit(repo, files, { parent: head, message: 'Again.', identity })).toEqual({
      kind: 'unchanged',
      sha: head,
    });
    const changed = { ...files, 'tasks/t0000.json': '{"i":0,"changed":true}\n' };
    const second = await writeStateCommit(repo, changed, { parent: head, message: 'Changed.', identity });
    expect(second.kind).toBe('written');
    expect(await git(repo, 'rev-parse', `${STATE_REF}^`)).toBe(head);
    expect(await readStateFiles(repo, (await stateHead(repo))!)).toEqual(changed);
  });

  it('does not move a ref someone else moved since it was read', async () => {
    const repo = await makeRepo({ 'a.txt': 'a\n' });
    repos.push(repo);
    const a = await writeStateCommit(repo, stateFiles(2, 'a'), { parent: null, message: 'A.', identity });
    const b = await writeStateCommit(repo, stateFiles(2, 'b'), { parent: null, message: 'B.', identity });
    expect(a.kind).toBe('written');
    expect(b).toEqual({ kind: 'moved', head: a.kind === 'written' ? a.sha : null });
    expect(await readStateFiles(repo, (await stateHead(repo))!)).toEqual(stateFiles(2, 'a'));
  });
});
