import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../api/context.js';
import { createMetrics } from './collect.js';

/** GET /metrics in Prometheus text format; a read key is needed unless `public`. */
export async function metricsRoutes(app: FastifyInstance, ctx: ApiContext, opts: { public: boolean }): Promise<void> {
  const metrics = createMetrics(ctx.pool);
  app.get(
    '/metrics',
    {
      config: { auth: opts.public ? 'public' : 'read' },
      schema: {
        tags: ['system'],
        summary:
          'Prometheus metrics: queue depth, tasks by state, agent runs, tokens, cost, durations, runner heartbeats',
        response: {
          200: {
            description: 'Prometheus text exposition format',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_req, reply) => {
      const text = await metrics.render();
      return reply.type(metrics.contentType).send(text);
    },
  );
}
