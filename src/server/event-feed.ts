import type pg from 'pg';
import type { Logger } from '../log/logger.js';
import type { NotifyHub } from '../store/events.js';
import { type EventRow, readEvent } from '../store/read/tasks.js';

/**
 * Turns `samgita_events` notifications into full event rows, read once per
 * event whatever the number of SSE clients, delivered in notification order.
 */
export class EventFeed {
  private readonly handlers = new Set<(e: EventRow) => void>();
  private chain: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly hub: NotifyHub,
    private readonly log: Logger,
  ) {}

  subscribe(handler: (e: EventRow) => void): () => void {
    this.handlers.add(handler);
    this.unsubscribe ??= this.hub.subscribe('samgita_events', (p) => this.onNotify(p));
    return () => {
      this.handlers.delete(handler);
      if (this.handlers.size === 0 && this.unsubscribe) {
        this.unsubscribe();
        this.unsubscribe = null;
      }
    };
  }

  private onNotify(p: Record<string, unknown>): void {
    const id = Number(p.id);
    if (!Number.isFinite(id) || this.handlers.size === 0) return;
    this.chain = this.chain
      .then(async () => {
        const row = await readEvent(this.pool, id);
        if (!row) return;
        for (const h of this.handlers) h(row);
      })
      .catch((err) => this.log.warn({ err, id }, 'event feed read failed'));
  }
}

/** `kind` filter: exact, or a prefix when it ends in `.*` (e.g. `task.*`). */
export function kindMatches(filter: string | undefined, kind: string): boolean {
  if (!filter) return true;
  if (filter.endsWith('.*')) return kind.startsWith(filter.slice(0, -1));
  return filter === kind;
}
