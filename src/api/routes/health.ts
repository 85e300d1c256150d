import type { FastifyInstance } from 'fastify';
import { ping } from '../../store/read/projects.js';
import type { ApiContext } from '../context.js';
import { routeSchema } from '../route-schema.js';
import { Health } from '../schema.js';

export async function healthRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get(
    '/health',
    {
      config: { auth: 'public' },
      schema: routeSchema({
        tags: ['system'],
        summary: 'Liveness and database check; needs no key',
        public: true,
        response: { 200: Health, 503: Health },
      }),
    },
    async (_req, reply) => {
      const ok = await Promise.race([
        ping(ctx.pool).then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
      ]);
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'degraded', db: ok ? 'ok' : 'down', version: '1.0.0' });
    },
  );
}
