/** What the API reads of artifacts. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { maybeOne, raw, rows, sql } from '../sql.js';
import { where } from './where.js';

const COLUMNS = raw('id, project_id, task_id, type, path, content_hash, metadata, inserted_at');

export const ArtifactRow = z.object({
  id: z.string(),
  project_id: z.string(),
  task_id: z.string().nullable(),
  type: z.string(),
  path: z.string(),
  content_hash: z.string(),
  metadata: z.record(z.string(), z.unknown()),
  inserted_at: z.date(),
});

/** `_ts` is inserted_at as PostgreSQL prints it: microseconds survive the round trip through a cursor. */
const ListedRow = ArtifactRow.extend({ _ts: z.string() });

/** A project's artifacts without content, newest first; fetches one row past `limit` to tell if more follow. */
export async function listArtifacts(
  db: Queryable,
  projectId: string,
  q: { limit: number; type?: string | undefined; taskId?: string | undefined; after: readonly unknown[] | null },
): Promise<z.output<typeof ListedRow>[]> {
  const after = q.after;
  return rows(
    db,
    ListedRow,
    sql`select ${COLUMNS}, inserted_at::text as _ts from artifacts
        ${where([
          sql`project_id = ${projectId}`,
          q.type && sql`type = ${q.type}`,
          q.taskId && sql`task_id = ${q.taskId}`,
          after && sql`(inserted_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`,
        ])}
         order by inserted_at desc, id desc limit ${q.limit + 1}`,
  );
}

const DetailRow = ArtifactRow.extend({ content: z.string().nullable() });

export async function readArtifact(db: Queryable, id: string): Promise<z.output<typeof DetailRow> | null> {
  return maybeOne(db, DetailRow, sql`select ${COLUMNS}, content from artifacts where id = ${id}`);
}
