import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { importProject } from '../../checkpoint/import.js';
import { DELETABLE, type UserAction } from '../../domain/project-lifecycle.js';
import { errorMessage } from '../../errors.js';
import { inspectRepo } from '../../git/repo.js';
import { checkPrd } from '../../planner/thread.js';
import { canonicalGitUrl } from '../../projects/identity.js';
import { transitionProject } from '../../projects/transition.js';
import { addCloneJob, addReplanJob, removeTaskJobs } from '../../queue/jobs.js';
import { withTransaction } from '../../store/connection.js';
import type { Actor } from '../../store/events.js';
import {
  deleteProject,
  insertProject,
  lockProjectForEdit,
  markCloning,
  updateProjectSettings,
} from '../../store/projects.js';
import {
  listProjects,
  projectIdByGitUrl,
  readCloneSource,
  readPrdTarget,
  readProjectDetail,
} from '../../store/read/projects.js';
import { openTaskIds } from '../../store/read/tasks.js';
import { savePrd } from '../../store/revisions.js';
import { type ApiContext, actorOf } from '../context.js';
import { CURSORS, decodeCursor, paginate } from '../cursor.js';
import { ApiError, badInput, conflict, notFound } from '../errors.js';
import { commitGitHubPrd } from '../github-prd.js';
import { assertPrdSize, prdBodyLimit, saveApiPrd } from '../prd.js';
import {
  assertCloneOf,
  assertInsideRoots,
  type CheckedGitUrl,
  checkGitUrl,
  existingCloneOf,
  findLocalClone,
  projectRootsOf,
  redactUrl,
  repoDirName,
} from '../repo-locate.js';
import { routeSchema } from '../route-schema.js';
import {
  IdParams,
  LifecycleBody,
  PrdJson,
  PrdRevision,
  Project,
  ProjectClone,
  ProjectCreate,
  ProjectDetail,
  ProjectImport,
  ProjectListQuery,
  ProjectUpdate,
  page,
} from '../schema.js';

type Params = z.infer<typeof IdParams>;
const tags = ['projects'];

async function projectDetail(ctx: ApiContext, id: string) {
  const detail = await readProjectDetail(ctx.pool, id);
  if (!detail) throw notFound('project', id);
  return detail;
}

/**
 * Where the repository lives on this machine: given, found under the search
 * roots, or to be cloned by the server's worker into `clone` (the request is
 * answered at once; a directory already there must be a clone of the URL).
 */
async function locateRepo(
  ctx: ApiContext,
  input: { name: string; git_url: string; working_path?: string | undefined; clone: boolean },
): Promise<{ workingPath: string | null; clone: string | null }> {
  if (input.working_path) {
    return {
      workingPath: await assertCloneOf(input.working_path, input.git_url, 'working_path', projectRootsOf(ctx)),
      clone: null,
    };
  }
  const found = await findLocalClone(input.git_url, ctx.repoSearchRoots);
  if (found) return { workingPath: found, clone: null };
  if (!input.clone) return { workingPath: null, clone: null };
  const dest = path.join(ctx.env.samgitaHome, 'repos', repoDirName(input.name));
  if (await existingCloneOf(dest, input.git_url)) return { workingPath: dest, clone: null };
  return { workingPath: null, clone: dest };
}

/** 409 when the repository is already a project under any spelling of its URL (`/x`, `/x/`, `file:///x`). */
async function assertGitUrlFree(ctx: ApiContext, git: CheckedGitUrl): Promise<void> {
  const existing = await projectIdByGitUrl(ctx.pool, [git.url, ...git.spellings]);
  if (existing) {
    throw new ApiError(409, 'CONFLICT', `a project for ${redactUrl(git.url)} already exists: ${existing}`, 'git_url');
  }
}

/** git_url validated (no `ext::`, no options, local repositories only where allowed) and in its stored form. */
function checkedGitUrl(ctx: ApiContext, url: string): CheckedGitUrl {
  return checkGitUrl(url, { roots: projectRootsOf(ctx), allowLocal: ctx.env.allowLocalGit });
}

function uniqueViolation(err: unknown, gitUrl: string): never {
  if ((err as { code?: string }).code === '23505') {
    throw new ApiError(409, 'CONFLICT', `a project for ${redactUrl(gitUrl)} already exists`, 'git_url');
  }
  throw err;
}

export async function projectRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.post<{ Body: z.infer<typeof ProjectCreate> }>(
    '/api/projects',
    {
      schema: routeSchema({
        tags,
        summary: 'Create a project from a name and git URL (FR-1.1–1.4)',
        description:
          'Uses working_path when given (it must be a clone of git_url), else looks for a clone under the search roots (201). Else, unless clone=false, the server clones it into $SAMGITA_HOME/repos/<name>: the answer is 202 at once with `clone.state: cloning`, and the project gets its working_path when the clone completes (`clone.state: failed` with the reason after 3 attempts). An optional prd becomes the first PRD revision, its re-plan queued with it.',
        body: ProjectCreate,
        response: { 201: ProjectDetail, 202: ProjectDetail },
        errors: [409],
      }),
    },
    async (req, reply) => {
      const b = req.body;
      const git = checkedGitUrl(ctx, b.git_url);
      await assertGitUrlFree(ctx, git);
      const where = await locateRepo(ctx, { ...b, git_url: git.url });
      const actor = actorOf(req);
      const created = await createApiProject(
        ctx,
        {
          name: b.name,
          gitUrl: git.url,
          workingPath: where.workingPath,
          clone: where.clone,
          config: b.config ?? {},
          prd: b.prd ?? null,
        },
        actor,
        { working_path: where.workingPath, clone: where.clone !== null },
      );
      return reply.code(where.clone ? 202 : 201).send(await projectDetail(ctx, created.id));
    },
  );

  app.post<{ Body: z.infer<typeof ProjectImport> }>(
    '/api/projects/import',
    {
      schema: routeSchema({
        tags,
        summary: "Rebuild a project from its repository's Samgita state (FR-1.11, FR-8.3)",
        description:
          "From working_path (a clone on the server, under the project roots): reads refs/samgita/state and rebuilds the project in this database as the state recorded it (201) — completed tasks stay completed, a task in the middle of its RARV loop resumes at its step on its branch; a task the integration branch merged after the last state commit is completed. A project that was running runs again at once. From git_url (with name): 202 at once with `clone.state: cloning`; the server's worker clones it into $SAMGITA_HOME/repos/<name>, fetches the state ref and the task branches and imports it under the same id, or sets `clone.state: failed` with the reason (no state, held by another deployment, malformed). 404 when the repository has no state; 409 when it is already a project here, or when the state says another deployment holds it (unless take_over); 422 when the state is malformed. Same as `samgita import <path|git-url>`.",
        body: ProjectImport,
        response: { 201: ProjectDetail, 202: ProjectDetail },
        errors: [404, 409, 422],
      }),
    },
    async (req, reply) => {
      const b = req.body;
      if ((b.working_path === undefined) === (b.git_url === undefined))
        throw badInput('working_path', 'give working_path (a clone on the server) or git_url (to clone), not both');
      if (b.git_url !== undefined) {
        if (!b.name) throw badInput('name', 'a git_url import needs the name of the directory to clone into');
        const git = checkedGitUrl(ctx, b.git_url);
        await assertGitUrlFree(ctx, git);
        const dest = path.join(ctx.env.samgitaHome, 'repos', repoDirName(b.name));
        const actor = actorOf(req);
        const id = await withTransaction(ctx.pool, async (db) => {
          const id = await insertProject(db, { name: b.name!, gitUrl: git.url, workingPath: null, config: {} }, actor, {
            import: true,
          }).catch((err) => uniqueViolation(err, git.url));
          await markCloning(db, id);
          await addCloneJob(db, id, dest, { takeOver: b.take_over, actor });
          return id;
        });
        return reply.code(202).send(await projectDetail(ctx, id));
      }
      const dir = assertInsideRoots(b.working_path!, 'working_path', projectRootsOf(ctx));
      const repo = await inspectRepo(dir).catch(() => {
        throw badInput('working_path', 'is not a git repository');
      });
      const r = await importProject(ctx.pool, {
        repo: repo.root,
        gitUrl: canonicalGitUrl(repo.root, repo.originUrl),
        name: path.basename(repo.root),
        takeOver: b.take_over,
        actor: actorOf(req),
      });
      return reply.code(201).send(await projectDetail(ctx, r.projectId));
    },
  );

  app.get<{ Querystring: z.infer<typeof ProjectListQuery> }>(
    '/api/projects',
    {
      schema: routeSchema({
        tags,
        summary: 'List projects, newest first',
        query: ProjectListQuery,
        response: { 200: page(Project) },
      }),
    },
    async (req) => {
      const { limit, cursor, status } = req.query;
      const rows = await listProjects(ctx.pool, { limit, status, after: decodeCursor(cursor, CURSORS.timeAndId) });
      return paginate(rows, limit, (r) => [r._ts, r.id]);
    },
  );

  app.get<{ Params: Params }>(
    '/api/projects/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'Get a project with task counts by status, tokens and cost',
        params: IdParams,
        response: { 200: ProjectDetail },
        errors: [404],
      }),
    },
    async (req) => projectDetail(ctx, req.params.id),
  );

  app.put<{ Params: Params; Body: z.infer<typeof ProjectUpdate> }>(
    '/api/projects/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'Update a project: name, config (replaced whole) or working_path',
        params: IdParams,
        body: ProjectUpdate,
        response: { 200: ProjectDetail },
        errors: [404, 409],
      }),
    },
    async (req) => {
      const { id } = req.params;
      const b = req.body;
      const changed = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
      if (changed.length === 0) throw badInput('body', 'nothing to update: give name, config or working_path');
      const actor = actorOf(req);
      await withTransaction(ctx.pool, async (db) => {
        const p = await lockProjectForEdit(db, id);
        if (!p) throw notFound('project', id);
        if (p.status === 'archived') throw conflict(`project ${id} is archived and read-only`);
        const workingPath =
          typeof b.working_path === 'string'
            ? await assertCloneOf(b.working_path, p.git_url, 'working_path', projectRootsOf(ctx))
            : b.working_path;
        await updateProjectSettings(db, id, { name: b.name, config: b.config, workingPath }, actor, changed);
      });
      return projectDetail(ctx, id);
    },
  );

  app.delete<{ Params: Params }>(
    '/api/projects/:id',
    {
      schema: routeSchema({
        tags,
        summary: `Delete a project and everything recorded for it; only when ${DELETABLE.join(', ')}`,
        description: 'A running or paused project must be cancelled first (409 otherwise). Audit events are kept.',
        params: IdParams,
        response: { 204: null },
        errors: [404, 409],
      }),
    },
    async (req, reply) => {
      const { id } = req.params;
      const actor = actorOf(req);
      await withTransaction(ctx.pool, async (db) => {
        const p = await lockProjectForEdit(db, id);
        if (!p) throw notFound('project', id);
        if (!DELETABLE.includes(p.status)) {
          throw conflict(
            `cannot delete a project that is ${p.status}`,
            `cancel it first: POST /api/projects/${id}/cancel`,
          );
        }
        await removeTaskJobs(db, await openTaskIds(db, id));
        await deleteProject(db, id, actor, { name: p.name, git_url: p.git_url, status: p.status });
      });
      return reply.code(204).send();
    },
  );

  const actions: Array<[UserAction, string]> = [
    [
      'start',
      'Start a pending project: it runs, and every task whose dependencies are done is queued for the runners at once',
    ],
    ['pause', 'Pause execution: running tasks stop at their next step, nothing new starts (FR-1.6)'],
    ['resume', 'Resume a paused (or failed) project; what is ready is queued at once (FR-1.7)'],
    ['cancel', 'Cancel: tasks not yet started are cancelled and their jobs removed (FR-1.8)'],
    ['archive', 'Archive a completed, failed or cancelled project (FR-1.10)'],
  ];
  for (const [action, summary] of actions) {
    app.post<{ Params: Params; Body: z.infer<typeof LifecycleBody> | undefined }>(
      `/api/projects/:id/${action}`,
      {
        schema: routeSchema({
          tags,
          summary,
          description:
            'Body optional: {"reason": "..."}. 409 when the project is not in a status this action applies to.',
          params: IdParams,
          bodyContent: { 'application/json': LifecycleBody },
          response: { 200: ProjectDetail },
          errors: [404, 409],
        }),
      },
      async (req) => {
        await transitionProject(ctx.pool, req.params.id, action, actorOf(req), { reason: req.body?.reason });
        return projectDetail(ctx, req.params.id);
      },
    );
  }

  app.put<{ Params: Params; Body: z.infer<typeof PrdJson> | undefined }>(
    '/api/projects/:id/prd',
    {
      bodyLimit: prdBodyLimit(ctx),
      schema: routeSchema({
        tags,
        summary: 'Set or replace the PRD (FR-1.4, FR-1.5)',
        description: `JSON {"content": "..."} or a multipart/form-data upload with one file field. At most ${ctx.prdMaxBytes} bytes (413 beyond). Creates a PRD revision and re-plans the project.`,
        params: IdParams,
        bodyContent: {
          'application/json': PrdJson,
          // No `type`/`required`: fastify validates this part before @fastify/multipart has parsed it.
          'multipart/form-data': {
            description: 'one file field (any name) holding the PRD markdown',
            properties: { file: { type: 'string', format: 'binary' } },
          },
        },
        response: { 200: PrdRevision },
        errors: [404, 409, 413],
      }),
    },
    async (req) => {
      const { id } = req.params;
      let content: string;
      let source: 'api' | 'upload';
      if (req.isMultipart()) {
        content = await readUpload(req);
        source = 'upload';
      } else {
        if (!req.body || typeof req.body.content !== 'string') {
          throw badInput('content', 'send JSON {"content": "<PRD markdown>"} or a multipart file upload');
        }
        content = req.body.content;
        source = 'api';
      }
      if (!content.trim()) throw badInput(source === 'upload' ? 'file' : 'content', 'the PRD is empty');
      assertPrdSize(ctx, content, source === 'upload' ? 'file' : 'content');
      if (content.includes('\u0000')) throw badInput(source === 'upload' ? 'file' : 'content', 'the PRD must be text');
      const actor = actorOf(req);
      const project = await readPrdTarget(ctx.pool, id);
      if (!project) throw notFound('project', id);
      if (project.status === 'archived' || project.status === 'cancelled') {
        throw conflict(`project ${id} is ${project.status}; its PRD can no longer change`, 'clone the project instead');
      }
      if (project.source === 'github') return commitGitHubPrd(ctx, id, content, actor);
      return saveApiPrd(ctx, id, content, source, actor);
    },
  );

  app.post<{ Params: Params; Body: z.infer<typeof ProjectClone> }>(
    '/api/projects/:id/clone',
    {
      schema: routeSchema({
        tags,
        summary: 'Create a new project with the same config and PRD, under a new name and git URL (FR-1.9)',
        params: IdParams,
        body: ProjectClone,
        response: { 201: ProjectDetail, 202: ProjectDetail },
        errors: [404, 409],
      }),
    },
    async (req, reply) => {
      const b = req.body;
      const from = await readCloneSource(ctx.pool, req.params.id);
      if (!from) throw notFound('project', req.params.id);
      const git = checkedGitUrl(ctx, b.git_url);
      await assertGitUrlFree(ctx, git);
      const where = await locateRepo(ctx, { ...b, git_url: git.url });
      const actor = actorOf(req);
      const created = await createApiProject(
        ctx,
        {
          name: b.name,
          gitUrl: git.url,
          workingPath: where.workingPath,
          clone: where.clone,
          config: from.config,
          prd: from.prd_content,
        },
        actor,
        { cloned_from: req.params.id, clone: where.clone !== null },
      );
      return reply.code(where.clone ? 202 : 201).send(await projectDetail(ctx, created.id));
    },
  );
}

/**
 * Inserts a project made through the API, its audit event, its first PRD
 * revision with its re-plan and, when its repository must be cloned, the
 * clone job, in one transaction: nothing accepted is lost to a crash.
 */
async function createApiProject(
  ctx: ApiContext,
  p: {
    name: string;
    gitUrl: string;
    workingPath: string | null;
    clone: string | null;
    config: unknown;
    prd: string | null;
  },
  actor: Actor,
  eventData: Record<string, unknown>,
): Promise<{ id: string; rev: { id: string } | null }> {
  if (p.prd) await checkPrd(p.prd);
  return withTransaction(ctx.pool, async (db) => {
    const id = await insertProject(db, p, actor, eventData).catch((err) => uniqueViolation(err, p.gitUrl));
    if (p.clone) {
      await markCloning(db, id);
      await addCloneJob(db, id, p.clone);
    }
    const rev = p.prd ? await savePrd(db, id, p.prd, 'api', actor) : null;
    if (rev) await addReplanJob(db, id, rev.id, actor);
    return { id, rev };
  });
}

/** The one file of a multipart PRD upload; a malformed form is the client's error, not a 500. */
async function readUpload(req: FastifyRequest): Promise<string> {
  try {
    const file = await req.file();
    if (!file) throw badInput('file', 'the upload has no file part');
    return (await file.toBuffer()).toString('utf8');
  } catch (err) {
    if (err instanceof ApiError || (err as { statusCode?: number }).statusCode === 413) throw err;
    throw badInput(
      'file',
      `the multipart upload cannot be read (${errorMessage(err)}); send one file field in multipart/form-data`,
    );
  }
}
