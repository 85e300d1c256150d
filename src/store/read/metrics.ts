/**
 * The cluster-wide numbers /metrics reports, read at scrape time so every
 * server reports the same whichever one is scraped.
 */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { join, one, rows, sql } from '../sql.js';

const Count = z.object({ label: z.string(), n: z.number() });
type Count = z.output<typeof Count>;

/**
 * Queued tasks: ready (due now) and waiting (a delay, a concurrency cap or the
 * provider). From the domain table, not graphile-worker's: a task is queued iff it has a job.
 */
export async function queueDepth(db: Queryable): Promise<{ ready: number; waiting: number }> {
  return one(
    db,
    z.object({ ready: z.number(), waiting: z.number() }),
    sql`select count(*) filter (where run_after is null or run_after <= now())::int as ready,
               count(*) filter (where run_after > now())::int as waiting
          from tasks where status = 'queued'`,
  );
}

export async function tasksByStatus(db: Queryable): Promise<Count[]> {
  return rows(db, Count, sql`select status as label, count(*)::int as n from tasks group by status`);
}

export async function projectsByStatus(db: Queryable): Promise<Count[]> {
  return rows(db, Count, sql`select status as label, count(*)::int as n from projects group by status`);
}

export async function activeRunsByAgentType(db: Queryable): Promise<Count[]> {
  return rows(
    db,
    Count,
    sql`select agent_type as label, count(*)::int as n from agent_runs where ended_at is null group by agent_type`,
  );
}

export async function deliveriesByStatus(db: Queryable): Promise<Count[]> {
  return rows(db, Count, sql`select status as label, count(*)::int as n from webhook_deliveries group by status`);
}

/** Tokens of all projects by kind (input, output, cache_read, cache_write). */
export async function tokenTotals(db: Queryable): Promise<Record<string, number>> {
  return one(
    db,
    z.object({ input: z.number(), output: z.number(), cache_read: z.number(), cache_write: z.number() }),
    sql`select coalesce(sum(input_tokens), 0) as input, coalesce(sum(output_tokens), 0) as output,
               coalesce(sum(cache_read_tokens), 0) as cache_read, coalesce(sum(cache_write_tokens), 0) as cache_write
          from projects`,
  );
}

export async function costTotal(db: Queryable): Promise<number> {
  const r = await one(
    db,
    z.object({ c: z.number() }),
    sql`select coalesce(sum(cost_usd), 0)::float8 as c from projects`,
  );
  return r.c;
}

/** Live runners (active or draining) and the seconds since their last heartbeat. */
export async function runnerHeartbeats(
  db: Queryable,
): Promise<Array<{ name: string; host: string; status: string; age: number }>> {
  return rows(
    db,
    z.object({ name: z.string(), host: z.string(), status: z.string(), age: z.number() }),
    sql`select name, host, status, extract(epoch from now() - heartbeat_at)::float8 as age
          from runners where status in ('active', 'draining')`,
  );
}

/**
 * Finished tasks' durations: how many took at most each of `bucketsSec`
 * (cumulative, as Prometheus buckets are), how many in all, and their sum in seconds.
 */
export async function taskDurations(
  db: Queryable,
  bucketsSec: readonly number[],
): Promise<{ buckets: number[]; count: number; sumSeconds: number }> {
  const counts = join(bucketsSec.map((b) => sql`count(*) filter (where duration_ms <= ${b * 1000})::int`));
  const r = await one(
    db,
    z.object({ buckets: z.array(z.number()), n: z.number(), s: z.number() }),
    sql`select array[${counts}]::int[] as buckets, count(*)::int as n, coalesce(sum(duration_ms), 0)::float8 / 1000 as s
          from tasks where duration_ms is not null and status in ('completed', 'failed', 'dead_letter')`,
  );
  return { buckets: r.buckets, count: r.n, sumSeconds: r.s };
}
