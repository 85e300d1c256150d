/**
 * A scripted stand-in for the Anthropic Messages API, good enough for the REAL
 * Claude Code CLI to run against offline (ANTHROPIC_BASE_URL=<url>).
 *
 * Main-loop requests (those that carry `tools`) consume the script's turns in
 * order; side requests (title generation, quota probes: no tools) get a short
 * text reply so scripts stay stable whatever the CLI decides to ask on the side.
 * When the turns run out, an error/hang turn repeats (so CLI retries see the
 * same failure); otherwise the server answers "Done.".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface TurnUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number;
  cache_creation_input_tokens?: number;
}

export interface TurnContext {
  /** From the system prompt line `Primary working directory: <path>`. */
  cwd: string | undefined;
  body: Record<string, unknown>;
  /** 0-based index of this main-loop request. */
  index: number;
}

export type ToolInput = Record<string, unknown> | ((ctx: TurnContext) => Record<string, unknown>);

export type Turn =
  | { text: string; usage?: TurnUsage; delayMs?: number; after?: Promise<unknown> }
  | {
      /** `file_path` values that are relative are resolved against the cwd. */
      toolUse: { name: string; input: ToolInput } | Array<{ name: string; input: ToolInput }>;
      text?: string;
      usage?: TurnUsage;
      delayMs?: number;
      /** The answer waits for this: agents meeting at a barrier, not at a time. */
      after?: Promise<unknown>;
    }
  | {
      /** HTTP error. 429 → rate_limit_error, 529 → overloaded_error, 401 → authentication_error, else api_error. */
      status: number;
      message?: string;
      retryAfterSeconds?: number;
      /** Epoch seconds, or asked when the answer is sent; sent as anthropic-ratelimit-unified-reset. */
      resetsAt?: number | (() => number);
      headers?: Record<string, string>;
    }
  | { hang: true }
  /** 200 with a body that is not JSON (nor a valid event stream): a broken proxy or a truncated answer. */
  | { malformed: true };

export interface MessagesScript {
  turns: Turn[];
  /** Decides a main-loop turn itself (e.g. by time); undefined falls back to `turns`. */
  turnFor?: (ctx: TurnContext) => Turn | undefined;
  /** Default usage for replies without their own. */
  usage?: TurnUsage;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: unknown;
  kind: 'main' | 'side' | 'other';
  /** What the server answered: 'text' | 'tool_use' | 'error:<status>' | 'hang' | ... */
  answer: string;
  /** When it arrived (epoch ms). */
  at: number;
}

export interface MessagesServer {
  url: string;
  requests: RecordedRequest[];
  /** Requests the server did not expect (unknown paths), for debugging. */
  unknown: RecordedRequest[];
  close(): Promise<void>;
}

const DEFAULT_USAGE: Required<TurnUsage> = {
  input_tokens: 100,
  output_tokens: 20,
  cache_read_input_tokens: 0,
  cache_creation_input_tokens: 0,
};

export function findCwd(body: unknown): string | undefined {
  const m = /Primary working directory: ([^\n"\\]+)/.exec(JSON.stringify(body));
  return m?.[1]?.trim();
}

function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 429:
      return 'rate_limit_error';
    case 529:
      return 'overloaded_error';
    default:
      return 'api_error';
  }
}

function isErrorOrHang(t: Turn): boolean {
  return 'status' in t || 'hang' in t || 'malformed' in t;
}

export async function startMessagesServer(opts: { script: MessagesScript }): Promise<MessagesServer> {
  const { script } = opts;
  const requests: RecordedRequest[] = [];
  const unknown: RecordedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  let mainIndex = 0;
  let msgCounter = 0;

  const nextTurn = (): Turn => {
    const i = mainIndex;
    mainIndex++;
    const t = script.turns[i];
    if (t) return t;
    const last = script.turns[script.turns.length - 1];
    if (last && isErrorOrHang(last)) return last;
    return { text: 'Done.' };
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body: unknown = raw;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        /* keep raw */
      }
      const url = req.url ?? '/';
      const method = req.method ?? 'GET';
      const rec: RecordedRequest = {
        method,
        url,
        headers: req.headers,
        body,
        kind: 'other',
        answer: '',
        at: Date.now(),
      };
      requests.push(rec);

      if (method === 'HEAD' || (method === 'GET' && (url === '/' || url === ''))) {
        rec.answer = 'ok';
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end();
        return;
      }
      const pathname = url.split('?')[0] ?? '';
      if (method === 'POST' && pathname === '/v1/messages/count_tokens') {
        rec.answer = 'count_tokens';
        const n = Math.max(1, Math.ceil(raw.length / 4));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ input_tokens: n }));
        return;
      }
      if (method === 'POST' && pathname === '/v1/messages' && body && typeof body === 'object') {
        const b = body as Record<string, unknown>;
        const hasTools = Array.isArray(b.tools) && b.tools.length > 0;
        rec.kind = hasTools ? 'main' : 'side';
        const ctx: TurnContext = { cwd: findCwd(b), body: b, index: mainIndex };
        const turn: Turn = hasTools ? (script.turnFor?.(ctx) ?? nextTurn()) : { text: 'Side reply.' };
        answer(turn, b, ctx, rec, res);
        return;
      }
      rec.answer = 'unknown:404';
      unknown.push(rec);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `no route ${method} ${url}` } }),
      );
    });
  });

  const answer = (
    turn: Turn,
    body: Record<string, unknown>,
    ctx: TurnContext,
    rec: RecordedRequest,
    res: http.ServerResponse,
  ): void => {
    if ('hang' in turn) {
      rec.answer = 'hang';
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if ('malformed' in turn) {
      rec.answer = 'malformed';
      const stream = body.stream === true;
      res.writeHead(200, { 'content-type': stream ? 'text/event-stream' : 'application/json' });
      res.end(stream ? 'event: message_start\ndata: {"type":"message_start","message":{"id":\n\n' : '{"id": "msg_');
      return;
    }
    if ('status' in turn) {
      rec.answer = `error:${turn.status}`;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'request-id': `req_err_${++msgCounter}`,
      };
      if (turn.retryAfterSeconds !== undefined) headers['retry-after'] = String(turn.retryAfterSeconds);
      if (turn.status === 429) {
        headers['anthropic-ratelimit-unified-status'] = 'rejected';
        const resetsAt = typeof turn.resetsAt === 'function' ? turn.resetsAt() : turn.resetsAt;
        if (resetsAt !== undefined) {
          headers['anthropic-ratelimit-unified-reset'] = String(resetsAt);
          headers['anthropic-ratelimit-unified-5h-status'] = 'rejected';
          headers['anthropic-ratelimit-unified-5h-reset'] = String(resetsAt);
          headers['anthropic-ratelimit-unified-representative-claim'] = 'five_hour';
          headers['anthropic-ratelimit-requests-reset'] = new Date(resetsAt * 1000).toISOString();
        }
      }
      if (turn.status === 529) headers['x-should-retry'] = 'true';
      Object.assign(headers, turn.headers ?? {});
      res.writeHead(turn.status, headers);
      res.end(
        JSON.stringify({
          type: 'error',
          error: { type: errorType(turn.status), message: turn.message ?? `scripted ${turn.status}` },
          request_id: headers['request-id'],
        }),
      );
      return;
    }
    const usage = { ...DEFAULT_USAGE, ...(script.usage ?? {}), ...(turn.usage ?? {}) };
    const model = typeof body.model === 'string' ? body.model : 'claude-test';
    const id = `msg_${String(++msgCounter).padStart(4, '0')}`;
    const blocks: Array<
      { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
    > = [];
    if ('toolUse' in turn) {
      if (turn.text) blocks.push({ type: 'text', text: turn.text });
      const uses = Array.isArray(turn.toolUse) ? turn.toolUse : [turn.toolUse];
      uses.forEach((u, i) => {
        let input = typeof u.input === 'function' ? u.input(ctx) : { ...u.input };
        if (typeof input.file_path === 'string' && !path.isAbsolute(input.file_path) && ctx.cwd) {
          input = { ...input, file_path: path.join(ctx.cwd, input.file_path) };
        }
        blocks.push({ type: 'tool_use', id: `toolu_${id}_${i}`, name: u.name, input });
      });
      rec.answer = 'tool_use';
    } else {
      blocks.push({ type: 'text', text: turn.text });
      rec.answer = 'text';
    }
    const stopReason = blocks.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn';
    const stream = body.stream === true;
    const write = () => {
      if (!stream) {
        res.writeHead(200, { 'content-type': 'application/json', 'request-id': `req_${id}` });
        res.end(
          JSON.stringify({
            id,
            type: 'message',
            role: 'assistant',
            model,
            content: blocks,
            stop_reason: stopReason,
            stop_sequence: null,
            usage,
          }),
        );
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'request-id': `req_${id}`,
      });
      const ev = (type: string, data: Record<string, unknown>) =>
        res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      ev('message_start', {
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 },
        },
      });
      blocks.forEach((b, index) => {
        if (b.type === 'text') {
          ev('content_block_start', { index, content_block: { type: 'text', text: '' } });
          ev('ping', {});
          ev('content_block_delta', { index, delta: { type: 'text_delta', text: b.text } });
        } else {
          ev('content_block_start', { index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } });
          const json = JSON.stringify(b.input);
          const mid = Math.floor(json.length / 2);
          ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(0, mid) } });
          ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: json.slice(mid) } });
        }
        ev('content_block_stop', { index });
      });
      ev('message_delta', {
        delta: { stop_reason: stopReason, stop_sequence: null },
        usage: { output_tokens: usage.output_tokens },
      });
      ev('message_stop', {});
      res.end();
    };
    const delay = 'delayMs' in turn ? turn.delayMs : undefined;
    const go = () => (delay ? setTimeout(write, delay) : write());
    const gate = 'after' in turn ? turn.after : undefined;
    if (gate) void gate.then(go);
    else go();
  };

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    requests,
    unknown,
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
