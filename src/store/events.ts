import { z } from 'zod';
import type { EventKind } from '../domain/events.js';
import type { Queryable } from './pool.js';
import { maybeOne, sql } from './sql.js';

export type SubjectType =
  | 'project'
  | 'task'
  | 'agent_run'
  | 'runner'
  | 'prd_revision'
  | 'webhook'
  | 'api_key'
  | 'system';
export type ActorType = 'system' | 'cli' | 'runner' | 'api_key' | 'github_user' | 'github_app';

export interface Actor {
  type: ActorType;
  id?: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: 'system' };

export interface EventInput {
  projectId?: string | null;
  /** Dotted name, e.g. `task.completed`, `project.phase_changed` (the vocabulary is domain/events.ts). */
  kind: EventKind;
  subjectType: SubjectType;
  subjectId?: string | null;
  actor?: Actor;
  data?: Record<string, unknown>;
}

/**
 * Appends one audit event. Call it inside the transaction that makes the state
 * change, so the audit log and the state can never disagree; the insert
 * trigger turns it into a pg_notify for live updates.
 */
export async function recordEvent(db: Queryable, e: EventInput): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into events (project_id, kind, subject_type, subject_id, actor_type, actor_id, data)
     values ($1, $2, $3, $4, $5, $6, $7) returning id`,
    [
      e.projectId ?? null,
      e.kind,
      e.subjectType,
      e.subjectId ?? null,
      e.actor?.type ?? 'system',
      e.actor?.id ?? null,
      JSON.stringify(e.data ?? {}),
    ],
  );
  return rows[0]!.id;
}

/** Whether a recorded `project.paused` asked running agents to stop at once (`data.abort`). */
export async function pauseAborts(db: Queryable, eventId: number): Promise<boolean> {
  const r = await maybeOne(
    db,
    z.object({ abort: z.boolean() }),
    sql`select coalesce((data->>'abort')::boolean, false) as abort from events where id = ${eventId}`,
  );
  return r?.abort ?? false;
}
