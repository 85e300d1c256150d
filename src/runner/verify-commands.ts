import { execa } from 'execa';
import { signalGroup } from '../claude/process-group.js';
import type { SamgitaConfig } from '../config/samgita-yaml/schema.js';
import { requireSandbox } from '../sandbox/bwrap.js';
import { sandboxed } from '../sandbox/command.js';
import { verifyEnv } from '../sandbox/env.js';
import { verifyEgress } from '../sandbox/network.js';
import { knownSecrets, redact, type Secret } from '../sandbox/secrets.js';

export interface VerifyCommand {
  name: 'install' | 'build' | 'lint' | 'test';
  command: string;
}

export interface VerifyStepResult {
  name: string;
  command: string;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** Combined stdout+stderr, the tail kept (failures print their summary last). */
  output: string;
}

export interface VerifyResult {
  passed: boolean;
  steps: VerifyStepResult[];
}

const OUTPUT_TAIL = 16_000;

/**
 * Runs the verify commands in order in the task's worktree, each with a
 * timeout and its own process group (killed whole on timeout). Stops at the
 * first failure: later steps depend on earlier ones. The commands come from
 * src/verify/detect.ts; an empty list runs nothing and checks nothing, which
 * callers record as unverified, never as a pass.
 */
export interface VerifyOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** The whole environment of each command (an allow-list, see sandbox/env.ts). */
  env: Record<string, string>;
  /** Run each command under bubblewrap; null: on the host (sandbox.enabled: false). */
  sandbox: { samgitaHome: string; repo: string; network: SamgitaConfig['sandbox']['network'] } | null;
  /** Values removed from the recorded output. */
  secrets: readonly Secret[];
}

/**
 * How verify runs for a project: its sandbox (refused with the fix when
 * bubblewrap is missing and the sandbox was not turned off), its environment
 * allow-list and the secrets its output must not carry. `repo` is the
 * repository whose .git the worktree points into (read-only inside).
 */
export async function verifyOptions(
  config: SamgitaConfig,
  where: { samgitaHome: string; repo: string; sandboxOff?: boolean | undefined },
  signal?: AbortSignal,
): Promise<VerifyOptions> {
  const sandboxed = config.sandbox.enabled && !where.sandboxOff;
  if (sandboxed) await requireSandbox('verify commands');
  return {
    timeoutMs: config.verify.timeout,
    ...(signal ? { signal } : {}),
    env: verifyEnv(config.verify.env, { sandboxed }),
    sandbox: sandboxed ? { samgitaHome: where.samgitaHome, repo: where.repo, network: config.sandbox.network } : null,
    secrets: knownSecrets(),
  };
}

export async function runVerify(cwd: string, commands: VerifyCommand[], options: VerifyOptions): Promise<VerifyResult> {
  const steps: VerifyStepResult[] = [];
  for (const c of commands) {
    const started = Date.now();
    const box = options.sandbox;
    const { file, args, env } = box
      ? await sandboxed(
          { workdir: cwd, samgitaHome: box.samgitaHome, repo: box.repo },
          verifyEgress(box.network, c.name),
          ['/bin/sh', '-c', c.command],
          options.env,
        )
      : { file: '/bin/sh', args: ['-c', c.command], env: options.env };
    const subprocess = execa(file, args, {
      cwd,
      reject: false,
      all: true,
      stdin: 'ignore',
      detached: true,
      env,
      extendEnv: false,
    });
    let timedOut = false;
    const kill = () => {
      const pid = subprocess.pid;
      if (!pid) return;
      signalGroup(pid, 'SIGTERM');
      setTimeout(() => signalGroup(pid, 'SIGKILL'), 2000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    const result = await subprocess;
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
    const all = redact(typeof result.all === 'string' ? result.all : '', options.secrets);
    const step: VerifyStepResult = {
      name: c.name,
      command: c.command,
      exitCode: result.exitCode ?? null,
      timedOut,
      durationMs: Date.now() - started,
      output: all.length > OUTPUT_TAIL ? `… ${all.slice(-OUTPUT_TAIL)}` : all,
    };
    steps.push(step);
    if (step.exitCode !== 0 || step.timedOut) return { passed: false, steps };
  }
  return { passed: true, steps };
}

export function summarizeVerifyFailure(result: VerifyResult): string {
  const failed = result.steps.find((s) => s.exitCode !== 0 || s.timedOut);
  if (!failed) return 'verify passed';
  const why = failed.timedOut ? 'timed out' : `exited with ${failed.exitCode}`;
  return `Verify step \`${failed.name}\` (\`${failed.command}\`) ${why}. Its output ends with:\n${failed.output.slice(-4000)}`;
}
