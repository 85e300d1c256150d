import { execFile } from 'node:child_process';
import path from 'node:path';
import * as core from '@actions/core';
import { upsertComment } from './github-comments.js';
import type { Inputs } from './inputs.js';
import { type ErrorJson, PLAN_MARKER, type PlanJson, renderErrorComment, renderPlanComment } from './plan-comment.js';
import { eventPayload, samgita } from './samgita.js';

/** The files that make up the desired state; a pull request changing neither gets no comment. */
const DESIRED_STATE_FILES = ['PRD.md', 'samgita.yaml'];

interface PullRequestPayload {
  number: number;
  base: { sha: string };
  head: { sha: string };
}

/** git in the checkout, stderr kept out of the log unless asked (probes fail on purpose). */
function git(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, env, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err
        ? typeof (err as { code?: unknown }).code === 'number'
          ? Number((err as { code: number }).code)
          : 1
        : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/**
 * Git authenticated with the job's token, as actions/checkout does it (an
 * extra Authorization header, passed in the environment, never in argv) —
 * unless the checkout already persisted one: two Authorization headers are refused.
 */
async function fetchEnv(repo: string, token: string): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
  const persisted = await git(repo, ['config', '--get-regexp', '^http\\..*extraheader$']);
  if (!token || (persisted.code === 0 && persisted.stdout.trim())) return env;
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  core.setSecret(basic);
  return {
    ...env,
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.extraheader',
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}`,
  };
}

/** Makes sure both commits are in the checkout (a shallow checkout of the merge ref has neither). */
async function ensureCommits(repo: string, shas: string[], token: string): Promise<void> {
  let env: NodeJS.ProcessEnv | null = null;
  for (const sha of shas) {
    if ((await git(repo, ['cat-file', '-e', `${sha}^{commit}`])).code === 0) continue;
    env ??= await fetchEnv(repo, token);
    core.info(`Fetching ${sha} into ${repo}`);
    const r = await git(repo, ['fetch', '--no-tags', '--quiet', '--depth=50', 'origin', sha], env);
    if (r.code !== 0 || (await git(repo, ['cat-file', '-e', `${sha}^{commit}`])).code !== 0) {
      throw new Error(
        `commit ${sha} is not in the checkout at ${repo} and could not be fetched from origin (git fetch exited ${r.code}: ${r.stderr.trim().slice(0, 500)}); check out with fetch-depth: 0`,
      );
    }
  }
}

function outcomeOf(code: number): 'completed' | 'usage_error' | 'failed' {
  return code === 0 ? 'completed' : code === 2 ? 'usage_error' : 'failed';
}

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown.replace(PLAN_MARKER, '').trimStart(), true).write();
}

/**
 * `mode: plan`: comments the plan diff of a pull request's PRD.md / samgita.yaml
 * change (see action/README.md). Both files are read from the pull request's
 * head commit with `git show` — data only, nothing of the pull request runs.
 */
export async function planMode(root: string, inputs: Inputs, env: NodeJS.ProcessEnv): Promise<void> {
  const event = process.env.GITHUB_EVENT_NAME ?? '';
  const payload = eventPayload();
  const pr = payload.pull_request as PullRequestPayload | undefined;
  core.setOutput('comment-url', '');
  if ((event !== 'pull_request' && event !== 'pull_request_target') || !pr?.base?.sha || !pr.head?.sha) {
    core.setOutput('outcome', 'completed');
    core.setOutput('plan', '');
    core.notice(
      `mode plan comments on pull requests (pull_request or pull_request_target events); this is ${event ? `a ${event} event` : 'no event'}: nothing to do`,
    );
    return;
  }
  const baseSha = pr.base.sha;
  const headSha = pr.head.sha;
  const token = env.GITHUB_TOKEN ?? '';
  const top = await git(path.resolve(inputs.repoPath), ['rev-parse', '--show-toplevel']);
  if (top.code !== 0) {
    throw new Error(
      `repo-path ${inputs.repoPath} is not a git checkout: add actions/checkout@v4 (with fetch-depth: 0) before this step`,
    );
  }
  const repo = top.stdout.trim();
  await ensureCommits(repo, [baseSha, headSha], token);

  const diff = await git(repo, ['diff', '--name-only', baseSha, headSha, '--', ...DESIRED_STATE_FILES]);
  if (diff.code !== 0) throw new Error(`git diff ${baseSha} ${headSha} failed: ${diff.stderr.trim()}`);
  const changedFiles = diff.stdout.split('\n').filter(Boolean);
  if (changedFiles.length === 0) {
    core.setOutput('outcome', 'completed');
    core.setOutput('plan', 'No changes. PRD.md and samgita.yaml are the same as on the base branch.');
    core.info(
      `Neither ${DESIRED_STATE_FILES.join(' nor ')} differs between ${baseSha} and ${headSha}: no plan comment`,
    );
    return;
  }

  // Against the recorded plan when there is a database with the project registered, else the base commit's plan.
  const args = ['plan', repo, '--commit', headSha, '--json'];
  const against = [...args, '--against', baseSha];
  let r = await core.group(`samgita ${(inputs.databaseUrl ? args : against).join(' ')}`, () =>
    samgita(root, inputs.databaseUrl ? args : against, env),
  );
  let plan = r.code === 0 ? parseJson<PlanJson>(r.stdout) : null;
  if (inputs.databaseUrl && plan && !plan.project) {
    core.info('The project is not registered in the database: diffing against the plan of the base commit instead');
    r = await core.group(`samgita ${against.join(' ')}`, () => samgita(root, against, env));
    plan = r.code === 0 ? parseJson<PlanJson>(r.stdout) : null;
  }
  let outcome = outcomeOf(r.code);
  if (outcome === 'completed' && !plan) outcome = 'failed';

  const server = process.env.GITHUB_SERVER_URL ?? 'https://github.com';
  const runUrl =
    process.env.GITHUB_RUN_ID && process.env.GITHUB_REPOSITORY
      ? `${server}/${process.env.GITHUB_REPOSITORY}/actions/runs/${process.env.GITHUB_RUN_ID}`
      : undefined;
  const common = { headSha, baseSha, repoRoot: repo, changedFiles, runUrl };
  let body: string;
  let summaryLine: string;
  if (outcome === 'completed' && plan) {
    body = renderPlanComment(plan, common);
    summaryLine = plan.summaryText;
  } else {
    const error = parseJson<ErrorJson>(r.stdout)?.error ?? null;
    body = renderErrorComment(outcome, error, { ...common, exitCode: r.code });
    summaryLine = error ? `error ${error.code}: ${error.message}` : `samgita plan exited with ${r.code}`;
  }
  core.setOutput('outcome', outcome);
  core.setOutput('plan', summaryLine);
  await writeSummary(body);

  const fullName = process.env.GITHUB_REPOSITORY ?? (payload.repository as { full_name?: string })?.full_name ?? '';
  const [owner, name] = fullName.split('/');
  if (!owner || !name) throw new Error('GITHUB_REPOSITORY is not set: cannot tell which repository to comment on');
  const comment = await upsertComment(
    {
      apiUrl: process.env.GITHUB_API_URL ?? 'https://api.github.com',
      owner,
      repo: name,
      issueNumber: pr.number,
      token,
    },
    PLAN_MARKER,
    body,
  );
  core.setOutput('comment-url', comment.url);
  core.info(`${comment.updated ? 'Updated' : 'Posted'} the plan comment: ${comment.url}`);
  if (outcome !== 'completed') core.setFailed(`samgita plan: ${summaryLine} (outcome ${outcome})`);
}
