import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { projectExists } from '../../store/read/projects.js';
import { listArtifacts, readArtifact } from '../../store/read/tasks.js';
import type { ApiContext } from '../context.js';
import { CURSORS, decodeCursor, paginate } from '../cursor.js';
import { notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { Artifact, ArtifactDetail, ArtifactListQuery, IdParams, page } from '../schema.js';

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
      const after = decodeCursor(cursor, CURSORS.timeAndId);
      const rows = await listArtifacts(ctx.pool, req.params.id, { limit, type, taskId: task_id, after });
      // An empty first page of an unknown project is a 404, not an empty list.
      if (rows.length === 0 && !after && !(await projectExists(ctx.pool, req.params.id))) {
        throw notFound('project', req.params.id);
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
      const artifact = await readArtifact(ctx.pool, req.params.id);
      if (!artifact) throw notFound('artifact', req.params.id);
      return artifact;
    },
  );
}
