/**
 * Status page latency: time from a state change committed in PostgreSQL to the
 * DOM change in a real Chromium, over N changes; plus the JavaScript shipped.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/page-latency.ts [--changes 200]
 *
 * Each change is one transaction (a task's status flipped + its audit event,
 * whose trigger NOTIFYs). t0 is taken just before COMMIT is sent; t1 is when a
 * MutationObserver in the page sees the task card with the new status.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { runMigrations as runWorkerMigrations } from 'graphile-worker';
import pg from 'pg';
import { quietWorkerLogger } from '../src/queue/worker.js';
import { createPool, migrate } from '../src/store/connection.js';
import { launchBrowser, seedStatusPage, startPageServer } from '../test/support/browser.js';

const args = process.argv.slice(2);
const changes = Number(args[args.indexOf('--changes') + 1] ?? '') || 200;
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Resolves window.__w with the time the selector first matches. */
const WAIT_FOR = `void (window.__w = new Promise((resolve) => {
  const sel = %SEL%;
  const stamp = () => resolve(performance.timeOrigin + performance.now());
  if (document.querySelector(sel)) return stamp();
  const mo = new MutationObserver(() => {
    if (document.querySelector(sel)) { mo.disconnect(); stamp(); }
  });
  mo.observe(document.body, { subtree: true, childList: true, attributes: true });
}))`;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function jsShipped(): Promise<{ files: Array<{ file: string; raw: number; gzip: number }>; gzipTotal: number }> {
  const dir = path.resolve('web/dist/assets');
  const files = [];
  for (const f of await readdir(dir)) {
    if (!f.endsWith('.js')) continue;
    const buf = await readFile(path.join(dir, f));
    files.push({ file: f, raw: buf.length, gzip: gzipSync(buf, { level: 9 }).length });
  }
  return { files, gzipTotal: files.reduce((a, f) => a + f.gzip, 0) };
}

async function main() {
  const name = `samgita_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const pool = createPool(u.toString(), { max: 10 });
  let cleanup = async () => {};
  try {
    const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
    await migrate(pool);
    log('migrated');
    await runWorkerMigrations({ pgPool: pool, logger: quietWorkerLogger() });
    const seed = await seedStatusPage(pool);
    log('seeded');
    const server = await startPageServer(pool);
    const browser = await launchBrowser();
    cleanup = async () => {
      await browser.close();
      await server.close();
    };
    log(`server ${server.url}`);
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/ui/`);
    await page.getByLabel('API key').fill(server.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Projects' }).waitFor();
    await page.goto(`${server.url}/ui/projects/${seed.shop}/tasks`);
    await page.locator('.live-open').waitFor();
    await page.locator('[data-column="running"] .task-card').first().waitFor();

    log('page live');
    const taskIds = Object.values(seed.tasks);
    const status = new Map<string, string>();
    const { rows } = await pool.query<{ id: string; status: string }>('select id, status from tasks');
    for (const r of rows) status.set(r.id, r.status);
    const client = await pool.connect();
    cleanup = async () => {
      client.release();
      await browser.close();
      await server.close();
    };
    const samples: number[] = [];
    const warmup = 10;
    for (let i = 0; i < changes + warmup; i++) {
      const id = taskIds[i % taskIds.length]!;
      const next = status.get(id) === 'running' ? 'completed' : 'running';
      status.set(id, next);
      // A string, not a function: tsx would inject its __name helper, which the page does not have.
      await page.evaluate(WAIT_FOR.replace('%SEL%', JSON.stringify(`[data-task-id="${id}"][data-status="${next}"]`)));
      await client.query('begin');
      await client.query(`update tasks set status = $2, updated_at = now() where id = $1`, [id, next]);
      await client.query(
        `insert into events (project_id, kind, subject_type, subject_id, actor_type) values ($1, $2, 'task', $3, 'runner')`,
        [seed.shop, next === 'running' ? 'task.started' : 'task.completed', id],
      );
      const t0 = performance.timeOrigin + performance.now();
      await client.query('commit');
      const t1 = (await page.evaluate(
        'Promise.race([window.__w, new Promise((r) => setTimeout(() => r(-1), 5000))])',
      )) as number;
      if (t1 < 0) {
        const html = await page
          .locator(`[data-task-id="${id}"]`)
          .evaluateAll((els) => els.map((e) => e.outerHTML.slice(0, 200)));
        throw new Error(`no DOM change for task ${id} → ${next} within 5 s: ${html.join(' | ')}`);
      }
      if (i >= warmup) samples.push(t1 - t0);
    }
    samples.sort((a, b) => a - b);
    const js = await jsShipped();
    const result = {
      changes: samples.length,
      p50_ms: +pct(samples, 50).toFixed(2),
      p90_ms: +pct(samples, 90).toFixed(2),
      p99_ms: +pct(samples, 99).toFixed(2),
      max_ms: +samples[samples.length - 1]!.toFixed(2),
      mean_ms: +(samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(2),
      js_gzip_bytes: js.gzipTotal,
      js_files: js.files,
      goals: { p99_ms: 50, js_gzip_bytes: 100 * 1024 },
    };
    console.log(JSON.stringify(result, null, 2));
    console.log(
      `commit→DOM over ${result.changes} changes: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms (goal ≤ 50) · JS shipped ${(js.gzipTotal / 1024).toFixed(1)} KiB gzip (goal < 100)`,
    );
    if (result.p99_ms > 50 || js.gzipTotal >= 100 * 1024) process.exitCode = 1;
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  } finally {
    await cleanup().catch(() => {});
    await pool.end();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

await main();
