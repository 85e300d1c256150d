import type pg from 'pg';
import type { Logger } from '../log/logger.js';

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
