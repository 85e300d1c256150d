import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
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
    async (req) => {
      const { rows } = await ctx.pool.query(
        `select id, name, host, pid, capacity, version, status, started_at, heartbeat_at, stopped_at,
           extract(epoch from now() - heartbeat_at)::float8 as heartbeat_age_seconds
         from runners ${req.query.status ? 'where status = $1' : ''} order by started_at desc limit 1000`,
        req.query.status ? [req.query.status] : [],
      );
      return { data: rows };
    },
  );
}
