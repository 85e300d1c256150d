/**
 * What `samgita run` and `samgita start` do first with a local repository:
 * check everything that can be checked without writing (the repository, PRD.md
 * and samgita.yaml at HEAD, the Claude Code CLI), then register the project,
 * record the revision and reconcile its tasks, and print the plan.
 */
import os from 'node:os';
import path from 'node:path';
import pc from 'picocolors';
import { type PhaseName, resolveAgentTypes } from '../agents/catalog.js';
import { heldMessage } from '../checkpoint/ownership.js';
import { checkpointProject, ownershipOf } from '../checkpoint/write-state.js';
import { type ClaudeCheck, checkClaude } from '../claude/preflight.js';
import type { EnvConfig } from '../config/env.js';
import { SamgitaError } from '../errors.js';
import { inspectRepo, type RepoInfo } from '../git/repo.js';
import { formatPlanDiff } from '../planner/format.js';
import type { PlannedTask } from '../planner/types.js';
import { canonicalGitUrl } from '../projects/identity.js';
import { analyzePrdDetailed, hasAnalysis, storeAnalysis } from '../reconcile/analyze.js';
import { type DesiredState, readDesiredState } from '../reconcile/desired-state.js';
import { type ReconcileResult, reconcileProject } from '../reconcile/reconcile.js';
import { claudeEnvFromProcess } from '../runner/claude-env.js';
import { analysisSandbox } from '../sandbox/claude.js';
import { type Database, openDatabase } from '../store/connection.js';
import type { Actor } from '../store/events.js';
import { type ProjectRow, registerProject } from '../store/projects.js';
import { recordRevision } from '../store/revisions.js';
import { describeVerifyResolution, resolveVerifyCommandsAtCommit } from '../verify/detect.js';

export const CLI_ACTOR: Actor = { type: 'cli', id: process.env.USER ?? null };

export interface ReconciledRepo {
  /** Open: the caller closes it. */
  db: Database;
  repo: RepoInfo;
  desired: DesiredState;
  claude: ClaudeCheck;
  claudeEnv: Record<string, string>;
  project: ProjectRow;
  created: boolean;
  result: ReconcileResult;
}

export async function reconcileLocalRepo(
  env: EnvConfig,
  repoDir: string,
  opts: { analyze: boolean; phases?: readonly PhaseName[] | undefined; takeOver?: boolean },
  out: NodeJS.WritableStream,
): Promise<ReconciledRepo> {
  // Everything that can be checked without writing is checked first, so a
  // missing CLI or a bad samgita.yaml leaves nothing half-written behind.
  const repo = await inspectRepo(repoDir);
  const read = await readDesiredState(repo.root, repo.headSha);
  // --phases replaces samgita.yaml's list for this run (recorded with the revision, like an edit of the file).
  const desired = opts.phases ? { ...read, config: { ...read.config, phases: [...opts.phases] } } : read;
  for (const f of desired.uncommitted) {
    process.stderr.write(
      pc.yellow(
        `warning: ${f} has uncommitted changes; Samgita uses the version in commit ${repo.headSha.slice(0, 12)}\n`,
      ),
    );
  }
  const claudeEnv = claudeEnvFromProcess();
  const claude = await checkClaude({ bin: env.claudeBin, env: claudeEnv });
  // Agents and their code run in a sandbox; without one, nothing starts unless samgita.yaml turned it off.
  const wrap = await analysisSandbox(desired.config, env.samgitaHome, repo.root);

  const db = await openDatabase(env);
  const actor = CLI_ACTOR;
  try {
    // Another deployment holding this repository's project: refused before anything is written.
    const ownership = await ownershipOf(db.pool, repo.root, opts.takeOver === true);
    if (ownership.kind === 'held') {
      const m = heldMessage(ownership, path.basename(repo.root));
      throw new SamgitaError('PROJECT_HELD', m.message, {
        hint: `${m.hint}; if this machine's database was lost, rebuild the project from the repository: \`samgita import ${repo.root} --take-over\``,
      });
    }
    const { project, created } = await registerProject(
      db.pool,
      {
        name: path.basename(repo.root),
        gitUrl: canonicalGitUrl(repo.root, repo.originUrl),
        workingPath: repo.root,
        defaultBranch: repo.branch,
      },
      actor,
    );
    const { revision } = await recordRevision(
      db.pool,
      project.id,
      {
        commitSha: repo.headSha,
        content: desired.prd,
        config: desired.config,
        configText: desired.configText,
        source: 'git',
      },
      actor,
    );
    let breakdown: PlannedTask[] | undefined;
    if (opts.analyze && !(await hasAnalysis(db.pool, project.id, revision.content_hash, revision.config_hash))) {
      const analysis = await analyzePrdDetailed({
        claudeBin: env.claudeBin,
        cwd: repo.root,
        prd: desired.prd,
        catalog: resolveAgentTypes(desired.config.agents),
        config: desired.config,
        env: claudeEnv,
        timeoutMs: desired.config.limits.claude_timeout,
        wrap,
      });
      await storeAnalysis(db.pool, {
        projectId: project.id,
        revisionId: revision.id,
        prdHash: revision.content_hash,
        configHash: revision.config_hash,
        result: analysis,
      });
      breakdown = analysis.tasks;
    }
    const result = await reconcileProject(db.pool, {
      projectId: project.id,
      revisionId: revision.id,
      prd: desired.prd,
      config: desired.config,
      dryRun: false,
      actor,
      breakdown,
    });
    if (ownership.kind === 'taken_over') {
      await checkpointProject(db.pool, project.id, repo.root, {
        takeOver: true,
        reason: `Taken over by \`samgita\` on ${os.hostname()}.`,
      });
      out.write(
        pc.yellow(`took over project from deployment ${ownership.from.deployment} on ${ownership.from.host}\n`),
      );
    }
    out.write(
      `${pc.bold('samgita')} ${created ? 'registered' : 'found'} project ${pc.cyan(project.name)} (${project.id})\n`,
    );
    out.write(
      `PRD at ${repo.headSha.slice(0, 12)} · Claude Code ${claude.version} · ${db.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'}\n`,
    );
    out.write(`${formatPlanDiff(result.actions)}\n`);
    // Which commands will judge the work, detected at the same commit as the plan.
    const verify = await resolveVerifyCommandsAtCommit(desired.config, repo.root, repo.headSha);
    out.write(`${describeVerifyResolution(verify)}\n\n`);
    return { db, repo, desired, claude, claudeEnv, project, created, result };
  } catch (err) {
    await db.close();
    throw err;
  }
}
