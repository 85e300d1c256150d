import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import { type BrowserContext, chromium } from 'playwright-core';
import { createApiKey } from '../../src/auth/keys.js';
import { loadEnvConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log/logger.js';
import { buildServer } from '../../src/server/build.js';

import { CHROMIUM } from './system-requirements.js';

export { CHROMIUM };

/** Headless Debian Chromium driven by playwright-core, with a throwaway profile. */
export async function launchBrowser(
  viewport = { width: 1360, height: 900 },
): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'samgita-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    colorScheme: 'light',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PageServer {
  app: FastifyInstance;
  url: string;
  key: string;
  readKey: string;
  home: string;
  close(): Promise<void>;
}

/** The real server (buildServer) on 127.0.0.1:<random>, with a write and a read key. */
export async function startPageServer(pool: pg.Pool): Promise<PageServer> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'samgita-page-'));
  const env = loadEnvConfig({ SAMGITA_HOME: home, LOG_LEVEL: 'silent' });
  const app = await buildServer({ pool, env, logger: createLogger({ level: 'silent' }), rateLimit: false });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const key = (await createApiKey(pool, { name: 'page-test', scope: 'write' })).key;
  const readKey = (await createApiKey(pool, { name: 'page-viewer', scope: 'read' })).key;
  return {
    app,
    url: address,
    key,
    readKey,
    home,
    async close() {
      await app.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

export const SEED_PRD = `# Acme Shop

## Functional Requirements

### FR-1: Catalog

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1.1 | List products with price and stock | P0 |
| FR-1.2 | Search products by name | P1 |

### FR-2: Checkout

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-2.1 | Cart with quantities | P0 |
| FR-2.2 | Pay by card | P0 |
`;

export interface Seed {
  shop: string;
  docs: string;
  mobile: string;
  runner: string;
  tasks: Record<string, string>;
  runs: { active: string; verify: string; ended: string };
}

/** Projects, tasks across every column, agent runs with RARV steps and logs, and events. */
export async function seedStatusPage(pool: pg.Pool): Promise<Seed> {
  const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
    (await pool.query(sql, params)).rows as T[];
  const one = async (sql: string, params: unknown[] = []) => (await q<{ id: string }>(sql, params))[0]!.id;

  const runner = await one(
    `insert into runners (name, host, pid, capacity, version) values ('runner-a', 'build-01.local', 4242, 4, '0.1.0') returning id`,
  );
  const shop = await one(
    `insert into projects (name, git_url, working_path, source, phase, status, prd_content,
       input_tokens, output_tokens, cache_read_tokens, cost_usd, inserted_at)
     values ('Acme Shop', 'https://github.com/acme/shop.git', '/srv/repos/shop', 'api', 'development', 'running', $1,
       812000, 164000, 240000, 18.42, now() - interval '3 days') returning id`,
    [SEED_PRD],
  );
  const rev = await one(
    `insert into prd_revisions (project_id, content, content_hash, source) values ($1, $2, 'seedhash', 'api') returning id`,
    [shop, SEED_PRD],
  );
  await q('update projects set current_revision_id = $2 where id = $1', [shop, rev]);
  const docs = await one(
    `insert into projects (name, git_url, source, phase, status, input_tokens, output_tokens, cost_usd, inserted_at)
     values ('Docs Site', 'https://github.com/acme/docs.git', 'local', 'deployment', 'completed', 120000, 40000, 3.1,
       now() - interval '2 days') returning id`,
  );
  const mobile = await one(
    `insert into projects (name, git_url, source, github_repo, phase, status, status_reason, input_tokens, output_tokens,
       cost_usd, inserted_at)
     values ('Mobile App', 'https://github.com/acme/mobile.git', 'github', 'acme/mobile', 'architecture', 'paused',
       'paused by alice for review', 50000, 9000, 1.25, now() - interval '1 day') returning id`,
  );
  const req = await one(
    `insert into requirements (project_id, key, kind, title, body, priority, content_hash, first_revision_id, last_revision_id)
     values ($1, 'FR-2.2', 'functional', 'Pay by card', 'Customers pay by card at checkout; failures are retried once.',
       'P0', 'h22', $2, $2) returning id`,
    [shop, rev],
  );

  const taskRows: Array<[string, string, string, string, string, number, number]> = [
    // key, title, phase, agent_type, status, cost, attempts
    ['dev/catalog-api', 'Catalog API with price and stock', 'development', 'eng-backend', 'completed', 2.4, 1],
    ['dev/catalog-ui', 'Catalog page', 'development', 'eng-frontend', 'completed', 1.9, 1],
    ['dev/search', 'Search products by name', 'development', 'eng-backend', 'running', 0.8, 1],
    ['dev/cart', 'Cart with quantities', 'development', 'eng-frontend', 'running', 0.6, 2],
    ['dev/payments', 'Pay by card', 'development', 'eng-api', 'failed', 1.2, 3],
    ['dev/db-schema', 'Orders schema and migrations', 'development', 'eng-database', 'dead_letter', 0.9, 3],
    ['qa/e2e', 'End-to-end checkout tests', 'qa', 'eng-qa', 'blocked', 0, 0],
    ['qa/perf', 'Load test the catalog', 'qa', 'eng-perf', 'pending', 0, 0],
    ['arch/overview', 'Architecture overview', 'architecture', 'prod-techwriter', 'completed', 0.7, 1],
    ['disc/analysis', 'PRD analysis', 'discovery', 'prod-pm', 'completed', 0.4, 1],
  ];
  const tasks: Record<string, string> = {};
  let prio = 10;
  for (const [key, title, phase, agentType, status, cost, attempts] of taskRows) {
    const done = status === 'completed';
    tasks[key] = await one(
      `insert into tasks (project_id, key, title, description, phase, agent_type, status, priority, attempts,
         requirement_id, rarv_step, rarv_loop, branch, pr_number, pr_url, input_tokens, output_tokens, cost_usd,
         started_at, completed_at, duration_ms)
       values ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
         case when $6 in ('pending', 'blocked') then null else now() - interval '40 minutes' end,
         case when $6 = 'completed' then now() - interval '10 minutes' end,
         case when $6 = 'completed' then 1800000 end)
       returning id`,
      [
        shop,
        key,
        title,
        phase,
        agentType,
        status,
        prio++,
        attempts,
        key === 'dev/payments' ? req : null,
        status === 'running' ? (key === 'dev/search' ? 'act' : 'verify') : done ? 'done' : null,
        status === 'running' ? 1 : 0,
        attempts > 0 ? `samgita/${key}` : null,
        done ? prio + 100 : null,
        done ? `https://github.com/acme/shop/pull/${prio + 99}` : null,
        Math.round(cost * 40000),
        Math.round(cost * 8000),
        cost,
      ],
    );
  }
  await q('insert into task_dependencies (task_id, depends_on) values ($1, $2), ($1, $3)', [
    tasks['qa/e2e'],
    tasks['dev/cart'],
    tasks['dev/payments'],
  ]);

  const run = async (
    task: string,
    agentType: string,
    status: string,
    model: string,
    tokens: number,
    cost: number,
    ended: boolean,
    startedMinutesAgo: number,
  ) =>
    one(
      `insert into agent_runs (project_id, current_task_id, runner_id, agent_type, node, pid, model, status,
         input_tokens, output_tokens, cost_usd, started_at, ended_at, total_duration_ms)
       values ($1, $2, $3, $4, 'build-01.local', '5151', $5, $6, $7, $8, $9,
         now() - make_interval(mins => $10), case when $11 then now() - interval '10 minutes' end,
         case when $11 then ($10 - 10) * 60000 else 0 end)
       returning id`,
      [
        shop,
        task,
        runner,
        agentType,
        model,
        status,
        Math.round(tokens * 0.8),
        Math.round(tokens * 0.2),
        cost,
        startedMinutesAgo,
        ended,
      ],
    );
  const active = await run(tasks['dev/search']!, 'eng-backend', 'act', 'claude-sonnet-4-5', 61_500, 0.8, false, 12);
  const verify = await run(tasks['dev/cart']!, 'eng-frontend', 'verify', 'claude-sonnet-4-5', 48_200, 0.6, false, 25);
  const ended = await run(tasks['dev/payments']!, 'eng-api', 'failed', 'claude-opus-4-1', 36_000, 1.2, true, 70);
  await run(tasks['dev/catalog-api']!, 'eng-backend', 'completed', 'claude-sonnet-4-5', 96_000, 2.4, true, 180);

  const step = (runId: string, task: string, loop: number, s: string, status: string, output: unknown) =>
    q(
      `insert into rarv_steps (agent_run_id, task_id, loop, step, status, output, input_tokens, output_tokens, cost_usd, ended_at)
       values ($1, $2, $3, $4, $5, $6, 12000, 2400, 0.12, now())`,
      [runId, task, loop, s, status, JSON.stringify(output)],
    );
  await step(ended, tasks['dev/payments']!, 1, 'reason', 'completed', { context_tokens: 18000 });
  await step(ended, tasks['dev/payments']!, 1, 'act', 'completed', { commit: 'a1b2c3d', files: ['src/pay.ts'] });
  await step(ended, tasks['dev/payments']!, 1, 'reflect', 'completed', { learning: 'card API needs idempotency keys' });
  await step(ended, tasks['dev/payments']!, 1, 'verify', 'failed', {
    command: 'npm test',
    exit_code: 1,
    output: 'FAIL test/pay.test.ts > retries a declined card once\nExpected 2 calls, received 1',
  });
  await step(active, tasks['dev/search']!, 1, 'reason', 'completed', { context_tokens: 14000 });
  await q(`update tasks set error = $2 where id = $1`, [
    tasks['dev/payments'],
    JSON.stringify({ message: 'verify failed 3 times: npm test' }),
  ]);

  for (let i = 1; i <= 30; i++) {
    await q(`insert into agent_logs (agent_run_id, stream, line) values ($1, $2, $3)`, [
      active,
      i % 10 === 0 ? 'stderr' : i % 7 === 0 ? 'verify' : 'stdout',
      i === 15 ? 'Edit src/search.ts: add trigram index lookup' : `step ${i}: reading src/catalog/${i}.ts`,
    ]);
  }
  // Spend spread over the last days, for the per-day chart.
  await q(`update agent_runs set started_at = now() - interval '2 days' where id = $1`, [ended]);

  await q(
    `insert into events (project_id, kind, subject_type, subject_id, actor_type, data)
     values ($1::uuid, 'project.started', 'project', $1::text, 'cli', '{}'), ($1::uuid, 'task.completed', 'task', $2, 'runner', '{}')`,
    [shop, tasks['dev/catalog-api']],
  );
  return { shop, docs, mobile, runner, tasks, runs: { active, verify, ended } };
}
