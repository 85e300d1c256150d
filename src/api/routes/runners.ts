import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { listRunners } from '../../store/read/projects.js';
import type { ApiContext } from '../context.js';
import { routeSchema } from '../route-schema.js';
import { Runner } from '../schema.js';

export async function runnerRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Querystring: { status?: string } }>(
    '/api/runners',
    {
      schema: routeSchema({
        tags: ['runners'],
        summary: 'List runner processes with their heartbeat age',
        query: z.object({ status: z.enum(['active', 'draining', 'stopped', 'dead']).optional() }),
        response: { 200: z.object({ data: z.array(Runner) }) },
      }),
    },
    async (req) => ({ data: await listRunners(ctx.pool, req.query.status) }),
  );
}
