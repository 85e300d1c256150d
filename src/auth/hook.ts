import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';
import type { EventKind } from '../domain/events.js';
import type { RateLimiter } from '../server/rate-limit.js';
import type { Queryable } from '../store/connection.js';
import type { NotifyHub } from '../store/events.js';
import { sessionFromCookie } from '../web-ui/session-cookie.js';
import { CREATE_KEY_HINT, hasActiveKeys, hashKey, type KeyScope, touchApiKey, verifyApiKey } from './keys.js';

export interface AuthenticatedKey {
  id: string;
  name: string;
  scope: KeyScope;
}

declare module 'fastify' {
  interface FastifyRequest {
    apiKey: AuthenticatedKey | null;
  }
  interface FastifyContextConfig {
    /** 'public' routes need no key; 'read' and 'write' are the scope required. Default: by method. */
    auth?: 'public' | 'read' | 'write';
  }
}

/** The key from `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(req: FastifyRequest): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1]!;
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) return x.trim();
  // The status page's session cookie (src/web-ui); writes also need the page's own header (CSRF).
  const safe = req.method === 'GET' || req.method === 'HEAD';
  return safe || req.headers['x-samgita-ui'] === '1' ? sessionFromCookie(req.headers.cookie) : null;
}

function requiredScope(req: FastifyRequest): 'public' | KeyScope {
  const configured = req.routeOptions.config?.auth;
  if (configured) return configured;
  // The interactive API page (and its assets) served by @fastify/swagger-ui.
  if (req.url === '/docs' || req.url.startsWith('/docs/')) return 'public';
  return req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' ? 'read' : 'write';
}

/**
 * onRequest hook: every route needs a key unless marked public. With no key in
 * the database at all the API stays closed and says how to create one.
 */
/** How long a verified key is trusted without asking the database again. */
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

/** A key created or revoked anywhere: cached verifications may be stale. */
const KEY_EVENTS: ReadonlySet<string> = new Set<EventKind>(['api_key.created', 'api_key.revoked']);

export function authHook(db: Queryable, limiter: RateLimiter | null, hub?: NotifyHub) {
  const touched = new Map<string, number>();
  // Verified keys, by the hash of what was presented (the secret itself is not kept).
  // A revocation anywhere clears it through the event stream, so revoking stays
  // effective at once; the TTL bounds staleness should a notification be missed.
  const verified = new Map<string, { key: AuthenticatedKey; until: number }>();
  hub?.subscribe('samgita_events', (e) => {
    if (KEY_EVENTS.has(String(e.kind))) verified.clear();
  });
  const verify = async (presented: string): Promise<Awaited<ReturnType<typeof verifyApiKey>>> => {
    const id = hashKey(presented);
    const hit = verified.get(id);
    if (hit && hit.until > Date.now()) return { ok: true as const, key: hit.key };
    const result = await verifyApiKey(db, presented);
    if (result.ok) {
      if (verified.size >= KEY_CACHE_MAX) verified.clear();
      verified.set(id, { key: result.key, until: Date.now() + KEY_CACHE_MS });
    } else verified.delete(id);
    return result;
  };
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    req.apiKey = null;
    const need = requiredScope(req);
    if (need === 'public') return;
    const presented = presentedKey(req);
    if (!presented) {
      const any = await hasActiveKeys(db);
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        any
          ? 'an API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`'
          : 'no API key exists yet, so the API is closed',
        undefined,
        CREATE_KEY_HINT,
      );
    }
    const result = await verify(presented);
    if (!result.ok) {
      const message =
        result.reason === 'revoked'
          ? 'this API key has been revoked'
          : result.reason === 'malformed'
            ? 'the API key is malformed: expected sg_<prefix>_<secret>'
            : 'the API key is not valid';
      throw new ApiError(401, 'UNAUTHORIZED', message, undefined, CREATE_KEY_HINT);
    }
    if (need === 'write' && result.key.scope !== 'write') {
      throw new ApiError(
        403,
        'FORBIDDEN',
        `key ${result.key.name} has scope read; ${req.method} needs a write key`,
        undefined,
        'create one with `samgita keys create --name ci --scope write`',
      );
    }
    if (limiter) {
      const wait = limiter.take(result.key.id);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new ApiError(429, 'RATE_LIMITED', `too many requests for key ${result.key.name}; retry in ${wait}s`);
      }
    }
    req.apiKey = result.key;
    const now = Date.now();
    if ((touched.get(result.key.id) ?? 0) < now - 60_000) {
      touched.set(result.key.id, now);
      touchApiKey(db, result.key.id).catch(() => {});
    }
  };
}
