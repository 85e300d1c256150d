/** What the API, its SSE streams and the status page read of the audit log. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { maybeOne, raw, rows, sql } from '../sql.js';
import { kindCondition, where } from './where.js';

const COLUMNS = raw('id, project_id, kind, subject_type, subject_id, actor_type, actor_id, data, created_at');

export const EventRow = z.object({
  id: z.number(),
  project_id: z.string().nullable(),
  kind: z.string(),
  subject_type: z.string(),
  subject_id: z.string().nullable(),
  actor_type: z.string(),
  actor_id: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  created_at: z.date(),
});
export type EventRow = z.output<typeof EventRow>;

export interface EventFilter {
  projectId?: string | undefined;
  /** Exact, or a prefix ending in `.*`. */
  kind?: string | undefined;
}

/**
 * History by id, newest first unless `order` is asc, keyset-paginated on id;
 * fetches one row past `limit` to tell if more follow.
 */
export async function listEvents(
  db: Queryable,
  q: EventFilter & {
    actorId?: string | undefined;
    order: 'asc' | 'desc';
    limit: number;
    afterId: number | null;
  },
): Promise<EventRow[]> {
  const asc = q.order === 'asc';
  return rows(
    db,
    EventRow,
    sql`select ${COLUMNS} from events
        ${where([
          q.projectId && sql`project_id = ${q.projectId}`,
          q.kind && kindCondition(q.kind),
          q.actorId && sql`actor_id = ${q.actorId}`,
          q.afterId !== null && (asc ? sql`id > ${q.afterId}` : sql`id < ${q.afterId}`),
        ])}
         order by id ${asc ? raw('asc') : raw('desc')} limit ${q.limit + 1}`,
  );
}

/** Up to `limit` events after `afterId`, oldest first: what a reconnecting stream missed. */
export async function eventsAfter(db: Queryable, afterId: number, filter: EventFilter, limit: number) {
  return rows(
    db,
    EventRow,
    sql`select ${COLUMNS} from events
        ${where([
          sql`id > ${afterId}`,
          filter.projectId && sql`project_id = ${filter.projectId}`,
          filter.kind && kindCondition(filter.kind),
        ])}
         order by id limit ${limit}`,
  );
}

export async function readEvent(db: Queryable, id: number): Promise<EventRow | null> {
  return maybeOne(db, EventRow, sql`select ${COLUMNS} from events where id = ${id}`);
}
