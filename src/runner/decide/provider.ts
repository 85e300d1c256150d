/**
 * What the provider gate (domain/provider-gate.ts) means for one task: go on, wait
 * without spending an attempt, or hold the project. Pure.
 */
import type { ClaudeOutcome } from '../../claude/accumulate.js';
import type { GateDecision, ProviderState, ProviderTrouble } from '../../domain/provider-gate.js';
import type { Outcome } from './outcome.js';

/** A call that hit provider trouble: the settle records it provider-wide (runner/provider.ts recordFailureIn). */
export type ProviderFailed = Extract<Outcome, { kind: 'provider_failed' }>;

/** What became of a call, as far as the provider is concerned. */
export type AfterCall = { kind: 'ok' } | ProviderFailed;

/** What the gate means for the task: stop here with this outcome. */
export type GateStop =
  | { kind: 'provider_wait'; trouble: ProviderTrouble | null; reason: string; runAt: Date; called: false }
  | { kind: 'park'; reason: string; hold: { cause: 'provider'; reason: string } };

/** The gate said wait or give up: how the task stops. */
export function gateStop(d: Extract<GateDecision, { kind: 'wait' | 'give_up' }>, trouble: ProviderTrouble): GateStop {
  if (d.kind === 'give_up') return { kind: 'park', reason: d.reason, hold: { cause: 'provider', reason: d.reason } };
  return { kind: 'provider_wait', trouble, reason: d.reason, runAt: d.until, called: false };
}

const TROUBLE: Partial<Record<ClaudeOutcome['kind'], ProviderTrouble>> = {
  rate_limited: 'rate_limit',
  overloaded: 'overloaded',
  server_error: 'server_error',
};

/** The provider trouble an outcome reports, if any. */
export function troubleOf(outcome: ClaudeOutcome): ProviderTrouble | null {
  return TROUBLE[outcome.kind] ?? null;
}

const ANSWERED: ReadonlySet<ClaudeOutcome['kind']> = new Set(['success', 'max_turns', 'max_budget']);

/** The provider answered the call (whatever the agent made of it): any outage is over. */
export function providerAnswered(outcome: ClaudeOutcome): boolean {
  return ANSWERED.has(outcome.kind);
}

/** What a call that hit provider trouble leads to, once recorded. */
export type FailureOutcome =
  | { kind: 'provider_wait'; trouble: ProviderTrouble; reason: string; runAt: Date; called: true }
  | { kind: 'park'; reason: string; hold: { cause: 'provider'; reason: string } };

/**
 * After a call's trouble moved the provider to `state` (and `d` is the gate's
 * decision now): this task waits with the others until the wait ends — or,
 * past limits.overload_give_up, its project stops for a person.
 */
export function failureOutcome(
  state: ProviderState,
  d: GateDecision,
  failure: { kind: ProviderTrouble; message: string },
): FailureOutcome {
  if (d.kind === 'give_up') return { kind: 'park', reason: d.reason, hold: { cause: 'provider', reason: d.reason } };
  const trouble = failure.kind;
  const reason =
    trouble === 'rate_limit'
      ? `rate limited until ${state.pausedUntil.toISOString()}: ${failure.message}`
      : `${trouble === 'overloaded' ? 'overloaded' : 'server_error'}: ${failure.message}`;
  return { kind: 'provider_wait', trouble, reason, runAt: state.pausedUntil, called: true };
}

/** The kind of trouble the CLI's own retry of a status reports (529: overloaded; other 5xx: server errors). */
export function retryTrouble(status: number): ProviderTrouble | null {
  return status === 529 ? 'overloaded' : status >= 500 ? 'server_error' : null;
}
