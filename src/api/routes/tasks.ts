import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { retryTask } from '../../tasks/retry.js';
import { type ApiContext, actorOf } from '../context.js';
import { decodeCursor, paginate } from '../cursor.js';
import { notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { IdParams, page, Task, TaskDetail, TaskListQuery, TaskParams } from '../schema.js';
import { AGENT_RUN_COLUMNS } from './agents.js';

export const TASK_COLUMNS = `id, project_id, parent_task_id, requirement_id, key, title, type, phase, agent_type,
  priority, status, attempts, max_attempts, rarv_step, branch, pr_number, pr_url, tokens_used, cost_usd, queued_at,
  started_at, completed_at, duration_ms, inserted_at, updated_at`;

const tags = ['tasks'];

async function assertProject(ctx: ApiContext, id: string): Promise<void> {
  const { rows } = await ctx.pool.query('select 1 from projects where id = $1', [id]);
  if (!rows[0]) throw notFound('project', id);
}

async function assertTaskIn(ctx: ApiContext, projectId: string, taskId: string): Promise<void> {
  const { rows } = await ctx.pool.query('select 1 from tasks where id = $1 and project_id = $2', [taskId, projectId]);
  if (!rows[0]) throw notFound('task', taskId);
}

async function taskDetail(ctx: ApiContext, projectId: string, taskId: string) {
  const { rows } = await ctx.pool.query(
    `select ${TASK_COLUMNS}, description, payload, result, error, head_sha, session_id, rarv_loop,
       coalesce((select json_agg(json_build_object('id', d.id, 'key', d.key, 'title', d.title, 'status', d.status)
                 order by d.priority, d.id)
                 from task_dependencies td join tasks d on d.id = td.depends_on where td.task_id = t.id), '[]') as dependencies
     from tasks t where id = $1 and project_id = $2`,
    [taskId, projectId],
  );
  const task = rows[0] as Record<string, unknown> | undefined;
  if (!task) throw notFound('task', taskId);
  const [steps, runs] = await Promise.all([
    ctx.pool.query(
      `select id, agent_run_id, loop, step, status, input, output, input_tokens, output_tokens, cost_usd, started_at, ended_at
       from rarv_steps where task_id = $1 order by id`,
      [taskId],
    ),
    ctx.pool.query(`select ${AGENT_RUN_COLUMNS} from agent_runs where current_task_id = $1 order by started_at`, [
      taskId,
    ]),
  ]);
  task.rarv_steps = steps.rows;
  task.agent_runs = runs.rows;
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
      const after = decodeCursor(cursor, 2);
      const params: unknown[] = [id, limit + 1];
      const where = ['project_id = $1'];
      if (status) where.push(`status = $${params.push(status)}`);
      if (phase) where.push(`phase = $${params.push(phase)}`);
      if (agent_type) where.push(`agent_type = $${params.push(agent_type)}`);
      if (after) where.push(`(priority, id) > ($${params.push(after[0])}::int, $${params.push(after[1])}::uuid)`);
      const { rows } = await ctx.pool.query<{ priority: number; id: string }>(
        `select ${TASK_COLUMNS} from tasks where ${where.join(' and ')} order by priority, id limit $2`,
        params,
      );
      // An empty first page of an unknown project is a 404, not an empty list.
      if (rows.length === 0 && !after) await assertProject(ctx, id);
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
      // The one retry (tasks/retry.ts), as the CLI and the GitHub App do it; a task of another project is a 404.
      await assertTaskIn(ctx, id, tid);
      await retryTask(ctx.pool, tid, { projectId: id, actor: actorOf(req) });
      return taskDetail(ctx, id, tid);
    },
  );
}
