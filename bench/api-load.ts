/**
 * Load benchmark of the REST API's list and get endpoints.
 *
 *   npx tsx bench/api-load.ts            # DATABASE_URL, or an embedded PostgreSQL in a temp dir
 *   RATE=500 DURATION=20 npx tsx bench/api-load.ts
 *
 * Seeds 100 projects and 100,000 tasks in a fresh database, starts the server
 * on loopback, drives RATE requests/s (autocannon, overallRate) for DURATION
 * seconds across: list projects, get project, list tasks (first page and a
 * filtered page), get task; prints p50/p95/p99 per endpoint and overall.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createApiKey } from '../src/auth/keys.js';
import { loadEnvConfig } from '../src/config/env.js';
import { createLogger } from '../src/log/logger.js';
import { buildServer } from '../src/server/build.js';
import { createPool, migrateAll, startEmbeddedPostgres } from '../src/store/connection.js';

const RATE = Number(process.env.RATE ?? 500);
const DURATION = Number(process.env.DURATION ?? 20);
const PROJECTS = 100;
const TASKS = 100_000;

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'samgita-bench-'));
  if (!adminUrl) {
    const db = await startEmbeddedPostgres(tmp);
    adminUrl = db.url;
    stopEmbedded = db.stop;
  }
  const name = `samgita_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), { max: 20 });
  try {
    await migrateAll(pool);
    const t0 = Date.now();
    await pool.query(
      `insert into projects (name, git_url, status, phase)
       select 'bench-' || i, 'https://example.com/bench/' || i || '.git',
         (array['running','paused','completed','pending'])[1 + i % 4], 'development'
       from generate_series(1, $1) i`,
      [PROJECTS],
    );
    await pool.query(
      `insert into tasks (project_id, key, title, phase, agent_type, priority, status, duration_ms)
       select p.id, 't-' || i, 'task ' || i,
         (array['development','qa','architecture'])[1 + i % 3],
         (array['eng-backend','eng-frontend','eng-qa','ops-security'])[1 + i % 4],
         i % 50,
         (array['pending','queued','running','completed','failed'])[1 + i % 5],
         (i % 600) * 1000
       from generate_series(1, $2) i
       join lateral (select id from projects order by id offset (i % $1) limit 1) p on true`,
      [PROJECTS, TASKS],
    );
    await pool.query('analyze');
    const projectIds = (await pool.query<{ id: string }>('select id from projects')).rows.map((r) => r.id);
    const taskRows = (
      await pool.query<{ id: string; project_id: string }>(
        'select id, project_id from tasks order by random() limit 2000',
      )
    ).rows;
    process.stderr.write(`seeded ${PROJECTS} projects and ${TASKS} tasks in ${Date.now() - t0} ms\n`);

    const key = await createApiKey(pool, { name: 'bench', scope: 'read' });
    // The server runs in its own process, as in production; autocannon here.
    const child = spawn(
      process.execPath,
      [
        // BENCH_CPU_PROF=<dir> writes a V8 CPU profile of the server process there.
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--serve',
        u.toString(),
        tmp,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const [firstLine] = (await once(child.stdout!, 'data')) as [Buffer];
    const base = firstLine.toString().trim();

    const pick = <T>(a: T[]): T => a[Math.floor(Math.random() * a.length)]!;
    const kinds = ['list_projects', 'get_project', 'list_tasks', 'list_tasks_filtered', 'get_task'] as const;
    const pathFor = (k: (typeof kinds)[number]): string => {
      switch (k) {
        case 'list_projects':
          return '/api/projects?limit=50';
        case 'get_project':
          return `/api/projects/${pick(projectIds)}`;
        case 'list_tasks':
          return `/api/projects/${pick(projectIds)}/tasks?limit=50`;
        case 'list_tasks_filtered':
          return `/api/projects/${pick(projectIds)}/tasks?limit=50&status=completed&phase=qa`;
        case 'get_task': {
          const t = pick(taskRows);
          return `/api/projects/${t.project_id}/tasks/${t.id}`;
        }
      }
    };
    const row = (label: string, xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return `${label.padEnd(22)} n=${String(s.length).padStart(6)}  p50=${pct(s, 50).toFixed(2)}ms  p95=${pct(s, 95).toFixed(2)}ms  p99=${pct(s, 99).toFixed(2)}ms`;
    };
    const latencies = new Map<string, number[]>(kinds.map((k) => [k, []]));
    const all: number[] = [];
    let non2xx = 0;
    // Warm-up (JIT, connection pool, plan cache), then a sequential probe with fetch.
    const seq: number[] = [];
    for (let i = 0; i < 400; i++) {
      const t = performance.now();
      const r = await fetch(`${base}${pathFor(kinds[i % kinds.length]!)}`, {
        headers: { authorization: `Bearer ${key.key}` },
      });
      await r.arrayBuffer();
      if (i >= 200) seq.push(performance.now() - t);
    }
    seq.sort((a, b) => a - b);
    process.stdout.write(
      `sequential (1 client, fetch): p50=${pct(seq, 50).toFixed(2)}ms p95=${pct(seq, 95).toFixed(2)}ms\n`,
    );
    // 1) Evenly paced open-loop load: one request every 1000/RATE ms, latency measured from the
    // scheduled send time (no coordinated omission), keep-alive sockets like a real client pool.
    const paced = new Map<string, number[]>(kinds.map((k) => [k, []]));
    const pacedAll: number[] = [];
    let pacedErrors = 0;
    {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
      const target = new URL(base);
      const total = RATE * DURATION;
      const start = performance.now();
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const due = start + (i * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
        const k = kinds[i % kinds.length]!;
        inflight.push(
          new Promise<void>((resolve) => {
            const req = http.request(
              {
                agent,
                host: target.hostname,
                port: target.port,
                path: pathFor(k),
                headers: { authorization: `Bearer ${key.key}` },
              },
              (res) => {
                res.resume();
                res.on('end', () => {
                  const ms = performance.now() - due;
                  if ((res.statusCode ?? 0) >= 300) pacedErrors++;
                  pacedAll.push(ms);
                  paced.get(k)!.push(ms);
                  resolve();
                });
              },
            );
            req.on('error', () => {
              pacedErrors++;
              resolve();
            });
            req.end();
          }),
        );
      }
      await Promise.all(inflight);
      agent.destroy();
      const secs = (performance.now() - start) / 1000;
      process.stdout.write(
        `\n[paced] ${total} requests at ${RATE} req/s evenly spaced (${(total / secs).toFixed(0)} req/s achieved), non-2xx/errors ${pacedErrors}\n`,
      );
      process.stdout.write(`${[row('overall', pacedAll), ...kinds.map((k) => row(k, paced.get(k)!))].join('\n')}\n`);
    }

    // 2) autocannon with overallRate: it sends each connection's quota for the second in a
    // burst at the start of every second, so its latencies include that self-made queueing.
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      const inst = autocannon(
        {
          url: base,
          connections: 32,
          overallRate: RATE,
          duration: DURATION,
          headers: { authorization: `Bearer ${key.key}` },
          requests: [
            {
              setupRequest: (req: autocannon.Request, ctx: object) => {
                const k = pick([...kinds]);
                (ctx as Record<string, unknown>).kind = k;
                return { ...req, method: 'GET', path: pathFor(k) };
              },
              onResponse: (status: number) => {
                if (status < 200 || status >= 300) non2xx++;
              },
            },
          ],
        },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
      inst.on('response', (client: unknown, _status: number, _bytes: number, ms: number) => {
        all.push(ms);
        const it = (client as { requestIterator?: { context?: Record<string, unknown> } }).requestIterator;
        const k = it?.context?.kind as string | undefined;
        if (k) latencies.get(k)?.push(ms);
      });
    });
    child.kill('SIGTERM');
    await once(child, 'exit');

    const lines = [
      '',
      `[autocannon overallRate] target ${RATE} req/s for ${DURATION}s; achieved ${(result.requests.total / DURATION).toFixed(0)} req/s; non-2xx ${non2xx}; errors ${result.errors}; timeouts ${result.timeouts}`,
      row('overall', all),
      ...kinds.map((k) => row(k, latencies.get(k) ?? [])),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    const p95 = pct(
      [...pacedAll].sort((a, b) => a - b),
      95,
    );
    process.stdout.write(`\n${p95 <= 20 ? 'PASS' : 'FAIL'}: paced overall p95 ${p95.toFixed(2)} ms (goal ≤ 20 ms)\n`);
  } finally {
    await pool.end();
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
    await stopEmbedded?.();
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Child mode: serve the API on a free loopback port and print its URL. */
async function serve(url: string, home: string): Promise<void> {
  const pool = createPool(url, { max: 20 });
  const env = loadEnvConfig({ SAMGITA_HOME: home, LOG_LEVEL: 'silent' });
  const app = await buildServer({ pool, env, logger: createLogger({ level: 'silent' }), rateLimit: false });
  const serverMs: number[] = [];
  app.addHook('onResponse', async (_req, reply) => {
    serverMs.push(reply.elapsedTime);
  });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${base}\n`);
  process.once('exit', () => {
    const s = serverMs.sort((a, b) => a - b);
    process.stderr.write(
      `server-side time (onRequest → onResponse): p50=${pct(s, 50).toFixed(2)}ms  p95=${pct(s, 95).toFixed(2)}ms  p99=${pct(s, 99).toFixed(2)}ms\n`,
    );
  });
  process.once('SIGTERM', () => {
    void app
      .close()
      .then(() => pool.end())
      .then(() => process.exit(0));
  });
}

if (process.argv[2] === '--serve') await serve(process.argv[3]!, process.argv[4]!);
else await main();
