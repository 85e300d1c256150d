import * as core from '@actions/core';
import { InputError, readInputs } from './inputs.js';
import { planMode } from './plan-mode.js';
import { runMode } from './run-mode.js';
import { install, samgitaRoot } from './samgita.js';

/**
 * The Samgita GitHub Action: `mode: run` plans and runs PRD.md, pushing task
 * branches and opening one pull request per task; `mode: plan` comments the
 * plan a pull request's PRD.md / samgita.yaml change would cause. Samgita runs
 * from this action's own checkout.
 */
async function main(): Promise<void> {
  try {
    const inputs = readInputs();
    const root = samgitaRoot();
    const { claudeBin } = await install(root);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      SAMGITA_HOME: process.env.SAMGITA_HOME ?? `${process.env.RUNNER_TEMP ?? '/tmp'}/samgita`,
      SAMGITA_CLAUDE_BIN: claudeBin,
      GITHUB_TOKEN: inputs.githubToken || process.env.GITHUB_TOKEN || '',
    };
    if (inputs.databaseUrl) env.DATABASE_URL = inputs.databaseUrl;
    else delete env.DATABASE_URL;
    if (inputs.anthropicApiKey) env.ANTHROPIC_API_KEY = inputs.anthropicApiKey;
    if (inputs.claudeCodeOauthToken) env.CLAUDE_CODE_OAUTH_TOKEN = inputs.claudeCodeOauthToken;
    // The action's inputs reach Samgita through its own flags, never as INPUT_* variables agents could read.
    for (const k of Object.keys(env)) if (k.startsWith('INPUT_')) delete env[k];
    if (inputs.mode === 'plan') await planMode(root, inputs, env);
    else await runMode(root, inputs, env);
  } catch (err) {
    core.setOutput('outcome', err instanceof InputError ? 'usage_error' : 'failed');
    core.setFailed(err instanceof Error ? err.message : String(err));
  }
}

void main();
