/** The memories record: what agents learned, read back into later tasks' Reason step. */
import { z } from 'zod';
import type { Queryable } from './pool.js';
import { exec, rows, sql } from './sql.js';

export type MemoryType = 'episodic' | 'semantic' | 'procedural';

/** The project's most important, most recent memories, other than the task's own. */
export async function recallMemories(db: Queryable, projectId: string, taskId: string, limit = 8): Promise<string[]> {
  const found = await rows(
    db,
    z.object({ content: z.string() }),
    sql`select content from memories where project_id = ${projectId} and (task_id is null or task_id <> ${taskId})
         order by importance desc, inserted_at desc limit ${limit}`,
  );
  return found.map((m) => m.content);
}

export async function addMemory(
  db: Queryable,
  m: { projectId: string; taskId: string; type: MemoryType; content: string; importance: number },
): Promise<void> {
  await exec(
    db,
    sql`insert into memories (project_id, task_id, type, content, importance)
        values (${m.projectId}, ${m.taskId}, ${m.type}, ${m.content}, ${m.importance})`,
  );
}
