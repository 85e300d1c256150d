import type { Command } from 'commander';
import { retryTask } from '../../projects/retry-task.js';
import { withDatabase } from '../context.js';

interface RetryOptions {
  project?: string;
  json?: boolean;
}

export function registerRetryCommand(program: Command): void {
  program
    .command('retry')
    .description('Put a dead-lettered, failed or cancelled task back in the queue with its attempts reset.')
    .argument('<task>', 'task id, or task key (add --project when the key exists in several projects)')
    .option('-p, --project <id>', 'the project the task key belongs to')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The task keeps its branch and continuity log, so the next agent starts from the
last checkpoint commit and sees why earlier attempts failed. It is queued as
soon as its dependencies are complete (a running \`samgita runner\` picks it up).

Environment: DATABASE_URL (unset: embedded PostgreSQL under SAMGITA_HOME).`,
    )
    .action(async (ref: string, opts: RetryOptions) => {
      await withDatabase(async (db) => {
        const actor = { type: 'cli' as const, id: process.env.USER ?? null };
        const r = await retryTask(db.pool, ref, { projectId: opts.project, actor });
        if (opts.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else process.stdout.write(`task ${r.key} (${r.taskId}): ${r.from} → ${r.status}, attempts reset\n`);
      });
    });
}
