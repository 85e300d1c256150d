/** The agent_logs record: an agent run's output, line by line. */
import type { Queryable } from './pool.js';
import { exec, sql } from './sql.js';

export type LogStream = 'event' | 'stdout' | 'stderr' | 'verify' | 'system';

/** Appends a batch of lines in one statement (one insert per batch, not per line, with many agents at once). */
export async function appendAgentLogs(
  db: Queryable,
  agentRunId: string,
  lines: readonly { stream: LogStream; line: string }[],
): Promise<void> {
  await exec(
    db,
    sql`insert into agent_logs (agent_run_id, stream, line)
        select ${agentRunId}, s, l from unnest(${lines.map((b) => b.stream)}::text[], ${lines.map((b) => b.line)}::text[])
          as u(s, l)`,
  );
}
