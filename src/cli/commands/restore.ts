import type { Command } from 'commander';
import pc from 'picocolors';
import type { StateDiff, TaskPoint } from '../../checkpoint/document.js';
import { applyRestore, planRestore } from '../../checkpoint/restore.js';
import { SamgitaError } from '../../errors.js';
import { stateLog } from '../../git/state-ref.js';
import { resolveProject } from '../../projects/control.js';
import { withDatabase } from '../context.js';
import { CLI_ACTOR } from '../reconcile-local.js';

interface RestoreOptions {
  snapshot?: string;
  yes?: boolean;
  json?: boolean;
}

export function registerRestoreCommand(program: Command): void {
  program
    .command('restore')
    .description(
      'Roll a project back to an earlier snapshot (a state commit of refs/samgita/state): shows what would change, and changes it with --yes.',
    )
    .argument('<project>', 'project id, name or repository path')
    .option(
      '--snapshot <id|commit|time>',
      'a snapshot id, a state commit, or a time (the newest state commit at or before it)',
    )
    .option('--yes', 'apply the rollback (without it, only the changes are shown)')
    .option('--json', 'print the state commits or the changes as JSON')
    .addHelpText(
      'after',
      `
Without --snapshot, lists the project's state commits. The project must not be
running (\`samgita pause\` it first); after the rollback it is paused: resume it
to continue. Tasks created since the snapshot are cancelled; branches keep their
commits, so a task restored to before its work resumes from its branch; memories
learned since are kept. Revert the commit that caused the trouble (a bad PRD
edit) too, or the next reconcile plans it again.`,
    )
    .action(async (ref: string, opts: RestoreOptions) => {
      process.env.LOG_LEVEL ??= 'warn';
      process.exitCode = await withDatabase(async (db) => {
        const project = await resolveProject(db.pool, ref);
        const repo = project.working_path;
        if (!repo)
          throw new SamgitaError('NOT_FOUND', `project ${project.name} has no repository on this machine`, {
            hint: 'the state commits live in the repository (refs/samgita/state)',
          });
        const out = process.stdout;
        if (!opts.snapshot) {
          const log = await stateLog(repo, 50);
          if (opts.json) out.write(`${JSON.stringify(log, null, 2)}\n`);
          else {
            out.write(
              `${pc.bold(project.name)}: ${log.length ? 'state commits, newest first' : 'no state commits yet'}\n`,
            );
            for (const l of log) out.write(`  ${pc.cyan(l.sha.slice(0, 12))}  ${l.at}  ${l.subject}\n`);
            if (log.length)
              out.write(`\nsamgita restore ${project.name} --snapshot <commit|time> shows what would change\n`);
          }
          return 0;
        }
        const plan = await planRestore(db.pool, project.id, repo, opts.snapshot);
        if (opts.json && !opts.yes) {
          out.write(`${JSON.stringify({ commit: plan.commit, diff: plan.diff, applied: false }, null, 2)}\n`);
          return 0;
        }
        out.write(
          `${pc.bold(project.name)}: back to state commit ${pc.cyan(plan.commit.sha.slice(0, 12))} of ${plan.commit.at}\n`,
        );
        out.write(formatStateDiff(plan.diff));
        if (!opts.yes) {
          out.write(`\nnothing changed; run again with --yes to roll back\n`);
          return 0;
        }
        const r = await applyRestore(db.pool, project.id, repo, plan, CLI_ACTOR);
        out.write(
          `\nrolled back: ${r.cancelled} task(s) created since cancelled; the project is paused — \`samgita resume ${project.name}\` to continue\n`,
        );
        return 0;
      });
    });
}

/** The changes a rollback makes, like `samgita plan` shows a plan. */
export function formatStateDiff(d: StateDiff): string {
  const lines: string[] = [];
  for (const p of d.project) lines.push(`  ${pc.yellow('~')} project ${p.field}: ${p.from} → ${p.to}`);
  const pt = (p: TaskPoint) => `${p.status}${p.step ? ` at ${p.step}` : ''} (attempts ${p.attempts})`;
  for (const t of d.tasks) {
    if (t.kind === 'changed') lines.push(`  ${pc.yellow('~')} ${t.key}: ${pt(t.from)} → ${pt(t.to)}`);
    else if (t.kind === 'added') lines.push(`  ${pc.green('+')} ${t.key}: ${pt(t.to)} (back in the plan)`);
    else lines.push(`  ${pc.red('-')} ${t.key}: ${pt(t.from)} → cancelled (not in the snapshot)`);
  }
  if (d.memories.from !== d.memories.to)
    lines.push(
      `  memories: ${d.memories.from} now, ${d.memories.to} at the snapshot (kept: what was learned since stays)`,
    );
  if (!lines.length) lines.push('  no changes: the project is as the snapshot has it');
  return `${lines.join('\n')}\n`;
}
