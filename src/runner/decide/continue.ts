/** Between steps: is the task still ours to continue? Pure. */
import type { ProjectStatus, TaskStatus } from '../../domain/states.js';
import type { Outcome } from './outcome.js';

/**
 * A paused project lets the running step finish and hands the task back
 * here; a drain does the same; a cancelled or re-planned task stops (settle
 * keeps that decision). Null: go on.
 */
export function decideContinue(
  draining: boolean,
  standing: { task_status: TaskStatus; project_status: ProjectStatus } | null,
  now: Date,
): Outcome | null {
  if (draining) return { kind: 'requeue', reason: 'runner draining; resumes from its checkpoint', runAt: now };
  if (!standing) return { kind: 'handback', reason: 'task deleted' };
  if (standing.task_status !== 'running') return { kind: 'handback', reason: `task ${standing.task_status}` };
  if (standing.project_status !== 'running') return { kind: 'handback', reason: `project ${standing.project_status}` };
  return null;
}
