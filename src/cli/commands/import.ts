import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import pc from 'picocolors';
import { fetchRecordedState, importProject } from '../../checkpoint/import.js';
import { SamgitaError } from '../../errors.js';
import { cloneAtomically } from '../../git/clone.js';
import { inspectRepo } from '../../git/repo.js';
import { classifyGitUrl, redactUrl } from '../../git/url.js';
import { canonicalGitUrl } from '../../projects/identity.js';
import { withDatabase } from '../context.js';
import { CLI_ACTOR } from '../reconcile-local.js';

interface ImportOptions {
  takeOver?: boolean;
  json?: boolean;
  into?: string;
}

export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description(
      "Rebuild a project from its repository's Samgita state (refs/samgita/state) in this database, and resume it where it stood.",
    )
    .argument('<repo>', 'a local repository path, or a git URL to clone')
    .option('--take-over', 'import even though the state says another deployment holds the project (it stops it)')
    .option('--into <dir>', 'where to clone a git URL (default: $SAMGITA_HOME/projects/<name>)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The state ref holds the plan (tasks, dependencies, statuses, RARV steps,
attempts, branch heads, pull requests), the continuity logs, the memories and
the cost. Git history wins where it is newer: a task the integration branch
merged after the last state commit (its Samgita-Task trailer) is completed.
Completed tasks stay completed; a task in the middle of its RARV loop resumes at
its step on its branch. \`samgita run <repo>\` (or a runner) then finishes it.`,
    )
    .action(async (repoArg: string, opts: ImportOptions) => {
      process.env.LOG_LEVEL ??= 'warn';
      process.exitCode = await withDatabase(async (db, env) => {
        const { dir: repoDir, cloned } = await localRepository(repoArg, opts.into, env.samgitaHome);
        // A fresh clone has the remote's task branches only as remote-tracking refs and no state ref;
        // a local repository is the record as it is (its origin's copy may be older).
        if (cloned) await fetchRecordedState(repoDir);
        const repo = await inspectRepo(repoDir);
        const r = await importProject(db.pool, {
          repo: repo.root,
          gitUrl: canonicalGitUrl(repo.root, repo.originUrl),
          name: path.basename(repo.root),
          takeOver: opts.takeOver === true,
          actor: CLI_ACTOR,
        });
        const counts = new Map<string, number>();
        for (const t of r.state.tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
        if (opts.json) {
          process.stdout.write(
            `${JSON.stringify(
              {
                project_id: r.projectId,
                state_written_at: r.state.written_at,
                from: r.state.owner,
                took_over: r.ownership.kind === 'taken_over',
                tasks: Object.fromEntries(counts),
                resumed: r.state.tasks
                  .filter((t) => t.status === 'running' || t.status === 'queued')
                  .map((t) => ({ key: t.key, step: t.rarv_step })),
                from_git: r.changes,
                state_commit: r.stateCommit,
              },
              null,
              2,
            )}\n`,
          );
          return 0;
        }
        const out = process.stdout;
        out.write(
          `${pc.bold('samgita')} imported ${pc.cyan(r.state.project.name)} (${r.projectId}) from the state of ${r.state.written_at}\n`,
        );
        out.write(
          `  ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ') || 'no tasks'}; ${r.state.memories.length} memories\n`,
        );
        for (const t of r.state.tasks.filter((t) => t.status === 'running' || t.status === 'queued'))
          out.write(`  resumes ${t.key} at ${t.rarv_step ?? 'reason'}\n`);
        for (const c of r.changes)
          out.write(
            `  ${c.key}: ${c.what === 'integrated_since' ? `merged since (${c.sha.slice(0, 12)}): completed` : `branch moved on to ${c.sha.slice(0, 12)}`}\n`,
          );
        if (r.ownership.kind === 'taken_over')
          out.write(
            pc.yellow(`  took over from deployment ${r.ownership.from.deployment} on ${r.ownership.from.host}\n`),
          );
        out.write(`  project status: ${r.state.project.status}; next: samgita run ${repo.root}\n`);
        return 0;
      });
    });
}

/** The repository on this machine: the path itself, or a clone of the URL. */
async function localRepository(
  arg: string,
  into: string | undefined,
  samgitaHome: string,
): Promise<{ dir: string; cloned: boolean }> {
  const kind = (() => {
    try {
      return classifyGitUrl(arg);
    } catch {
      return null;
    }
  })();
  if (existsSync(arg) || kind === null || kind.kind === 'local') {
    const p = kind?.kind === 'local' ? kind.path : arg;
    return { dir: path.resolve(p), cloned: false };
  }
  const name = path.basename(arg.replace(/\/+$/, '')).replace(/\.git$/, '') || 'project';
  const dest = path.resolve(into ?? path.join(samgitaHome, 'projects', name));
  if (existsSync(dest))
    throw new SamgitaError('CONFLICT', `${dest} already exists`, {
      hint: `import the clone that is there (\`samgita import ${dest}\`) or pass --into <dir>`,
    });
  try {
    await cloneAtomically(arg, dest, { timeoutMs: 600_000 });
  } catch (err) {
    throw new SamgitaError('GIT_FAILED', `could not clone ${redactUrl(arg)}: ${(err as Error).message}`);
  }
  return { dir: dest, cloned: true };
}
