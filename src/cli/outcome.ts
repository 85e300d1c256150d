/**
 * The exit-code contract, the same for every command, in `--json` output
 * (`outcome`, `exit_code`) and in the GitHub Action:
 *
 * | outcome           | exit | meaning                                                              |
 * |-------------------|------|----------------------------------------------------------------------|
 * | `completed`       | 0    | everything asked for completed                                       |
 * | `failed`          | 1    | tasks failed or were dead-lettered, the project failed, or an error  |
 * | `usage_error`     | 2    | bad arguments or configuration: nothing was started                  |
 * | `action_required` | 3    | stopped for the user to act: authentication, billing, budget, paused |
 * | `interrupted`     | 130  | Ctrl-C: running tasks were handed back and resume on the next run    |
 */
export const EXIT_CODES = {
  completed: 0,
  failed: 1,
  usage_error: 2,
  action_required: 3,
  interrupted: 130,
} as const;

export type Outcome = keyof typeof EXIT_CODES;

export interface RunFacts {
  projectStatus: string;
  tasks: { failed: number; unfinished: number };
  interrupted: boolean;
  /** Of the unfinished tasks, those published and waiting for review (`samgita run --publish`). */
  awaitingReview?: number;
}

/** How a `samgita run` ended, from what the database says after it. Pure. */
export function decideRunOutcome(f: RunFacts): Outcome {
  if (f.interrupted) return 'interrupted';
  // Paused by a person, or stopped by auth, billing, budget or a provider outage: a human acts, then resumes.
  if (f.projectStatus === 'paused') return 'action_required';
  if (f.projectStatus === 'completed' && f.tasks.failed === 0 && f.tasks.unfinished === 0) return 'completed';
  // Published work waits for people in GitHub: the run did all it could when nothing else is left or failed.
  const review = f.awaitingReview ?? 0;
  if (review > 0 && f.projectStatus === 'running' && f.tasks.failed === 0) return 'completed';
  return 'failed';
}
