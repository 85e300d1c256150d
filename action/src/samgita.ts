import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';

/** The Claude Code CLI version this action was built against (package-lock.json, pinned at build time). */
declare const CLAUDE_CODE_VERSION: string;

/** The Samgita checkout the action runs from: the repository the action lives in, never a registry package. */
export function samgitaRoot(): string {
  const actionPath = process.env.GITHUB_ACTION_PATH;
  if (!actionPath) throw new Error('GITHUB_ACTION_PATH is not set: run this action from a workflow step (uses: …)');
  return path.resolve(actionPath, '..');
}

export interface Exec {
  code: number;
  stdout: string;
}

/** Runs a command, its stderr streamed to the job log, its stdout captured. */
export function exec(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Exec> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout }));
  });
}

/**
 * Samgita's own dependencies, installed in its checkout from the lockfile
 * (skipped when they already match it, e.g. on a self-hosted runner or a
 * re-run), and the Claude Code CLI at the pinned version in a tool directory.
 */
export async function install(root: string): Promise<{ claudeBin: string }> {
  const installed = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(installed) || !existsSync(path.join(root, 'node_modules', 'tsx'))) {
    await core.group('Install Samgita (npm ci)', async () => {
      const r = await exec('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: root });
      if (r.code !== 0) throw new Error(`npm ci in ${root} failed (exit ${r.code}); see the log above`);
    });
  } else core.info(`Samgita's dependencies are installed (${path.relative(process.cwd(), installed) || installed})`);
  if (process.env.SAMGITA_CLAUDE_BIN) return { claudeBin: process.env.SAMGITA_CLAUDE_BIN };
  const toolDir = path.join(
    process.env.RUNNER_TOOL_CACHE ?? process.env.RUNNER_TEMP ?? root,
    `samgita-claude-code-${CLAUDE_CODE_VERSION}`,
  );
  const claudeBin = path.join(toolDir, 'node_modules', '.bin', 'claude');
  if (!existsSync(claudeBin)) {
    await core.group(`Install Claude Code ${CLAUDE_CODE_VERSION}`, async () => {
      const r = await exec('npm', [
        'install',
        '--prefix',
        toolDir,
        '--no-audit',
        '--no-fund',
        `@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}`,
      ]);
      if (r.code !== 0)
        throw new Error(`installing @anthropic-ai/claude-code@${CLAUDE_CODE_VERSION} failed (exit ${r.code})`);
    });
  }
  return { claudeBin };
}

/** `node <root>/bin/samgita.js …` with the job's environment and what the action adds. */
export function samgita(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<Exec> {
  return exec(process.execPath, [path.join(root, 'bin', 'samgita.js'), ...args], { env });
}

/** Reads the event payload GitHub wrote for this job (GITHUB_EVENT_PATH). */
export function eventPayload(): Record<string, unknown> {
  const p = process.env.GITHUB_EVENT_PATH;
  if (!p || !existsSync(p)) return {};
  return JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
}
