/**
 * From PRD to integrated product, measured: `samgita run` (the real
 * bin/samgita.js, the real Claude Code CLI against the scripted Messages API)
 * on a 3-requirement PRD of a small CLI with the default phases. Every task's
 * agent writes a note of its own and the development tasks all rewrite
 * README.md, so their merges conflict and go back to their agents. Prints the
 * task count, the most agents at work at once, the conflicts sent back, the
 * wall time and the product's verify; then the plan of a second PRD (plan
 * only), by default ../shared/PRD.md.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/delivery.ts [prd-for-plan-only]
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type AgentRule, scriptedAgent } from '../test/support/messages-server/agent.js';
import { startMessagesServer } from '../test/support/messages-server/index.js';
import { commitRepo, freshDatabase } from './support.js';

const bin = path.resolve(import.meta.dirname, '../bin/samgita.js');
const claude = path.resolve(import.meta.dirname, '../node_modules/.bin/claude');
const planOnly = process.argv[2] ?? path.resolve(import.meta.dirname, '../../shared/PRD.md');

const PRD = `# tally — a command-line counter

## Functional Requirements

| ID | Requirement | Priority |
|----|-------------|----------|
| FR-1 | \`tally add <name>\` increments a named counter stored in ~/.tally.json | P0 |
| FR-2 | \`tally show\` prints every counter, sorted by name | P0 |
| FR-3 | \`tally reset <name>\` sets a counter back to zero | P1 |
`;

function sh(cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

async function main() {
  const db = await freshDatabase();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-bench-delivery-'));
  const repo = path.join(home, 'tally');
  fs.mkdirSync(repo);
  fs.writeFileSync(path.join(repo, 'PRD.md'), PRD);
  fs.writeFileSync(
    path.join(repo, 'package.json'),
    `${JSON.stringify({ name: 'tally', version: '0.0.0', scripts: { test: 'node --test' } }, null, 2)}\n`,
  );
  fs.mkdirSync(path.join(repo, 'test'));
  fs.writeFileSync(path.join(repo, 'test/smoke.test.js'), "require('node:test')('smoke', () => {});\n");
  fs.writeFileSync(path.join(repo, 'samgita.yaml'), 'limits:\n  max_concurrent_agents: 4\n');
  commitRepo(repo);
  const env = { ...process.env, DATABASE_URL: db.url, HOME: home, SAMGITA_HOME: path.join(home, 'samgita') };

  const plan = JSON.parse(sh(repo, process.execPath, [bin, 'plan', repo, '--json'], env)) as {
    tasks: { key: string; phase: string }[];
  };
  const rules: AgentRule[] = plan.tasks.map((t) => ({
    when: new RegExp(`Task ${t.key.replace(/[/.-]/g, '\\$&')}:`),
    write: {
      [`notes/${t.key.replace(/\//g, '-')}.md`]: `# ${t.key}\n\nDone.\n`,
      ...(t.phase === 'development' ? { 'README.md': `# tally\n\n${t.key} was here.\n` } : {}),
    },
  }));
  const server = await startMessagesServer({ script: scriptedAgent(rules) });
  const started = Date.now();
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [bin, 'run', repo, '--json'], {
      env: {
        ...env,
        SAMGITA_CLAUDE_BIN: claude,
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: 'sk-ant-bench',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        CLAUDE_CODE_MAX_RETRIES: '0',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('exit', (c) => {
      fs.writeFileSync(path.join(home, 'summary.json'), out);
      resolve(c);
    });
  });
  const wallS = (Date.now() - started) / 1000;
  await server.close();
  const summary = JSON.parse(fs.readFileSync(path.join(home, 'summary.json'), 'utf8') || '{}');

  const q = async <T>(text: string) => (await db.pool.query(text)).rows as T[];
  const runs = await q<{ s: Date; e: Date }>(
    `select started_at as s, coalesce(ended_at, now()) as e from rarv_steps where step = 'act'`,
  );
  const points = runs.flatMap((r) => [
    [r.s.getTime(), 1],
    [r.e.getTime(), -1],
  ]);
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let now = 0;
  let most = 0;
  for (const [, d] of points) {
    now += d!;
    most = Math.max(most, now);
  }
  const [counts] = await q<{ tasks: number; completed: number; sent_back: number; integrated: number }>(
    `select (select count(*)::int from tasks) as tasks,
            (select count(*)::int from tasks where status = 'completed') as completed,
            (select count(*)::int from events where kind = 'task.sent_back') as sent_back,
            (select count(*)::int from events where kind = 'task.integrated') as integrated`,
  );
  const markers = sh(repo, 'git', ['log', '-p', 'samgita/integration'])
    .split('\n')
    .filter((l) => /^\+(<{7} |>{7} )/.test(l)).length;
  console.log(`3-requirement PRD, default phases, scripted agents, max_concurrent_agents 4`);
  console.log(`  exit ${code}, outcome ${summary.outcome}, wall ${wallS.toFixed(1)} s`);
  console.log(
    `  tasks ${counts!.tasks} (${counts!.completed} completed), integrated ${counts!.integrated}, conflicts sent back ${counts!.sent_back}`,
  );
  console.log(`  most agents in Act at once: ${most}; CLI runs: ${runs.length}`);
  console.log(
    `  product: ${summary.integration?.branch} at ${String(summary.integration?.head).slice(0, 12)}, verify ${summary.integration?.verify?.passed ? 'passed' : 'not passed'} (${summary.integration?.verify?.commands?.join(', ')}); conflict-marker lines ever integrated: ${markers}`,
  );

  if (fs.existsSync(planOnly)) {
    const other = path.join(home, 'plan-only');
    fs.mkdirSync(other);
    fs.copyFileSync(planOnly, path.join(other, 'PRD.md'));
    commitRepo(other);
    const p = JSON.parse(sh(other, process.execPath, [bin, 'plan', other, '--json'], env)) as {
      tasks: { key: string; phase: string; areas: string[]; dependsOn: string[] }[];
    };
    const byPhase = new Map<string, number>();
    for (const t of p.tasks) byPhase.set(t.phase, (byPhase.get(t.phase) ?? 0) + 1);
    const dev = p.tasks.filter((t) => t.phase === 'development');
    const areas = new Set(dev.flatMap((t) => t.areas));
    console.log(`plan only: ${planOnly}`);
    console.log(`  tasks ${p.tasks.length}: ${[...byPhase].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  development: ${dev.length} tasks over ${areas.size} distinct areas`);
  }
  await db.drop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
