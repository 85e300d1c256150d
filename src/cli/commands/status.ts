import type { Command } from 'commander';
import pc from 'picocolors';
import { resolveProject } from '../../projects/control.js';
import { listProjectStatuses, type ProjectStatusInfo, projectStatus } from '../../reconcile/status.js';
import type { Queryable } from '../../store/connection.js';
import { listRunners } from '../../store/read/projects.js';
import { withDatabase } from '../context.js';
import { formatTokens, formatUsd } from '../progress.js';

interface StatusOptions {
  all?: boolean;
  json?: boolean;
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('Sync status, health, phase, tasks and cost of a project, or a table of all projects.')
    .argument('[project]', 'project id, name or repository path (omitted: every project)')
    .option('-a, --all', 'include archived projects in the table')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Sync: synced (PRD.md + samgita.yaml at HEAD are the reconciled revision),
out_of_sync (a newer PRD is not reconciled yet), unknown (repository unreadable).
Health: healthy (nothing wrong, nothing to do), progressing (work under way or
re-plan pending), degraded (failed/dead-lettered tasks, failed project, or
agent runs on a dead runner), suspended (paused, cancelled or archived).`,
    )
    .action(async (ref: string | undefined, opts: StatusOptions) => {
      process.env.LOG_LEVEL ??= 'warn';
      process.exitCode = await withDatabase(async (db) => {
        if (ref) {
          const p = await resolveProject(db.pool, ref);
          const info = await projectStatus(db.pool, p.id);
          process.stdout.write(
            opts.json
              ? `${JSON.stringify(info, null, 2)}\n`
              : formatStatus(info) + formatRunners(await liveRunners(db.pool)),
          );
          return 0;
        }
        const all = await listProjectStatuses(db.pool, { all: opts.all === true });
        process.stdout.write(
          opts.json
            ? `${JSON.stringify(all, null, 2)}\n`
            : formatTable(all) + formatRunners(await liveRunners(db.pool)),
        );
        return 0;
      });
    });
}

const HEALTH_COLOR: Record<string, (s: string) => string> = {
  healthy: pc.green,
  progressing: pc.cyan,
  degraded: pc.red,
  suspended: pc.yellow,
};

function short(sha: string | null): string {
  return sha ? sha.slice(0, 12) : '-';
}

export function formatStatus(s: ProjectStatusInfo): string {
  const color = HEALTH_COLOR[s.health.state] ?? ((x: string) => x);
  const total = Object.values(s.tasks).reduce((a, b) => a + b, 0);
  const lines = [
    `${pc.bold(s.name)} (${s.id})`,
    `  status:  ${s.status}${s.statusReason ? ` (${s.statusReason})` : ''}`,
    `  phase:   ${s.phase}${s.perpetualCycle > 0 ? ` · perpetual cycle ${s.perpetualCycle}` : ''}`,
    `  sync:    ${s.sync.state} · recorded ${short(s.sync.recordedCommit)}${s.sync.headCommit ? ` · HEAD ${short(s.sync.headCommit)}` : ''} · ${s.sync.detail}`,
    `  health:  ${color(s.health.state)} · ${s.health.reasons.join('; ')}`,
    `  tasks:   ${total} · ${
      Object.entries(s.tasks)
        .sort()
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'none'
    }${s.activeRuns ? ` · ${s.activeRuns} agent(s) running` : ''}`,
    `  cost:    ${formatUsd(s.costUsd)} · tokens ${formatTokens(s.tokens.total)} (in ${formatTokens(s.tokens.input)}, out ${formatTokens(s.tokens.output)}, cache read ${formatTokens(s.tokens.cacheRead)}, cache write ${formatTokens(s.tokens.cacheWrite)})`,
  ];
  if (s.phases.length) {
    lines.push('  phases:');
    for (const p of s.phases) {
      const n = Object.values(p.tasks).reduce((a, b) => a + b, 0);
      const done = (p.tasks.completed ?? 0) + (p.tasks.cancelled ?? 0);
      const rest = Object.entries(p.tasks)
        .filter(([k]) => k !== 'completed' && k !== 'cancelled')
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      lines.push(
        `    ${(p.phase === s.phase ? '▸ ' : '  ') + p.phase.padEnd(15)} ${done}/${n} done${rest ? ` · ${rest}` : ''}`,
      );
    }
  }
  if (s.provider)
    lines.push(
      pc.yellow(
        `  provider: ${s.provider.message} · since ${s.provider.since.toLocaleTimeString()} · ${s.provider.failures} failed call(s)`,
      ),
    );
  if (s.integration) {
    const i = s.integration;
    const verdict = !i.verify
      ? pc.yellow('not verified at this head yet')
      : i.verify.status === 'passed'
        ? pc.green(`verify passed (${i.verify.commands.join(', ')})`)
        : i.verify.status === 'unverified'
          ? pc.yellow('unverified: no verify command configured or found')
          : pc.red(`verify failed: ${i.verify.summary.split('\n')[0]}`);
    lines.push(`  product: ${i.branch}${i.head ? ` at ${short(i.head)}` : ''} · ${verdict}`);
    for (const e of i.queue)
      lines.push(
        `    ${e.state === 'sent_back' ? pc.yellow('sent back') : e.state}  ${e.key}${e.note ? ` · ${e.note}` : ''}`,
      );
  }
  if (s.workingPath) lines.push(`  repo:    ${s.workingPath}`);
  return `${lines.join('\n')}\n`;
}

export function formatTable(rows: readonly ProjectStatusInfo[]): string {
  if (rows.length === 0) return 'No projects. Start one with `samgita run <repo-dir>`.\n';
  const head = ['NAME', 'STATUS', 'PHASE', 'SYNC', 'HEALTH', 'TASKS', 'COST', 'ID'];
  const data = rows.map((s) => {
    const total = Object.values(s.tasks).reduce((a, b) => a + b, 0);
    const done = (s.tasks.completed ?? 0) + (s.tasks.cancelled ?? 0);
    return [s.name, s.status, s.phase, s.sync.state, s.health.state, `${done}/${total}`, formatUsd(s.costUsd), s.id];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[fmt(head), ...data.map(fmt)].join('\n')}\n`;
}

type RunnerInfo = Awaited<ReturnType<typeof listRunners>>[number];

async function liveRunners(db: Queryable): Promise<RunnerInfo[]> {
  return (await listRunners(db)).filter((r) => r.status === 'active' || r.status === 'draining');
}

/** The live runners and whether each sandboxes its agents (a runner that does not is worth seeing at once). */
export function formatRunners(runners: readonly RunnerInfo[]): string {
  if (runners.length === 0) return '';
  const lines = runners.map((r) => {
    const box =
      r.sandbox.state === 'bubblewrap'
        ? pc.green(`sandboxed (${r.sandbox.detail ?? 'bubblewrap'})`)
        : pc.yellow(r.sandbox.state === 'off' ? 'NOT sandboxed (--no-sandbox)' : `cannot sandbox: ${r.sandbox.detail}`);
    return `  ${r.name.padEnd(24)} ${r.status.padEnd(8)} ${box}`;
  });
  return `\nrunners:\n${lines.join('\n')}\n`;
}
