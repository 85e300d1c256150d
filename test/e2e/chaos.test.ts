/**
 * bench/chaos.ts at a small size, as CI runs it (issue 16): 40 tasks on 3 runner
 * processes with one agent each, through a rolling SIGTERM restart, a SIGKILL
 * mid-task, a restart of its own (embedded) PostgreSQL and a stand-in CLI that
 * crashes on 5% of calls. Zero tasks lost, zero completed twice, and no process
 * that needed a hand — the bench's own verdict, read from its output and exit code.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

test('40 tasks through restarts, a kill and a PostgreSQL restart: none lost, none duplicated', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/chaos.ts'), '40'], {
    cwd: ROOT,
    env: { ...process.env, CHAOS_CONCURRENCY: '1', CHAOS_TIMEOUT_S: '600', DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const verdict = /(PASS|FAIL): (\d+) lost, (\d+) duplicated, (no manual step|manual step needed)(.*)/.exec(out);
  expect(verdict, out.slice(-4000)).not.toBeNull();
  console.log(verdict![0]);
  expect({ lost: verdict![2], duplicated: verdict![3], manual: verdict![4] }).toEqual({
    lost: '0',
    duplicated: '0',
    manual: 'no manual step',
  });
  expect(code, out.slice(-4000)).toBe(0);
}, 900_000);
