/**
 * Where a verified task's branch goes next. `samgita run` on a local
 * repository keeps branches local (no publisher); the GitHub App pushes the
 * branch and opens or updates a pull request.
 */
import type { VerifyRecord } from '../store/task-attempts.js';

export interface PublishInput {
  projectId: string;
  taskId: string;
  taskKey: string;
  title: string;
  description: string;
  agentType: string;
  branch: string;
  baseBranch: string;
  worktree: string;
  headSha: string | null;
  /** How verify judged the branch; `passed` only when commands ran and passed (`unverified`: none to run). */
  verify: VerifyRecord;
  costUsd: number;
  tokens: number;
}

export interface PublishResult {
  prNumber: number;
  prUrl: string;
  /** True while the PR waits for review/merge (manual merge policy): the task is not completed yet. */
  awaitingMerge: boolean;
  /** Why GitHub refused the automatic merge (required checks, reviews, a moved head), when it did. */
  mergeRefused?: string;
}

export interface TaskPublisher {
  /** Brings the project's working copy up to date (clone or fetch) before a task starts in it. */
  prepare?(projectId: string): Promise<void>;
  publish(input: PublishInput): Promise<PublishResult | null>;
  /**
   * For a project whose integration branch lives on a remote (a GitHub
   * project that opens pull requests): brings the local branch to the
   * remote's head, under the merge lock, before the merge queue reads it.
   * False when the integration branch is only local.
   */
  syncIntegration?(projectId: string, branch: string): Promise<boolean>;
  /** The remote's state ref (refs/samgita/state) into the working copy, before a checkpoint is written. */
  pullState?(projectId: string): Promise<void>;
  /** The state ref pushed after a checkpoint wrote it, with the task branches. */
  pushState?(projectId: string): Promise<void>;
}
