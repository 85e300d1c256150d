/**
 * The Claude Code CLI inside the sandbox, and with it everything its tools
 * run (Bash, the code it writes and tests). The CLI gets the sandbox's walls
 * (sandbox/command.ts) and, with the default network policy, no network but
 * the model API through Samgita's proxy: the CLI holds a placeholder, the
 * proxy swaps in the real credential, so no key is readable from inside —
 * not from the environment, not from a file.
 *
 * Claude Code's own sandbox settings (`sandbox.enabled` in its settings,
 * bubblewrap on Linux too) confine only the Bash tool and leave the CLI and
 * its file tools on the host with the credential in their environment; this
 * wraps the whole CLI instead (see docs/configuration.md, `sandbox`).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SamgitaConfig } from '../config/samgita-yaml/schema.js';
import { requireSandbox, SANDBOX_HOME } from './bwrap.js';
import { type Command, resolveBin, sandboxed } from './command.js';
import { agentEgress } from './network.js';

export const CREDENTIAL_ENV = ['ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN'] as const;
export const DEFAULT_MODEL_API = 'https://api.anthropic.com';

/** Per process, so one proxy serves every run with the same credentials. */
const NONCE = randomBytes(6).toString('hex');

export interface ClaudeCommand extends Command {
  cwd: string;
}

/** How runClaude's command becomes a sandboxed one. */
export type ClaudeWrap = (cmd: ClaudeCommand) => Promise<Command>;

export interface ClaudeSandboxOptions {
  /** samgita.yaml's `sandbox.enabled` (and not turned off for the runner by flag). */
  enabled: boolean;
  samgitaHome: string;
  /** The repository the worktree belongs to. */
  repo?: string | undefined;
  network: SamgitaConfig['sandbox']['network'];
  /** The CLI only reads its working directory (PRD analysis). */
  readOnly?: boolean;
}

/**
 * The wrap for a project's CLI calls; undefined when the sandbox is off.
 * Refuses (SANDBOX_UNAVAILABLE, with the fix) when it is on and bubblewrap
 * cannot run here.
 */
export async function claudeSandbox(opts: ClaudeSandboxOptions): Promise<ClaudeWrap | undefined> {
  if (!opts.enabled) return undefined;
  await requireSandbox('the Claude Code CLI');
  return async (cmd) => {
    const bin = resolveBin(cmd.file, cmd.env.PATH);
    const egress = agentEgress(opts.network);
    const env = insideEnv(cmd.env);
    let model: { upstream: string; credentials: Record<string, string> } | undefined;
    if (egress.kind === 'filtered') {
      const credentials: Record<string, string> = {};
      for (const [name, value] of Object.entries(claudeCredentials(cmd.env))) {
        const placeholder = `sk-ant-samgita-sandbox-${name.toLowerCase()}-${NONCE}`;
        credentials[placeholder] = value;
        env[name] = placeholder;
      }
      model = { upstream: cmd.env.ANTHROPIC_BASE_URL || DEFAULT_MODEL_API, credentials };
      delete env.ANTHROPIC_BASE_URL;
    }
    return sandboxed(
      {
        workdir: cmd.cwd,
        samgitaHome: opts.samgitaHome,
        repo: opts.repo,
        // The CLI's installation (a native binary's package, a script's folder), wherever it is.
        readOnly: [path.dirname(path.dirname(bin))],
        readOnlyWorkdir: opts.readOnly ?? false,
      },
      egress,
      [bin, ...cmd.args],
      env,
      model,
    );
  };
}

/** The wrap for PRD analysis of a local repository: it only reads the repository. */
export function analysisSandbox(
  config: SamgitaConfig,
  samgitaHome: string,
  repo: string,
): Promise<ClaudeWrap | undefined> {
  return claudeSandbox({
    enabled: config.sandbox.enabled,
    samgitaHome,
    repo,
    network: config.sandbox.network,
    readOnly: true,
  });
}

/** The CLI's environment inside: a fresh HOME, nothing pointing at the host's config. */
function insideEnv(env: Record<string, string>): Record<string, string> {
  const inner: Record<string, string> = { ...env, HOME: SANDBOX_HOME, TMPDIR: '/tmp', DISABLE_AUTOUPDATER: '1' };
  for (const k of ['CLAUDE_CONFIG_DIR', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_DATA_HOME']) delete inner[k];
  return inner;
}

/**
 * The credentials the CLI would use: from the environment, else the token of
 * a `claude login` on this machine (its credentials file), passed as an OAuth
 * token — the CLI inside cannot read the host's ~/.claude.
 */
export function claudeCredentials(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of CREDENTIAL_ENV) {
    const v = env[name];
    if (v) out[name] = v;
  }
  if (Object.keys(out).length) return out;
  const dir = env.CLAUDE_CONFIG_DIR || path.join(env.HOME || os.homedir(), '.claude');
  try {
    const file = JSON.parse(fs.readFileSync(path.join(dir, '.credentials.json'), 'utf8')) as {
      claudeAiOauth?: { accessToken?: unknown };
    };
    const token = file.claudeAiOauth?.accessToken;
    if (typeof token === 'string' && token) out.CLAUDE_CODE_OAUTH_TOKEN = token;
  } catch {
    /* no login on file: the CLI will say it is not logged in */
  }
  return out;
}
