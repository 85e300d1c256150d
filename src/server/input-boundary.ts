import type { Socket } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fastUri from 'fast-uri';
import type { FastifyReply, FastifyRequest } from 'fastify';
import sjson from 'secure-json-parse';
import { ApiError, badInput } from '../api/errors.js';

/**
 * The one input boundary of the HTTP server: everything a client sends passes
 * here before a handler sees it. Bodies are validated strictly (no type
 * coercion, no unknown fields), query strings and path parameters with the
 * coercion their text form needs; every string is checked for NUL and lone
 * surrogates (PostgreSQL refuses both, and they would otherwise surface as
 * 500s); JSON is depth-limited before it is parsed; and the errors fastify and
 * Node's HTTP parser raise themselves answer in the one documented shape.
 */

/** Deepest JSON nesting accepted: well past any real request, far below a stack overflow. */
export const MAX_JSON_DEPTH = 64;

const BASE_AJV = {
  useDefaults: true,
  uriResolver: fastUri,
  addUsedSchema: false,
  // allErrors invites a denial of service on large inputs; the first error is enough to fix a request.
  allErrors: false,
  strictTypes: false,
} as const;

/** Objects with declared properties refuse fields they do not declare (a typo must not pass silently). */
function closeObjects(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closeObjects);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) out[k] = closeObjects(v);
  if (out.type === 'object' && out.properties && !('additionalProperties' in out)) out.additionalProperties = false;
  return out;
}

/** fastify's validatorCompiler: strict for bodies, coercing for the text parts of a request. */
export function makeValidatorCompiler() {
  const strict = new Ajv({ ...BASE_AJV, coerceTypes: false, removeAdditional: false });
  const coercing = new Ajv({ ...BASE_AJV, coerceTypes: 'array', removeAdditional: false });
  addFormats.default(strict);
  addFormats.default(coercing);
  for (const ajv of [strict, coercing]) ajv.addKeyword({ keyword: 'example' }).addKeyword({ keyword: 'x-examples' });
  return ({ schema, httpPart }: { schema: unknown; httpPart?: string }): ValidateFunction =>
    httpPart === 'body' ? strict.compile(closeObjects(schema) as object) : coercing.compile(schema as object);
}

/** Where in a value a string is not text PostgreSQL (and any reader) can hold, or null when all are. */
export function badTextAt(value: unknown, path = '', depth = 0): { path: string; why: string } | null {
  if (typeof value === 'string') return textProblem(value, path);
  if (!value || typeof value !== 'object' || depth > MAX_JSON_DEPTH) return null;
  if (Buffer.isBuffer(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = badTextAt(value[i], `${path}[${i}]`, depth + 1);
      if (found) return found;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const at = path ? `${path}.${k}` : k;
    const key = textProblem(k, at);
    if (key) return { path: at, why: `has a key that ${key.why}` };
    const found = badTextAt(v, at, depth + 1);
    if (found) return found;
  }
  return null;
}

/** ES2024's String.prototype.isWellFormed (Node 20+), ahead of the TypeScript lib this project targets. */
type WellFormed = string & { isWellFormed(): boolean };

function textProblem(s: string, path: string): { path: string; why: string } | null {
  if (s.includes('\u0000')) return { path, why: 'contains a NUL character (\\u0000)' };
  if (!(s as WellFormed).isWellFormed()) return { path, why: 'contains a lone UTF-16 surrogate (not valid Unicode)' };
  return null;
}

/** preValidation hook: a string that is not valid text is a 400 naming the field, before anything stores it. */
export async function refuseBadText(req: FastifyRequest): Promise<void> {
  for (const [part, value] of [
    ['params', req.params],
    ['query', req.query],
    ['body', req.body],
  ] as const) {
    const bad = badTextAt(value);
    if (bad) throw badInput(bad.path, `${part}${bad.path ? `.${bad.path}` : ''} ${bad.why}; send valid UTF-8 text`);
  }
}

/** The nesting depth of a JSON text, counted without parsing it (strings skipped). */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/** fastify content-type parser for application/json: depth-limited, prototype-poisoning safe. */
export function parseJsonBody(
  _req: FastifyRequest,
  body: string | Buffer,
  done: (err: Error | null, value?: unknown) => void,
) {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text === '') {
    done(
      new ApiError(
        400,
        'INVALID_INPUT',
        'the body is empty but Content-Type says application/json: send JSON or drop the header',
        'body',
      ),
    );
    return;
  }
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    done(new ApiError(400, 'INVALID_INPUT', `the JSON body is nested deeper than ${MAX_JSON_DEPTH} levels`, 'body'));
    return;
  }
  try {
    done(null, sjson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }));
  } catch (err) {
    done(new ApiError(400, 'INVALID_INPUT', `the body is not valid JSON: ${(err as Error).message}`, 'body'));
  }
}

/** fastify's frameworkErrors: a malformed URL (bad percent-encoding) in the documented shape. */
export function frameworkErrors(err: Error, _req: FastifyRequest, reply: FastifyReply): void {
  const status = (err as { statusCode?: number }).statusCode ?? 400;
  void reply.code(status < 500 ? status : 400).send({
    error: { code: 'INVALID_INPUT', message: `the request URL cannot be read: ${err.message}` },
  });
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'the request was not received in time'],
  ERR_HTTP_HEADERS_TIMEOUT: [408, 'the request headers were not received in time'],
};

/** fastify's clientErrorHandler: what Node's HTTP parser refuses also answers in the one error shape. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [status, message] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'the request is not valid HTTP'];
  const body = JSON.stringify({
    error: { code: status === 408 ? 'REQUEST_TIMEOUT' : 'INVALID_INPUT', message },
  });
  socket.end(
    `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
      `Connection: close\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
