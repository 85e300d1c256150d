/**
 * Calls made to a Claude API that answers 529 (overloaded) for a while, with
 * N tasks ready at once: `samgita run` as a user starts it, the real Claude Code
 * CLI (its own retries at their defaults), a local Messages API that answers
 * 529 to every call for MINUTES minutes and normally afterwards.
 *
 *   DATABASE_URL=postgres://… npx tsx bench/overload.ts [minutes=10] [tasks=8]
 *
 * Prints the calls made during the overload, the probes, and when the run
 * ended. Run it with SAMGITA_BIN=<another checkout>/bin/samgita.js to compare.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startMessagesServer } from '../test/support/messages-server/index.js';
import { commitRepo, freshDatabase } from './support.js';

const minutes = Number(process.argv[2] ?? 10);
const tasks = Number(process.argv[3] ?? 8);
const bin = process.env.SAMGITA_BIN ?? path.resolve(import.meta.dirname, '../bin/samgita.js');
const claude = path.resolve(import.meta.dirname, '../node_modules/.bin/claude');

const db = await freshDatabase(4);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-overload-'));
const repo = path.join(dir, 'repo');
fs.mkdirSync(repo);
const rows = Array.from({ length: tasks }, (_, i) => `| FR-${i + 1} | Feature number ${i + 1} | P1 |`).join('\n');
fs.writeFileSync(
  path.join(repo, 'PRD.md'),
  `# Bench\n\n## Functional Requirements\n\n| ID | Requirement | Priority |\n|----|----|----|\n${rows}\n`,
);
fs.writeFileSync(
  path.join(repo, 'samgita.yaml'),
  // A checkout from before limits.overload_give_up existed is compared with BENCH_OLD=1.
  `phases: [development]\nlimits:\n  max_concurrent_agents: ${tasks}\n${process.env.BENCH_OLD ? '' : `  overload_give_up: ${minutes * 2}m\n`}verify:\n  test: "true"\n`,
);
commitRepo(repo);

const started = Date.now();
const overUntil = started + minutes * 60_000;
const server = await startMessagesServer({
  script: {
    turns: [{ text: 'Done.' }],
    turnFor: () => (Date.now() < overUntil ? { status: 529, message: 'Overloaded' } : { text: 'Done.' }),
  },
});
const child = spawn(process.execPath, [bin, 'run', repo, '--no-progress'], {
  env: {
    PATH: process.env.PATH,
    HOME: dir,
    DATABASE_URL: db.url,
    SAMGITA_HOME: path.join(dir, 'home'),
    SAMGITA_CLAUDE_BIN: claude,
    ANTHROPIC_BASE_URL: server.url,
    ANTHROPIC_API_KEY: 'sk-ant-bench',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d: Buffer) => {
  out += d.toString();
});
const code = await new Promise<number | null>((r) => child.once('exit', r));
const ended = Date.now();
const posts = server.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/v1/messages'));
const during = posts.filter((r) => r.answer === 'error:529');
console.log(out.split('\n').slice(-12).join('\n'));
console.log(`\noverload of ${minutes} min, ${tasks} tasks ready, concurrency ${tasks}: ${bin}`);
console.log(`  calls answered 529:            ${during.length}`);
console.log(`  calls after the overload:      ${posts.length - during.length}`);
const secs = during.map((r) => Math.round((r.at - started) / 1000));
console.log(`  when (s after start):          ${secs.join(' ')}`);
console.log(`  run ended ${((ended - overUntil) / 1000).toFixed(1)} s after the overload (exit ${code})`);
if (process.env.BENCH_DEBUG) {
  const steps = await db.pool.query(
    `select s.task_id, s.started_at, s.input->>'probe' as probe, s.output->'outcome'->>'kind' as outcome
       from rarv_steps s where s.step = 'act' order by s.started_at`,
  );
  for (const s of steps.rows)
    console.log(((s.started_at.getTime() - started) / 1000).toFixed(1), s.task_id.slice(0, 8), s.probe, s.outcome);
}
await server.close();
await db.drop();
fs.rmSync(dir, { recursive: true, force: true });
