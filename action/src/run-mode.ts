import { appendFileSync } from 'node:fs';
import * as core from '@actions/core';
import type { Inputs } from './inputs.js';
import { samgita } from './samgita.js';

/** What `samgita run --json` prints (the parts the action reads). */
interface RunSummary {
  outcome: string;
  exit_code: number;
  project: { id: string; name: string; status: string; reason: string | null };
  integration: { branch: string; head: string; verify: { passed: boolean; status: string } } | null;
  plan: { text?: string };
  tasks: { total: number; completed: number; failed: number; unfinished: number; awaiting_review?: number };
  cost_usd: number;
  tokens: number;
  pull_requests: { task: string; number: number | null; url: string }[];
  failures: { task: string; error: string | null }[];
}

const OUTCOMES: Record<number, string> = {
  0: 'completed',
  1: 'failed',
  2: 'usage_error',
  3: 'action_required',
  130: 'interrupted',
};

/**
 * `mode: run`: `samgita run --json --publish` in the checkout; its summary
 * becomes the step's outputs and job summary, and the step fails by the
 * exit-code contract (anything but completed).
 */
export async function runMode(root: string, inputs: Inputs, env: NodeJS.ProcessEnv): Promise<void> {
  const args = ['run', inputs.repoPath, '--json', '--publish', '--no-progress'];
  if (inputs.concurrency) args.push('--concurrency', String(inputs.concurrency));
  if (inputs.budgetUsd) args.push('--budget-usd', String(inputs.budgetUsd));
  if (inputs.phases.length) args.push('--phases', inputs.phases.join(','));
  const r = await samgita(root, args, env);
  let summary: RunSummary | null = null;
  try {
    summary = JSON.parse(r.stdout) as RunSummary;
  } catch {
    if (r.stdout.trim()) core.info(r.stdout);
  }
  const outcome = summary?.outcome ?? OUTCOMES[r.code] ?? 'failed';
  core.setOutput('outcome', outcome);
  if (summary) {
    const prs = summary.pull_requests.map((p) => ({ task: p.task, number: p.number, url: p.url }));
    core.setOutput('status', summary.project.status);
    core.setOutput('plan', summary.plan.text ?? '');
    core.setOutput('tasks-completed', String(summary.tasks.completed));
    core.setOutput('tasks-failed', String(summary.tasks.failed));
    core.setOutput('cost-usd', summary.cost_usd.toFixed(4));
    core.setOutput('tokens', String(summary.tokens));
    core.setOutput('pull-requests', JSON.stringify(prs));
    core.setOutput('integration-branch', summary.integration?.branch ?? '');
    core.setOutput('summary-json', JSON.stringify(summary));
    writeJobSummary(summary, prs);
  }
  if (outcome !== 'completed') {
    const why = summary?.project.reason ?? summary?.failures.map((f) => `${f.task}: ${f.error ?? 'failed'}`).join('; ');
    core.setFailed(`samgita run ended ${outcome} (exit ${r.code})${why ? `: ${why}` : ''}`);
  }
}

function writeJobSummary(s: RunSummary, prs: { task: string; number: number | null; url: string }[]): void {
  const file = process.env.GITHUB_STEP_SUMMARY;
  if (!file) return;
  const rows = [
    `### Samgita: ${s.outcome} (project ${s.project.status})`,
    '',
    s.plan.text ?? '',
    '',
    '| completed | waiting for review | failed | not finished | cost | tokens |',
    '|---|---|---|---|---|---|',
    `| ${s.tasks.completed} | ${s.tasks.awaiting_review ?? 0} | ${s.tasks.failed} | ${s.tasks.unfinished} | $${s.cost_usd.toFixed(2)} | ${s.tokens} |`,
    '',
  ];
  if (prs.length) {
    rows.push('| task | pull request |', '|---|---|');
    for (const p of prs) rows.push(`| \`${p.task}\` | [#${p.number ?? '?'}](${p.url}) |`);
    rows.push('');
  }
  if (s.integration)
    rows.push(`Integration branch: \`${s.integration.branch}\` (verify ${s.integration.verify.status})`, '');
  for (const f of s.failures) rows.push(`- ✗ \`${f.task}\`: ${f.error ?? 'failed'}`);
  appendFileSync(file, `${rows.join('\n')}\n`);
}
