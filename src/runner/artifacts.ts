/** The files a checkpoint commit touched, recorded as artifacts (FR-8.4), content included when small text. */
import { git } from '../git/git.js';
import { knownSecrets, redact } from '../sandbox/secrets.js';
import { type ArtifactType, addArtifact } from '../store/agent-runs.js';
import type { Queryable } from '../store/connection.js';

const ARTIFACT_MAX_BYTES = 256 * 1024;
const MAX_FILES = 200;

export function artifactType(file: string): ArtifactType {
  if (/\.(md|mdx|txt|rst|adoc)$/i.test(file)) return 'doc';
  if (/(^|\/)(Dockerfile|docker-compose[^/]*|\.github\/workflows\/.*|.*\.(ya?ml|toml|json|ini|env))$/i.test(file))
    return 'config';
  return 'code';
}

export async function recordArtifacts(
  db: Queryable,
  task: { id: string; project_id: string },
  worktree: string,
  sha: string,
  files: string[],
): Promise<void> {
  // The secret scan keeps known secrets out of commits; this keeps them out of the record whatever got in.
  const secrets = knownSecrets();
  for (const file of files.slice(0, MAX_FILES)) {
    const blob = (await git(worktree, ['rev-parse', `${sha}:${file}`], { allowFailure: true })).trim();
    if (!blob) continue; // deleted in this commit
    const size = Number((await git(worktree, ['cat-file', '-s', blob], { allowFailure: true })).trim());
    const content =
      size <= ARTIFACT_MAX_BYTES
        ? await git(worktree, ['cat-file', 'blob', blob], { allowFailure: true, raw: true })
        : null;
    await addArtifact(db, {
      projectId: task.project_id,
      taskId: task.id,
      type: artifactType(file),
      path: file,
      content: content == null || content.includes('\0') ? null : redact(content, secrets),
      contentHash: blob,
      metadata: { commit: sha, size },
    });
  }
}
