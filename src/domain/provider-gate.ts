/**
 * The model provider's health, shared by every runner (one row per provider in
 * PostgreSQL): rate limits, overload (529) and server errors (5xx) are facts
 * about the provider, not about a task, so one task learning of them holds back
 * every other. While an outage lasts, one probe call at a time decides whether
 * the others may resume; the wait between probes grows (exponential, full
 * jitter, capped), and an outage that outlasts `limits.overload_give_up`
 * pauses the project for a human — except a rate limit whose reset the
 * provider announced, which is waited for exactly. Pure: no I/O, no clock (`now` is passed in).
 */

export type ProviderTrouble = 'rate_limit' | 'overloaded' | 'server_error';

export interface ProviderState {
  kind: ProviderTrouble;
  /** No call before this. */
  pausedUntil: Date;
  /** When this outage began (the first failure after the last success). */
  since: Date;
  /** Failed probes in a row (1 for the failure that began the outage). */
  failures: number;
  /** A rate limit whose reset the provider announced: the wait is exact and never given up on. */
  waitsForReset: boolean;
  reason: string;
  /** The agent run making the probe call now, while its run is live; null otherwise. */
  probeRunId: string | null;
}

export type GateDecision =
  /** No outage: call the provider. */
  | { kind: 'go' }
  /** The wait is over and nobody is probing: this call is the probe. */
  | { kind: 'probe' }
  /** Hold back until `until`; the task waits without spending an attempt. */
  | { kind: 'wait'; until: Date; reason: string }
  /** The overload lasted too long: pause the project with this reason. */
  | { kind: 'give_up'; reason: string };

export interface BackoffPolicy {
  /** The first wait's ceiling; each failed probe doubles it. */
  baseMs: number;
  /** No wait is longer than this. */
  capMs: number;
  /** An overload or server errors lasting this long pause the project (limits.overload_give_up). */
  giveUpMs: number;
}

export const DEFAULT_BACKOFF: Omit<BackoffPolicy, 'giveUpMs'> = { baseMs: 10_000, capMs: 5 * 60_000 };

/** How long a probe waits for its lease-holder before trying itself: a probe that hangs is a live probe. */
export const PROBE_POLL_MS = 5_000;

const TROUBLE_WORDS: Record<ProviderTrouble, string> = {
  rate_limit: 'rate limited',
  overloaded: 'overloaded',
  server_error: 'server errors',
};

export function describeTrouble(kind: ProviderTrouble): string {
  return TROUBLE_WORDS[kind];
}

function hhmm(d: Date): string {
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "waiting for the provider until 14:05 (overloaded)", as the terminal, status, page and API say it. */
export function describeWait(state: Pick<ProviderState, 'kind' | 'pausedUntil'>, now: Date): string {
  const what = describeTrouble(state.kind);
  return state.pausedUntil.getTime() > now.getTime()
    ? `waiting for the provider until ${hhmm(state.pausedUntil)} (${what})`
    : `waiting for the provider (${what}; one call is probing it)`;
}

function giveUpReason(state: ProviderState, policy: BackoffPolicy): string {
  const minutes = Math.round(policy.giveUpMs / 60_000);
  const span = minutes >= 1 ? `${minutes} min` : `${Math.round(policy.giveUpMs / 1000)} s`;
  return `Claude API ${describeTrouble(state.kind)} since ${hhmm(state.since)} (${state.failures} failed call(s), longer than limits.overload_give_up = ${span}); resume the project once the API answers again`;
}

/**
 * When a project's patience with this outage began: the outage's start, or the
 * project's last start/resume if later (a project resumed by a human gets a
 * full give-up window of probes before it pauses again).
 */
export function patienceFrom(state: Pick<ProviderState, 'since'>, runningSince: Date | null): Date {
  return runningSince && runningSince > state.since ? runningSince : state.since;
}

/** Whether a call may go out now. */
export function decideGate(
  state: ProviderState | null,
  now: Date,
  policy: BackoffPolicy,
  runningSince: Date | null = null,
): GateDecision {
  if (!state) return { kind: 'go' };
  if (!state.waitsForReset && now.getTime() - patienceFrom(state, runningSince).getTime() >= policy.giveUpMs)
    return { kind: 'give_up', reason: giveUpReason(state, policy) };
  if (state.pausedUntil.getTime() > now.getTime())
    return { kind: 'wait', until: state.pausedUntil, reason: describeWait(state, now) };
  if (state.probeRunId !== null)
    return {
      kind: 'wait',
      until: new Date(now.getTime() + PROBE_POLL_MS),
      reason: `${describeWait(state, now)}: another task is probing`,
    };
  return { kind: 'probe' };
}

/** Full jitter: uniformly random up to the ceiling, so runners that failed together do not return together. */
export function backoffDelayMs(
  failures: number,
  policy: Pick<BackoffPolicy, 'baseMs' | 'capMs'>,
  random: () => number,
): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, Math.min(failures, 30) - 1));
  // Never zero: a probe right after a failure only repeats it.
  return Math.max(Math.round(policy.baseMs / 10), Math.round(random() * ceiling));
}

export interface ProviderFailure {
  kind: ProviderTrouble;
  message: string;
  /** Rate limits: when the provider said the limit resets. */
  resetsAt?: Date | undefined;
  /** The agent run whose call failed. */
  runId: string;
  /** When that call started: a call older than the outage's last probe says nothing new. */
  startedAt: Date;
}

/**
 * The state after a failed call. A failure that begins an outage, or the
 * probe's own failure, moves the backoff on; failures of calls that were
 * already in flight when the outage began change nothing (eight agents failing
 * together are one failure, not eight). A rate limit with a known reset waits
 * exactly until then.
 */
export function afterFailure(
  prev: ProviderState | null,
  f: ProviderFailure,
  now: Date,
  policy: BackoffPolicy,
  random: () => number,
  runningSince: Date | null = null,
): ProviderState {
  const isProbe = prev !== null && prev.probeRunId === f.runId;
  const news = prev === null || isProbe || f.startedAt.getTime() >= prev.pausedUntil.getTime();
  if (prev && !news) {
    // A rate limit learned while overloaded still says when to come back.
    if (f.resetsAt && f.resetsAt > prev.pausedUntil) return { ...prev, pausedUntil: f.resetsAt, waitsForReset: true };
    return prev;
  }
  const failures = prev ? prev.failures + 1 : 1;
  // Patience counts from the first failure, but not through a wait the provider announced.
  const since = prev && !prev.waitsForReset ? prev.since : now;
  const waitsForReset = f.kind === 'rate_limit' && f.resetsAt !== undefined && f.resetsAt.getTime() > now.getTime();
  let until: Date;
  if (waitsForReset && f.resetsAt) {
    until = f.resetsAt;
  } else {
    until = new Date(now.getTime() + backoffDelayMs(failures, policy, random));
    // The give-up moment is a deadline: the wait never runs past it.
    const deadline = patienceFrom({ since }, runningSince).getTime() + policy.giveUpMs;
    if (until.getTime() > deadline) until = new Date(Math.max(deadline, now.getTime()));
  }
  const reason =
    f.kind === 'rate_limit' ? `rate limited until ${until.toISOString()}: ${f.message}` : `${f.kind}: ${f.message}`;
  return {
    kind: f.kind,
    pausedUntil: until,
    since,
    failures,
    waitsForReset,
    reason: reason.slice(0, 500),
    probeRunId: null,
  };
}
