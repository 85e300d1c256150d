#!/usr/bin/env node
// Runs INSIDE the bubblewrap sandbox, in front of the sandboxed command (the
// Claude Code CLI, an install step). The sandbox has its own network namespace
// with nothing but loopback, so the command reaches the outside only through
// the Unix sockets Samgita binds in (src/sandbox/egress.ts): this bridge
// listens on 127.0.0.1 ports inside and pipes each connection to its socket,
// then starts the command with the variables that point at those ports
// (ANTHROPIC_BASE_URL, HTTPS_PROXY). Plain JavaScript with no imports beyond
// node: it must start fast and read nothing but itself.
//
//   node sandbox-bridge.mjs '<json>' -- <command> [args...]
//   json: {"listen":[{"socket":"/path.sock","env":{"NAME":"http://127.0.0.1:{port}"}}]}
import { spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';

const sep = process.argv.indexOf('--');
if (sep < 3 || sep === process.argv.length - 1) {
  process.stderr.write('usage: sandbox-bridge.mjs <json> -- <command> [args...]\n');
  process.exit(2);
}
const spec = JSON.parse(process.argv[2]);
const [command, ...args] = process.argv.slice(sep + 1);
const env = { ...process.env };

async function listen(route) {
  const server = net.createServer((client) => {
    const upstream = net.connect(route.socket);
    const done = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', done);
    upstream.on('error', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  server.unref();
  const { port } = server.address();
  for (const [name, template] of Object.entries(route.env)) env[name] = template.replaceAll('{port}', String(port));
}

for (const route of spec.listen ?? []) await listen(route);

const child = spawn(command, args, { stdio: 'inherit', env });
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    try {
      child.kill(sig);
    } catch {
      /* gone */
    }
  });
}
child.on('error', (err) => {
  process.stderr.write(`sandbox: cannot start ${command}: ${err.message}\n`);
  process.exit(err.code === 'ENOENT' ? 127 : 126);
});
// A killed command reports 128+n, as a shell would.
child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 15) : 0)));
