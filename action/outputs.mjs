// Runs `samgita run --json` and turns its summary into step outputs and a job summary.
import { spawnSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';

const [repo = '.', concurrency = ''] = process.argv.slice(2);
const args = ['run', '--json', repo, ...(concurrency ? ['--concurrency', concurrency] : [])];
if (!process.env.DATABASE_URL) delete process.env.DATABASE_URL;
const r = spawnSync('samgita', args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
let summary = null;
try {
  summary = JSON.parse(r.stdout);
} catch {
  process.stderr.write(r.stdout ?? '');
}
const out = process.env.GITHUB_OUTPUT;
const set = (k, v) => out && appendFileSync(out, `${k}<<__SAMGITA__\n${v}\n__SAMGITA__\n`);
if (summary) {
  set('status', summary.project.status);
  set('plan', summary.plan.text ?? '');
  set('tasks-completed', String(summary.tasks.completed));
  set('tasks-failed', String(summary.tasks.failed));
  set('cost-usd', summary.cost_usd.toFixed(4));
  set('tokens', String(summary.tokens));
  set('pull-requests', JSON.stringify(summary.pull_requests));
  set('summary-json', JSON.stringify(summary));
  if (process.env.GITHUB_STEP_SUMMARY) {
    appendFileSync(
      process.env.GITHUB_STEP_SUMMARY,
      `### Samgita: ${summary.project.status}\n\n${summary.plan.text ?? ''}\n\n| tasks done | failed | cost | tokens |\n|---|---|---|---|\n| ${summary.tasks.completed} | ${summary.tasks.failed} | $${summary.cost_usd.toFixed(2)} | ${summary.tokens} |\n`,
    );
  }
}
process.exit(r.status ?? 1);
