/**
 * What the sandbox costs: the median wall time of 20 runs, on the host and
 * under bubblewrap, of
 * - a verify command through runVerify (`true`, `node -e 0`);
 * - a Claude Code CLI run (the real CLI, `claude -p` answered "Done." by the
 *   local Messages API stand-in): time to its first event (start) and to its end.
 *
 *   npx tsx bench/sandbox.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClaude } from '../src/claude/run-claude.js';
import { parseSamgitaYaml } from '../src/config/samgita-yaml/index.js';
import { runVerify, type VerifyOptions } from '../src/runner/verify-commands.js';
import { claudeSandbox } from '../src/sandbox/claude.js';
import { verifyEnv } from '../src/sandbox/env.js';
import { startMessagesServer } from '../test/support/messages-server/index.js';
import { pct } from './support.js';

const RUNS = 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-bench-sandbox-'));
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-bench-home-'));
const network = parseSamgitaYaml('{}').sandbox.network;
const CLAUDE = fileURLToPath(new URL('../node_modules/.bin/claude', import.meta.url));

async function verifyMedian(command: string, sandboxed: boolean): Promise<number> {
  const options: VerifyOptions = {
    timeoutMs: 60_000,
    env: verifyEnv([], { sandboxed }),
    sandbox: sandboxed ? { samgitaHome: home, repo: dir, network } : null,
    secrets: [],
  };
  const times: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t = performance.now();
    const r = await runVerify(dir, [{ name: 'test', command }], options);
    if (!r.passed) throw new Error(`${command} failed: ${r.steps[0]?.output}`);
    if (i >= 2) times.push(performance.now() - t);
  }
  return pct(times, 50);
}

for (const command of ['true', 'node -e 0']) {
  const host = await verifyMedian(command, false);
  const boxed = await verifyMedian(command, true);
  console.log(
    `verify ${command.padEnd(10)} host ${host.toFixed(1)} ms · bubblewrap ${boxed.toFixed(1)} ms · overhead ${(boxed - host).toFixed(1)} ms (median of ${RUNS})`,
  );
}

const server = await startMessagesServer({ script: { turns: [] } });
async function cliMedian(sandboxed: boolean): Promise<{ start: number; total: number }> {
  const wrap = await claudeSandbox({ enabled: sandboxed, samgitaHome: home, repo: dir, network });
  const starts: number[] = [];
  const totals: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t = performance.now();
    let first = 0;
    const r = await runClaude({
      bin: CLAUDE,
      cwd: dir,
      claude: { prompt: 'Say done.', maxTurns: 1 },
      env: {
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: 'sk-ant-bench',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
      timeoutMs: 120_000,
      onEvent: () => {
        first ||= performance.now() - t;
      },
      ...(wrap ? { wrap } : {}),
    });
    if (r.outcome.kind !== 'success')
      throw new Error(`claude run failed: ${JSON.stringify(r.outcome)} ${r.stderrTail}`);
    if (i >= 2) {
      starts.push(first);
      totals.push(performance.now() - t);
    }
  }
  return { start: pct(starts, 50), total: pct(totals, 50) };
}
const host = await cliMedian(false);
const boxed = await cliMedian(true);
console.log(
  `claude start (first event) host ${host.start.toFixed(1)} ms · bubblewrap ${boxed.start.toFixed(1)} ms · overhead ${(boxed.start - host.start).toFixed(1)} ms (median of ${RUNS})`,
);
console.log(
  `claude run (to exit)       host ${host.total.toFixed(1)} ms · bubblewrap ${boxed.total.toFixed(1)} ms · overhead ${(boxed.total - host.total).toFixed(1)} ms (median of ${RUNS})`,
);
await server.close();
process.exit(0);
