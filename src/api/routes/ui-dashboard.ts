import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { readRequirement, uiAgents, uiCosts, uiProjects } from '../../store/read/dashboard.js';
import type { ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { IdParams, PHASES, PROJECT_STATUSES } from '../schema.js';

/**
 * Read models for the status page: what the page needs in one request per view
 * (project list with progress, the agents grid, cost rollups, a requirement).
 * The PRD editor's routes are in ui-prd.ts, the new-project form's in
 * ui-repos.ts. Same conventions as every other route: zod schemas, the one
 * error body, keys with read/write scope.
 */

const tags = ['ui'];
const uuid = z.string().meta({ format: 'uuid' });
const ts = z.string().meta({ format: 'date-time' });

export const UiProject = z.object({
  id: uuid,
  name: z.string(),
  git_url: z.string(),
  source: z.string(),
  phase: z.enum(PHASES),
  status: z.enum(PROJECT_STATUSES),
  status_reason: z.string().nullable(),
  cost_usd: z.number(),
  tokens_total: z.number(),
  tasks_total: z.number().int(),
  tasks_done: z.number().int().meta({ description: 'completed or cancelled' }),
  tasks_running: z.number().int(),
  tasks_failed: z.number().int().meta({ description: 'failed or dead letter' }),
  agents_active: z.number().int(),
  updated_at: ts,
});

const UiProjectList = z.object({ data: z.array(UiProject) });
const UiProjectQuery = z.object({
  include_archived: z.boolean().default(false),
  id: uuid.optional().meta({ description: 'only this project (used for live refreshes)' }),
});

export const UiAgent = z.object({
  id: uuid,
  project_id: uuid,
  project_name: z.string(),
  agent_type: z.string(),
  status: z.string().meta({ description: 'RARV step (reason/act/reflect/verify) or the final status' }),
  model: z.string().nullable(),
  node: z.string(),
  runner_id: uuid.nullable(),
  runner_host: z.string().nullable(),
  runner_name: z.string().nullable(),
  runner_sandbox: z.string().nullable().meta({ description: "the runner's sandbox: bubblewrap, off or unavailable" }),
  task_id: uuid.nullable(),
  task_key: z.string().nullable(),
  task_title: z.string().nullable(),
  rarv_loop: z.number().int().nullable(),
  attempt: z.number().int(),
  total_tokens: z.number(),
  cost_usd: z.number(),
  started_at: ts,
  ended_at: ts.nullable(),
  elapsed_ms: z.number(),
});
const UiAgentList = z.object({ data: z.array(UiAgent) });
const UiAgentQuery = z.object({
  project_id: uuid.optional(),
  id: uuid.optional(),
  active: z.boolean().default(true).meta({ description: 'only runs that have not ended (plus the last 20 ended)' }),
  limit: z.number().int().min(1).max(500).default(200),
});

const CostRow = z.object({
  key: z.string(),
  cost_usd: z.number(),
  tokens: z.number(),
  input_tokens: z.number(),
  output_tokens: z.number(),
});
const UiCosts = z.object({
  total: CostRow,
  by_project: z.array(CostRow.extend({ name: z.string() })),
  by_phase: z.array(CostRow),
  by_agent_type: z.array(CostRow),
  by_day: z.array(CostRow),
});
const UiCostQuery = z.object({
  project_id: uuid.optional(),
  days: z.number().int().min(1).max(366).default(30),
});

const Requirement = z.object({
  id: uuid,
  key: z.string(),
  kind: z.string(),
  title: z.string(),
  body: z.string(),
  priority: z.string().nullable(),
  section_path: z.array(z.string()),
  line: z.number().int().nullable(),
  status: z.string(),
});

export async function uiRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Querystring: z.infer<typeof UiProjectQuery> }>(
    '/api/ui/projects',
    {
      schema: routeSchema({
        tags,
        summary: 'Projects with progress, cost and active agents (status page list)',
        query: UiProjectQuery,
        response: { 200: UiProjectList },
      }),
    },
    async (req) => ({
      data: await uiProjects(ctx.pool, { includeArchived: req.query.include_archived, id: req.query.id }),
    }),
  );

  app.get<{ Querystring: z.infer<typeof UiAgentQuery> }>(
    '/api/ui/agents',
    {
      schema: routeSchema({
        tags,
        summary: 'The agents grid: runs with their task, RARV step, model, runner host, elapsed time and tokens',
        query: UiAgentQuery,
        response: { 200: UiAgentList },
      }),
    },
    async (req) => {
      const q = req.query;
      return {
        data: await uiAgents(ctx.pool, { projectId: q.project_id, id: q.id, active: q.active, limit: q.limit }),
      };
    },
  );

  app.get<{ Querystring: z.infer<typeof UiCostQuery> }>(
    '/api/ui/costs',
    {
      schema: routeSchema({
        tags,
        summary: 'Cost and tokens per project, phase, agent type and day (FR-6.9)',
        description:
          'Phase and agent type come from tasks, days from agent runs (by start date, UTC), projects from their totals.',
        query: UiCostQuery,
        response: { 200: UiCosts },
      }),
    },
    async (req) => uiCosts(ctx.pool, { projectId: req.query.project_id ?? null, days: req.query.days }),
  );

  app.get<{ Params: z.infer<typeof IdParams> }>(
    '/api/ui/requirements/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'A requirement of a PRD (what a task was planned from)',
        params: IdParams,
        response: { 200: Requirement },
        errors: [404],
      }),
    },
    async (req) => {
      const requirement = await readRequirement(ctx.pool, req.params.id);
      if (!requirement) throw notFound('requirement', req.params.id);
      return requirement;
    },
  );
}
