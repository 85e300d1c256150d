import client from 'prom-client';
import type { Queryable } from '../store/connection.js';
import {
  activeRunsByAgentType,
  costTotal,
  deliveriesByStatus,
  projectsByStatus,
  queueDepth,
  runnerHeartbeats,
  taskDurations,
  tasksByStatus,
  tokenTotals,
} from '../store/read/dashboard.js';

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

  gauge(
    'samgita_queue_depth',
    'Tasks queued for a runner, by state: ready (due now), waiting (a delay, a concurrency cap or the provider)',
    ['state'],
    async (g) => {
      const depth = await queueDepth(db);
      g.set({ state: 'ready' }, depth.ready);
      g.set({ state: 'waiting' }, depth.waiting);
    },
  );
  gauge('samgita_tasks', 'Tasks by status', ['status'], async (g) => {
    for (const r of await tasksByStatus(db)) g.set({ status: r.label }, r.n);
  });
  gauge('samgita_projects', 'Projects by status', ['status'], async (g) => {
    for (const r of await projectsByStatus(db)) g.set({ status: r.label }, r.n);
  });
  gauge('samgita_agent_runs_active', 'Agent runs not yet ended, by agent type', ['agent_type'], async (g) => {
    for (const r of await activeRunsByAgentType(db)) g.set({ agent_type: r.label }, r.n);
  });
  gauge('samgita_tokens_total', 'Tokens used by all projects, by kind', ['kind'], async (g) => {
    for (const [kind, v] of Object.entries(await tokenTotals(db))) g.set({ kind }, v);
  });
  gauge('samgita_cost_usd_total', 'Cost in USD of all projects', [], async (g) => {
    g.set(await costTotal(db));
  });
  gauge(
    'samgita_runner_heartbeat_age_seconds',
    'Seconds since each live runner’s last heartbeat',
    ['runner', 'host', 'status'],
    async (g) => {
      for (const r of await runnerHeartbeats(db)) g.set({ runner: r.name, host: r.host, status: r.status }, r.age);
    },
  );
  gauge('samgita_webhook_deliveries', 'Webhook deliveries by status', ['status'], async (g) => {
    for (const r of await deliveriesByStatus(db)) g.set({ status: r.label }, r.n);
  });

  /** The whole scrape: prom-client's gauges plus the task duration histogram computed in SQL. */
  async function render(): Promise<string> {
    const [text, hist] = await Promise.all([registry.metrics(), durationHistogram(db)]);
    return text + hist;
  }
  return { registry, render, contentType: registry.contentType };
}

async function durationHistogram(db: Queryable): Promise<string> {
  const d = await taskDurations(db, DURATION_BUCKETS);
  const name = 'samgita_task_duration_seconds';
  const lines = [`# HELP ${name} Duration of finished tasks`, `# TYPE ${name} histogram`];
  DURATION_BUCKETS.forEach((b, i) => {
    lines.push(`${name}_bucket{le="${b}"} ${d.buckets[i] ?? 0}`);
  });
  lines.push(`${name}_bucket{le="+Inf"} ${d.count}`, `${name}_sum ${d.sumSeconds}`, `${name}_count ${d.count}`);
  return `${lines.join('\n')}\n`;
}
