/** What a Verify result leads to: done, another RARV loop (perhaps a tier up), or another attempt. Pure. */
import type { VerifyRecord } from '../../store/task-attempts.js';
import { UNVERIFIED_SUMMARY } from '../../verify/status.js';
import type { Outcome, Verified } from './outcome.js';

export type VerifyDecision =
  | { kind: 'passed' }
  /** Back to Reason for loop `loop`; `escalated`: one model tier up (`escalations` is the new count). */
  | { kind: 'loop'; loop: number; escalations: number; escalated: boolean }
  /** Out of loops at the strongest tier: this attempt fails (retried with backoff). */
  | { kind: 'retry'; loop: number; outcome: Outcome };

export interface VerifyInput {
  /** The work may go on: verify passed, or there was nothing to run (verifyRecord tells them apart). */
  passed: boolean;
  /** The loop that just verified (0-based). */
  loop: number;
  /** limits.rarv_loops: failed loops allowed per model tier. */
  rarvLoops: number;
  escalations: number;
  /** The model tier of this loop, and the tier one escalation up (equal at the top). */
  tier: string;
  nextTier: string;
  /** The failure's summary (summarizeVerifyFailure). */
  failure: string;
  retryDelayMs: number;
}

/**
 * After `limits.rarv_loops` failed loops at a tier the model escalates one
 * tier (FR-5.4); at the strongest tier the attempt fails instead.
 */
export function decideVerify(v: VerifyInput): VerifyDecision {
  if (v.passed) return { kind: 'passed' };
  const loop = v.loop + 1;
  if (loop < v.rarvLoops * (v.escalations + 1)) {
    return { kind: 'loop', loop, escalations: v.escalations, escalated: false };
  }
  if (v.nextTier === v.tier) {
    return {
      kind: 'retry',
      loop,
      outcome: {
        kind: 'retry',
        reason: `verify still failing after ${loop} RARV loops: ${v.failure.slice(0, 500)}`,
        delayMs: v.retryDelayMs,
        countAttempt: true,
      },
    };
  }
  return { kind: 'loop', loop, escalations: v.escalations + 1, escalated: true };
}

/**
 * What a Verify records (on the checkpoint, the step, and at completion the
 * task's result): the commands that ran and how they ended. With no command
 * it is `unverified`, and `passed` is false: a pass means something checked the work.
 */
export function verifyRecord(commands: string[], passed: boolean, failure: string): VerifyRecord {
  if (!commands.length) return { passed: false, status: 'unverified', summary: UNVERIFIED_SUMMARY, commands: [] };
  if (passed) return { passed: true, status: 'passed', summary: 'all verify commands passed', commands };
  return { passed: false, status: 'failed', summary: failure, commands };
}

/**
 * The record of a verify that let the task go on, for what follows it (the
 * merge queue, the pull request). A record without a status predates it and
 * is taken at its word; anything else (no record) means nothing judged the work.
 */
export function asVerified(record: VerifyRecord | null | undefined): Verified {
  const commands = record?.commands ?? [];
  if (record && (record.status === 'passed' || (!record.status && record.passed)))
    return { passed: true, status: 'passed', summary: record.summary, commands };
  return { passed: false, status: 'unverified', summary: UNVERIFIED_SUMMARY, commands: [] };
}
