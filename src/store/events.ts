import type pg from 'pg';
import { z } from 'zod';
import type { EventKind } from '../domain/events.js';
import type { Logger } from '../log/logger.js';
import { exec, maybeOne, type Queryable, rows, sql } from './connection.js';

const AbortRow = z.object({ abort: z.boolean() });
const IdRow = z.object({ id: z.string() });
const IdProjectIdKeyMoreRow = z.object({
  id: z.string(),
  project_id: z.string(),
  key: z.string(),
  priority: z.number(),
  max_attempts: z.number(),
});

/**
 * The events record (the append-only audit log) and the two ways of hearing
 * about new events as they are committed: a LISTEN connection of one's own, and
 * the server's shared notification hub.
 */
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

/** Appends several events in one statement, in order (a settle's: one round trip under the task's lock). */
export async function recordEvents(db: Queryable, events: readonly EventInput[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `insert into events (project_id, kind, subject_type, subject_id, actor_type, actor_id, data)
     select project_id, kind, subject_type, subject_id, actor_type, actor_id, data
       from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[])
       with ordinality as e(project_id, kind, subject_type, subject_id, actor_type, actor_id, data, n)
      order by n`,
    [
      events.map((e) => e.projectId ?? null),
      events.map((e) => e.kind),
      events.map((e) => e.subjectType),
      events.map((e) => e.subjectId ?? null),
      events.map((e) => e.actor?.type ?? 'system'),
      events.map((e) => e.actor?.id ?? null),
      events.map((e) => JSON.stringify(e.data ?? {})),
    ],
  );
}

/** Whether a recorded `project.paused` asked running agents to stop at once (`data.abort`). */
export async function pauseAborts(db: Queryable, eventId: number): Promise<boolean> {
  const r = await maybeOne(
    db,
    AbortRow,
    sql`select coalesce((data->>'abort')::boolean, false) as abort from events where id = ${eventId}`,
  );
  return r?.abort ?? false;
}

/**
 * A LISTEN connection on `samgita_events` (the events insert trigger's
 * pg_notify) of its own, re-established a second after it is lost.
 */
/** The NOTIFY channel every recorded event is announced on. */
export const EVENTS_CHANNEL = 'samgita_events';
const CHANNEL = EVENTS_CHANNEL;

export interface EventListener {
  close(): Promise<void>;
}

/** Calls `onPayload` with each notification's payload; `onConnectError` when LISTEN cannot be set up (it retries). */
export async function listenToEvents(
  pool: pg.Pool,
  onPayload: (payload: string) => void,
  onConnectError: (err: unknown) => void,
): Promise<EventListener> {
  let client: pg.PoolClient | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let releaseListener: () => void = () => {};
  const onNotice = (msg: pg.Notification) => {
    if (msg.payload) onPayload(msg.payload);
  };
  const connect = async () => {
    if (closed) return;
    try {
      const c = await pool.connect();
      let released = false;
      const onError = () => {
        // Once handed back to the pool the client is the pool's to clean up: releasing
        // it again would throw (seen when the database was dropped after stop()).
        if (released) return;
        released = true;
        c.release(true);
        if (client === c) client = null;
        if (!closed) retry = setTimeout(connect, 1_000);
      };
      c.on('notification', onNotice);
      c.on('error', onError);
      releaseListener = () => {
        if (released) return;
        released = true;
        c.off('notification', onNotice);
        c.off('error', onError);
        c.release();
      };
      await c.query(`listen ${CHANNEL}`);
      client = c;
    } catch (err) {
      onConnectError(err);
      if (!closed) retry = setTimeout(connect, 1_000);
    }
  };
  await connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = null;
      if (c) {
        await c.query(`unlisten ${CHANNEL}`).catch(() => {});
        releaseListener();
      }
    },
  };
}

type Handler = (payload: Record<string, unknown>) => void;

/**
 * One LISTEN connection per server, shared by every SSE client: notifications
 * are parsed once and handed to each subscriber of their channel. The
 * connection is re-established after an error, with a short backoff.
 */
export class NotifyHub {
  private client: pg.PoolClient | null = null;
  private readonly handlers = new Map<string, Set<Handler>>();
  private connecting: Promise<void> | null = null;
  private closed = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Called after every (re)connect, so subscribers can catch up on what they missed. */
  onReconnect: (() => void) | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly channels: readonly string[],
    private readonly log: Logger,
  ) {}

  subscribe(channel: string, handler: Handler): () => void {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    return () => {
      set.delete(handler);
    };
  }

  subscriberCount(channel: string): number {
    return this.handlers.get(channel)?.size ?? 0;
  }

  /** Resolves once LISTEN is in place. */
  start(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = await this.pool.connect();
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload));
    client.on('error', (err) => {
      this.log.warn({ err }, 'notification connection lost; reconnecting');
      this.drop(client, true);
    });
    for (const ch of this.channels) await client.query(`listen ${ch}`);
    if (this.closed) {
      client.release(true);
      return;
    }
    this.client = client;
  }

  private drop(client: pg.PoolClient, reconnect: boolean): void {
    if (this.client === client) this.client = null;
    try {
      client.release(true);
    } catch {
      // already released
    }
    if (reconnect && !this.closed) this.scheduleRetry(500);
  }

  private scheduleRetry(ms: number): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.start()
        .then(() => this.onReconnect?.())
        .catch((err) => {
          this.log.warn({ err }, 'notification reconnect failed');
          this.scheduleRetry(Math.min(ms * 2, 10_000));
        });
    }, ms);
    this.retryTimer.unref();
  }

  private dispatch(channel: string, payload: string | undefined): void {
    const set = this.handlers.get(channel);
    if (!set || set.size === 0) return;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(payload ?? '{}') as Record<string, unknown>;
    } catch {
      return;
    }
    for (const h of set) {
      try {
        h(parsed);
      } catch (err) {
        this.log.warn({ err }, 'notification subscriber failed');
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting?.catch(() => {});
    const c = this.client;
    this.client = null;
    if (c) {
      await c.query(`unlisten *`).catch(() => {});
      c.release();
    }
    this.handlers.clear();
  }
}

/** The snapshots record: point-in-time pictures of projects (FR-8.2), and which projects are due one. */
/**
 * A point-in-time picture of a project: what every agent was doing, where every
 * unfinished task stood in its RARV loop, what the project remembers, and which
 * commit each task branch had reached. With git history it is enough to see and
 * resume where a project was.
 */
export async function takeSnapshot(db: Queryable, projectId: string): Promise<string | null> {
  const r = await maybeOne(
    db,
    IdRow,
    sql`insert into snapshots (project_id, phase, agent_states, task_queue_state, memory_state, git_state)
     select p.id, p.phase,
       coalesce((select jsonb_agg(jsonb_build_object('id', a.id, 'agent_type', a.agent_type, 'task_id', a.current_task_id,
                   'status', a.status, 'node', a.node, 'model', a.model, 'session_id', a.session_id,
                   'tokens', a.total_tokens, 'cost_usd', a.cost_usd) order by a.started_at)
                 from agent_runs a where a.project_id = p.id and a.ended_at is null), '[]'::jsonb),
       jsonb_build_object(
         'counts', coalesce((select jsonb_object_agg(status, n) from (
                     select status, count(*) as n from tasks where project_id = p.id group by status) c), '{}'::jsonb),
         'open', coalesce((select jsonb_agg(jsonb_build_object('id', t.id, 'key', t.key, 'status', t.status,
                     'rarv_step', t.rarv_step, 'rarv_loop', t.rarv_loop, 'attempts', t.attempts,
                     'session_id', t.session_id) order by t.priority, t.key)
                   from tasks t where t.project_id = p.id and t.status not in ('completed', 'cancelled')), '[]'::jsonb)),
       jsonb_build_object(
         'counts', coalesce((select jsonb_object_agg(type, n) from (
                     select type, count(*) as n from memories where project_id = p.id group by type) m), '{}'::jsonb)),
       jsonb_build_object(
         'branches', coalesce((select jsonb_object_agg(t.branch, t.head_sha)
                   from tasks t where t.project_id = p.id and t.branch is not null and t.head_sha is not null), '{}'::jsonb))
       from projects p where p.id = ${projectId}
     returning id`,
  );
  return r?.id ?? null;
}

/** Keeps the newest `keep` snapshots of the project. */
export async function pruneSnapshots(db: Queryable, projectId: string, keep: number): Promise<void> {
  await exec(
    db,
    sql`delete from snapshots where project_id = ${projectId} and id not in (
          select id from snapshots where project_id = ${projectId} order by inserted_at desc limit ${keep})`,
  );
}

/** Projects worth a snapshot: running or paused. */
export async function activeProjectIds(db: Queryable): Promise<string[]> {
  const found = await rows(db, IdRow, sql`select id from projects where status in ('running', 'paused')`);
  return found.map((r) => r.id);
}

/** Tasks that should have a job: queued or running in a running project. */
export async function tasksThatNeedJobs(
  db: Queryable,
): Promise<{ id: string; project_id: string; key: string; priority: number; max_attempts: number }[]> {
  return rows(
    db,
    IdProjectIdKeyMoreRow,
    sql`select t.id, t.project_id, t.key, t.priority, t.max_attempts
          from tasks t join projects p on p.id = t.project_id
         where p.status = 'running' and t.status in ('queued', 'running')`,
  );
}
