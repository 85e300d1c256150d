/**
 * The runner's side of the provider gate (domain/provider-gate.ts decides, store/runners.ts
 * stores): before a task is claimed, before each Claude Code call, and after it.
 */

import type pg from 'pg';
import { type ClaudeEvent, isApiRetry } from '../claude/events.js';
import type { ClaudeRunResult } from '../claude/run-claude.js';
import {
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  decideGate,
  describeWait,
  PROBE_POLL_MS,
  type ProviderFailure,
  type ProviderState,
} from '../domain/provider-gate.js';
import { addTaskJobs } from '../queue/jobs.js';
import type { PoolClient, Queryable } from '../store/connection.js';
import { withTransaction } from '../store/connection.js';
import { type Actor, recordEvent } from '../store/events.js';
import {
  acquireProbe,
  beginOutage,
  clearProviderState,
  PROVIDER,
  readProviderState,
  recordProviderFailure,
  releaseProbe,
} from '../store/runners.js';
import { releaseProviderWaiters } from '../store/tasks.js';
import {
  type AfterCall,
  type FailureOutcome,
  failureOutcome,
  type GateStop,
  gateStop,
  providerAnswered,
  retryTrouble,
  troubleOf,
} from './decide/provider.js';

export type ProviderBackoff = Omit<BackoffPolicy, 'giveUpMs'>;

export function backoffPolicy(giveUpMs: number, backoff: ProviderBackoff = DEFAULT_BACKOFF): BackoffPolicy {
  return { ...backoff, giveUpMs };
}

/** Before a claim: a task that could only wait is not claimed at all (no agent run, no attempt). */
export async function gateBeforeClaim(
  db: Queryable,
  policy: BackoffPolicy,
  runningSince: Date | null,
): Promise<GateStop | null> {
  const { state, now } = await readProviderState(db);
  const d = decideGate(state, now, policy, runningSince);
  if (!state || d.kind === 'go' || d.kind === 'probe') return null;
  return gateStop(d, state.kind);
}

/**
 * Right before a call: during an outage only the probe may call. Returns
 * whether this run is the probe, or how to stop.
 */
export async function gateBeforeCall(
  db: Queryable,
  runId: string,
  policy: BackoffPolicy,
  runningSince: Date | null,
): Promise<{ probe: boolean } | GateStop> {
  const { state, now } = await readProviderState(db);
  const d = decideGate(state, now, policy, runningSince);
  if (!state || d.kind === 'go') return { probe: false };
  if (d.kind === 'probe') {
    if (await acquireProbe(db, runId)) return { probe: true };
    return {
      kind: 'provider_wait',
      trouble: state.kind,
      reason: `${describeWait(state, now)}: another task is probing`,
      runAt: new Date(now.getTime() + PROBE_POLL_MS),
      called: false,
    };
  }
  return gateStop(d, state.kind);
}

/** The event that tells every live view the provider is holding work back, and until when. */
async function recordWaiting(
  db: Queryable,
  state: ProviderState,
  now: Date,
  call: { actor: Actor; projectId: string },
): Promise<void> {
  await recordEvent(db, {
    kind: 'provider.waiting',
    subjectType: 'system',
    subjectId: PROVIDER,
    actor: call.actor,
    data: {
      kind: state.kind,
      until: state.pausedUntil.toISOString(),
      since: state.since.toISOString(),
      failures: state.failures,
      project_id: call.projectId,
      reason: describeWait(state, now),
    },
  });
}

/**
 * Watches a running CLI's stream for its own retries: the first overload or
 * 5xx it retries records the outage at once, so tasks about to start wait
 * instead of joining in (the CLI's retries are few: claude.max_retries).
 */
export function watchRetries(
  pool: pg.Pool,
  call: { runId: string; policy: BackoffPolicy; actor: Actor; projectId: string },
): (e: ClaudeEvent) => void {
  let noted = false;
  return (e) => {
    if (noted || !isApiRetry(e)) return;
    const status = e.error_status ?? 0;
    const kind = retryTrouble(status);
    if (!kind) return;
    noted = true;
    void withTransaction(pool, async (db) => {
      const begun = await beginOutage(
        db,
        {
          kind,
          message: `the API answered ${status}; Claude Code is retrying`,
          runId: call.runId,
          startedAt: new Date(0),
        },
        call.policy,
      );
      if (begun) await recordWaiting(db, begun.state, begun.now, call);
    }).catch(() => {});
  };
}

/**
 * After a call: an answer ends any outage (waiting tasks are woken); a rate
 * limit, overload or 5xx is recorded provider-wide (waiting tasks are moved to
 * the new end of the wait) and this task waits too; anything else gives the
 * probe lease back.
 */
export async function afterCall(
  pool: pg.Pool,
  call: {
    runId: string;
    probe: boolean;
    startedAt: Date;
    result: ClaudeRunResult;
    policy: BackoffPolicy;
    runningSince: Date | null;
    projectId: string;
    actor: Actor;
  },
): Promise<AfterCall> {
  const o = call.result.outcome;
  if (providerAnswered(o)) {
    const woken = await withTransaction(pool, async (db) => {
      const cleared = await clearProviderState(db);
      if (!cleared) return 0;
      const woken = await releaseProviderWaiters(db, null, { clear: true });
      await addTaskJobs(db, woken, null);
      const n = woken.length;
      await recordEvent(db, {
        kind: 'provider.recovered',
        subjectType: 'system',
        subjectId: PROVIDER,
        actor: call.actor,
        data: { kind: cleared.kind, since: cleared.since.toISOString(), failures: cleared.failures, woken: n },
      });
      return n;
    });
    void woken;
    return { kind: 'ok' };
  }
  const trouble = troubleOf(o);
  if (!trouble) {
    if (call.probe) await releaseProbe(pool, call.runId);
    return { kind: 'ok' };
  }
  // Recorded by the settle, in the transaction that also hands the task back (provider and task agree).
  return {
    kind: 'provider_failed',
    failure: { kind: trouble, message: o.message, resetsAt: o.resetsAt, runId: call.runId, startedAt: call.startedAt },
    policy: call.policy,
    runningSince: call.runningSince,
  };
}

/**
 * Records a call's provider trouble inside the settle's transaction: the
 * provider-wide state moves on, every task already waiting comes back when the
 * new wait ends (or at the give-up deadline), and this task waits too — or,
 * past limits.overload_give_up, its project stops for a person.
 */
export async function recordFailureIn(
  db: PoolClient,
  f: { failure: ProviderFailure; policy: BackoffPolicy; runningSince: Date | null },
  call: { actor: Actor; projectId: string },
): Promise<FailureOutcome> {
  const { state, now } = await recordProviderFailure(db, f.failure, f.policy, { runningSince: f.runningSince });
  await addTaskJobs(db, await releaseProviderWaiters(db, state.pausedUntil, { clear: false }), state.pausedUntil);
  await recordWaiting(db, state, now, call);
  return failureOutcome(state, decideGate(state, now, f.policy, f.runningSince), f.failure);
}
