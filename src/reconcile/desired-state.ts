import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseSamgitaYaml, type SamgitaConfig } from '../config/samgita-yaml/index.js';
import { SamgitaError } from '../errors.js';
import { isDirtyPath, readFileAtCommit } from '../git/repo.js';

export const PRD_FILE = 'PRD.md';
export const CONFIG_FILE = 'samgita.yaml';

/** PRD.md + samgita.yaml at one commit: what Samgita reconciles toward. */
export interface DesiredState {
  commitSha: string;
  prd: string;
  config: SamgitaConfig;
  configText: string | null;
  configHash: string;
  /** Files that differ in the working tree from the commit (their committed version is used). */
  uncommitted: string[];
}

/**
 * Reads the desired state from a commit, never from the working tree, so what
 * agents are told is always something recorded in git history.
 */
export async function readDesiredState(repoRoot: string, commitSha: string): Promise<DesiredState> {
  const prd = await readFileAtCommit(repoRoot, commitSha, PRD_FILE);
  if (prd === null) {
    const inTree = await isDirtyPath(repoRoot, PRD_FILE);
    throw new SamgitaError('PRD_MISSING', `${PRD_FILE} is not in commit ${commitSha.slice(0, 12)} of ${repoRoot}`, {
      hint: inTree
        ? `commit it first: git -C ${repoRoot} add ${PRD_FILE} && git -C ${repoRoot} commit -m "Add PRD"`
        : `write what to build in ${path.join(repoRoot, PRD_FILE)} and commit it`,
    });
  }
  if (!prd.trim()) {
    throw new SamgitaError('PRD_INVALID', `${PRD_FILE} is empty in commit ${commitSha.slice(0, 12)}`, {
      hint: 'describe what to build: sections, requirement tables (ID | Requirement | Priority), acceptance criteria',
      location: { file: path.join(repoRoot, PRD_FILE), line: 1, column: 1 },
    });
  }
  const configText = await readFileAtCommit(repoRoot, commitSha, CONFIG_FILE);
  const config = parseSamgitaYaml(configText ?? '', path.join(repoRoot, CONFIG_FILE));
  const uncommitted: string[] = [];
  for (const f of [PRD_FILE, CONFIG_FILE]) if (await isDirtyPath(repoRoot, f)) uncommitted.push(f);
  return {
    commitSha,
    prd,
    config,
    configText,
    configHash: createHash('sha256')
      .update(configText ?? '')
      .digest('hex'),
    uncommitted,
  };
}
