import type { Command } from 'commander';
import pc from 'picocolors';
import { resolveAgentTypes } from '../../agents/catalog.js';
import { checkClaude } from '../../claude/preflight.js';
import { SamgitaError } from '../../errors.js';
import { git } from '../../git/git.js';
import { inspectRepo } from '../../git/repo.js';
import type { Action } from '../../planner/diff.js';
import { formatPlan, formatPlanDiff } from '../../planner/format.js';
import type { Plan, PlannedTask } from '../../planner/types.js';
import { parsePrd } from '../../prd/parse.js';
import { canonicalGitUrl } from '../../projects/identity.js';
import { analyzePrd } from '../../reconcile/analyze.js';
import { readDesiredState } from '../../reconcile/desired-state.js';
import { desiredPlan, reconcileProject } from '../../reconcile/reconcile.js';
import { claudeEnvFromProcess } from '../../runner/claude-env.js';
import { analysisSandbox } from '../../sandbox/claude.js';
import { findProjectRefByLocation } from '../../store/projects.js';
import { describeVerifyResolution, resolveVerifyCommandsAtCommit } from '../../verify/detect.js';
import { withDatabase } from '../context.js';

interface PlanOptions {
  commit?: string;
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

function actionJson(a: Action) {
  const base = { type: a.type, key: a.key, phase: a.phase };
  switch (a.type) {
    case 'create':
      return {
        ...base,
        agentType: a.task.agentType,
        title: a.task.title,
        requirementKeys: a.task.requirementKeys,
        dependsOn: a.task.dependsOn,
      };
    case 'update':
    case 'restart':
      return { ...base, agentType: a.task.agentType, title: a.task.title, changes: a.changes };
    case 'reopen':
      return {
        ...base,
        agentType: a.task.agentType,
        title: a.task.title,
        changes: a.changes,
        previousStatus: a.previousStatus,
      };
    case 'cancel':
      return { ...base, reason: a.reason, previousStatus: a.previousStatus };
  }
}

function taskJson(t: PlannedTask) {
  return {
    key: t.key,
    phase: t.phase,
    agentType: t.agentType,
    title: t.title,
    kind: t.kind,
    priority: t.priority,
    requirementKeys: t.requirementKeys,
    dependsOn: t.dependsOn,
    acceptanceCriteria: t.acceptanceCriteria,
    areas: t.areas,
  };
}

async function planCommand(repoDir: string, opts: PlanOptions): Promise<number> {
  const repo = await inspectRepo(repoDir);
  let commit = repo.headSha;
  if (opts.commit) {
    commit = (
      await git(repo.root, ['rev-parse', '--verify', `${opts.commit}^{commit}`]).catch(() => {
        throw new SamgitaError('INVALID_INPUT', `--commit ${opts.commit} is not a commit of ${repo.root}`, {
          hint: 'give a commit sha, branch or tag, e.g. --commit HEAD~1',
        });
      })
    ).trim();
  }
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
  return withDatabase(async (db) => {
    const gitUrl = canonicalGitUrl(repo.root, repo.originUrl);
    const project = await findProjectRefByLocation(db.pool, [], [gitUrl]);
    const out = process.stdout;
    let plan: Plan;
    let actions: Action[] | null = null;
    let requirements: { added: string[]; changed: string[]; removed: string[] } | null = null;
    if (project) {
      const r = await reconcileProject(db.pool, {
        projectId: project.id,
        revisionId: null,
        prd: desired.prd,
        config: desired.config,
        dryRun: true,
        actor: { type: 'cli', id: process.env.USER ?? null },
        breakdown,
      });
      plan = r.plan;
      actions = r.actions;
      requirements = r.requirements;
    } else {
      plan = await desiredPlan(db.pool, null, parsed, desired.config, breakdown);
    }
    if (opts.json) {
      out.write(
        `${JSON.stringify(
          {
            commit,
            project: project ? { id: project.id, name: project.name } : null,
            analyzed: breakdown !== undefined,
            phases: plan.phases,
            warnings: [...parsed.warnings, ...plan.warnings],
            verify: { commands: verify.commands.map((c) => c.command), source: verify.source, found: verify.found },
            ...(actions
              ? {
                  requirements,
                  actions: actions.map(actionJson),
                  summary: summaryCounts(actions),
                }
              : {
                  tasks: plan.tasks.map(taskJson),
                  summary: { create: plan.tasks.length, update: 0, restart: 0, reopen: 0, cancel: 0 },
                }),
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
    if (!project || !actions) {
      out.write(
        `New project (not registered yet) · PRD at ${commit.slice(0, 12)}${breakdown ? ' · with agent analysis' : ''}\n\n`,
      );
      out.write(`${formatPlan(plan)}\n`);
      out.write(`${describeVerifyResolution(verify)}\n`);
      return 0;
    }
    out.write(
      `Project ${project.name} (${project.id}) · PRD at ${commit.slice(0, 12)}${breakdown ? ' · with agent analysis' : ''}\n`,
    );
    if (requirements && (requirements.added.length || requirements.changed.length || requirements.removed.length)) {
      out.write(
        `Requirements: ${requirements.added.length} added, ${requirements.changed.length} changed${requirements.changed.length ? ` (${requirements.changed.join(', ')})` : ''}, ${requirements.removed.length} removed${requirements.removed.length ? ` (${requirements.removed.join(', ')})` : ''}\n`,
      );
    }
    out.write(`\n${formatPlanDiff(actions)}\n`);
    out.write(`${describeVerifyResolution(verify)}\n`);
    for (const w of plan.warnings) out.write(`warning: ${w}\n`);
    return 0;
  });
}

function summaryCounts(actions: readonly Action[]) {
  const n = (t: Action['type']) => actions.filter((a) => a.type === t).length;
  return { create: n('create'), update: n('update'), restart: n('restart'), reopen: n('reopen'), cancel: n('cancel') };
}
