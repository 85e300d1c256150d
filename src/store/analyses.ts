/** The prd_analyses record: an agent's structured work breakdown of a PRD, per PRD + config content. */
import { z } from 'zod';
import type { Queryable } from './pool.js';
import { exec, maybeOne, sql } from './sql.js';

export async function upsertAnalysis(
  db: Queryable,
  a: {
    projectId: string;
    revisionId: string | null;
    prdHash: string;
    configHash: string;
    summary: string | null;
    breakdown: unknown;
    attempts: number;
    costUsd: number;
  },
): Promise<void> {
  await exec(
    db,
    sql`insert into prd_analyses (project_id, revision_id, prd_hash, config_hash, summary, breakdown, attempts, cost_usd)
        values (${a.projectId}, ${a.revisionId}, ${a.prdHash}, ${a.configHash}, ${a.summary},
                ${JSON.stringify(a.breakdown)}, ${a.attempts}, ${a.costUsd})
        on conflict (project_id, prd_hash, config_hash) do update set
          breakdown = excluded.breakdown, summary = excluded.summary, attempts = excluded.attempts,
          cost_usd = prd_analyses.cost_usd + excluded.cost_usd, inserted_at = now()`,
  );
}

export async function analysisExists(
  db: Queryable,
  projectId: string,
  prdHash: string,
  configHash: string,
): Promise<boolean> {
  const r = await maybeOne(
    db,
    z.object({ one: z.number() }),
    sql`select 1 as one from prd_analyses
         where project_id = ${projectId} and prd_hash = ${prdHash} and config_hash = ${configHash}`,
  );
  return r !== null;
}

const Breakdown = z.object({
  breakdown: z
    .object({ summary: z.string().optional(), tasks: z.array(z.record(z.string(), z.unknown())).optional() })
    .loose(),
});

/** The newest breakdown recorded for the project, as stored. */
export async function newestBreakdown(
  db: Queryable,
  projectId: string,
): Promise<z.output<typeof Breakdown>['breakdown'] | null> {
  const r = await maybeOne(
    db,
    Breakdown,
    sql`select breakdown from prd_analyses where project_id = ${projectId} order by inserted_at desc, id limit 1`,
  );
  return r?.breakdown ?? null;
}
