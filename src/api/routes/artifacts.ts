import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import type { ApiContext } from '../context.js';
import { decodeCursor, paginate } from '../cursor.js';
import { notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { Artifact, ArtifactDetail, ArtifactListQuery, IdParams, page } from '../schema.js';

const COLUMNS = 'id, project_id, task_id, type, path, content_hash, metadata, inserted_at';
const tags = ['artifacts'];

export async function artifactRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: z.infer<typeof IdParams>; Querystring: z.infer<typeof ArtifactListQuery> }>(
    '/api/projects/:id/artifacts',
    {
      schema: routeSchema({
        tags,
        summary: 'List a project’s artifacts, newest first (content omitted)',
        params: IdParams,
        query: ArtifactListQuery,
        response: { 200: page(Artifact) },
        errors: [404],
      }),
    },
    async (req) => {
      const { limit, cursor, type, task_id } = req.query;
      const after = decodeCursor(cursor, 2);
      const params: unknown[] = [req.params.id, limit + 1];
      const where = ['project_id = $1'];
      if (type) where.push(`type = $${params.push(type)}`);
      if (task_id) where.push(`task_id = $${params.push(task_id)}`);
      if (after)
        where.push(`(inserted_at, id) < ($${params.push(after[0])}::timestamptz, $${params.push(after[1])}::uuid)`);
      const { rows } = await ctx.pool.query<{ _ts: string; id: string }>(
        `select ${COLUMNS}, inserted_at::text as _ts from artifacts where ${where.join(' and ')}
         order by inserted_at desc, id desc limit $2`,
        params,
      );
      if (rows.length === 0 && !after) {
        const p = await ctx.pool.query('select 1 from projects where id = $1', [req.params.id]);
        if (!p.rows[0]) throw notFound('project', req.params.id);
      }
      return paginate(rows, limit, (r) => [r._ts, r.id]);
    },
  );

  app.get<{ Params: z.infer<typeof IdParams> }>(
    '/api/artifacts/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'Get an artifact with its content',
        params: IdParams,
        response: { 200: ArtifactDetail },
        errors: [404],
      }),
    },
    async (req) => {
      const { rows } = await ctx.pool.query(`select ${COLUMNS}, content from artifacts where id = $1`, [req.params.id]);
      if (!rows[0]) throw notFound('artifact', req.params.id);
      return rows[0];
    },
  );
}
