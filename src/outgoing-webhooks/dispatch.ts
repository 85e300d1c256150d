import type pg from 'pg';
import type { Logger } from '../log/logger.js';
import { advanceDispatchCursor, lockDispatchCursor, settledEventsAfter } from '../store/api.js';
import { withTransaction } from '../store/connection.js';
import { NotifyHub } from '../store/events.js';
import { enqueueDeliveriesAfter, enqueueDeliveriesForEvent } from './enqueue.js';

/** Events read per sweep step. */
const BATCH = 1000;

export interface DispatcherOptions {
  /** How often to sweep for events no notification announced (default 10 s). */
  sweepIntervalMs?: number;
  /** Events younger than this are swept again next time: a slow transaction may still commit below them. */
  settleSeconds?: number;
}

/**
 * Turns events into webhook deliveries. Reacts to each `samgita_events`
 * notification at once, and sweeps from a cursor kept in the database so events
 * recorded while no dispatcher listened are delivered too. Any number of
 * servers may run one: deliveries are unique per (webhook, event).
 */
export class WebhookDispatcher {
  private readonly hub: NotifyHub;
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions = {},
  ) {
    this.hub = new NotifyHub(pool, ['samgita_events'], log);
  }

  async start(): Promise<void> {
    this.hub.subscribe('samgita_events', (p) => {
      const id = Number(p.id);
      if (!Number.isFinite(id) || this.stopped) return;
      enqueueDeliveriesForEvent(this.pool, id).catch((err) =>
        this.log.warn({ err, eventId: id }, 'webhook dispatch failed; the sweep will retry'),
      );
    });
    this.hub.onReconnect = () => void this.sweep();
    await this.hub.start();
    await this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.opts.sweepIntervalMs ?? 10_000);
    this.timer.unref();
  }

  /** One pass over events above the stored cursor. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((err) => this.log.warn({ err }, 'webhook sweep failed'))
      .finally(() => {
        this.sweeping = null;
      });
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    const settle = this.opts.settleSeconds ?? 60;
    for (let batch = 0; batch < 100 && !this.stopped; batch++) {
      const moved = await withTransaction(this.pool, async (db) => {
        const from = await lockDispatchCursor(db);
        if (from === undefined) return false;
        await enqueueDeliveriesAfter(db, from, BATCH);
        const next = await settledEventsAfter(db, from, BATCH, settle);
        const to = next.id;
        if (to && to > from) await advanceDispatchCursor(db, to);
        return next.n === BATCH && !!to && to > from;
      });
      if (!moved) break;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    await this.hub.close();
  }
}
