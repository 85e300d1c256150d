import type { Command } from 'commander';
import pc from 'picocolors';
import { resolveAgentTypes } from '../../agents/catalog.js';
import { checkClaude } from '../../claude/preflight.js';
import type { SamgitaConfig } from '../../config/samgita-yaml/index.js';
import { SamgitaError } from '../../errors.js';
import { git } from '../../git/git.js';
import { inspectRepo } from '../../git/repo.js';
import { planAgainst } from '../../planner/against.js';
import type { Action } from '../../planner/diff.js';
import { type CostEstimate, type EstimateTask, estimateCost } from '../../planner/estimate.js';
import { formatPlan, formatPlanDiff } from '../../planner/format.js';
import { mergeBreakdown } from '../../planner/structured.js';
import { planPrd } from '../../planner/thread.js';
import type { Plan, PlannedTask } from '../../planner/types.js';
import { parsePrd } from '../../prd/parse.js';
import { canonicalGitUrl } from '../../projects/identity.js';
import { analyzePrd } from '../../reconcile/analyze.js';
import { readDesiredState } from '../../reconcile/desired-state.js';
import { desiredPlan, reconcileProject } from '../../reconcile/reconcile.js';
import { agentSettings } from '../../runner/agent-settings.js';
import { claudeEnvFromProcess } from '../../runner/claude-env.js';
import { analysisSandbox } from '../../sandbox/claude.js';
import { recordedTasks } from '../../store/plan.js';
import { findProjectRefByLocation } from '../../store/projects.js';
import { describeVerifyResolution, resolveVerifyCommandsAtCommit } from '../../verify/detect.js';
import { withDatabase } from '../context.js';

interface PlanOptions {
  commit?: string;
  against?: string;
  json?: boolean;
  analyze?: boolean;
}

export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description(
      'Show what `samgita run` would do: the plan of a new project, or the diff against what is recorded. Writes nothing.',
    )
    .argument('<repo-dir>', 'a git repository with PRD.md committed (and optionally samgita.yaml)')
    .option('--commit <rev>', 'read the desired state at this commit instead of HEAD')
    .option(
      '--against <rev>',
      "diff against the plan of this commit's desired state, as if it were recorded with every task pending (e.g. a pull request's base); opens no database",
    )
    .option('--json', 'print the plan as JSON')
    .option(
      '--analyze',
      'ask Claude Code for a structured work breakdown and merge it (costs tokens; default: deterministic planner only)',
    )
    .addHelpText(
      'after',
      `
Symbols: + create, ~ update (not started yet), -/+ restart (running), ↺ reopen
(finished, its requirement changed), - cancel.`,
    )
    .action(async (repoDir: string, opts: PlanOptions) => {
      process.exitCode = await planCommand(repoDir, opts);
    });
}

/** Who would work a task: its agent type and the model that type runs with samgita.yaml's settings. */
interface Worker {
  agentType: string;
  tier: EstimateTask['tier'];
  model: string;
}

function workerOf(config: SamgitaConfig, agentType: string): Worker {
  const s = agentSettings(config, agentType);
  return { agentType, tier: s.tier, model: s.model };
}

/** A cancelled task's title and agent type, which the action itself does not carry. */
type CancelInfo = Map<string, { title: string | null; agentType: string }>;

function actionJson(a: Action, config: SamgitaConfig, cancelled: CancelInfo) {
  const base = { type: a.type, key: a.key, phase: a.phase };
  if (a.type === 'cancel') {
    const info = cancelled.get(a.key);
    return {
      ...base,
      title: info?.title ?? null,
      agentType: info?.agentType ?? null,
      model: info ? workerOf(config, info.agentType).model : null,
      reason: a.reason,
      previousStatus: a.previousStatus,
    };
  }
  const task = {
    ...base,
    title: a.task.title,
    agentType: a.task.agentType,
    model: workerOf(config, a.task.agentType).model,
  };
  switch (a.type) {
    case 'create':
      return { ...task, requirementKeys: a.task.requirementKeys, dependsOn: a.task.dependsOn };
    case 'update':
    case 'restart':
      return { ...task, changes: a.changes };
    case 'reopen':
      return { ...task, changes: a.changes, previousStatus: a.previousStatus };
  }
}

function taskJson(t: PlannedTask, config: SamgitaConfig) {
  return {
    key: t.key,
    phase: t.phase,
    agentType: t.agentType,
    model: workerOf(config, t.agentType).model,
    title: t.title,
    kind: t.kind,
    priority: t.priority,
    requirementKeys: t.requirementKeys,
    dependsOn: t.dependsOn,
    acceptanceCriteria: t.acceptanceCriteria,
    areas: t.areas,
  };
}

/** The cost of the tasks that would be worked: created, restarted, reopened (updates change tasks already counted). */
function estimateFor(tasks: readonly PlannedTask[], config: SamgitaConfig): CostEstimate {
  return estimateCost(
    tasks.map((t) => ({ key: t.key, ...workerOf(config, t.agentType) })),
    config.budget.project.usd,
  );
}

function formatEstimate(e: CostEstimate): string {
  if (e.tasks === 0) return 'Estimate: no task to run.';
  const budget =
    e.budget_usd === null
      ? 'no project budget (budget.project.usd: null)'
      : `project budget $${e.budget_usd} (budget.project.usd): ${e.fits === 'yes' ? 'fits' : e.fits === 'no' ? 'exceeds it' : 'may exceed it'}`;
  const models = e.per_model.map((m) => `${m.tasks} × ${m.model}`).join(', ');
  return `Estimate: $${e.usd_low.toFixed(2)}–$${e.usd_high.toFixed(2)} for ${e.tasks} ${e.tasks === 1 ? 'task' : 'tasks'} (${models}); ${budget}.`;
}

async function resolveCommit(root: string, rev: string, flag: string): Promise<string> {
  return (
    await git(root, ['rev-parse', '--verify', `${rev}^{commit}`]).catch(() => {
      throw new SamgitaError('INVALID_INPUT', `${flag} ${rev} is not a commit of ${root}`, {
        hint: `give a commit sha, branch or tag, e.g. ${flag} HEAD~1`,
      });
    })
  ).trim();
}

async function planCommand(repoDir: string, opts: PlanOptions): Promise<number> {
  const repo = await inspectRepo(repoDir);
  const commit = opts.commit ? await resolveCommit(repo.root, opts.commit, '--commit') : repo.headSha;
  const against = opts.against ? await resolveCommit(repo.root, opts.against, '--against') : null;
  const desired = await readDesiredState(repo.root, commit);
  const parsed = parsePrd(desired.prd);
  // What will judge the work, read from the same commit as the plan (git, not the working tree).
  const verify = await resolveVerifyCommandsAtCommit(desired.config, repo.root, commit);
  let breakdown: PlannedTask[] | undefined;
  if (opts.analyze) {
    const env = (await import('../../config/env.js')).loadEnvConfig();
    const claudeEnv = claudeEnvFromProcess();
    await checkClaude({ bin: env.claudeBin, env: claudeEnv });
    const wrap = await analysisSandbox(desired.config, env.samgitaHome, repo.root);
    breakdown = await analyzePrd({
      wrap,
      claudeBin: env.claudeBin,
      cwd: repo.root,
      prd: desired.prd,
      catalog: resolveAgentTypes(desired.config.agents),
      config: desired.config,
      env: claudeEnv,
      timeoutMs: desired.config.limits.claude_timeout,
    });
  }
  process.env.LOG_LEVEL ??= 'warn';
  const ctx = { repo, commit, desired, parsed, verify, breakdown, opts };

  if (against !== null) {
    // The base commit's plan stands for the recorded one: nothing is read from or written to a database.
    const baseState = await readDesiredState(repo.root, against).catch((err: unknown) => {
      // A base without PRD.md plans nothing: everything the head plans is added.
      if (err instanceof SamgitaError && err.code === 'PRD_MISSING') return null;
      // Say it is the base that is broken, not the commit being planned.
      if (!(err instanceof SamgitaError)) throw err;
      const where = `at --against ${against.slice(0, 12)}: `;
      const issues = err.details?.issues;
      throw new SamgitaError(err.code, `${where}${err.message}`, {
        hint: err.hint,
        location: err.location,
        details: Array.isArray(issues)
          ? {
              ...err.details,
              issues: issues.map((i: { message: string }) => ({ ...i, message: `${where}${i.message}` })),
            }
          : err.details,
      });
    });
    const base = baseState
      ? await planPrd(baseState.prd, baseState.config)
      : { plan: { title: null, phases: [], tasks: [], warnings: [] } satisfies Plan, parsed: { requirements: [] } };
    const head = await planPrd(desired.prd, desired.config);
    const plan = breakdown && breakdown.length > 0 ? mergeBreakdown(head.plan, breakdown) : head.plan;
    const diff = planAgainst({
      base: { plan: base.plan, requirements: base.parsed.requirements },
      head: { plan, requirements: head.parsed.requirements },
    });
    const cancelled: CancelInfo = new Map(
      base.plan.tasks.map((t) => [t.key, { title: t.title, agentType: t.agentType }]),
    );
    return print(ctx, {
      plan,
      against,
      project: null,
      actions: diff.actions,
      requirements: diff.requirements,
      cancelled,
    });
  }

  return withDatabase(async (db) => {
    const gitUrl = canonicalGitUrl(repo.root, repo.originUrl);
    const project = await findProjectRefByLocation(db.pool, [], [gitUrl]);
    if (!project) {
      const plan = await desiredPlan(db.pool, null, parsed, desired.config, breakdown);
      return print(ctx, {
        plan,
        against: null,
        project: null,
        actions: null,
        requirements: null,
        cancelled: new Map(),
      });
    }
    const r = await reconcileProject(db.pool, {
      projectId: project.id,
      revisionId: null,
      prd: desired.prd,
      config: desired.config,
      dryRun: true,
      actor: { type: 'cli', id: process.env.USER ?? null },
      breakdown,
    });
    const cancelled: CancelInfo = new Map();
    if (r.actions.some((a) => a.type === 'cancel')) {
      for (const t of await recordedTasks(db.pool, project.id))
        cancelled.set(t.key, { title: null, agentType: t.agentType });
    }
    return print(ctx, {
      plan: r.plan,
      against: null,
      project,
      actions: r.actions,
      requirements: r.requirements,
      cancelled,
    });
  });
}

interface PlanContext {
  repo: Awaited<ReturnType<typeof inspectRepo>>;
  commit: string;
  desired: Awaited<ReturnType<typeof readDesiredState>>;
  parsed: ReturnType<typeof parsePrd>;
  verify: Awaited<ReturnType<typeof resolveVerifyCommandsAtCommit>>;
  breakdown: PlannedTask[] | undefined;
  opts: PlanOptions;
}

interface PlanResult {
  plan: Plan;
  /** The commit diffed against (--against), else null. */
  against: string | null;
  project: { id: string; name: string } | null;
  /** Null: a new project, every task a creation. */
  actions: Action[] | null;
  requirements: { added: string[]; changed: string[]; removed: string[] } | null;
  cancelled: CancelInfo;
}

function print(ctx: PlanContext, r: PlanResult): number {
  const { commit, desired, parsed, verify, breakdown, opts } = ctx;
  const { plan, actions, requirements, project } = r;
  const config = desired.config;
  const out = process.stdout;
  const toRun = actions
    ? actions.flatMap((a) => (a.type === 'create' || a.type === 'restart' || a.type === 'reopen' ? [a.task] : []))
    : plan.tasks;
  const estimate = estimateFor(toRun, config);
  if (opts.json) {
    const summary = actions
      ? summaryCounts(actions)
      : { create: plan.tasks.length, update: 0, restart: 0, reopen: 0, cancel: 0 };
    out.write(
      `${JSON.stringify(
        {
          outcome: 'completed',
          exit_code: 0,
          commit,
          against: r.against,
          project: project ? { id: project.id, name: project.name } : null,
          analyzed: breakdown !== undefined,
          phases: plan.phases,
          warnings: [...parsed.warnings, ...plan.warnings],
          verify: { commands: verify.commands.map((c) => c.command), source: verify.source, found: verify.found },
          ...(actions
            ? { requirements, actions: actions.map((a) => actionJson(a, config, r.cancelled)) }
            : { tasks: plan.tasks.map((t) => taskJson(t, config)) }),
          summary,
          summaryText: summaryText(summary),
          estimate,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  for (const f of desired.uncommitted) {
    process.stderr.write(
      pc.yellow(`warning: ${f} has uncommitted changes; planning from commit ${commit.slice(0, 12)}\n`),
    );
  }
  const analyzed = breakdown ? ' · with agent analysis' : '';
  if (!actions) {
    out.write(`New project (not registered yet) · PRD at ${commit.slice(0, 12)}${analyzed}\n\n`);
    out.write(`${formatPlan(plan)}\n`);
    out.write(`${formatEstimate(estimate)}\n`);
    out.write(`${describeVerifyResolution(verify)}\n`);
    return 0;
  }
  out.write(
    project
      ? `Project ${project.name} (${project.id}) · PRD at ${commit.slice(0, 12)}${analyzed}\n`
      : `PRD at ${commit.slice(0, 12)} against the plan at ${r.against?.slice(0, 12)}${analyzed}\n`,
  );
  if (requirements && (requirements.added.length || requirements.changed.length || requirements.removed.length)) {
    out.write(
      `Requirements: ${requirements.added.length} added, ${requirements.changed.length} changed${requirements.changed.length ? ` (${requirements.changed.join(', ')})` : ''}, ${requirements.removed.length} removed${requirements.removed.length ? ` (${requirements.removed.join(', ')})` : ''}\n`,
    );
  }
  out.write(`\n${formatPlanDiff(actions)}\n`);
  out.write(`${formatEstimate(estimate)}\n`);
  out.write(`${describeVerifyResolution(verify)}\n`);
  for (const w of plan.warnings) out.write(`warning: ${w}\n`);
  return 0;
}

function summaryCounts(actions: readonly Action[]) {
  const n = (t: Action['type']) => actions.filter((a) => a.type === t).length;
  return { create: n('create'), update: n('update'), restart: n('restart'), reopen: n('reopen'), cancel: n('cancel') };
}

/** The summary line, as summarizeActions words it. */
function summaryText(s: ReturnType<typeof summaryCounts>): string {
  const change = s.update + s.restart + s.reopen;
  return s.create + change + s.cancel === 0
    ? 'No changes. The plan matches the recorded tasks.'
    : `Plan: ${s.create} to add, ${change} to change, ${s.cancel} to cancel.`;
}
