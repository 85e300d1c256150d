/** The artifacts record: the files a task's checkpoint commits touched (FR-8.4). */
import type { Queryable } from './pool.js';
import { exec, sql } from './sql.js';

export type ArtifactType = 'code' | 'doc' | 'config' | 'deployment';

export interface ArtifactInput {
  projectId: string;
  taskId: string;
  type: ArtifactType;
  path: string;
  /** Small text files only; null otherwise. */
  content: string | null;
  /** The git blob id. */
  contentHash: string;
  metadata: Record<string, unknown>;
}

/** Records one artifact; the same file content of the same task is recorded once. */
export async function addArtifact(db: Queryable, a: ArtifactInput): Promise<void> {
  await exec(
    db,
    sql`insert into artifacts (project_id, task_id, type, path, content, content_hash, metadata)
        values (${a.projectId}, ${a.taskId}, ${a.type}, ${a.path}, ${a.content}, ${a.contentHash},
                ${JSON.stringify(a.metadata)})
        on conflict do nothing`,
  );
}
