import { describe, expect, it } from 'vitest';
import type { ClaudeOutcome } from '../../src/claude/accumulate.js';
import type { ProviderState } from '../../src/domain/provider-gate.js';
import { artifactType } from '../../src/runner/artifacts.js';
import { decideAct } from '../../src/runner/decide/act.js';
import {
  type Budget,
  budgetExceeded,
  budgetStop,
  cliBudgetSpent,
  phaseBudgeted,
  remainingUsd,
  type Spend,
} from '../../src/runner/decide/budget.js';
import { capDelayMs, capReached, decideStart, withClaim } from '../../src/runner/decide/claim.js';
import { decideContinue } from '../../src/runner/decide/continue.js';
import { afterLoop, afterThrow, isInfrastructureError } from '../../src/runner/decide/failure.js';
import type { Outcome } from '../../src/runner/decide/outcome.js';
import { type AfterCall, failureOutcome, gateStop, retryTrouble, troubleOf } from '../../src/runner/decide/provider.js';
import { planSettle, type SettleInput } from '../../src/runner/decide/settle.js';
import { decideVerify, type VerifyInput } from '../../src/runner/decide/verify.js';

const now = new Date('2026-11-30T12:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);

describe('budget', () => {
  const none = { usd: null, tokens: null };
  const budget = (over: Partial<Budget> = {}): Budget => ({ project: none, phase: none, task: none, ...over });
  const spend = (over: Partial<Spend> = {}): Spend => ({
    projectUsd: 0,
    projectTokens: 0,
    phaseUsd: 0,
    phaseTokens: 0,
    taskUsd: 0,
    taskTokens: 0,
    ...over,
  });

  it('is not exceeded without caps or below them', () => {
    expect(budgetExceeded(budget(), spend({ projectUsd: 1e6 }))).toBeNull();
    expect(budgetExceeded(budget({ task: { usd: 2, tokens: null } }), spend({ taskUsd: 1.99 }))).toBeNull();
  });

  it('names the first cap reached, USD before tokens, project before task', () => {
    const b = budget({ project: { usd: null, tokens: 100 }, task: { usd: 1, tokens: null } });
    expect(budgetExceeded(b, spend({ projectTokens: 100, taskUsd: 1 }))).toEqual({
      scope: 'task',
      unit: 'usd',
      used: 1,
      cap: 1,
      message: 'task budget spent ($1.00 of $1.00); raise budget.task.usd in samgita.yaml to continue',
    });
    expect(budgetExceeded(b, spend({ projectTokens: 150 }))?.message).toBe(
      'project budget spent (150 of 100 tokens); raise budget.project.tokens in samgita.yaml to continue',
    );
  });

  it('parks the task and holds the project for the budget', () => {
    expect(budgetStop(budget({ phase: { usd: 5, tokens: null } }), spend({ phaseUsd: 6 }))).toEqual({
      kind: 'park',
      reason: 'phase budget spent ($6.00 of $5.00); raise budget.phase.usd in samgita.yaml to continue',
      hold: {
        cause: 'budget',
        reason:
          'budget reached: phase budget spent ($6.00 of $5.00); raise budget.phase.usd in samgita.yaml to continue',
      },
    });
    expect(budgetStop(budget(), spend())).toBeNull();
  });

  it('reads the sums of a phase only when a phase budget is set', () => {
    expect(phaseBudgeted(budget())).toBe(false);
    expect(phaseBudgeted(budget({ phase: { usd: 5, tokens: null } }))).toBe(true);
    expect(phaseBudgeted(budget({ phase: { usd: null, tokens: 1000 } }))).toBe(true);
  });

  it('says the CLI hit its own cap when no configured cap is spent yet', () => {
    expect(cliBudgetSpent(null, 0.25)).toMatchObject({ kind: 'park', reason: 'the run hit --max-budget-usd 0.25' });
    expect(cliBudgetSpent(null, undefined)).toMatchObject({ reason: 'the run hit --max-budget-usd' });
  });

  it('leaves the tightest cap for the next call, at least a cent, rounded down', () => {
    expect(remainingUsd(budget(), spend())).toBeUndefined();
    const b = budget({ project: { usd: 10, tokens: null }, task: { usd: 2, tokens: null } });
    expect(remainingUsd(b, spend({ projectUsd: 9.5, taskUsd: 0.1 }))).toBe(0.5);
    expect(remainingUsd(b, spend({ taskUsd: 1.234 }))).toBe(0.76);
    expect(remainingUsd(b, spend({ taskUsd: 3 }))).toBe(0.01);
  });
});

describe('decideAct', () => {
  const ok: AfterCall = { kind: 'ok' };
  const outcome = (kind: ClaudeOutcome['kind'], message = 'msg'): ClaudeOutcome => ({ kind, message });
  const decide = (o: ClaudeOutcome, call: AfterCall = ok) => decideAct({ outcome: o, call, retryDelayMs: 5_000, now });

  it('commits the work of an answered run, also when it ran out of turns', () => {
    expect(decide(outcome('success'))).toEqual({ kind: 'commit' });
    expect(decide(outcome('max_turns'))).toEqual({ kind: 'commit' });
  });

  it('provider trouble comes first and is settled as such', () => {
    const failed: AfterCall = {
      kind: 'provider_failed',
      failure: { kind: 'overloaded', message: 'Overloaded', runId: 'r', startedAt: now },
      policy: { baseMs: 1, capMs: 2, giveUpMs: 3 },
      runningSince: null,
    };
    expect(decide(outcome('overloaded'), failed)).toEqual({ kind: 'stop', outcome: failed, unexpected: false });
  });

  it('asks for the spend when the CLI stopped at its budget', () => {
    expect(decide(outcome('max_budget'))).toEqual({ kind: 'budget_spent' });
  });

  it('holds the project on authentication and billing errors', () => {
    expect(decide(outcome('auth_failed', 'bad key'))).toEqual({
      kind: 'stop',
      outcome: {
        kind: 'park',
        reason: 'bad key',
        hold: { cause: 'auth', reason: 'Claude authentication failed: bad key' },
      },
      unexpected: false,
    });
    expect(decide(outcome('billing', 'no credit'))).toMatchObject({
      outcome: { hold: { cause: 'billing', reason: 'Claude billing error: no credit' } },
    });
  });

  it('requeues a cancelled run now, and retries anything else with backoff, warning about it', () => {
    expect(decide(outcome('cancelled'))).toEqual({
      kind: 'stop',
      outcome: { kind: 'requeue', reason: 'cancelled', runAt: now },
      unexpected: false,
    });
    expect(decide(outcome('crashed', 'exit 1'))).toEqual({
      kind: 'stop',
      outcome: { kind: 'retry', reason: 'crashed: exit 1', delayMs: 5_000, countAttempt: true },
      unexpected: true,
    });
  });
});

describe('decideVerify', () => {
  const input = (over: Partial<VerifyInput> = {}): VerifyInput => ({
    passed: false,
    loop: 0,
    rarvLoops: 2,
    escalations: 0,
    tier: 'standard',
    nextTier: 'strong',
    failure: 'Verify step `test` failed',
    retryDelayMs: 1_000,
    ...over,
  });

  it('passes', () => {
    expect(decideVerify(input({ passed: true }))).toEqual({ kind: 'passed' });
  });

  it('loops back to Reason while loops are left at this tier', () => {
    expect(decideVerify(input())).toEqual({ kind: 'loop', loop: 1, escalations: 0, escalated: false });
  });

  it('escalates one tier after rarv_loops failed loops', () => {
    expect(decideVerify(input({ loop: 1 }))).toEqual({ kind: 'loop', loop: 2, escalations: 1, escalated: true });
    // A tier up, it gets rarv_loops more.
    expect(decideVerify(input({ loop: 2, escalations: 1 }))).toMatchObject({ kind: 'loop', escalated: false });
  });

  it('fails the attempt at the strongest tier', () => {
    expect(decideVerify(input({ loop: 3, escalations: 1, tier: 'strong', nextTier: 'strong' }))).toEqual({
      kind: 'retry',
      loop: 4,
      outcome: {
        kind: 'retry',
        reason: 'verify still failing after 4 RARV loops: Verify step `test` failed',
        delayMs: 1_000,
        countAttempt: true,
      },
    });
  });
});

describe('attempt failures', () => {
  const end = (over: Partial<Parameters<typeof afterThrow>[1]> = {}) => ({
    timedOut: false,
    stopped: false,
    timeoutMs: 60_000,
    retryDelayMs: 7_000,
    now,
    ...over,
  });
  const timedOut: Outcome = {
    kind: 'retry',
    reason: 'task timed out after 60000 ms',
    delayMs: 7_000,
    countAttempt: true,
  };

  it('tells database trouble from task failures', () => {
    expect(isInfrastructureError('timeout exceeded when trying to connect')).toBe(true);
    expect(isInfrastructureError('deadlock detected')).toBe(true);
    expect(isInfrastructureError('the database system is shutting down')).toBe(true);
    expect(isInfrastructureError('TypeError: x is undefined')).toBe(false);
  });

  it('a timeout costs an attempt whatever the loop ended with, except completion', () => {
    const stopped: Outcome = { kind: 'requeue', reason: 'cancelled', runAt: now };
    expect(afterLoop(stopped, end({ timedOut: true }))).toEqual(timedOut);
    expect(afterLoop({ kind: 'completed' }, end({ timedOut: true }))).toEqual({ kind: 'completed' });
    expect(afterLoop(stopped, end())).toBe(stopped);
  });

  it('a thrown attempt: timeout, then stop, then database, then a counted retry', () => {
    expect(afterThrow('deadlock detected', end({ timedOut: true, stopped: true }))).toEqual(timedOut);
    expect(afterThrow('deadlock detected', end({ stopped: true }))).toEqual({
      kind: 'requeue',
      reason: 'runner shutting down or task stopped',
      runAt: now,
    });
    expect(afterThrow('deadlock detected', end())).toEqual({
      kind: 'requeue',
      reason: 'database error (transient): deadlock detected',
      runAt: at(2_000),
    });
    expect(afterThrow('boom', end())).toEqual({ kind: 'retry', reason: 'boom', delayMs: 7_000, countAttempt: true });
  });
});

describe('claim', () => {
  it('claims queued or running tasks of running projects only', () => {
    expect(decideStart('queued', 'running')).toEqual({ kind: 'claim' });
    expect(decideStart('running', 'running')).toEqual({ kind: 'claim' });
    expect(decideStart('completed', 'running')).toEqual({ kind: 'skip' });
    expect(decideStart('queued', 'paused')).toEqual({ kind: 'release' });
  });

  it('names the cap that is full, the project before the agent type', () => {
    const caps = { project: 4, type: 2, agentType: 'eng-backend' };
    const load = (backend: number, other: number) => ({
      byType: { 'eng-backend': backend, 'eng-frontend': other },
      running: [],
    });
    expect(capReached(load(1, 2), caps)).toBeNull();
    expect(capReached(load(2, 2), caps)).toBe('limits.max_concurrent_agents (4)');
    expect(capReached(load(2, 1), caps)).toBe('agents.eng-backend.max_concurrency (2)');
    expect(capReached(load(9, 0), { ...caps, type: null })).toBe('limits.max_concurrent_agents (4)');
    expect(capReached(load(3, 0), { ...caps, type: null })).toBeNull();
    // A batch's claims count each other: the second of two at a cap of 2 with one running waits.
    const once = withClaim(load(1, 0), { key: 'a', agentType: 'eng-backend', areas: ['src/api'] });
    expect(capReached(once, caps)).toBe('agents.eng-backend.max_concurrency (2)');
    expect(once.running).toEqual([{ key: 'a', areas: ['src/api'] }]);
    expect(withClaim(load(0, 0), { key: 'b', agentType: 'qa', areas: [] }).running).toEqual([]);
  });

  it('waits longer at a cap the more often it was found full, up to 30 s', () => {
    expect(capDelayMs(0, () => 0)).toBe(250);
    expect(capDelayMs(0, () => 1)).toBe(500);
    expect(capDelayMs(3, () => 1)).toBe(4_000);
    expect(capDelayMs(20, () => 1)).toBe(30_000);
  });
});

describe('decideContinue', () => {
  it('goes on while the task and its project run', () => {
    expect(decideContinue(false, { task_status: 'running', project_status: 'running' }, now)).toBeNull();
  });
  it('a drain requeues at the checkpoint, before anything else', () => {
    expect(decideContinue(true, null, now)).toEqual({
      kind: 'requeue',
      reason: 'runner draining; resumes from its checkpoint',
      runAt: now,
    });
  });
  it('hands back a task that changed, or whose project stopped', () => {
    expect(decideContinue(false, null, now)).toEqual({ kind: 'handback', reason: 'task deleted' });
    expect(decideContinue(false, { task_status: 'cancelled', project_status: 'running' }, now)).toEqual({
      kind: 'handback',
      reason: 'task cancelled',
    });
    expect(decideContinue(false, { task_status: 'running', project_status: 'paused' }, now)).toEqual({
      kind: 'handback',
      reason: 'project paused',
    });
  });
});

describe('provider', () => {
  const state: ProviderState = {
    kind: 'rate_limit',
    pausedUntil: at(60_000),
    since: now,
    failures: 1,
    waitsForReset: true,
    reason: 'rate limited',
    probeRunId: null,
  };

  it('reads trouble from the CLI outcome and from its retries', () => {
    expect(troubleOf({ kind: 'rate_limited', message: '' })).toBe('rate_limit');
    expect(troubleOf({ kind: 'server_error', message: '' })).toBe('server_error');
    expect(troubleOf({ kind: 'error', message: '' })).toBeNull();
    expect(retryTrouble(529)).toBe('overloaded');
    expect(retryTrouble(503)).toBe('server_error');
    expect(retryTrouble(429)).toBeNull();
  });

  it('a gate that says wait or give up stops the task without calling', () => {
    expect(gateStop({ kind: 'wait', until: at(5_000), reason: 'waiting' }, 'overloaded')).toEqual({
      kind: 'provider_wait',
      trouble: 'overloaded',
      reason: 'waiting',
      runAt: at(5_000),
      called: false,
    });
    expect(gateStop({ kind: 'give_up', reason: 'too long' }, 'overloaded')).toEqual({
      kind: 'park',
      reason: 'too long',
      hold: { cause: 'provider', reason: 'too long' },
    });
  });

  it('a failed call waits with the others until the new end of the wait, or holds the project', () => {
    expect(
      failureOutcome(state, { kind: 'wait', until: at(60_000), reason: '' }, { kind: 'rate_limit', message: 'm' }),
    ).toEqual({
      kind: 'provider_wait',
      trouble: 'rate_limit',
      reason: `rate limited until ${at(60_000).toISOString()}: m`,
      runAt: at(60_000),
      called: true,
    });
    expect(
      failureOutcome(state, { kind: 'wait', until: at(1), reason: '' }, { kind: 'server_error', message: '502' }),
    ).toMatchObject({ reason: 'server_error: 502' });
    expect(failureOutcome(state, { kind: 'give_up', reason: 'gave up' }, { kind: 'overloaded', message: '' })).toEqual({
      kind: 'park',
      reason: 'gave up',
      hold: { cause: 'provider', reason: 'gave up' },
    });
  });
});

describe('planSettle', () => {
  const running = { status: 'running', attempts: 2, max_attempts: 3, project_status: 'running' } as const;
  const plan = (outcome: SettleInput['outcome'], over: Partial<SettleInput> = {}) =>
    planSettle({ row: running, outcome, task: { id: 't1', key: 'T-1' }, agentRunId: 'run1', now, ...over });
  const error = (message: string, kind: string) => ({ message, kind, at: now.toISOString() });

  it('a deleted task: nothing to write', () => {
    expect(plan({ kind: 'completed' }, { row: null })).toEqual({
      status: 'queued',
      task: { kind: 'keep' },
      run: null,
      events: [],
      hold: null,
      job: null,
      advance: false,
    });
  });

  it('an attempt superseded while its runner was cut off writes nothing: the new claim owns the task', () => {
    for (const outcome of [{ kind: 'completed' }, { kind: 'failed', reason: 'x' }] as const)
      expect(plan(outcome as SettleInput['outcome'], { row: { ...running, agent_id: 'run2' } })).toEqual({
        status: 'running',
        task: { kind: 'keep' },
        run: null,
        events: [],
        hold: null,
        job: null,
        advance: false,
      });
    // Its own claim (or one not known) settles as usual.
    expect(plan({ kind: 'completed' }, { row: { ...running, agent_id: 'run1' } }).task).toEqual({ kind: 'complete' });
  });

  it('completes, records both events and advances the project', () => {
    expect(plan({ kind: 'completed' })).toEqual({
      status: 'completed',
      task: { kind: 'complete' },
      run: { kind: 'end', status: 'completed', error: null },
      events: [
        { kind: 'task.completed', subject: 'task', data: { key: 'T-1' } },
        { kind: 'agent.completed', subject: 'agent_run', data: { task_id: 't1' } },
      ],
      hold: null,
      job: null,
      advance: true,
    });
  });

  it('a cancelled project ends its running task, unless the task completed', () => {
    const row = { ...running, project_status: 'cancelled' } as const;
    expect(plan({ kind: 'handback', reason: 'x' }, { row })).toMatchObject({
      status: 'cancelled',
      task: { kind: 'cancel' },
      run: { kind: 'cancel_if_open', error: { message: 'project cancelled' } },
      advance: false,
    });
    expect(plan({ kind: 'completed' }, { row }).status).toBe('completed');
  });

  it('keeps a cancel or re-plan that happened while the task ran', () => {
    expect(plan({ kind: 'completed' }, { row: { ...running, status: 'pending' } })).toMatchObject({
      status: 'pending',
      task: { kind: 'keep' },
      run: { kind: 'end', status: 'cancelled', error: { reason: 'task pending while running' } },
      events: [],
      advance: false,
    });
  });

  it('hands back without an error and gives the attempt back', () => {
    expect(plan({ kind: 'handback', reason: 'project paused' })).toMatchObject({
      status: 'pending',
      task: { kind: 'hand_back' },
      run: { kind: 'end', status: 'cancelled', error: { message: 'project paused', kind: 'handback' } },
      job: null,
    });
  });

  it('parks with a hold; an unclaimed task spends no attempt to give back', () => {
    const hold = { cause: 'budget', reason: 'budget reached: x' } as const;
    expect(plan({ kind: 'park', reason: 'x', hold })).toMatchObject({
      status: 'pending',
      task: { kind: 'park', error: error('x', 'park'), refund: 1 },
      hold,
    });
    expect(plan({ kind: 'park', reason: 'x' }, { agentRunId: null })).toMatchObject({
      task: { refund: 0 },
      run: null,
      hold: null,
    });
  });

  it('requeues with its job at the given time', () => {
    expect(plan({ kind: 'requeue', reason: 'drain', runAt: at(0) })).toMatchObject({
      status: 'queued',
      task: { kind: 'requeue', refund: 1, runAt: at(0) },
      run: { kind: 'end', status: 'cancelled' },
      events: [],
      job: { runAt: at(0), maxAttempts: 3 },
    });
  });

  it('a provider wait: rate limits, other trouble, and a wait before any call', () => {
    const wait = { kind: 'provider_wait', reason: 'r', runAt: at(60_000) } as const;
    expect(plan({ ...wait, trouble: 'rate_limit', called: true })).toMatchObject({
      task: { kind: 'provider_wait', refund: 1, runAt: at(60_000) },
      run: { status: 'cancelled' },
      events: [{ kind: 'rate_limit.hit', subject: 'task', data: { until: at(60_000).toISOString() } }],
      job: { runAt: at(60_000) },
    });
    expect(plan({ ...wait, trouble: 'overloaded', called: true })).toMatchObject({
      run: { status: 'failed' },
      events: [{ kind: 'task.retrying', data: { key: 'T-1', error: 'r', attempts: 1 } }],
    });
    expect(plan({ ...wait, trouble: 'overloaded', called: false }, { agentRunId: null })).toMatchObject({
      task: { refund: 0 },
      run: null,
      events: [],
      job: { runAt: at(60_000) },
    });
  });

  it('retries after the delay while attempts are left', () => {
    const row = { ...running, attempts: 1 };
    expect(plan({ kind: 'retry', reason: 'boom', delayMs: 5_000, countAttempt: true }, { row })).toEqual({
      status: 'queued',
      task: { kind: 'retry', error: error('boom', 'retry'), attempts: 1, runAt: at(5_000) },
      run: { kind: 'end', status: 'failed', error: error('boom', 'retry') },
      events: [
        {
          kind: 'task.retrying',
          subject: 'task',
          data: { key: 'T-1', error: 'boom', run_at: at(5_000).toISOString(), attempts: 1 },
        },
      ],
      hold: null,
      job: { runAt: at(5_000), maxAttempts: 3 },
      advance: false,
    });
  });

  it('an attempt that does not count gives it back before the limit is checked', () => {
    const row = { ...running, attempts: 3 };
    expect(plan({ kind: 'retry', reason: 'x', delayMs: 1, countAttempt: false }, { row })).toMatchObject({
      status: 'queued',
      task: { kind: 'retry', attempts: 2 },
    });
  });

  it('dead-letters at max attempts, with the agent crash, and advances the project', () => {
    const row = { ...running, attempts: 3 };
    expect(plan({ kind: 'retry', reason: 'boom', delayMs: 1, countAttempt: true }, { row })).toMatchObject({
      status: 'dead_letter',
      task: { kind: 'dead_letter', attempts: 3 },
      run: { status: 'failed' },
      events: [
        { kind: 'task.failed', data: { key: 'T-1', error: 'boom' } },
        { kind: 'task.dead_lettered', data: { key: 'T-1', attempts: 3 } },
        { kind: 'agent.crashed', subject: 'agent_run', data: { task_id: 't1', error: 'boom' } },
      ],
      job: null,
      advance: true,
    });
    expect(plan({ kind: 'dead', reason: 'no' }).status).toBe('dead_letter');
  });
});

describe('artifactType', () => {
  it('sorts files into docs, config and code', () => {
    expect(artifactType('docs/README.md')).toBe('doc');
    expect(artifactType('.github/workflows/ci.yml')).toBe('config');
    expect(artifactType('Dockerfile')).toBe('config');
    expect(artifactType('package.json')).toBe('config');
    expect(artifactType('src/index.ts')).toBe('code');
  });
});
