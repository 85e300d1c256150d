import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface SseStream {
  send(event: { id?: string | number; event?: string; data: unknown }): void;
  comment(text: string): void;
  readonly closed: boolean;
  onClose(fn: () => void): void;
}

/** Whether the client asked for Server-Sent Events. */
export function wantsSse(req: FastifyRequest, follow?: boolean): boolean {
  return follow === true || (req.headers.accept ?? '').includes('text/event-stream');
}

/**
 * Takes the response over from fastify and opens an SSE stream with a
 * heartbeat comment every `heartbeatMs` so proxies keep the connection open.
 */
export function openSse(
  req: FastifyRequest,
  reply: FastifyReply,
  ctx: { heartbeatMs: number; open: Set<ServerResponse> },
): SseStream {
  const heartbeatMs = ctx.heartbeatMs;
  reply.hijack();
  const res = reply.raw;
  ctx.open.add(res);
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 3000\n\n');
  let closed = false;
  const closers: Array<() => void> = [];
  const heartbeat = setInterval(() => {
    if (!closed) res.write(`: heartbeat ${new Date().toISOString()}\n\n`);
  }, heartbeatMs);
  heartbeat.unref();
  const close = () => {
    if (closed) return;
    closed = true;
    ctx.open.delete(res);
    clearInterval(heartbeat);
    for (const fn of closers) fn();
  };
  req.raw.on('close', close);
  res.on('close', close);
  res.on('error', close);
  return {
    get closed() {
      return closed;
    },
    onClose(fn) {
      if (closed) fn();
      else closers.push(fn);
    },
    comment(text) {
      if (!closed) res.write(`: ${text.replace(/\n/g, ' ')}\n\n`);
    },
    send({ id, event, data }) {
      if (closed) return;
      let out = '';
      if (id !== undefined) out += `id: ${id}\n`;
      if (event) out += `event: ${event}\n`;
      out += `data: ${JSON.stringify(data)}\n\n`;
      res.write(out);
    },
  };
}
