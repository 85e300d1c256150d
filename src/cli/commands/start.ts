import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import pc from 'picocolors';
import { loadEnvConfig } from '../../config/env.js';
import { SamgitaError } from '../../errors.js';
import { configureLogging } from '../../log/setup.js';
import { resolveProject } from '../../projects/control.js';
import { runProject } from '../../projects/transition.js';
import { openDatabase } from '../../store/connection.js';
import { CLI_ACTOR, reconcileLocalRepo } from '../reconcile-local.js';

interface StartOptions {
  analyze?: boolean;
  json?: boolean;
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('Queue a project for the runners without running it in this process.')
    .argument('<repo-dir|project>', 'a git repository with PRD.md committed, or a known project (id, name or path)')
    .option(
      '--analyze',
      'with a repository: ask Claude Code for a structured work breakdown first (see `run --analyze`)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
With a repository, does what \`samgita run\` does first (register the project,
record PRD.md and samgita.yaml at HEAD, reconcile and print the plan); with a
project, uses what is recorded. Then the project runs: a pending project starts,
a paused or failed one resumes, a completed one with new work reopens, and
every task whose dependencies are done is queued at once. The work is done by
\`samgita runner\` processes against the same DATABASE_URL; \`samgita status\`
follows it.`,
    )
    .action(async (ref: string, opts: StartOptions) => {
      process.exitCode = await startCommand(ref, opts);
    });
}

async function startCommand(ref: string, opts: StartOptions): Promise<number> {
  const env = loadEnvConfig();
  const out = opts.json ? process.stderr : process.stdout;
  configureLogging({
    samgitaHome: env.samgitaHome,
    level: process.env.LOG_LEVEL ? env.logLevel : 'warn',
    onTerminal: 'file',
    json: opts.json === true,
  });
  const isRepo = existsSync(ref) && statSync(ref).isDirectory() && existsSync(`${ref}/.git`);
  const local = isRepo ? await reconcileLocalRepo(env, ref, { analyze: opts.analyze === true }, out) : null;
  const db = local?.db ?? (await openDatabase(env));
  try {
    const project = local?.project ?? (await resolveProject(db.pool, ref));
    const r = await runProject(db.pool, project.id, CLI_ACTOR, { resumePaused: true, reason: 'samgita start' });
    if (!r) {
      const { status } = await resolveProject(db.pool, project.id);
      throw new SamgitaError('CONFLICT', `project ${project.name} is ${status} and cannot run`, {
        hint: status === 'archived' ? 'clone it to start again' : 'create it again with `samgita start <repo-dir>`',
      });
    }
    if (opts.json)
      process.stdout.write(
        `${JSON.stringify({ outcome: 'completed', exit_code: 0, project: { id: project.id, name: project.name, status: r.status }, enqueued: r.enqueued }, null, 2)}\n`,
      );
    out.write(
      `${pc.bold(project.name)} is ${r.status}: ${r.enqueued} task(s) queued for the runners. Work them with \`samgita runner\`; follow with \`samgita status ${project.name}\`.\n`,
    );
    return 0;
  } finally {
    await db.close();
  }
}
