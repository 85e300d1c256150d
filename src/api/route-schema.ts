import type { FastifySchema } from 'fastify';
import type { z } from 'zod';
import { ErrorBody, toJson } from './schema.js';

const ERROR = toJson(ErrorBody);

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'invalid input; `error.field` names the field at fault',
  401: 'missing, unknown or revoked API key',
  403: 'the key lacks the write scope',
  404: 'not found',
  409: 'conflict with the current state',
  413: 'request body too large',
  429: 'rate limited; see the retry-after header',
};

export interface RouteDoc {
  tags: string[];
  summary: string;
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Bodies keyed by media type, for routes that also take multipart uploads. */
  bodyContent?: Record<string, z.ZodType | Record<string, unknown>>;
  /** zod schema, null for no content, or a raw OpenAPI response object (e.g. for SSE). */
  response: Record<number, z.ZodType | null | Record<string, unknown>>;
  /** Extra error statuses this route can answer with (400/401/403/429 are always listed). */
  errors?: number[];
  public?: boolean;
}

/** A fastify route schema (validation, serialisation, OpenAPI) from zod schemas. */
export function routeSchema(doc: RouteDoc): FastifySchema {
  const response: Record<string, unknown> = {};
  for (const [status, s] of Object.entries(doc.response)) {
    if (s === null) response[status] = { description: 'No content', type: 'null' };
    else response[status] = isZod(s) ? { description: 'OK', ...toJson(s) } : s;
  }
  const errorStatuses = new Set([400, ...(doc.public ? [] : [401, 403, 429]), ...(doc.errors ?? [])]);
  for (const status of errorStatuses) response[status] = { ...ERROR, description: ERROR_DESCRIPTIONS[status] };
  const schema: FastifySchema & Record<string, unknown> = {
    tags: doc.tags,
    summary: doc.summary,
    response,
  };
  if (doc.description) schema.description = doc.description;
  if (doc.public) schema.security = [];
  if (doc.params) schema.params = toJson(doc.params, 'input');
  if (doc.query) schema.querystring = toJson(doc.query, 'input');
  if (doc.body) schema.body = toJson(doc.body, 'input');
  if (doc.bodyContent) {
    const content: Record<string, { schema: unknown }> = {};
    for (const [type, s] of Object.entries(doc.bodyContent)) {
      content[type] = { schema: isZod(s) ? toJson(s, 'input') : s };
    }
    schema.body = { content };
  }
  return schema;
}

function isZod(s: unknown): s is z.ZodType {
  return typeof s === 'object' && s !== null && '_zod' in s;
}
