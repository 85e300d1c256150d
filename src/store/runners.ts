/**
 * Shared runner state: the runners table (registration, heartbeats, dead
 * runners) and the model provider's health every runner obeys (provider_pauses).
 */
import { z } from 'zod';
import {
  afterFailure,
  type BackoffPolicy,
  describeWait,
  type ProviderFailure,
  type ProviderState,
} from '../domain/provider-gate.js';
import { failRunsOfRunner } from './agent-runs.js';
import {
  exec,
  maybeOne,
  one,
  type Pool,
  type PoolClient,
  type Queryable,
  rows,
  sql,
  withTransaction,
} from './connection.js';
import { recordEvent } from './events.js';
import { freeLiveness } from './liveness.js';

const IdRow = z.object({ id: z.string() });
const NowRow = z.object({ now: z.date() });

/** `bubblewrap`: agents run sandboxed; `off`: --no-sandbox; `unavailable`: only projects with the sandbox off run. */
export interface RunnerSandbox {
  state: 'bubblewrap' | 'off' | 'unavailable';
  detail: string | null;
}

/**
 * The runners record: one row per runner process, with its graphile-worker
 * worker ids (so a dead runner's job locks can be released) and its heartbeat.
 */
export async function registerRunner(
  db: Queryable,
  r: {
    /** Chosen by the runner, so its liveness lock is held before any other runner can see the row. */
    id: string;
    name: string;
    host: string;
    pid: number;
    capacity: number;
    version: string | null;
    /** How this runner confines agents, shown by `samgita status`, the API and the page. */
    sandbox: RunnerSandbox;
  },
): Promise<string> {
  const row = await one(
    db,
    IdRow,
    sql`insert into runners (id, name, host, pid, capacity, version, status, meta)
        values (${r.id}, ${r.name}, ${r.host}, ${r.pid}, ${r.capacity}, ${r.version}, 'active',
                ${JSON.stringify({ sandbox: r.sandbox })}::jsonb) returning id`,
  );
  return row.id;
}

export async function setRunnerWorkers(db: Queryable, runnerId: string, workerIds: readonly string[]): Promise<void> {
  await exec(db, sql`update runners set worker_ids = ${[...workerIds]} where id = ${runnerId}`);
}

/** A runner already declared dead stays dead: its jobs were released to others. */
export async function heartbeatRunner(db: Queryable, runnerId: string, workerIds: readonly string[]): Promise<void> {
  await exec(
    db,
    sql`update runners set heartbeat_at = now(), worker_ids = ${[...workerIds]} where id = ${runnerId} and status <> 'dead'`,
  );
}

export async function markRunnerDraining(db: Queryable, runnerId: string): Promise<void> {
  await exec(db, sql`update runners set status = 'draining' where id = ${runnerId}`);
}

export async function markRunnerStopped(db: Queryable, runnerId: string): Promise<void> {
  await exec(db, sql`update runners set status = 'stopped', stopped_at = now() where id = ${runnerId}`);
}

const DeadRow = z.object({ id: z.string(), worker_ids: z.array(z.string()), host: z.string(), pid: z.number() });
export type DeadRunner = z.output<typeof DeadRow>;

/**
 * Declares runners silent for longer than `deadAfterMs` dead, in one
 * transaction: their agent runs end as failed and `runner.dead` is recorded.
 * Returns them, for their graphile-worker locks to be released after commit.
 * `skip locked` lets many runners sweep at once without fighting.
 */
export async function declareDeadRunners(
  pool: Pool,
  selfId: string,
  timing: { graceMs: number; deadAfterMs: number },
): Promise<DeadRunner[]> {
  return withTransaction(pool, async (db) => {
    // Silent for a moment: dead when PostgreSQL says its session is gone (its liveness lock is free),
    // or, whatever its session, when silent for longer than deadAfterMs (wedged, or a runner without one).
    const silent = await rows(
      db,
      DeadRow.extend({ overdue: z.boolean() }),
      sql`select id, worker_ids, host, pid,
                 heartbeat_at < now() - make_interval(secs => ${timing.deadAfterMs}::float8 / 1000) as overdue
            from runners
           where status in ('active', 'draining') and id <> ${selfId}
             and heartbeat_at < now() - make_interval(secs => ${timing.graceMs}::float8 / 1000)
             and started_at < now() - make_interval(secs => ${timing.graceMs}::float8 / 1000)
           for update skip locked`,
    );
    const free = await freeLiveness(
      db,
      silent.filter((r) => !r.overdue).map((r) => r.id),
    );
    const dead = silent.filter((r) => r.overdue || free.has(r.id)).map(({ overdue: _o, ...r }) => r);
    for (const r of dead) {
      await exec(db, sql`update runners set status = 'dead', stopped_at = now() where id = ${r.id}`);
      await failRunsOfRunner(db, r.id);
      await recordEvent(db, {
        kind: 'runner.dead',
        subjectType: 'runner',
        subjectId: r.id,
        actor: { type: 'runner', id: selfId },
        data: { host: r.host, pid: r.pid },
      });
    }
    return dead;
  });
}

/**
 * The provider_pauses record: the one place that writes it. What the state
 * means and how it changes is decided in domain/provider-gate.ts; this module only
 * reads and stores it, under a row lock so runners on many machines agree.
 */
export const PROVIDER = 'anthropic';

const StateRow = z.object({
  kind: z.enum(['rate_limit', 'overloaded', 'server_error']),
  paused_until: z.date(),
  since: z.date(),
  failures: z.number().int(),
  waits_for_reset: z.boolean(),
  reason: z.string(),
  probe_run_id: z.string().nullable(),
  now: z.date(),
});
/** The pause's columns; a probe whose agent run has ended (crashed runner, settled task) no longer counts. */
const STATE_COLUMNS = sql`p.kind, p.paused_until, p.since, p.failures, p.waits_for_reset, p.reason,
  case when exists (select 1 from agent_runs a where a.id = p.probe_run_id and a.ended_at is null)
       then p.probe_run_id::text end as probe_run_id`;
const StateOrClockRow = z.union([StateRow, z.object({ kind: z.null(), now: z.date() })]);

function toState(r: z.output<typeof StateRow>): ProviderState {
  return {
    kind: r.kind,
    pausedUntil: r.paused_until,
    since: r.since,
    failures: r.failures,
    waitsForReset: r.waits_for_reset,
    reason: r.reason,
    probeRunId: r.probe_run_id,
  };
}

/**
 * The provider's state and the database's clock (every runner's shared "now").
 * A probe whose agent run has ended (crashed runner, settled task) no longer counts.
 */
export async function readProviderState(db: Queryable, opts: { forUpdate?: boolean } = {}): Promise<ProviderStateRead> {
  if (!opts.forUpdate) {
    // Concurrent readers on one pool share the read in flight (1,000 task starts read this twice
    // each): its answer is at most one round trip older than their own would be. Not one that
    // began before this process last wrote the record: a caller after that write must see it.
    const shared = readsInFlight.get(db);
    if (shared && shared.generation === writes) return shared.read;
    const read = readState(db);
    const entry = { generation: writes, read };
    readsInFlight.set(db, entry);
    const done = () => {
      if (readsInFlight.get(db) === entry) readsInFlight.delete(db);
    };
    read.then(done, done);
    return read;
  }
  const r = await maybeOne(
    db,
    StateRow,
    sql`select ${STATE_COLUMNS}, clock_timestamp() as now
          from provider_pauses p where p.provider = ${PROVIDER}
          for update of p`,
  );
  if (r) return { state: toState(r), now: r.now };
  const clock = await maybeOne(db, NowRow, sql`select clock_timestamp() as now`);
  return { state: null, now: clock!.now };
}

type ProviderStateRead = { state: ProviderState | null; now: Date };
/** Reads of the record in flight, per pool (or client). */
const readsInFlight = new WeakMap<Queryable, { generation: number; read: Promise<ProviderStateRead> }>();
/** Writes of the record this process has made (each bumps it once done). */
let writes = 0;

/** One statement whether or not there is a pause: always one row, the clock, with the pause if there is one. */
async function readState(db: Queryable): Promise<ProviderStateRead> {
  // Row locks cannot reach the nullable side of an outer join: `forUpdate` reads the other way.
  const r = await one(
    db,
    StateOrClockRow,
    sql`select ${STATE_COLUMNS}, c.now
          from (select clock_timestamp() as now) c
          left join provider_pauses p on p.provider = ${PROVIDER}`,
  );
  return { state: r.kind !== null ? toState(r) : null, now: r.now };
}

/** Takes the probe lease for `runId` if the wait is over and no live run holds it. */
export async function acquireProbe(db: Queryable, runId: string): Promise<boolean> {
  const n = await exec(
    db,
    sql`update provider_pauses p set probe_run_id = ${runId}, updated_at = now()
         where p.provider = ${PROVIDER} and p.paused_until <= clock_timestamp()
           and (p.probe_run_id is null or p.probe_run_id = ${runId}
                or not exists (select 1 from agent_runs a where a.id = p.probe_run_id and a.ended_at is null))`,
  );
  writes++;
  return n > 0;
}

/** Records a failed call (inside the caller's transaction) and returns the state it leads to. */
export async function recordProviderFailure(
  db: PoolClient,
  failure: ProviderFailure,
  policy: BackoffPolicy,
  opts: { runningSince?: Date | null; random?: () => number } = {},
): Promise<{ state: ProviderState; now: Date }> {
  const { state, now } = await readProviderState(db, { forUpdate: true });
  const next = afterFailure(state, failure, now, policy, opts.random ?? Math.random, opts.runningSince ?? null);
  await exec(
    db,
    sql`insert into provider_pauses (provider, kind, paused_until, since, failures, waits_for_reset, reason,
                                     probe_run_id, updated_at)
        values (${PROVIDER}, ${next.kind}, ${next.pausedUntil}, ${next.since}, ${next.failures}, ${next.waitsForReset},
                ${next.reason}, ${next.probeRunId}, now())
        on conflict (provider) do update
          set kind = excluded.kind, paused_until = excluded.paused_until, since = excluded.since,
              failures = excluded.failures, waits_for_reset = excluded.waits_for_reset, reason = excluded.reason,
              probe_run_id = excluded.probe_run_id, updated_at = now()`,
  );
  writes++;
  return { state: next, now };
}

/**
 * Records the start of an outage learned before a call failed (the CLI reports
 * its own retries), unless one is already recorded. Returns the new state, or
 * null when nothing changed.
 */
export async function beginOutage(
  db: PoolClient,
  failure: ProviderFailure,
  policy: BackoffPolicy,
): Promise<{ state: ProviderState; now: Date } | null> {
  const { state } = await readProviderState(db, { forUpdate: true });
  if (state) return null;
  // A concurrent first insert wins; this one then changes nothing.
  const { now } = await readProviderState(db);
  const next = afterFailure(null, failure, now, policy, Math.random);
  const n = await exec(
    db,
    sql`insert into provider_pauses (provider, kind, paused_until, since, failures, waits_for_reset, reason, updated_at)
        values (${PROVIDER}, ${next.kind}, ${next.pausedUntil}, ${next.since}, ${next.failures}, ${next.waitsForReset},
                ${next.reason}, now())
        on conflict (provider) do nothing`,
  );
  writes++;
  return n > 0 ? { state: next, now } : null;
}

/** A call succeeded: the outage is over. Returns the state that was cleared, if any. */
export async function clearProviderState(db: Queryable): Promise<ProviderState | null> {
  const cleared = await rows(
    db,
    StateRow,
    sql`delete from provider_pauses where provider = ${PROVIDER}
        returning kind, paused_until, since, failures, waits_for_reset, reason, probe_run_id::text,
                  clock_timestamp() as now`,
  );
  writes++;
  return cleared[0] ? toState(cleared[0]) : null;
}

/** Gives the probe lease back (a probe that ended without news, e.g. its task was cancelled). */
export async function releaseProbe(db: Queryable, runId: string): Promise<void> {
  await exec(db, sql`update provider_pauses set probe_run_id = null where probe_run_id = ${runId}`);
  writes++;
}

/** The provider's state as the API, `samgita status` and the page show it. */
export interface ProviderWait {
  kind: ProviderState['kind'];
  until: Date;
  since: Date;
  failures: number;
  /** "waiting for the provider until 14:05 (overloaded)" */
  message: string;
  /** The provider's own words for the last failure. */
  reason: string;
}

export async function readProviderWait(db: Queryable): Promise<ProviderWait | null> {
  const { state, now } = await readProviderState(db);
  if (!state) return null;
  return {
    kind: state.kind,
    until: state.pausedUntil,
    since: state.since,
    failures: state.failures,
    message: describeWait(state, now),
    reason: state.reason,
  };
}
