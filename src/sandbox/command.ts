/**
 * One sandboxed command: bubblewrap around it, and when it may reach the
 * network only through Samgita's proxies, the bridge (bin/sandbox-bridge.mjs)
 * in front of it. Used for the Claude Code CLI (claude.ts) and for verify
 * commands (runner/verify-commands.ts), so both get the same walls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bwrapArgs, defaultHidden } from './bwrap.js';
import { egressSocket, type ModelRoute, modelSocket } from './egress.js';
import type { Egress } from './network.js';

/** Where the proxies' sockets appear inside the sandbox (its private /tmp). */
const INSIDE = '/tmp/.samgita-net';
const BRIDGE = fileURLToPath(new URL('../../bin/sandbox-bridge.mjs', import.meta.url));

export interface Walls {
  /** The one writable directory. */
  workdir: string;
  samgitaHome: string;
  /** The repository whose .git the worktree points into (visible read-only). */
  repo?: string | undefined;
  /** More read-only paths (the CLI's installation). */
  readOnly?: string[];
  /** Nothing writable but the private /tmp and HOME. */
  readOnlyWorkdir?: boolean;
}

export interface Command {
  file: string;
  args: string[];
  env: Record<string, string>;
}

/**
 * Host paths every sandbox may also see, read-write: SAMGITA_SANDBOX_BIND
 * (colon-separated absolute paths) — an operator's setting for the runner
 * (a shared package cache, say), never samgita.yaml's: a repository must not
 * be able to open the host to its own agents.
 */
export function operatorBinds(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.SAMGITA_SANDBOX_BIND ?? '')
    .split(':')
    .map((p) => p.trim())
    .filter((p) => path.isAbsolute(p));
}

/** `argv` inside the walls with `egress` as its only network; `model` when the model API is one of the ways out. */
export async function sandboxed(
  walls: Walls,
  egress: Egress,
  argv: string[],
  env: Record<string, string>,
  model?: ModelRoute,
): Promise<Command> {
  const pathDirs = (env.PATH ?? process.env.PATH ?? '').split(':').filter((d) => path.isAbsolute(d));
  const readOnly = [
    ...(walls.repo ? [path.join(walls.repo, '.git')] : []),
    // Tools on PATH that live in a hidden place (a node from npx under /tmp, ~/.local/bin) stay usable.
    ...pathDirs,
    path.dirname(process.execPath),
    path.dirname(BRIDGE),
    ...(walls.readOnly ?? []),
  ];
  const bind = operatorBinds().map((p) => ({ src: p, dest: p }));
  const listen: Array<{ socket: string; env: Record<string, string> }> = [];
  const inner = { ...env };
  for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'ALL_PROXY'])
    delete inner[k];
  if (egress.kind === 'filtered') {
    if (egress.model && model) {
      const sock = await modelSocket(model);
      bind.push({ src: sock, dest: `${INSIDE}/model.sock` });
      listen.push({ socket: `${INSIDE}/model.sock`, env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:{port}' } });
    }
    if (egress.hosts.length) {
      const sock = await egressSocket(egress.hosts);
      bind.push({ src: sock, dest: `${INSIDE}/egress.sock` });
      const url = 'http://127.0.0.1:{port}';
      listen.push({
        socket: `${INSIDE}/egress.sock`,
        env: { HTTPS_PROXY: url, HTTP_PROXY: url, https_proxy: url, http_proxy: url },
      });
      inner.NO_PROXY = '127.0.0.1,localhost';
      inner.no_proxy = '127.0.0.1,localhost';
    }
  }
  const command = listen.length ? [process.execPath, BRIDGE, JSON.stringify({ listen }), '--', ...argv] : argv;
  return {
    file: 'bwrap',
    args: bwrapArgs(
      {
        workdir: walls.workdir,
        hide: defaultHidden(walls.samgitaHome),
        readOnly,
        bind,
        network: egress.kind === 'host' ? 'host' : 'none',
        readOnlyWorkdir: walls.readOnlyWorkdir ?? false,
      },
      command,
    ),
    env: inner,
  };
}

/** The real file behind `bin` (a name on PATH, a symlink), so its directory can be made visible. */
export function resolveBin(bin: string, pathVar = process.env.PATH ?? ''): string {
  const candidates = bin.includes('/') ? [bin] : pathVar.split(':').map((d) => path.join(d, bin));
  for (const c of candidates) {
    try {
      return fs.realpathSync(c);
    } catch {
      /* not here */
    }
  }
  return bin;
}
