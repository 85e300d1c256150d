/**
 * What git history says about tasks whatever PostgreSQL remembers: which
 * tasks the integration branch merged (the `Samgita-Task` trailer of each
 * merge commit) and where each task branch stands.
 */
import { git, tryGit } from './git.js';

/** Task id → the integration commit that merged it (newest wins), over the branch's first-parent history. */
export async function integratedTasks(repo: string, branch: string): Promise<Map<string, string>> {
  const out = await tryGit(repo, [
    'log',
    '--first-parent',
    '--merges',
    '--format=%H%x00%(trailers:key=Samgita-Task,valueonly,separator=%x2C)%x00',
    branch,
    '--',
  ]);
  const found = new Map<string, string>();
  if (!out) return found;
  const parts = out.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const sha = parts[i]!.trim();
    for (const id of parts[i + 1]!.split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      if (!found.has(id)) found.set(id, sha);
  }
  return found;
}

/** Branch → head commit, for the branches that exist in `repo`. */
export async function branchHeads(repo: string, branches: readonly string[]): Promise<Map<string, string>> {
  const heads = new Map<string, string>();
  if (!branches.length) return heads;
  const out = await git(repo, ['for-each-ref', '--format=%(refname:short)%00%(objectname)', 'refs/heads/']);
  const wanted = new Set(branches);
  for (const line of out.split('\n')) {
    const [name, sha] = line.split('\0');
    if (name && sha && wanted.has(name)) heads.set(name, sha);
  }
  return heads;
}
