/**
 * Checks, before any work starts, that the Claude Code CLI is installed and
 * has credentials: `<bin> --version`, then `<bin> auth status` (JSON).
 */
import { execa } from 'execa';
import { SamgitaError } from '../errors.js';
import { buildClaudeEnv } from './env.js';

export type ClaudeAuthMethod =
  | 'api_key'
  | 'oauth_token'
  | 'claude.ai'
  | 'env:ANTHROPIC_API_KEY'
  | 'env:CLAUDE_CODE_OAUTH_TOKEN'
  | string;

export interface ClaudeCheck {
  version: string;
  loggedIn: true;
  method: ClaudeAuthMethod;
}

export interface CheckClaudeOptions {
  bin: string;
  env?: Record<string, string | undefined>;
  /** Per call. Default 15000. */
  timeoutMs?: number;
}

export async function checkClaude(opts: CheckClaudeOptions): Promise<ClaudeCheck> {
  const env = buildClaudeEnv(opts.env ?? {});
  const timeout = opts.timeoutMs ?? 15_000;
  const run = (args: string[]) =>
    execa(opts.bin, args, {
      env,
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
      timeout,
      forceKillAfterDelay: 1000,
    });

  const v = await run(['--version']);
  if ((v as { code?: string }).code === 'ENOENT') {
    throw new SamgitaError('CLAUDE_NOT_FOUND', `Claude Code CLI not found: ${opts.bin}`, {
      details: { bin: opts.bin },
    });
  }
  if (v.timedOut) {
    throw new SamgitaError('CLAUDE_TIMEOUT', `\`${opts.bin} --version\` did not answer within ${timeout} ms`, {});
  }
  if (v.exitCode !== 0) {
    throw new SamgitaError(
      'CLAUDE_FAILED',
      `\`${opts.bin} --version\` failed: ${String(v.stderr).trim().slice(0, 500)}`,
      {
        details: { exitCode: v.exitCode },
      },
    );
  }
  const version = /(\d+\.\d+\.\d+\S*)/.exec(String(v.stdout))?.[1] ?? String(v.stdout).trim();

  const envKey = env.ANTHROPIC_API_KEY
    ? 'env:ANTHROPIC_API_KEY'
    : env.CLAUDE_CODE_OAUTH_TOKEN
      ? 'env:CLAUDE_CODE_OAUTH_TOKEN'
      : undefined;

  const a = await run(['auth', 'status']);
  if (a.timedOut) {
    if (envKey) return { version, loggedIn: true, method: envKey };
    throw new SamgitaError('CLAUDE_TIMEOUT', `\`${opts.bin} auth status\` did not answer within ${timeout} ms`, {});
  }
  let status: { loggedIn?: unknown; authMethod?: unknown } | undefined;
  try {
    const parsed: unknown = JSON.parse(String(a.stdout));
    if (parsed && typeof parsed === 'object') status = parsed as typeof status;
  } catch {
    status = undefined;
  }
  if (status?.loggedIn === true) {
    const method = typeof status.authMethod === 'string' ? status.authMethod : (envKey ?? 'unknown');
    return { version, loggedIn: true, method };
  }
  // The CLI reads these itself; `auth status` may not know about every way they are supplied.
  if (envKey) return { version, loggedIn: true, method: envKey };
  throw new SamgitaError('CLAUDE_NOT_LOGGED_IN', 'Claude Code is not logged in', {
    details: { exitCode: a.exitCode, authMethod: status?.authMethod },
  });
}
