import type { Command } from 'commander';
import { loadEnvConfig } from '../../config/env.js';
import { type GitHubApp, loadGitHubConfig, mountGitHubApp } from '../../github/index.js';
import { configureLogging } from '../../log/setup.js';
import { WebhookDispatcher } from '../../outgoing-webhooks/dispatch.js';
import { closePlanner } from '../../planner/thread.js';
import { buildServer } from '../../server/build.js';
import { type ServerWork, startServerWork } from '../../server/work.js';
import { openDatabase } from '../../store/connection.js';

function intFromEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
  return n;
}

/** `samgita serve`: the REST API, SSE, /metrics, the webhook dispatcher and the worker of accepted work. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the API server: REST API, OpenAPI docs at /docs, SSE streams, /metrics, the GitHub App endpoint, and the worker that carries out what it accepts (re-plans, GitHub deliveries, webhook delivery).',
    )
    .option('--port <port>', 'port to listen on (default PORT or 4000)')
    .option('--host <host>', 'interface to listen on (default HOST or 127.0.0.1)')
    .option(
      '--no-webhooks',
      'do not dispatch or deliver outgoing webhooks in this process (re-plans and GitHub deliveries are still worked)',
    )
    .addHelpText(
      'after',
      `
Environment:
  DATABASE_URL                 PostgreSQL; unset = embedded PostgreSQL under SAMGITA_HOME
  PORT, HOST                   where to listen
  SAMGITA_API_RATE_LIMIT       requests per second per API key (default 200, 0 = off)
  SAMGITA_WEBHOOK_CONCURRENCY  deliveries in flight at once (default 8)
  METRICS_PUBLIC=1             serve /metrics without an API key
  APP_ID, PRIVATE_KEY[_PATH], WEBHOOK_SECRET, GITHUB_URL
                               the GitHub App (webhooks at /api/github/webhooks)
  SAMGITA_PROJECT_ROOTS        where project paths may be, besides SAMGITA_HOME (colon-separated)
  SAMGITA_ALLOW_LOCAL_GIT=1    any local path may be a project's git_url
  SAMGITA_WEBHOOK_ALLOW        internal hosts/CIDRs outgoing webhooks may reach (comma-separated)
  SAMGITA_TRUST_PROXY          true, or the addresses of reverse proxies to believe X-Forwarded-* from
  SAMGITA_COOKIE_SECURE=1      the page's session cookie is Secure (default: SAMGITA_PUBLIC_URL is https)

The API refuses every request but /health until a key exists:
  samgita keys create --name ci --scope write`,
    )
    .action(async (opts: { port?: string; host?: string; webhooks: boolean }) => {
      const env = loadEnvConfig();
      const log = configureLogging({
        samgitaHome: env.samgitaHome,
        level: env.logLevel,
        onTerminal: 'pretty',
        name: 'samgita-serve',
      }).logger;
      const db = await openDatabase(env, { poolSize: 20, applicationName: 'samgita-serve' });
      const rate = intFromEnv('SAMGITA_API_RATE_LIMIT', 200);
      const githubConfig = loadGitHubConfig();
      let github: GitHubApp | null = null;
      const app = await buildServer({
        pool: db.pool,
        env,
        logger: log,
        ...(githubConfig
          ? {
              commitPrd: (projectId: string, content: string, author: string) => {
                if (!github) throw new Error('the GitHub App is still starting');
                return github.commitPrd(projectId, content, author);
              },
            }
          : {}),
        rateLimit: rate === 0 ? false : { perSecond: rate, burst: rate * 2 },
        metricsPublic: process.env.METRICS_PUBLIC === '1',
      });
      // The GitHub App's webhook endpoint on the same port, when APP_ID is configured (docs/github-app.md).
      if (githubConfig) {
        github = await mountGitHubApp(app, {
          pool: db.pool,
          config: githubConfig,
          samgitaHome: env.samgitaHome,
          log,
          onRedelivery: () => void work?.recover().catch(() => {}),
        });
      }
      const dispatcher = opts.webhooks ? new WebhookDispatcher(db.pool, log) : null;
      // Re-plans of saved PRDs, GitHub deliveries and outgoing webhooks: accepted by the API, worked here.
      let work: ServerWork | null = null;
      work = await startServerWork({
        pool: db.pool,
        log,
        webhooks: opts.webhooks,
        github,
        concurrency: intFromEnv('SAMGITA_WEBHOOK_CONCURRENCY', 8),
      });
      await dispatcher?.start();
      const port = opts.port !== undefined ? Number(opts.port) : env.port;
      const address = await app.listen({ port, host: opts.host ?? env.host });
      log.info({ address, embeddedDb: db.embedded }, 'samgita API listening');
      process.stderr.write(`samgita API listening on ${address} (docs at ${address}/docs)\n`);

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        const force = setTimeout(() => process.exit(1), 20_000);
        force.unref();
        await app.close().catch((err) => log.error({ err }, 'server close failed'));
        await dispatcher?.stop().catch(() => {});
        await work?.stop().catch(() => {});
        await closePlanner().catch(() => {});
        await db.close();
        process.exit(signal === 'SIGINT' ? 130 : 0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
      await new Promise<void>(() => {});
    });
}
