/**
 * The source of the spawner process (src/spawner/helper.ts), run with
 * `node -e`: plain CommonJS with no imports of ours, so it starts in tens of
 * milliseconds and stays small (its own forks are what it exists to make cheap).
 *
 * Two kinds of message in:
 *
 * - `{ id, args, cwd, env, input?, timeoutMs }` runs `git <args>` and answers
 *   `{ id, exitCode, signal, timedOut, stdout, stderr }`, or `{ id, error, code }`
 *   when git could not be started. A run past its timeout gets SIGTERM, then
 *   SIGKILL 5 s later, as execa does; the answer waits for git's pipes to close,
 *   at most 1 s past its exit.
 * - `{ id, launch: { file, args, cwd, env, input, socket, token } }` starts a
 *   long-running child (the Claude CLI) in its own process group whose stdout
 *   and stderr are two connections to the runner's unix socket, each opened
 *   with a line naming the launch (`<token> 1` or `<token> 2`): the child
 *   writes straight to the runner, and nothing of its output passes through
 *   here. Answers `{ id, pid }` once started (or `{ id, error, code }`), then
 *   `{ id, exit: { code, signal } }` when it exits.
 *
 * The helper exits when its parent's IPC channel closes (the runner's release,
 * or the runner's death), so it never outlives the runner; SIGINT and SIGTERM
 * are left to the runner. A launched child is not killed with it: the runner
 * owns its process group and stops it itself.
 *
 * `SAMGITA_SPAWNER_FAILPOINT=exit-after-fork` in its environment makes it exit
 * right after starting a launch and giving it its input, before naming the child: the one moment whose
 * clean-up (launch.ts killUnnamed) a test cannot otherwise reach on purpose.
 */
export const HELPER_SCRIPT = `'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const MAX_OUTPUT = 100 * 1024 * 1024;
const KILL_AFTER_MS = 5000;
const STREAMS_GRACE_MS = 1000;
const CONNECT_TIMEOUT_MS = 30000;
const FAILPOINT = process.env.SAMGITA_SPAWNER_FAILPOINT;
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: the
// runner decides when it stops (it drains first, and its drain runs git), then disconnects.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
const send = (reply) => {
  if (process.connected) process.send(reply);
};
process.on('message', (m) => (m.launch ? launch(m.id, m.launch) : runGit(m)));

function connectStream(l, fd) {
  return new Promise((resolve, reject) => {
    const s = net.connect(l.socket);
    const timer = setTimeout(() => s.destroy(new Error('timed out connecting to the runner')), CONNECT_TIMEOUT_MS);
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // The header is in the kernel's buffer before the child can write a byte after it.
    s.once('connect', () =>
      s.write(l.token + ' ' + fd + '\\n', (e) => {
        clearTimeout(timer);
        if (e) reject(e);
        else resolve(s);
      }),
    );
  });
}

async function launch(id, l) {
  let streams = [];
  let child;
  try {
    streams = await Promise.all([connectStream(l, 1), connectStream(l, 2)]);
    child = spawn(l.file, l.args, {
      cwd: l.cwd,
      env: l.env,
      detached: true,
      stdio: ['pipe', streams[0], streams[1]],
    });
  } catch (e) {
    for (const s of streams) s.destroy();
    send({ id, error: String(e && e.message), code: e && e.code });
    return;
  }
  // The child has its own copies of the connections; closing ours sends nothing (no shutdown).
  for (const s of streams) s.destroy();
  child.on('error', (e) => {
    if (child.pid === undefined) send({ id, error: String(e && e.message), code: e && e.code });
  });
  if (child.pid === undefined) return;
  // A CLI that exits before reading its input makes this write fail (EPIPE): its exit says why.
  child.stdin.on('error', () => {});
  child.stdin.end(l.input);
  if (FAILPOINT === 'exit-after-fork') process.exit(70);
  send({ id, pid: child.pid });
  child.on('exit', (code, signal) => send({ id, exit: { code, signal } }));
}

function runGit(m) {
  let done = false;
  let timedOut = false;
  let timer;
  let killTimer;
  const out = [];
  const err = [];
  let outBytes = 0;
  let errBytes = 0;
  const finish = (reply) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    clearTimeout(killTimer);
    send(Object.assign({ id: m.id }, reply));
  };
  let child;
  try {
    child = spawn('git', m.args, {
      cwd: m.cwd,
      env: m.env,
      stdio: [m.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (e) {
    finish({ error: String(e && e.message), code: e && e.code });
    return;
  }
  timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGTERM');
    killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
  }, m.timeoutMs);
  child.stdout.on('data', (c) => {
    if (outBytes < MAX_OUTPUT) out.push(c);
    outBytes += c.length;
  });
  child.stderr.on('data', (c) => {
    if (errBytes < MAX_OUTPUT) err.push(c);
    errBytes += c.length;
  });
  child.on('error', (e) => {
    if (child.pid === undefined) finish({ error: String(e && e.message), code: e && e.code });
  });
  const reply = (exitCode, signal) =>
    finish({
      exitCode,
      signal,
      timedOut,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    });
  child.on('close', reply);
  // A grandchild that outlives git (an ssh, a hook's background job) may hold its pipes open.
  child.on('exit', (exitCode, signal) => setTimeout(() => reply(exitCode, signal), STREAMS_GRACE_MS));
  if (m.input !== undefined) {
    child.stdin.on('error', () => {});
    child.stdin.end(m.input);
  }
}
`;
