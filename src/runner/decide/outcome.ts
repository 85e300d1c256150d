/**
 * How an attempt at a task ends, as every step reports it and the settle
 * carries it out (decide/settle.ts plans the writes). Typed fields, never
 * text, tell the settle what to do: whether the provider pauses, whether the
 * project is held, when the task comes back.
 */

import type { BackoffPolicy, ProviderFailure, ProviderTrouble } from '../../domain/provider-gate.js';
import type { HoldCause } from '../../projects/transition.js';

/** The project stops for a person to act (budget, authentication, billing, provider). */
export interface Hold {
  cause: HoldCause;
  reason: string;
}

/**
 * A verify that lets the task go on, as recorded on the checkpoint and shown on
 * the pull request: `passed` (commands ran and passed: `passed` is true only
 * then) or `unverified` (nothing to run: the task goes on, but is never called verified).
 */
export interface Verified {
  passed: boolean;
  status: 'passed' | 'unverified';
  summary: string;
  /** The commands that judged the work; empty when unverified. */
  commands: string[];
}

export type Outcome =
  | { kind: 'completed' }
  /** Back to pending at its checkpoint without spending the attempt (paused project, task changed). */
  | { kind: 'handback'; reason: string }
  | { kind: 'retry'; reason: string; delayMs: number; countAttempt: boolean }
  | { kind: 'requeue'; reason: string; runAt: Date }
  /** Held back by a provider-wide pause; `called`: this task's own call hit the trouble. */
  | { kind: 'provider_wait'; trouble: ProviderTrouble | null; reason: string; runAt: Date; called: boolean }
  /** This task's call hit provider trouble: recorded provider-wide in the settle's transaction, then a wait (or a hold). */
  | { kind: 'provider_failed'; failure: ProviderFailure; policy: BackoffPolicy; runningSince: Date | null }
  /** Back to pending; with `hold`, the project stops for a person to act. */
  | { kind: 'park'; reason: string; hold?: Hold }
  | { kind: 'dead'; reason: string };

/** An outcome once a call's provider trouble has been recorded (what the settle plans with). */
export type SettledOutcome = Exclude<Outcome, { kind: 'provider_failed' }>;

/** What a RARV step leads to: the next step, a verified branch, or the end of the attempt. */
export type Next =
  | { kind: 'step'; step: 'reason' | 'act' | 'reflect' | 'verify' | 'integrate' }
  /** Verify passed: the branch goes to the merge queue (Integrate). */
  | { kind: 'verified'; verify: Verified }
  /** The merge queue took it: what follows (publishing) decides the outcome. */
  | { kind: 'integrated' }
  | { kind: 'stop'; outcome: Outcome };

export function stop(outcome: Outcome): Next {
  return { kind: 'stop', outcome };
}

/** The loop ended at a checkpoint because the attempt was told to stop: resumes there on the next claim. */
export function stoppedAtCheckpoint(now: Date): Outcome {
  return { kind: 'requeue', reason: 'stopped at a checkpoint (runner shutting down or project stopped)', runAt: now };
}
