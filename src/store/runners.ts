/**
 * The runners record: one row per runner process, with its graphile-worker
 * worker ids (so a dead runner's job locks can be released) and its heartbeat.
 */
import { z } from 'zod';
import { failRunsOfRunner } from './agent-runs.js';
import { recordEvent } from './events.js';
import { type Pool, type Queryable, withTransaction } from './pool.js';
import { exec, one, rows, sql } from './sql.js';

export async function registerRunner(
  db: Queryable,
  r: { name: string; host: string; pid: number; capacity: number; version: string | null },
): Promise<string> {
  const row = await one(
    db,
    z.object({ id: z.string() }),
    sql`insert into runners (name, host, pid, capacity, version, status)
        values (${r.name}, ${r.host}, ${r.pid}, ${r.capacity}, ${r.version}, 'active') returning id`,
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
export async function declareDeadRunners(pool: Pool, selfId: string, deadAfterMs: number): Promise<DeadRunner[]> {
  return withTransaction(pool, async (db) => {
    const dead = await rows(
      db,
      DeadRow,
      sql`select id, worker_ids, host, pid from runners
           where status in ('active', 'draining') and id <> ${selfId}
             and heartbeat_at < now() - make_interval(secs => ${deadAfterMs}::float8 / 1000)
           for update skip locked`,
    );
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
