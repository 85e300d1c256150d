import type { ServerResponse } from 'node:http';
import multipart from '@fastify/multipart';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type pg from 'pg';
import type { ApiContext } from '../api/context.js';
import { ApiError, toApiError } from '../api/errors.js';
import { agentRoutes } from '../api/routes/agents.js';
import { artifactRoutes } from '../api/routes/artifacts.js';
import { eventRoutes } from '../api/routes/events.js';
import { healthRoutes } from '../api/routes/health.js';
import { projectRoutes } from '../api/routes/projects.js';
import { runnerRoutes } from '../api/routes/runners.js';
import { taskRoutes } from '../api/routes/tasks.js';
import { uiRoutes } from '../api/routes/ui-dashboard.js';
import { uiPrdRoutes } from '../api/routes/ui-prd.js';
import { uiRepoRoutes } from '../api/routes/ui-repos.js';
import { webhookRoutes } from '../api/routes/webhooks.js';
import { authHook } from '../auth/hook.js';
import type { EnvConfig } from '../config/env.js';
import { createLogger, type Logger } from '../log/logger.js';
import { metricsRoutes } from '../metrics/routes.js';
import { NotifyHub } from '../store/events.js';
import { webUi } from '../web-ui/plugin.js';
import {
  clientErrorHandler,
  frameworkErrors,
  makeValidatorCompiler,
  parseJsonBody,
  refuseBadText,
} from './input-boundary.js';
import { RateLimiter, type RateLimitOptions } from './rate-limit.js';

export const API_VERSION = '1.0.0';

export interface BuildServerOptions {
  pool: pg.Pool;
  env: EnvConfig;
  logger?: Logger;
  /** Commits PRD.md of a GitHub-driven project (the GitHub App's commitPrd); absent without the App. */
  commitPrd?: (projectId: string, content: string, author: string) => Promise<{ commitSha: string }>;
  /** Per-key token bucket; false turns it off. Default 200 req/s, bursts of 400. */
  rateLimit?: RateLimitOptions | false;
  /** SSE heartbeat comment interval (default 15 s). */
  heartbeatMs?: number;
  /** Largest accepted PRD, JSON or upload (default 1 MiB). */
  prdMaxBytes?: number;
  /** Where to look for existing clones of a project's git URL (default $SAMGITA_HOME/repos). */
  repoSearchRoots?: string[];
  cloneTimeoutMs?: number;
  /** Serve /metrics without a key (default false: a read key is needed). */
  metricsPublic?: boolean;
  /** Longest a client may take to send a whole request (default 30 s). */
  requestTimeoutMs?: number;
}

/** The REST API, OpenAPI document and docs page, SSE streams and /metrics, on one fastify instance. */
export async function buildServer(opts: BuildServerOptions): Promise<FastifyInstance> {
  const log = opts.logger ?? createLogger({ level: opts.env.logLevel, name: 'samgita-api' });
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: opts.env.trustProxy,
    bodyLimit: 1024 * 1024,
    // Slow clients (a byte every few seconds) must not hold connections: the whole request within
    // requestTimeout, the headers within headersTimeout; idle keep-alive sockets close after 5 s.
    requestTimeout: opts.requestTimeoutMs ?? 30_000,
    keepAliveTimeout: 5_000,
    http: {
      headersTimeout: Math.min(opts.requestTimeoutMs ?? 30_000, 10_000),
      // Node checks the two timeouts above on this interval (default 30 s, which would triple them).
      connectionsCheckingInterval: Math.min(opts.requestTimeoutMs ?? 30_000, 2_000),
    },
    frameworkErrors,
    clientErrorHandler,
  }) as unknown as FastifyInstance; // pino's Logger vs fastify's FastifyBaseLogger generic
  app.setValidatorCompiler(makeValidatorCompiler());
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJsonBody);
  app.addHook('preValidation', refuseBadText);
  const hub = new NotifyHub(opts.pool, ['samgita_events', 'samgita_agent_logs'], log);
  const open = new Set<ServerResponse>();
  const ctx: ApiContext = {
    pool: opts.pool,
    env: opts.env,
    hub,
    log,
    sse: { heartbeatMs: opts.heartbeatMs ?? 15_000, open },
    prdMaxBytes: opts.prdMaxBytes ?? 1024 * 1024,
    repoSearchRoots: opts.repoSearchRoots ?? [`${opts.env.samgitaHome}/repos`],
    cloneTimeoutMs: opts.cloneTimeoutMs ?? 120_000,
    commitPrd: opts.commitPrd,
  };

  app.setErrorHandler((err, req, reply) => {
    const { status, body } = toApiError(err);
    if (status >= 500 && status !== 503) req.log.error({ err }, 'request failed');
    if (status === 503) reply.header('retry-after', '5');
    reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Samgita API',
        version: API_VERSION,
        description:
          'Projects, tasks, agents, artifacts, events and webhooks of Samgita. Every route except /health needs an API key (`samgita keys create`), sent as `Authorization: Bearer <key>` or `x-api-key`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'sg_<prefix>_<secret>' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'projects' },
        { name: 'tasks' },
        { name: 'agents' },
        { name: 'artifacts' },
        { name: 'events' },
        { name: 'runners' },
        { name: 'webhooks' },
        { name: 'system' },
        { name: 'ui', description: 'Views the status page needs: rollups, plan previews, the agents grid' },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(multipart, { limits: { fileSize: ctx.prdMaxBytes, files: 1, fields: 10 } });

  const limiter = opts.rateLimit === false ? null : new RateLimiter(opts.rateLimit ?? { perSecond: 200, burst: 400 });
  app.addHook('onRequest', authHook(opts.pool, limiter, hub));

  app.get('/openapi.json', { config: { auth: 'public' }, schema: { hide: true } }, async () => app.swagger());

  await healthRoutes(app, ctx);
  await projectRoutes(app, ctx);
  await taskRoutes(app, ctx);
  await agentRoutes(app, ctx);
  await artifactRoutes(app, ctx);
  await eventRoutes(app, ctx);
  await runnerRoutes(app, ctx);
  await webhookRoutes(app, ctx);
  await metricsRoutes(app, ctx, { public: opts.metricsPublic ?? false });
  await uiRoutes(app, ctx);
  await uiPrdRoutes(app, ctx);
  await uiRepoRoutes(app, ctx);
  await webUi(app, { pool: opts.pool, env: opts.env });

  app.addHook('onReady', async () => {
    await hub.start();
  });
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
    open.clear();
    await hub.close();
  });
  return app;
}

export { ApiError };
