/**
 * `samgita doctor`: is this machine ready to run agents? Checks the Claude
 * Code CLI and its login, git, the database, bubblewrap, and the sandbox's
 * network policy (nothing but the model API gets out), and prints each with
 * its fix. Exits 0 when everything passes, 3 (action required) otherwise.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { execa } from 'execa';
import pc from 'picocolors';
import { checkClaude } from '../../claude/preflight.js';
import { loadEnvConfig } from '../../config/env.js';
import { defaultConfig } from '../../config/samgita-yaml/index.js';
import { loadSamgitaYaml } from '../../config/samgita-yaml/parse.js';
import type { SamgitaConfig } from '../../config/samgita-yaml/schema.js';
import { errorMessage, isSamgitaError } from '../../errors.js';
import { redactUrl } from '../../log/logger.js';
import { claudeEnvFromProcess } from '../../runner/claude-env.js';
import { probeSandbox } from '../../sandbox/bwrap.js';
import { claudeCredentials, DEFAULT_MODEL_API } from '../../sandbox/claude.js';
import { sandboxed } from '../../sandbox/command.js';
import { PROXY_ERROR_HEADER } from '../../sandbox/egress.js';
import { agentEgress } from '../../sandbox/network.js';
import { serverVersion } from '../../store/connection.js';
import { EXIT_CODES } from '../outcome.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const TIMEOUT_MS = 10_000;

export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .argument('[repo-dir]', "a repository whose samgita.yaml's sandbox policy to check", '.')
    .description(
      'Check that this machine can run agents: Claude Code, git, the database, bubblewrap, the network policy.',
    )
    .option('--json', 'print the checks as JSON')
    .action(async (repoDir: string, opts: { json?: boolean }) => {
      process.env.LOG_LEVEL ??= 'warn';
      const checks = await runChecks(path.resolve(repoDir));
      process.stdout.write(opts.json ? `${JSON.stringify({ checks }, null, 2)}\n` : formatChecks(checks));
      process.exitCode = checks.every((c) => c.ok) ? EXIT_CODES.completed : EXIT_CODES.action_required;
    });
}

export function formatChecks(checks: readonly Check[]): string {
  const lines = checks.map((c) => {
    const head = `${c.ok ? pc.green('✓') : pc.red('✗')} ${c.name.padEnd(16)} ${c.detail}`;
    return c.fix ? `${head}\n  ${' '.repeat(17)}${pc.yellow('fix:')} ${c.fix}` : head;
  });
  const failed = checks.filter((c) => !c.ok).length;
  lines.push('', failed ? pc.red(`${failed} of ${checks.length} checks failed`) : pc.green('all checks passed'));
  return `${lines.join('\n')}\n`;
}

async function runChecks(repoDir: string): Promise<Check[]> {
  const env = loadEnvConfig();
  const { config, check } = await projectConfig(repoDir);
  const checks: Check[] = check ? [check] : [];
  checks.push(await checkCli(env.claudeBin));
  checks.push(await checkGit());
  checks.push(await checkDatabase(env.databaseUrl, env.samgitaHome));
  const box = await checkBubblewrap(config);
  checks.push(box);
  if (box.ok && config.sandbox.enabled) checks.push(...(await checkNetwork(config, env.samgitaHome, repoDir)));
  return checks;
}

/** The repository's samgita.yaml (its sandbox policy is what the checks judge); a broken one is a failed check. */
async function projectConfig(repoDir: string): Promise<{ config: SamgitaConfig; check: Check | null }> {
  try {
    const loaded = await loadSamgitaYaml(repoDir);
    return {
      config: loaded.config,
      check:
        loaded.text === null ? null : { name: 'samgita.yaml', ok: true, detail: path.join(repoDir, 'samgita.yaml') },
    };
  } catch (err) {
    const detail = isSamgitaError(err) ? err.format() : errorMessage(err);
    return {
      config: defaultConfig(),
      check: { name: 'samgita.yaml', ok: false, detail, fix: 'fix the file as the error says' },
    };
  }
}

async function checkCli(bin: string): Promise<Check> {
  try {
    const c = await checkClaude({ bin, env: claudeEnvFromProcess(), timeoutMs: TIMEOUT_MS });
    return { name: 'claude code', ok: true, detail: `${c.version}, logged in (${c.method})` };
  } catch (err) {
    return failed('claude code', err);
  }
}

async function checkGit(): Promise<Check> {
  const r = await execa('git', ['--version'], { reject: false, timeout: TIMEOUT_MS });
  if (r.exitCode !== 0)
    return {
      name: 'git',
      ok: false,
      detail: 'git is not installed',
      fix: 'install git (Debian/Ubuntu: apt-get install git)',
    };
  return { name: 'git', ok: true, detail: String(r.stdout).trim() };
}

async function checkDatabase(url: string | null, home: string): Promise<Check> {
  if (url === null)
    return {
      name: 'database',
      ok: true,
      detail: `embedded PostgreSQL under ${path.join(home, 'postgres')} (no DATABASE_URL)`,
    };
  try {
    const version = await serverVersion(url, TIMEOUT_MS);
    return { name: 'database', ok: true, detail: `PostgreSQL ${version} at ${redactUrl(url)}` };
  } catch (err) {
    return {
      name: 'database',
      ok: false,
      detail: `cannot connect to ${redactUrl(url)}: ${errorMessage(err)}`,
      fix: 'check DATABASE_URL (host, port, user, database) and that PostgreSQL runs; unset it to use the embedded one',
    };
  }
}

async function checkBubblewrap(config: SamgitaConfig): Promise<Check> {
  const probe = await probeSandbox();
  if (probe.available) return { name: 'bubblewrap', ok: true, detail: `${probe.version}: agents run sandboxed` };
  if (!config.sandbox.enabled)
    return { name: 'bubblewrap', ok: true, detail: `${probe.reason}; samgita.yaml turns the sandbox off` };
  return {
    name: 'bubblewrap',
    ok: false,
    detail: probe.reason,
    fix: 'install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; in a container, allow user namespaces), or turn the sandbox off explicitly (sandbox: { enabled: false } in samgita.yaml, or samgita runner --no-sandbox)',
  };
}

/**
 * The policy as the agent would meet it: from inside a sandbox like the
 * CLI's, the model API answers through the proxy and the host's loopback
 * (where the database listens) does not.
 */
async function checkNetwork(config: SamgitaConfig, home: string, repoDir: string): Promise<Check[]> {
  const egress = agentEgress(config.sandbox.network);
  const upstream = process.env.ANTHROPIC_BASE_URL || DEFAULT_MODEL_API;
  const probe = `
    const net = require('node:net');
    const base = process.env.ANTHROPIC_BASE_URL;
    const loopback = new Promise((r) => {
      const s = net.connect(${Number(hostPort())}, '127.0.0.1');
      s.on('connect', () => { s.destroy(); r('reached'); });
      s.on('error', (e) => r(e.code));
      setTimeout(() => { s.destroy(); r('timeout'); }, 3000);
    });
    const model = base
      ? fetch(base, { signal: AbortSignal.timeout(8000) }).then((r) => r.headers.get('${PROXY_ERROR_HEADER}') ? 'unreachable from the runner (the proxy answered ' + r.status + ')' : 'HTTP ' + r.status, (e) => 'error ' + (e.cause?.code ?? e.message))
      : Promise.resolve('host network');
    Promise.all([loopback, model]).then(([l, m]) => { console.log(JSON.stringify({ loopback: l, model: m })); });
  `;
  const credentials: Record<string, string> = {};
  for (const [name, value] of Object.entries(claudeCredentials(process.env))) credentials[`doctor-${name}`] = value;
  try {
    const cmd = await sandboxed(
      { workdir: repoDir, samgitaHome: home, readOnlyWorkdir: true },
      egress,
      [process.execPath, '-e', probe],
      { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp/home' },
      { upstream, credentials },
    );
    const r = await execa(cmd.file, cmd.args, { env: cmd.env, extendEnv: false, reject: false, timeout: 20_000 });
    const seen = JSON.parse(String(r.stdout).trim().split('\n').pop() ?? '{}') as { loopback?: string; model?: string };
    const modelOk = egress.kind === 'host' || /^HTTP \d+/.test(seen.model ?? '');
    const sealed = egress.kind === 'host' || seen.loopback !== 'reached';
    const policy =
      egress.kind === 'host'
        ? 'agent network: host (unfiltered; the CLI holds its credential)'
        : `agent network: the model API${egress.kind === 'filtered' && egress.hosts.length ? ` and ${egress.hosts.length} allowed host(s)` : ' only'}`;
    return [
      {
        name: 'model API',
        ok: modelOk,
        detail: modelOk
          ? `${upstream} answers through the sandbox proxy (${seen.model})`
          : `${upstream}: ${seen.model ?? r.stderr}`,
        ...(modelOk ? {} : { fix: 'check ANTHROPIC_BASE_URL and that this machine reaches it (a proxy, a firewall)' }),
      },
      {
        name: 'network policy',
        ok: sealed,
        detail: sealed
          ? `${policy}; the host's 127.0.0.1 is out of reach (${seen.loopback})`
          : `${policy}; but the host's 127.0.0.1 was reachable from inside the sandbox`,
        ...(sealed
          ? {}
          : { fix: 'bubblewrap could not create a network namespace here: check that user namespaces are allowed' }),
      },
    ];
  } catch (err) {
    return [failed('network policy', err)];
  }
}

/** A port the host listens on, to try from inside: the database's when DATABASE_URL names one. */
function hostPort(): number {
  try {
    return Number(new URL(process.env.DATABASE_URL ?? '').port) || 5432;
  } catch {
    return 5432;
  }
}

function failed(name: string, err: unknown): Check {
  return {
    name,
    ok: false,
    detail: errorMessage(err),
    ...(isSamgitaError(err) && err.hint ? { fix: err.hint } : {}),
  };
}
