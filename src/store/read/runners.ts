/** What the API reads of runner processes. */
import { z } from 'zod';
import type { Queryable } from '../pool.js';
import { rows, sql } from '../sql.js';
import { where } from './where.js';

const RunnerRow = z.object({
  id: z.string(),
  name: z.string(),
  host: z.string(),
  pid: z.number(),
  capacity: z.number(),
  version: z.string().nullable(),
  status: z.string(),
  started_at: z.date(),
  heartbeat_at: z.date(),
  stopped_at: z.date().nullable(),
  heartbeat_age_seconds: z.number(),
});

/** The newest 1000 runners, with their heartbeat age by the database's clock. */
export async function listRunners(db: Queryable, status?: string): Promise<z.output<typeof RunnerRow>[]> {
  return rows(
    db,
    RunnerRow,
    sql`select id, name, host, pid, capacity, version, status, started_at, heartbeat_at, stopped_at,
               extract(epoch from now() - heartbeat_at)::float8 as heartbeat_age_seconds
          from runners ${where([status && sql`status = ${status}`])} order by started_at desc limit 1000`,
  );
}
