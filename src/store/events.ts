/**
 * The events record (the append-only audit log) and the two ways of hearing
 * about new events as they are committed: a LISTEN connection of one's own, and
 * the server's shared notification hub.
 */
import type pg from 'pg';
import { z } from 'zod';
import type { EventKind } from '../domain/events.js';
import type { Logger } from '../log/logger.js';
import { maybeOne, type Queryable, sql } from './connection.js';

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

/**
 * A LISTEN connection on `samgita_events` (the events insert trigger's
 * pg_notify) of its own, re-established a second after it is lost.
 */
const CHANNEL = 'samgita_events';

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
