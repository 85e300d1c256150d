/**
 * The whole-product verify: the verify commands run on the project's
 * integration head, in the merge queue's worktree, under the merge lock (so
 * no merge moves the head meanwhile). advanceProject asks for it (a
 * `verify_integration` job) when a phase would end on a head nobody judged;
 * the result is recorded on the project and the project moves on with it.
 */
import { effectiveConfig } from '../config/effective.js';
import { branchHead, checkoutIntegration } from '../git/integrate.js';
import type { Logger } from '../log/logger.js';
import { advanceProject } from '../projects/transition.js';
import { type Actor, recordEvent } from '../store/events.js';
import { readIntegrationTarget, recordIntegration } from '../store/projects.js';
import { resolveVerifyCommands } from '../verify/detect.js';
import { acquireMergeLock, MERGE_LOCK_FIRST } from './merge-lock.js';
import { integrationDir } from './steps/integrate.js';
import { outsideGate, type TaskRunContext } from './task-run.js';
import { runVerify, summarizeVerifyFailure, verifyOptions } from './verify-commands.js';

export async function verifyIntegration(
  ctx: Pick<TaskRunContext, 'pool' | 'samgitaHome' | 'gate' | 'publisher' | 'sandboxOff'> & {
    runnerId: string;
    log: Logger;
    signal: AbortSignal;
  },
  projectId: string,
): Promise<void> {
  const target = await readIntegrationTarget(ctx.pool, projectId);
  if (!target?.working_path || !target.integration_branch || target.status !== 'running') return;
  const config = effectiveConfig(target.config);
  const actor: Actor = { type: 'runner', id: ctx.runnerId };
  const lock = await acquireMergeLock(ctx, projectId, ctx.signal);
  if (!lock) throw new Error('runner stopping; the job is retried');
  try {
    const repo = target.working_path;
    // A GitHub project's integration branch moves on GitHub (people merge its pull requests).
    await ctx.publisher?.syncIntegration?.(projectId, target.integration_branch);
    const head = await branchHead(repo, target.integration_branch);
    if (!head) return;
    const dir = integrationDir(ctx.samgitaHome, projectId);
    const verify = await outsideGate(
      ctx,
      async () => {
        await checkoutIntegration(repo, dir, head);
        const { commands } = await resolveVerifyCommands(config, dir);
        const options = await verifyOptions(
          config,
          { samgitaHome: ctx.samgitaHome, repo, sandboxOff: ctx.sandboxOff },
          ctx.signal,
        );
        const result = await runVerify(dir, commands, options);
        return { commands, result };
      },
      MERGE_LOCK_FIRST,
    );
    const status = !verify.result.passed ? 'failed' : verify.commands.length ? 'passed' : 'unverified';
    await recordIntegration(ctx.pool, projectId, {
      branch: target.integration_branch,
      head,
      verify: {
        head,
        status,
        commands: verify.commands.map((c) => c.command),
        summary:
          status === 'failed'
            ? summarizeVerifyFailure(verify.result)
            : status === 'passed'
              ? 'all verify commands passed'
              : 'no verify command configured or found',
        at: new Date().toISOString(),
      },
    });
    await recordEvent(ctx.pool, {
      projectId,
      kind: 'project.integration_verified',
      subjectType: 'project',
      subjectId: projectId,
      actor,
      data: { branch: target.integration_branch, head, status, commands: verify.commands.map((c) => c.command) },
    });
    ctx.log.info({ project: projectId, head, status }, 'integration head verified');
  } finally {
    await lock.release();
  }
  await advanceProject(ctx.pool, projectId, actor);
}
