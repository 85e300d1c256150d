import * as core from '@actions/core';

/** The action's inputs, read once and checked, secrets masked before anything can print them. */
export interface Inputs {
  mode: 'run' | 'plan';
  repoPath: string;
  anthropicApiKey: string;
  claudeCodeOauthToken: string;
  githubToken: string;
  databaseUrl: string;
  budgetUsd: number | null;
  phases: string[];
  concurrency: number | null;
}

export class InputError extends Error {
  override readonly name = 'InputError';
}

function positive(name: string, raw: string, integer: boolean): number | null {
  if (raw === '') return null;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new InputError(`input ${name} must be a positive ${integer ? 'whole number' : 'number'}, got "${raw}"`);
  }
  return n;
}

export function readInputs(): Inputs {
  const secret = (name: string) => {
    const v = core.getInput(name);
    if (v) core.setSecret(v);
    return v;
  };
  const anthropicApiKey = secret('anthropic-api-key');
  const claudeCodeOauthToken = secret('claude-code-oauth-token');
  const githubToken = secret('github-token');
  const databaseUrl = secret('database-url');
  const mode = core.getInput('mode') || 'run';
  if (mode !== 'run' && mode !== 'plan') throw new InputError(`input mode must be "run" or "plan", got "${mode}"`);
  if (mode === 'run' && !anthropicApiKey && !claudeCodeOauthToken && !process.env.ANTHROPIC_API_KEY) {
    throw new InputError(
      'mode run needs anthropic-api-key or claude-code-oauth-token (store it as a repository secret and pass it: anthropic-api-key: ${{ secrets.ANTHROPIC_API_KEY }})',
    );
  }
  return {
    mode,
    repoPath: core.getInput('repo-path') || '.',
    anthropicApiKey,
    claudeCodeOauthToken,
    githubToken,
    databaseUrl,
    budgetUsd: positive('budget-usd', core.getInput('budget-usd'), false),
    phases: core
      .getInput('phases')
      .split(/[\s,]+/)
      .filter(Boolean),
    concurrency: positive('concurrency', core.getInput('concurrency'), true),
  };
}
