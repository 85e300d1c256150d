import client from 'prom-client';
import type { Queryable } from '../store/pool.js';

/** Upper bounds (seconds) of the task duration histogram. */
export const DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/**
 * Prometheus metrics read from PostgreSQL at scrape time, so every server
 * reports the same cluster-wide numbers whichever one is scraped.
 */
export function createMetrics(db: Queryable) {
  const registry = new client.Registry();
  const gauge = (name: string, help: string, labelNames: string[], collect: (g: client.Gauge) => Promise<void>) =>
    new client.Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await collect(this);
      },
    });

  // From the domain table, not graphile-worker's private tables: a task is queued iff it has a job.
  gauge(
    'samgita_queue_depth',
    'Tasks queued for a runner, by state: ready (due now), waiting (a delay, a concurrency cap or the provider)',
    ['state'],
    async (g) => {
      const { rows } = await db.query<{ ready: number; waiting: number }>(
        `select count(*) filter (where run_after is null or run_after <= now())::int as ready,
                count(*) filter (where run_after > now())::int as waiting
           from tasks where status = 'queued'`,
      );
      g.set({ state: 'ready' }, rows[0]?.ready ?? 0);
      g.set({ state: 'waiting' }, rows[0]?.waiting ?? 0);
    },
  );
  gauge('samgita_tasks', 'Tasks by status', ['status'], async (g) => {
    const { rows } = await db.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from tasks group by status',
    );
    for (const r of rows) g.set({ status: r.status }, r.n);
  });
  gauge('samgita_projects', 'Projects by status', ['status'], async (g) => {
    const { rows } = await db.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from projects group by status',
    );
    for (const r of rows) g.set({ status: r.status }, r.n);
  });
  gauge('samgita_agent_runs_active', 'Agent runs not yet ended, by agent type', ['agent_type'], async (g) => {
    const { rows } = await db.query<{ agent_type: string; n: number }>(
      'select agent_type, count(*)::int as n from agent_runs where ended_at is null group by agent_type',
    );
    for (const r of rows) g.set({ agent_type: r.agent_type }, r.n);
  });
  gauge('samgita_tokens_total', 'Tokens used by all projects, by kind', ['kind'], async (g) => {
    const { rows } = await db.query<Record<string, number>>(
      `select coalesce(sum(input_tokens), 0) as input, coalesce(sum(output_tokens), 0) as output,
         coalesce(sum(cache_read_tokens), 0) as cache_read, coalesce(sum(cache_write_tokens), 0) as cache_write
       from projects`,
    );
    for (const [kind, v] of Object.entries(rows[0] ?? {})) g.set({ kind }, Number(v));
  });
  gauge('samgita_cost_usd_total', 'Cost in USD of all projects', [], async (g) => {
    const { rows } = await db.query<{ c: number }>('select coalesce(sum(cost_usd), 0)::float8 as c from projects');
    g.set(rows[0]?.c ?? 0);
  });
  gauge(
    'samgita_runner_heartbeat_age_seconds',
    'Seconds since each live runner’s last heartbeat',
    ['runner', 'host', 'status'],
    async (g) => {
      const { rows } = await db.query<{ name: string; host: string; status: string; age: number }>(
        `select name, host, status, extract(epoch from now() - heartbeat_at)::float8 as age
       from runners where status in ('active', 'draining')`,
      );
      for (const r of rows) g.set({ runner: r.name, host: r.host, status: r.status }, r.age);
    },
  );
  gauge('samgita_webhook_deliveries', 'Webhook deliveries by status', ['status'], async (g) => {
    const { rows } = await db.query<{ status: string; n: number }>(
      'select status, count(*)::int as n from webhook_deliveries group by status',
    );
    for (const r of rows) g.set({ status: r.status }, r.n);
  });

  /** The whole scrape: prom-client's gauges plus the task duration histogram computed in SQL. */
  async function render(): Promise<string> {
    const [text, hist] = await Promise.all([registry.metrics(), durationHistogram(db)]);
    return text + hist;
  }
  return { registry, render, contentType: registry.contentType };
}

async function durationHistogram(db: Queryable): Promise<string> {
  const cols = DURATION_BUCKETS.map((b, i) => `count(*) filter (where duration_ms <= ${b * 1000})::int as b${i}`);
  const { rows } = await db.query<Record<string, number>>(
    `select ${cols.join(', ')}, count(*)::int as n, coalesce(sum(duration_ms), 0)::float8 / 1000 as s
     from tasks where duration_ms is not null and status in ('completed', 'failed', 'dead_letter')`,
  );
  const r = rows[0] ?? {};
  const name = 'samgita_task_duration_seconds';
  const lines = [`# HELP ${name} Duration of finished tasks`, `# TYPE ${name} histogram`];
  DURATION_BUCKETS.forEach((b, i) => {
    lines.push(`${name}_bucket{le="${b}"} ${r[`b${i}`] ?? 0}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${r.n ?? 0}`, `${name}_sum ${r.s ?? 0}`, `${name}_count ${r.n ?? 0}`);
  return `${lines.join('\n')}\n`;
}
