/**
 * What the verify sandbox costs: the median wall time of 20 runs of a verify
 * command through runVerify, on the host and under bubblewrap.
 *
 *   npx tsx bench/sandbox.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runVerify, type VerifyOptions } from '../src/runner/verify-commands.js';
import { defaultHidden } from '../src/sandbox/bwrap.js';
import { verifyEnv } from '../src/sandbox/env.js';
import { pct } from './support.js';

const RUNS = 20;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-bench-sandbox-'));
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-bench-home-'));

async function median(command: string, sandboxed: boolean): Promise<number> {
  const options: VerifyOptions = {
    timeoutMs: 60_000,
    env: verifyEnv([], { sandboxed }),
    sandbox: sandboxed
      ? { hide: defaultHidden(home), readOnly: [], network: { verify: 'none', install: 'host' } }
      : null,
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
  const host = await median(command, false);
  const boxed = await median(command, true);
  console.log(
    `${command.padEnd(10)} host ${host.toFixed(1)} ms · bubblewrap ${boxed.toFixed(1)} ms · overhead ${(boxed - host).toFixed(1)} ms (median of ${RUNS})`,
  );
}
