import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { defaultConfig, type SamgitaConfig, samgitaConfigSchema } from '../../config/samgita-yaml/index.js';
import { formatPlanDiff } from '../../planner/format.js';
import { reconcileProject } from '../../reconcile/reconcile.js';
import { type PrdTarget, readPrdTarget } from '../../store/read/projects.js';
import { type ApiContext, actorOf } from '../context.js';
import { badInput, conflict, notFound } from '../errors.js';
import { commitGitHubPrd } from '../github-prd.js';
import { assertPrdSize, prdBodyLimit, saveApiPrd } from '../prd.js';
import { routeSchema } from '../route-schema.js';
import { IdParams, PrdRevision } from '../schema.js';

/** The status page's PRD editor: the plan diff an edit would cause, and saving it. */

const tags = ['ui'];

const PlanAction = z.object({
  type: z.enum(['create', 'update', 'restart', 'reopen', 'cancel']),
  key: z.string(),
  phase: z.string(),
  title: z.string().nullable(),
  agent_type: z.string().nullable(),
  detail: z.string(),
});
const PlanPreview = z.object({
  summary: z.object({
    create: z.number().int(),
    change: z.number().int(),
    cancel: z.number().int(),
    total: z.number().int(),
    text: z.string(),
  }),
  actions: z.array(PlanAction),
  diff: z.string().meta({ description: 'terraform-plan-like text' }),
  warnings: z.array(z.string()),
  save: z.object({
    allowed: z.boolean(),
    via: z.enum(['api', 'github']),
    message: z.string().nullable(),
  }),
});
const PrdBody = z.object({
  content: z.string().min(1),
  source: z.enum(['api', 'upload']).default('api'),
});

function configOf(raw: unknown): SamgitaConfig {
  const parsed = samgitaConfigSchema.safeParse(raw ?? {});
  return parsed.success ? parsed.data : defaultConfig();
}

async function loadProject(ctx: ApiContext, id: string): Promise<PrdTarget> {
  const p = await readPrdTarget(ctx.pool, id);
  if (!p) throw notFound('project', id);
  return p;
}

export async function uiPrdRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.post<{ Params: z.infer<typeof IdParams>; Body: z.infer<typeof PrdBody> }>(
    '/api/ui/projects/:id/prd/preview',
    {
      bodyLimit: prdBodyLimit(ctx),
      config: { auth: 'read' },
      schema: routeSchema({
        tags,
        summary: 'The plan diff a PRD edit would cause, without saving anything (a dry-run reconcile)',
        params: IdParams,
        body: PrdBody,
        response: { 200: PlanPreview },
        errors: [404],
      }),
    },
    async (req) => {
      assertPrdSize(ctx, req.body.content, 'content');
      const project = await loadProject(ctx, req.params.id);
      const result = await reconcileProject(ctx.pool, {
        projectId: project.id,
        revisionId: null,
        prd: req.body.content,
        config: configOf(project.rev_config),
        dryRun: true,
        actor: actorOf(req),
      });
      const actions = result.actions.map((a) => ({
        type: a.type,
        key: a.key,
        phase: a.phase,
        title: 'task' in a ? a.task.title : null,
        agent_type: 'task' in a ? a.task.agentType : null,
        detail:
          a.type === 'create'
            ? 'new task'
            : a.type === 'cancel'
              ? a.reason === 'requirement_removed'
                ? 'requirement removed'
                : 'no longer in plan'
              : a.changes.join(', '),
      }));
      return {
        summary: result.summary,
        actions,
        diff: formatPlanDiff(result.actions),
        warnings: result.plan.warnings,
        save: saveMode(project, Boolean(ctx.commitPrd)),
      };
    },
  );

  app.put<{ Params: z.infer<typeof IdParams>; Body: z.infer<typeof PrdBody> }>(
    '/api/ui/projects/:id/prd',
    {
      bodyLimit: prdBodyLimit(ctx),
      schema: routeSchema({
        tags,
        summary: 'Save a PRD edited on the status page; re-plans the project (FR-6.3, FR-6.7)',
        description:
          'Like PUT /api/projects/:id/prd. For a project driven by the GitHub App the PRD lives in the repository, so this answers 409 until the app can commit PRD.md.',
        params: IdParams,
        body: PrdBody,
        response: { 200: PrdRevision },
        errors: [404, 409, 413],
      }),
    },
    async (req) => {
      const { content, source } = req.body;
      if (!content.trim()) throw badInput('content', 'the PRD is empty');
      assertPrdSize(ctx, content, 'content');
      const project = await loadProject(ctx, req.params.id);
      const mode = saveMode(project, Boolean(ctx.commitPrd));
      if (!mode.allowed) throw conflict(mode.message ?? 'the PRD cannot be saved here');
      const actor = actorOf(req);
      if (mode.via === 'github' && ctx.commitPrd) return commitGitHubPrd(ctx, project.id, content, actor);
      return saveApiPrd(ctx, project.id, content, source, actor);
    },
  );
}

function saveMode(
  p: PrdTarget,
  canCommit: boolean,
): { allowed: boolean; via: 'api' | 'github'; message: string | null } {
  if (p.status === 'archived' || p.status === 'cancelled') {
    return { allowed: false, via: 'api', message: `the project is ${p.status}; its PRD can no longer change` };
  }
  if (p.source === 'github') {
    return canCommit
      ? {
          allowed: true,
          via: 'github',
          message: `saving commits PRD.md to the default branch of ${p.github_repo ?? 'its repository'}; the push re-plans the project`,
        }
      : {
          allowed: false,
          via: 'github',
          message: `this project is driven by the GitHub App, which is not configured on this server: edit PRD.md on the default branch of ${p.github_repo ?? 'its repository'}`,
        };
  }
  return { allowed: true, via: 'api', message: null };
}
