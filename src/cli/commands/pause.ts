import type { Command } from 'commander';
import pc from 'picocolors';
import { type ControlAction, controlProject, removeProjectWorktrees, resolveProject } from '../../projects/control.js';
import type { Actor } from '../../store/events.js';
import { withDatabase } from '../context.js';

type Control = Exclude<ControlAction, 'start'>;

const DESCRIPTIONS: Record<Control, string> = {
  pause:
    'Pause a project: nothing new is claimed (queued tasks go back to pending); running tasks reach their next checkpoint. Everything is kept.',
  resume: 'Resume a paused (or failed) project: it runs again and whatever is ready is queued.',
  cancel:
    'Cancel a project: open tasks are cancelled, their queue jobs removed, running agents stopped at their next checkpoint, and its worktrees removed (branches are kept).',
  archive: 'Archive a finished (completed, failed or cancelled) project: hidden from `samgita status` unless --all.',
};

interface ControlOptions {
  reason?: string;
  wait?: string;
}

/** One command per control action; the same shape for each. */
export function registerControlCommand(program: Command, action: Control): void {
  const cmd = program
    .command(action)
    .description(DESCRIPTIONS[action])
    .argument('<project>', 'project id, name or repository path')
    .option('--reason <text>', 'recorded with the event');
  if (action === 'cancel')
    cmd.option('--wait <seconds>', 'how long to wait for running agents to stop before removing worktrees', '30');
  cmd.action(async (ref: string, opts: ControlOptions) => {
    process.env.LOG_LEVEL ??= 'warn';
    process.exitCode = await withDatabase(async (db, env) => {
      const actor: Actor = { type: 'cli', id: process.env.USER ?? null };
      const project = await resolveProject(db.pool, ref);
      const r = await controlProject(db.pool, project.id, action, actor, opts.reason);
      const out = process.stdout;
      out.write(`${pc.bold(project.name)} ${r.from} → ${r.to}\n`);
      if (action === 'pause') {
        out.write(`  ${r.requeued} queued task(s) handed back; running tasks stop claiming at their next checkpoint\n`);
      }
      if (action === 'resume') out.write(`  ${r.enqueued} task(s) queued\n`);
      if (action === 'cancel') {
        out.write(`  ${r.cancelledTasks} open task(s) cancelled, ${r.stoppedRunning} running task(s) stopping\n`);
        const waitMs = Math.max(0, Number(opts.wait ?? '30')) * 1000;
        const wt = await removeProjectWorktrees(db.pool, project, env.samgitaHome, { waitMs, actor });
        out.write(
          `  ${wt.removed.length} worktree(s) removed${wt.stillRunning ? ` (${wt.stillRunning} agent run(s) had not ended)` : ''}\n`,
        );
      }
      return 0;
    });
  });
}

export function registerPauseCommand(program: Command): void {
  registerControlCommand(program, 'pause');
}
