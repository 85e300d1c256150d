/**
 * The host side of the sandbox's only ways out. A sandboxed process has no
 * network of its own; bin/sandbox-bridge.mjs, inside, forwards loopback
 * ports to these Unix sockets:
 *
 * - the model socket is a reverse proxy to the model API (ANTHROPIC_BASE_URL,
 *   else api.anthropic.com) that puts the real credential in place of the
 *   placeholder the sandboxed CLI was given, so neither the CLI's tools nor
 *   anything they run ever hold the key;
 * - an egress socket is an HTTP proxy (CONNECT for HTTPS, absolute-form for
 *   HTTP) that lets through only the hosts of its list and answers 403 to
 *   anything else.
 *
 * One server per distinct route, for the life of the process; the sockets
 * live in a private 0700 directory removed at exit. Every outgoing connection
 * has a timeout.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { logger } from '../log/logger.js';
import { hostAllowed } from './network.js';

export interface ModelRoute {
  /** The model API's base URL. */
  upstream: string;
  /** Placeholder (what the sandbox holds) → the real value, swapped in x-api-key and Authorization. */
  credentials: Record<string, string>;
}

const CONNECT_TIMEOUT_MS = 10_000;
/** Marks an answer the proxy made itself (the upstream was unreachable), not the upstream's. */
export const PROXY_ERROR_HEADER = 'x-samgita-proxy-error';
/** A streamed answer may pause while the model thinks; a connection silent this long is dead. */
const IDLE_TIMEOUT_MS = 10 * 60_000;

let dir: string | null = null;
const servers = new Map<string, Promise<string>>();

function socketDir(): string {
  if (dir) return dir;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'samgita-net-'));
  fs.chmodSync(dir, 0o700);
  const made = dir;
  process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
  return made;
}

function serve(key: string, make: () => http.Server): Promise<string> {
  let p = servers.get(key);
  if (p) return p;
  const file = path.join(socketDir(), `${key}.sock`);
  p = new Promise<string>((resolve, reject) => {
    const server = make();
    server.once('error', reject);
    server.listen(file, () => {
      server.unref();
      resolve(file);
    });
  });
  p.catch(() => servers.delete(key));
  servers.set(key, p);
  return p;
}

function hash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** The socket of a proxy to the model API holding `route`'s credentials. */
export function modelSocket(route: ModelRoute): Promise<string> {
  return serve(`m-${hash(route)}`, () => modelProxy(route));
}

/** The socket of a proxy that lets through only `hosts`. */
export function egressSocket(hosts: readonly string[]): Promise<string> {
  const list = [...hosts].sort();
  return serve(`e-${hash(list)}`, () => egressProxy(list));
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade'];

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  target: URL,
  headers: http.OutgoingHttpHeaders,
  agent: http.Agent,
): void {
  const client = target.protocol === 'https:' ? https : http;
  const out = client.request(
    target,
    { method: req.method, headers: { ...headers, host: target.host }, agent, timeout: IDLE_TIMEOUT_MS },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('timeout', () => out.destroy(new Error(`no answer from ${target.host} within ${IDLE_TIMEOUT_MS} ms`)));
  out.on('error', (err) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(502, { 'content-type': 'application/json', [PROXY_ERROR_HEADER]: '1' });
    res.end(
      JSON.stringify({
        type: 'error',
        error: { type: 'api_error', message: `Samgita's sandbox proxy could not reach ${target.host}: ${err.message}` },
      }),
    );
  });
  res.on('close', () => {
    if (!res.writableFinished) out.destroy();
  });
  req.pipe(out);
}

function copyHeaders(req: http.IncomingMessage): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = { ...req.headers };
  delete headers.host;
  for (const h of HOP_BY_HOP) delete headers[h];
  return headers;
}

function modelProxy(route: ModelRoute): http.Server {
  const base = new URL(route.upstream);
  const prefix = base.pathname.replace(/\/+$/, '');
  const agent = new (base.protocol === 'https:' ? https : http).Agent({ keepAlive: true });
  const swap = (value: string) => {
    let v = value;
    for (const [placeholder, real] of Object.entries(route.credentials)) v = v.split(placeholder).join(real);
    return v;
  };
  return http.createServer((req, res) => {
    const headers = copyHeaders(req);
    for (const h of ['x-api-key', 'authorization']) {
      const v = headers[h];
      if (typeof v === 'string') headers[h] = swap(v);
    }
    // Path and query set apart on the upstream's origin: a request line like `//other.host/x` stays a path.
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const target = new URL(base.origin);
    target.pathname = prefix + (q < 0 ? url : url.slice(0, q));
    target.search = q < 0 ? '' : url.slice(q);
    forward(req, res, target, headers, agent);
  });
}

function refuse(host: string): string {
  return `Samgita's sandbox allows no connection to ${host}: the agent's network is the model API only. Allow package registries with sandbox.network.allow_registries: true, or a host with sandbox.network.allowed_hosts in samgita.yaml.\n`;
}

function egressProxy(hosts: readonly string[]): http.Server {
  const log = logger().child({ component: 'sandbox-egress' });
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('a proxy request needs an absolute http:// URL\n');
      return;
    }
    if (target.protocol !== 'http:' || !hostAllowed(target.hostname, hosts)) {
      log.info({ host: target.hostname }, 'sandbox egress refused');
      res.writeHead(403, { 'content-type': 'text/plain' }).end(refuse(target.hostname));
      return;
    }
    forward(req, res, target, copyHeaders(req), agent);
  });
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url ?? '');
    const host = m?.[1] ?? '';
    const port = Number(m?.[2]);
    socket.on('error', () => socket.destroy());
    if (!m || (port !== 443 && port !== 80) || !hostAllowed(host, hosts)) {
      log.info({ host: req.url }, 'sandbox egress refused');
      socket.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\n${refuse(host || String(req.url))}`);
      return;
    }
    const up = net.connect({ host, port });
    let connected = false;
    up.setTimeout(CONNECT_TIMEOUT_MS, () => {
      socket.end('HTTP/1.1 504 Gateway Timeout\r\n\r\n');
      up.destroy();
    });
    up.once('connect', () => {
      connected = true;
      up.setTimeout(IDLE_TIMEOUT_MS, () => {
        up.destroy();
        socket.destroy();
      });
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', (err) => {
      if (!connected) socket.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      else socket.destroy();
      log.debug({ host, err: err.message }, 'sandbox egress connection failed');
    });
  });
  return server;
}
