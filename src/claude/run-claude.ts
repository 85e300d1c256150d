/**
 * Runs the Claude Code CLI once, parsing stream-json as it arrives.
 *
 * The child runs in its own process group; on timeout or abort the whole group
 * and every process carrying the run's marker variable (see process-group.ts)
 * get SIGTERM, then SIGKILL after a grace period, and when the CLI exits
 * anything of the run left behind (background shells, dev servers) is killed,
 * so no grandchild outlives the run. CLI failures never throw: the outcome says
 * what happened. Only a missing binary throws (CLAUDE_NOT_FOUND).
 *
 * The prompt goes to the CLI's stdin, never its argv (see args.ts): argv is
 * readable by every user of the machine, and the prompt carries the PRD.
 */

import { randomUUID } from 'node:crypto';
import { SamgitaError } from '../errors.js';
import { logger } from '../log/logger.js';
import { launchDetached } from '../spawner/launch.js';
import { accumulate, type ClaudeOutcome, classifyOutcome, emptySummary, type RunSummary } from './accumulate.js';
import { buildClaudeArgs, type ClaudeRunSpec, usesJsonSchema } from './args.js';
import { buildClaudeEnv } from './env.js';
import type { ClaudeEvent } from './events.js';
import { RUN_MARKER_ENV, signalRun, signalRunSoon } from './process-group.js';
import { createStreamParser } from './stream-parser.js';

export interface RunClaudeOptions {
  bin: string;
  cwd: string;
  /** A ready argv (without the prompt); or give `claude` to build one. */
  args?: readonly string[];
  /** The run's flags and prompt. */
  claude?: ClaudeRunSpec;
  /** Written to the CLI's stdin, which is then closed; default `claude.prompt`, else nothing. */
  prompt?: string;
  /** Merged over a minimal safe base env (see buildClaudeEnv). */
  env?: Record<string, string | undefined>;
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL of the group. Default 3000. */
  killGraceMs?: number;
  signal?: AbortSignal;
  onEvent?: (e: ClaudeEvent) => void;
  onStderr?: (line: string) => void;
  /**
   * Turns the CLI's command into the one actually spawned (the sandbox,
   * src/sandbox/claude.ts). Kept a hook so this boundary knows nothing of it.
   */
  wrap?: (cmd: { file: string; args: string[]; env: Record<string, string>; cwd: string }) => Promise<{
    file: string;
    args: string[];
    env: Record<string, string>;
  }>;
}

export interface ClaudeRunResult {
  outcome: ClaudeOutcome;
  summary: RunSummary;
  exitCode: number | undefined;
  signal: string | undefined;
  pid: number | undefined;
  /** The last ~4 KB of stderr. */
  stderrTail: string;
  durationMs: number;
  /** With --json-schema: the result's structured output. */
  structuredOutput?: unknown;
}

const STDERR_TAIL = 4096;

export async function runClaude(opts: RunClaudeOptions): Promise<ClaudeRunResult> {
  const args = opts.args ? [...opts.args] : opts.claude ? buildClaudeArgs(opts.claude) : undefined;
  if (!args) throw new TypeError('runClaude needs `args` or `claude`');
  const runId = randomUUID();
  const env = buildClaudeEnv({ ...(opts.env ?? {}), [RUN_MARKER_ENV]: runId });
  const grace = opts.killGraceMs ?? 3000;
  const started = Date.now();
  const log = logger().child({ component: 'claude' });

  let summary = emptySummary();
  if (opts.signal?.aborted) {
    return {
      outcome: classifyOutcome(summary, { exitCode: undefined, signal: undefined, cancelled: true }),
      summary,
      exitCode: undefined,
      signal: undefined,
      pid: undefined,
      stderrTail: '',
      durationMs: 0,
    };
  }

  // node:child_process rather than execa: with 1,000 agents on a runner, execa's
  // per-process machinery costs ~65 MB more RSS; nothing of it is needed here.
  const cmd = opts.wrap ? await opts.wrap({ file: opts.bin, args, env, cwd: opts.cwd }) : { file: opts.bin, args, env };
  const child = await launchDetached({
    file: cmd.file,
    args: cmd.args,
    cwd: opts.cwd,
    env: cmd.env,
    input: opts.prompt ?? opts.claude?.prompt ?? '',
  });
  const pid = child.pid;
  log.debug({ bin: opts.bin, cwd: opts.cwd, pid, argc: args.length, via: child.via }, 'claude started');

  const parser = createStreamParser();
  const handle = (events: ClaudeEvent[]) => {
    for (const e of events) {
      summary = accumulate(summary, e);
      try {
        opts.onEvent?.(e);
      } catch (err) {
        log.warn({ err }, 'onEvent handler threw');
      }
    }
  };
  let stderrTail = '';
  let stderrLine = '';
  child.read(
    (chunk) => handle(parser.push(chunk)),
    (chunk) => {
      const text = chunk.toString('utf8');
      stderrTail = (stderrTail + text).slice(-STDERR_TAIL);
      if (!opts.onStderr) return;
      stderrLine += text;
      let nl = stderrLine.indexOf('\n');
      while (nl !== -1) {
        opts.onStderr(stderrLine.slice(0, nl));
        stderrLine = stderrLine.slice(nl + 1);
        nl = stderrLine.indexOf('\n');
      }
    },
  );

  let timedOut = false;
  let cancelled = false;
  let exited = false;
  let killTimer: NodeJS.Timeout | undefined;
  const terminate = () => {
    if (pid === undefined || exited || killTimer) return;
    log.info({ pid, timedOut, cancelled }, 'stopping claude process group');
    signalRun(pid, runId, 'SIGTERM');
    killTimer = setTimeout(() => signalRun(pid, runId, 'SIGKILL'), grace);
    killTimer.unref();
  };
  const timeout = setTimeout(() => {
    timedOut = true;
    terminate();
  }, opts.timeoutMs);
  timeout.unref();
  const onAbort = () => {
    cancelled = true;
    terminate();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  // Stopped while the spawner was starting it.
  if (opts.signal?.aborted) onAbort();

  // When the CLI itself exits, whatever is left in its group goes too; this also
  // closes pipes a grandchild may still hold, so the streams below can end.
  void child.exited.then(() => {
    exited = true;
    if (pid !== undefined) signalRunSoon(pid, runId, 'SIGKILL');
  });

  const r = await child.closed;
  const spawnError = child.error;
  clearTimeout(timeout);
  if (killTimer) clearTimeout(killTimer);
  opts.signal?.removeEventListener('abort', onAbort);
  if (stderrLine && opts.onStderr) opts.onStderr(stderrLine);
  handle(parser.end());

  if (spawnError?.code === 'ENOENT') {
    throw new SamgitaError('CLAUDE_NOT_FOUND', `Claude Code CLI not found: ${opts.bin}`, {
      details: { bin: opts.bin },
      cause: spawnError,
    });
  }
  if (pid === undefined) {
    throw new SamgitaError('CLAUDE_FAILED', `could not start ${opts.bin}: ${spawnError?.message ?? 'unknown error'}`, {
      details: { bin: opts.bin },
      cause: spawnError,
    });
  }

  const exitCode = r.exitCode;
  const signal = r.signal;
  const outcome = classifyOutcome(summary, { exitCode, signal, timedOut, cancelled });
  const durationMs = Date.now() - started;
  log.debug({ pid, exitCode, signal, outcome: outcome.kind, durationMs }, 'claude finished');
  const result: ClaudeRunResult = { outcome, summary, exitCode, signal, pid, stderrTail, durationMs };
  if (usesJsonSchema(args) && summary.structuredOutput !== undefined)
    result.structuredOutput = summary.structuredOutput;
  return result;
}
