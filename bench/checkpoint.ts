/**
 * What a state commit costs (refs/samgita/state), by project size.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/checkpoint.ts [requirements=1000] [rounds=5]
 *
 * Plans a PRD of N functional requirements (one task each, plus the other
 * phases' tasks) into a scratch database, with 5 memories per task and a
 * continuity log on every tenth task, then times: reading the state from
 * PostgreSQL, writing a state commit (read + files + redaction + git plumbing),
 * writing it again unchanged (no commit), reading it back from git, and an
 * import into a second project. Prints the ref's size.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stateToFiles } from '../src/checkpoint/document.js';
import { redactStateFiles } from '../src/checkpoint/redact.js';
import { checkpointProject, readRecordedState, us } from '../src/checkpoint/write-state.js';
import { defaultConfig } from '../src/config/samgita-yaml/schema.js';
import { reconcileProject } from '../src/reconcile/reconcile.js';
import { readProjectStateAtOnce } from '../src/store/checkpoint.js';
import { registerProject } from '../src/store/projects.js';
import { recordRevision } from '../src/store/revisions.js';
import { commitRepo, fmt, freshDatabase, pct } from './support.js';

const N = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 5);
const actor = { type: 'cli' as const, id: 'bench' };

const rows = Array.from(
  { length: N },
  (_, i) => `| FR-${i + 1} | Feature ${i + 1}: handle case ${i} of the widget | P1 |`,
);
const prd = `# Bench\n\n## Functional Requirements\n\n| ID | Requirement | Priority |\n|----|-------------|----------|\n${rows.join('\n')}\n`;
const repo = mkdtempSync(path.join(os.tmpdir(), 'samgita-ckpt-bench-'));
writeFileSync(path.join(repo, 'PRD.md'), prd);
commitRepo(repo);

const db = await freshDatabase(10);
try {
  const { project } = await registerProject(
    db.pool,
    { name: 'bench', gitUrl: `file://${repo}`, workingPath: repo, defaultBranch: 'main' },
    actor,
  );
  const config = defaultConfig();
  const { revision } = await recordRevision(
    db.pool,
    project.id,
    { commitSha: null, content: prd, config, configText: '', source: 'api' },
    actor,
  );
  await reconcileProject(db.pool, {
    projectId: project.id,
    revisionId: revision.id,
    prd,
    config,
    dryRun: false,
    actor,
  });
  await db.pool.query(
    `insert into memories (project_id, task_id, type, content, importance)
     select t.project_id, t.id, 'semantic', 'Task ' || t.key || ' learned fact ' || g || ' about module ' || (g * 7 % 13), 0.5
       from tasks t, generate_series(1, 5) g where t.project_id = $1`,
    [project.id],
  );
  await db.pool.query(
    `update tasks set checkpoint = jsonb_build_object('continuity', jsonb_build_array(repeat('verify failed: expected 1 to be 2 ', 40)))
      where project_id = $1 and (hashtext(key) % 10) = 0`,
    [project.id],
  );
  const tasks = (await db.pool.query('select count(*)::int as n from tasks where project_id = $1', [project.id]))
    .rows[0].n;
  const owner = await us(db.pool);

  const time = async (fn: () => Promise<unknown>) => {
    const out: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
    return out;
  };
  const read = await time(() => readProjectStateAtOnce(db.pool, project.id, owner, new Date()));
  const state = (await readProjectStateAtOnce(db.pool, project.id, owner, new Date()))!;
  const redact = await time(() => redactStateFiles(stateToFiles(state)));
  // Each round changes one task, so each writes a commit.
  let k = 0;
  const write = await time(async () => {
    await db.pool.query(
      `update tasks set attempts = attempts + 1 where project_id = $1 and key = (
        select key from tasks where project_id = $1 order by key offset $2 limit 1)`,
      [project.id, k++ % tasks],
    );
    const r = await checkpointProject(db.pool, project.id, repo);
    if (r.kind !== 'written') throw new Error(`expected a commit, got ${r.kind}`);
  });
  const unchanged = await time(async () => {
    const r = await checkpointProject(db.pool, project.id, repo);
    if (r.kind !== 'unchanged') throw new Error(`expected no commit, got ${r.kind}`);
  });
  // The runner's checkpointer keeps a mark per project: nothing moved, nothing read.
  const memo = new Map();
  await checkpointProject(db.pool, project.id, repo, { memo });
  const marked = await time(async () => {
    const r = await checkpointProject(db.pool, project.id, repo, { memo });
    if (r.kind !== 'unchanged') throw new Error(`expected no commit, got ${r.kind}`);
  });
  const readBack = await time(() => readRecordedState(repo));
  const size = execFileSync('git', ['count-objects', '-vH'], { cwd: repo }).toString();
  const files = stateToFiles(state);
  const bytes = Object.values(files).reduce((a, f) => a + Buffer.byteLength(f), 0);

  const line = (name: string, v: number[]) =>
    `${name.padEnd(40)} p50 ${fmt(pct(v, 50)).padStart(11)}   max ${fmt(Math.max(...v)).padStart(11)}`;
  console.log(
    `checkpoint: ${N} requirements → ${tasks} tasks, ${tasks * 5} memories, ${Object.keys(files).length} files, ${(bytes / 1024).toFixed(0)} KiB of state; ${ROUNDS} rounds, ${os.cpus().length} cores`,
  );
  console.log(line('read from PostgreSQL (one snapshot)', read));
  console.log(line('files + redaction (secret scan)', redact));
  console.log(line('state commit written', write));
  console.log(line('state unchanged (no commit)', unchanged));
  console.log(line("unchanged, the runner's mark (no read)", marked));
  console.log(line('read back from git', readBack));
  console.log(
    `repository objects after ${ROUNDS} commits: ${size.split('\n').find((l) => l.startsWith('size-pack') || l.startsWith('size:'))}`,
  );
} finally {
  await db.drop();
}
