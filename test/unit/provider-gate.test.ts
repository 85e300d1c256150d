import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  type BackoffPolicy,
  backoffDelayMs,
  decideGate,
  describeWait,
  type ProviderState,
} from '../../src/domain/provider-gate.js';

const policy: BackoffPolicy = { baseMs: 10_000, capMs: 300_000, giveUpMs: 3_600_000 };
const t0 = new Date('2026-11-30T12:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const state = (over: Partial<ProviderState> = {}): ProviderState => ({
  kind: 'overloaded',
  pausedUntil: at(10_000),
  since: t0,
  failures: 1,
  waitsForReset: false,
  reason: 'overloaded: Overloaded',
  probeRunId: null,
  ...over,
});
const fail = (over: Partial<Parameters<typeof afterFailure>[1]> = {}) => ({
  kind: 'overloaded' as const,
  message: 'Overloaded',
  runId: 'run-1',
  startedAt: t0,
  ...over,
});

describe('decideGate', () => {
  it('goes when the provider is healthy', () => {
    expect(decideGate(null, t0, policy)).toEqual({ kind: 'go' });
  });
  it('waits until the pause ends, saying why', () => {
    const d = decideGate(state(), at(1_000), policy);
    expect(d).toMatchObject({ kind: 'wait', until: at(10_000) });
    expect(d.kind === 'wait' && d.reason).toMatch(/^waiting for the provider until \d\d:\d\d \(overloaded\)$/);
  });
  it('lets exactly one probe through once the pause is over', () => {
    expect(decideGate(state(), at(10_000), policy)).toEqual({ kind: 'probe' });
    const d = decideGate(state({ probeRunId: 'run-9' }), at(10_000), policy);
    expect(d.kind).toBe('wait');
    expect(d.kind === 'wait' && d.reason).toMatch(/another task is probing/);
  });
  it('gives up on an outage older than limits.overload_give_up, but never on an announced rate-limit reset', () => {
    const d = decideGate(state(), at(3_600_000), policy);
    expect(d.kind).toBe('give_up');
    expect(d.kind === 'give_up' && d.reason).toMatch(/overloaded since \d\d:\d\d .*overload_give_up = 60 min/);
    const reset = state({ kind: 'rate_limit', pausedUntil: at(5 * 3_600_000), waitsForReset: true });
    expect(decideGate(reset, at(3_600_000), policy).kind).toBe('wait');
    expect(decideGate(reset, at(5 * 3_600_000), policy).kind).toBe('probe');
    // A rate limit with no announced reset is an outage like any other.
    expect(decideGate(state({ kind: 'rate_limit' }), at(3_600_000), policy).kind).toBe('give_up');
  });
  it('counts a resumed project’s patience from its resume', () => {
    expect(decideGate(state(), at(3_600_000), policy, at(3_000_000)).kind).toBe('probe');
  });
});

describe('afterFailure', () => {
  it('begins an outage with one failure and a jittered wait within the first ceiling', () => {
    const s = afterFailure(null, fail(), t0, policy, () => 1);
    expect(s).toMatchObject({ kind: 'overloaded', since: t0, failures: 1, probeRunId: null });
    expect(s.pausedUntil).toEqual(at(10_000));
    expect(afterFailure(null, fail(), t0, policy, () => 0).pausedUntil).toEqual(at(1_000));
  });
  it('a failed probe doubles the ceiling, up to the cap', () => {
    let s = afterFailure(null, fail(), t0, policy, () => 1);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const now = s.pausedUntil;
      s = afterFailure({ ...s, probeRunId: 'probe' }, fail({ runId: 'probe', startedAt: now }), now, policy, () => 1);
      waits.push(s.pausedUntil.getTime() - now.getTime());
    }
    expect(waits).toEqual([20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000, 300_000]);
    expect(s.failures).toBe(9);
  });
  it('calls already in flight when the outage began are one failure, not many', () => {
    const first = afterFailure(null, fail(), at(500), policy, () => 1);
    const again = afterFailure(first, fail({ runId: 'run-2', startedAt: t0 }), at(600), policy, () => 1);
    expect(again).toEqual(first);
  });
  it('waits for a rate limit exactly until its reset', () => {
    const s = afterFailure(null, fail({ kind: 'rate_limit', resetsAt: at(90_000) }), t0, policy, () => 1);
    expect(s.pausedUntil).toEqual(at(90_000));
    expect(s.waitsForReset).toBe(true);
    // After a 5-hour announced wait, patience starts again with the next failure.
    const later = at(5 * 3_600_000);
    const next = afterFailure(
      { ...s, probeRunId: 'p' },
      fail({ runId: 'p', startedAt: later }),
      later,
      policy,
      () => 1,
    );
    expect(next.since).toEqual(later);
    expect(s.reason).toMatch(/^rate limited until 2026-11-30T12:01:30.000Z/);
  });
  it('never waits past the give-up deadline', () => {
    const late = at(3_590_000);
    const s = afterFailure(
      state({ probeRunId: 'probe', failures: 9 }),
      fail({ runId: 'probe', startedAt: late }),
      late,
      policy,
      () => 1,
    );
    expect(s.pausedUntil).toEqual(at(3_600_000));
  });
});

describe('backoffDelayMs', () => {
  it('is full jitter: spread from a tenth of the base to the ceiling', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(1_000);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(20_000);
    expect(backoffDelayMs(50, policy, () => 1)).toBe(300_000);
    expect(new Set(Array.from({ length: 20 }, () => backoffDelayMs(4, policy, Math.random))).size).toBeGreaterThan(1);
  });
});

describe('describeWait', () => {
  it('says until when, or that a probe is under way', () => {
    expect(describeWait({ kind: 'server_error', pausedUntil: at(60_000) }, t0)).toMatch(
      /^waiting for the provider until \d\d:\d\d \(server errors\)$/,
    );
    expect(describeWait({ kind: 'overloaded', pausedUntil: t0 }, at(1))).toBe(
      'waiting for the provider (overloaded; one call is probing it)',
    );
  });
});
