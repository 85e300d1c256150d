import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { retryTask } from '../../projects/retry-task.js';
import { projectExists } from '../../store/read/projects.js';
import { listTasks, readTaskDetail, taskInProject } from '../../store/read/tasks.js';
import { type ApiContext, actorOf } from '../context.js';
import { CURSORS, decodeCursor, paginate } from '../cursor.js';
import { notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { IdParams, page, Task, TaskDetail, TaskListQuery, TaskParams } from '../schema.js';

const tags = ['tasks'];

async function taskDetail(ctx: ApiContext, projectId: string, taskId: string) {
  const task = await readTaskDetail(ctx.pool, projectId, taskId);
  if (!task) throw notFound('task', taskId);
  return task;
}

export async function taskRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: z.infer<typeof IdParams>; Querystring: z.infer<typeof TaskListQuery> }>(
    '/api/projects/:id/tasks',
    {
      schema: routeSchema({
        tags,
        summary: 'List a project’s tasks by priority, filtered by status, phase and agent type',
        params: IdParams,
        query: TaskListQuery,
        response: { 200: page(Task) },
        errors: [404],
      }),
    },
    async (req) => {
      const { id } = req.params;
      const { limit, cursor, status, phase, agent_type } = req.query;
      const after = decodeCursor(cursor, CURSORS.priorityAndId);
      const rows = await listTasks(ctx.pool, id, { limit, status, phase, agentType: agent_type, after });
      // An empty first page of an unknown project is a 404, not an empty list.
      if (rows.length === 0 && !after && !(await projectExists(ctx.pool, id))) throw notFound('project', id);
      return paginate(rows, limit, (r) => [r.priority, r.id]);
    },
  );

  app.get<{ Params: z.infer<typeof TaskParams> }>(
    '/api/projects/:id/tasks/:tid',
    {
      schema: routeSchema({
        tags,
        summary: 'Get a task with its dependencies, RARV steps and agent runs',
        params: TaskParams,
        response: { 200: TaskDetail },
        errors: [404],
      }),
    },
    async (req) => taskDetail(ctx, req.params.id, req.params.tid),
  );

  app.post<{ Params: z.infer<typeof TaskParams> }>(
    '/api/projects/:id/tasks/:tid/retry',
    {
      schema: routeSchema({
        tags,
        summary: 'Retry a failed, dead-lettered or cancelled task',
        description:
          'Sets the task back to pending with its attempts reset; the runner queues it once its dependencies are complete. 409 for any other status.',
        params: TaskParams,
        response: { 200: TaskDetail },
        errors: [404, 409],
      }),
    },
    async (req) => {
      const { id, tid } = req.params;
      // The one retry (projects/retry-task.ts), as the CLI and the GitHub App do it; a task of another project is a 404.
      if (!(await taskInProject(ctx.pool, id, tid))) throw notFound('task', tid);
      await retryTask(ctx.pool, tid, { projectId: id, actor: actorOf(req) });
      return taskDetail(ctx, id, tid);
    },
  );
}
