import { execa } from 'execa';
import { signalGroup } from '../claude/process-group.js';

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
export async function runVerify(
  cwd: string,
  commands: VerifyCommand[],
  options: { timeoutMs: number; signal?: AbortSignal; env?: Record<string, string> },
): Promise<VerifyResult> {
  const steps: VerifyStepResult[] = [];
  for (const c of commands) {
    const started = Date.now();
    const subprocess = execa(c.command, {
      cwd,
      shell: true,
      reject: false,
      all: true,
      stdin: 'ignore',
      detached: true,
      env: { CI: 'true', ...options.env },
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
    const all = typeof result.all === 'string' ? result.all : '';
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
