/**
 * The source of the git helper process (src/git/git-helper.ts), run with
 * `node -e`: plain CommonJS with no imports of ours, so it starts in tens of
 * milliseconds and stays small (its own forks are what it exists to make cheap).
 *
 * Messages in: `{ id, args, cwd, env, input?, timeoutMs }` runs `git <args>`;
 * out: `{ id, exitCode, signal, timedOut, stdout, stderr }` or `{ id, error, code }`
 * when git could not be started. A run past its timeout gets SIGTERM, then
 * SIGKILL 5 s later, as execa does; the answer waits for git's pipes to close,
 * at most 1 s past its exit. The helper exits when its parent's IPC channel
 * closes (the runner's release, or the runner's death), so it never outlives
 * the runner; SIGINT and SIGTERM are left to the runner.
 */
export const HELPER_SCRIPT = `'use strict';
const { spawn } = require('node:child_process');
const MAX_OUTPUT = 100 * 1024 * 1024;
const KILL_AFTER_MS = 5000;
const STREAMS_GRACE_MS = 1000;
process.on('disconnect', () => process.exit(0));
// Ctrl-C in a terminal and a service manager's SIGTERM reach the whole process group: the
// runner decides when it stops (it drains first, and its drain runs git), then disconnects.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
process.on('message', (m) => {
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
    if (process.connected) process.send(Object.assign({ id: m.id }, reply));
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
});
`;
