/**
 * Settle: the attempt's outcome written in one transaction — the task row,
 * its agent run, the events, a project hold and the task's next job — so the
 * domain table stays the single source of truth. What to write is planned by
 * decide/settle.ts; a call's provider trouble is recorded first, in the same
 * transaction (provider and task agree).
 */
import { requestAdvance } from '../../projects/advance.js';
import { holdProject } from '../../projects/transition.js';
import { addTaskJob } from '../../queue/jobs.js';
import { cancelAgentRun, endAgentRun } from '../../store/agent-runs.js';
import { type PoolClient, withTransaction } from '../../store/connection.js';
import { recordEvents } from '../../store/events.js';
import type { TaskRecord } from '../../store/task-attempts.js';
import {
  cancelRunningTask,
  completeTask,
  deadLetterTask,
  handBackTask,
  lockSettlingTask,
  parkTask,
  requeueTask,
  retryTaskLater,
} from '../../store/task-attempts.js';
import type { Outcome } from '../decide/outcome.js';
import { planSettle, type SettlePlan, type TaskWrite } from '../decide/settle.js';
import { recordFailureIn } from '../provider.js';
import { runnerActor, type TaskRunContext } from '../task-run.js';
import { untilDatabaseAnswers } from '../until-database.js';
import { wakeCappedTasks } from './claim.js';

/** `agentRunId`: null when the task was never claimed (held back before the claim). */
export async function settle(
  ctx: TaskRunContext,
  task: TaskRecord,
  agentRunId: string | null,
  outcome: Outcome,
): Promise<SettlePlan> {
  const actor = runnerActor(ctx);
  // The outcome must be recorded even across a PostgreSQL restart: a task left `running` with an open
  // agent run on a live runner is finished by nobody.
  const plan = await untilDatabaseAnswers('settle', () => settleIn(ctx, task, agentRunId, outcome, actor), {
    log: ctx.log,
  });
  ctx.onSettled?.(task.id, plan.status);
  // The request committed with the task's write; settles of one project share the advances (projects/advance.ts).
  if (plan.advance) await requestAdvance(ctx.pool, task.project_id, actor, ctx.log);
  // This task's agent run ended, so a slot is free for a task waiting at a cap, and its areas for those waiting on them.
  if (agentRunId)
    await wakeCappedTasks(ctx.pool, task.project_id, {
      agentType: task.agent_type,
      areas: task.payload.areas ?? [],
    }).catch(() => {});
  return plan;
}

/** The settle transaction: the task row, its agent run, the events, a hold and the next job, together. */
function settleIn(
  ctx: TaskRunContext,
  task: TaskRecord,
  agentRunId: string | null,
  outcome: Outcome,
  actor: ReturnType<typeof runnerActor>,
): Promise<SettlePlan> {
  return withTransaction(ctx.pool, async (db) => {
    const row = await lockSettlingTask(db, task.id);
    // Provider trouble is a fact about the provider whatever became of the task: recorded first.
    const settled =
      outcome.kind === 'provider_failed'
        ? await recordFailureIn(db, outcome, { actor, projectId: task.project_id })
        : outcome;
    const plan = planSettle({ row, outcome: settled, task, agentRunId, now: new Date() });
    await writeTask(db, task.id, plan.task);
    if (agentRunId && plan.run) {
      if (plan.run.kind === 'cancel_if_open') await cancelAgentRun(db, agentRunId, plan.run.error);
      else await endAgentRun(db, agentRunId, plan.run.status, plan.run.error);
    }
    await recordEvents(
      db,
      plan.events.map((e) => ({
        projectId: task.project_id,
        kind: e.kind,
        subjectType: e.subject,
        subjectId: e.subject === 'task' ? task.id : agentRunId,
        actor,
        data: e.data,
      })),
    );
    if (plan.hold)
      await holdProject(db, task.project_id, actor, plan.hold.cause, plan.hold.reason, { task_id: task.id });
    if (plan.job)
      await addTaskJob(
        db,
        { id: task.id, priority: task.priority, max_attempts: plan.job.maxAttempts },
        plan.job.runAt,
      );
    return plan;
  });
}

async function writeTask(db: PoolClient, taskId: string, w: TaskWrite): Promise<void> {
  switch (w.kind) {
    case 'keep':
      return;
    case 'cancel':
      return cancelRunningTask(db, taskId);
    case 'complete':
      return completeTask(db, taskId);
    case 'hand_back':
      return handBackTask(db, taskId);
    case 'park':
      return parkTask(db, taskId, w.error, w.refund);
    case 'requeue':
      return requeueTask(db, taskId, w.error, w.refund, w.runAt);
    case 'provider_wait':
      return requeueTask(db, taskId, w.error, w.refund, w.runAt, 'provider');
    case 'dead_letter':
      return deadLetterTask(db, taskId, w.error, w.attempts);
    case 'retry':
      return retryTaskLater(db, taskId, w.error, w.attempts, w.runAt);
  }
}
