/**
 * The Claude CLI started by the spawner process (src/spawner/launch.ts), with
 * the fake CLI: many runs at once each get their own output and exit code, a
 * spawner that dies mid-run leaves no CLI running and no run waiting forever,
 * a stranger on the output socket gets nothing, and the socket's directory
 * goes with the spawner.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runClaude } from '../../src/claude/run-claude.js';
import { useSpawner } from '../../src/spawner/helper.js';
import { launchDetached } from '../../src/spawner/launch.js';
import { type FakeScenario, fakeClaudePath, writeFakeScript } from '../support/fake-claude/index.js';
import { parentPid, processesWithEnv } from '../support/processes.js';
import { waitFor } from '../support/runner-harness.js';

let dir: string;
let release: (() => void) | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-launch-'));
  release = useSpawner();
});
afterEach(() => {
  release?.();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(name: string, scenarios: FakeScenario[], signal?: AbortSignal) {
  const cwd = path.join(dir, name);
  fs.mkdirSync(cwd, { recursive: true });
  return runClaude({
    bin: fakeClaudePath,
    cwd,
    claude: { prompt: `task ${name}`, permissionMode: 'acceptEdits', allowedTools: ['Bash'], maxTurns: 5 },
    env: { HOME: dir, FAKE_CLAUDE_SCRIPT: writeFakeScript(cwd, scenarios) },
    timeoutMs: 120_000,
    ...(signal ? { signal } : {}),
  });
}

/** This process's spawner (`node -e <script>`), started by the first launch. */
function spawnerPid(): number | undefined {
  const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)]).toString();
  const line = out.split('\n').find((l) => l.includes("require('node:net')"));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('the Claude CLI through the spawner', () => {
  it('40 runs at once: each gets its own output, stderr and exit code', async () => {
    // Every fourth matches no scenario: the fake CLI names the prompt on stderr and exits 3.
    const runs = Array.from({ length: 40 }, (_, i) =>
      run(`r${i}`, [
        i % 4 === 3
          ? { match: 'no such prompt', steps: [] }
          : { steps: [{ result: { text: `done ${i}`, cost_usd: i / 1000 } }] },
      ]),
    );
    const results = await Promise.all(runs);
    results.forEach((r, i) => {
      if (i % 4 === 3) {
        expect(r.exitCode, `run ${i}`).toBe(3);
        expect(r.stderrTail.trim()).toBe(`fake-claude: no scenario matches prompt "task r${i}"`);
        expect(r.outcome.kind).not.toBe('success');
      } else {
        expect(r.outcome, `run ${i}`).toEqual({ kind: 'success', message: `done ${i}` });
        expect(r.summary.costUsd).toBeCloseTo(i / 1000);
        expect(r.exitCode).toBe(0);
        expect(r.stderrTail).toBe('');
      }
    });
    expect(spawnerPid()).toBeDefined();
  });

  it('a spawner killed mid-run: the run ends as killed, its CLI and grandchildren are gone, the next run works', async () => {
    const pidFile = path.join(dir, 'bg.pid');
    const running = run('victim', [{ steps: [{ run: `sleep 300 & echo $! > ${pidFile}` }, { hang: true }] }]);
    await waitFor('the sleeper', async () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim());
    const sleeper = Number(fs.readFileSync(pidFile, 'utf8'));
    const first = spawnerPid();
    expect(first).toBeDefined();
    process.kill(first!, 'SIGKILL');
    const r = await running;
    expect(r.signal).toBe('SIGKILL');
    expect(r.outcome.kind).not.toBe('success');
    await waitFor('the CLI gone', async () => !alive(r.pid!));
    await waitFor('its grandchild gone', async () => !alive(sleeper));
    const next = await run('next', [{ steps: [{ result: { text: 'fine' } }] }]);
    expect(next.outcome).toEqual({ kind: 'success', message: 'fine' });
    expect(spawnerPid()).not.toBe(first);
  });

  it('a spawner that dies after starting a child, before naming it: that child is killed, the launch runs in-process', async () => {
    release?.();
    process.env.SAMGITA_SPAWNER_FAILPOINT = 'exit-after-fork';
    const mark = `unnamed-${process.pid}-${Date.now()}`;
    let launched: Awaited<ReturnType<typeof launchDetached>> | undefined;
    try {
      release = useSpawner();
      // Writes nothing: it would outlive its closed output for as long as it sleeps.
      launched = await launchDetached({
        file: '/bin/sh',
        args: ['-c', 'exec sleep 300'],
        cwd: dir,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TEST_MARK: mark },
        input: '',
      });
    } finally {
      delete process.env.SAMGITA_SPAWNER_FAILPOINT;
    }
    try {
      expect(launched.via).toBe('in-process');
      expect(launched.pid).toBeDefined();
      expect(alive(launched.pid!)).toBe(true);
      await waitFor('only the in-process child left', async () => {
        const marked = processesWithEnv(`TEST_MARK=${mark}`);
        return marked.length === 1 && marked[0] === launched!.pid;
      });
    } finally {
      for (const pid of processesWithEnv(`TEST_MARK=${mark}`)) process.kill(pid, 'SIGKILL');
    }
  });

  it('a connection that does not name a launch is closed unread; runs go on', async () => {
    await run('warm', [{ steps: [{ result: { text: 'ok' } }] }]);
    const sockets = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`samgita-out-${process.pid}-`));
    expect(sockets).toHaveLength(1);
    const stranger = net.connect(path.join(os.tmpdir(), sockets[0]!, 's'));
    stranger.on('error', () => {});
    stranger.write(`not-a-token 1\n{"type":"result","subtype":"success","result":"forged"}\n`);
    await new Promise((resolve) => stranger.once('close', resolve));
    const r = await run('after', [{ steps: [{ result: { text: 'real' } }] }]);
    expect(r.outcome).toEqual({ kind: 'success', message: 'real' });
  });

  it('no output socket can be made (TMPDIR missing): runs start in-process, and work', async () => {
    release?.();
    const missing = path.join(dir, 'no-such-dir');
    const before = process.env.TMPDIR;
    process.env.TMPDIR = missing;
    try {
      release = useSpawner();
      const pidFile = path.join(dir, 'cli.pid');
      const ac = new AbortController();
      const hanging = run('long-tmp', [{ steps: [{ run: `echo $PPID > ${pidFile}` }, { hang: true }] }], ac.signal);
      await waitFor('the CLI', async () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim());
      const cli = Number(fs.readFileSync(pidFile, 'utf8'));
      const parent = parentPid(cli);
      ac.abort();
      expect((await hanging).outcome.kind).toBe('cancelled');
      expect(parent).toBe(process.pid);
      const again = await run('long-tmp-2', [{ steps: [{ result: { text: 'still fine' } }] }]);
      expect(again.outcome).toEqual({ kind: 'success', message: 'still fine' });
      expect(fs.existsSync(missing)).toBe(false);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
  });

  it('the output socket goes with the spawner', async () => {
    await run('once', [{ steps: [{ result: { text: 'ok' } }] }]);
    const mine = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`samgita-out-${process.pid}-`));
    expect(mine()).toHaveLength(1);
    release?.();
    release = undefined;
    expect(mine()).toEqual([]);
  });
});
