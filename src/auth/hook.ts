import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';
import type { EventKind } from '../domain/events.js';
import type { RateLimiter } from '../server/rate-limit.js';
import type { Queryable } from '../store/connection.js';
import type { NotifyHub } from '../store/events.js';
import { touchSession } from '../store/sessions.js';
import { sessionFromCookie, sessionMayReach } from '../web-ui/session-cookie.js';
import { DEFAULT_FAILED_AUTH, FailedAuthLimiter, type FailedAuthOptions } from './failed-auth.js';
import { CREATE_KEY_HINT, hasActiveKeys, hashKey, type KeyScope, touchApiKey, verifyApiKey } from './keys.js';
import { SIGN_IN_HINT, sessionFailureMessage, verifySession } from './sessions.js';

export interface AuthenticatedKey {
  id: string;
  name: string;
  scope: KeyScope;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The key the request authenticated with, directly or through a session of the status page. */
    apiKey: AuthenticatedKey | null;
    /** The status page's session that authenticated the request, when it was one. */
    apiSession: { id: string; expiresAt: Date } | null;
    /** The failed-authentication limit, for routes that check a credential themselves (sign-in). */
    authFailures: FailedAuthLimiter | null;
  }
  interface FastifyContextConfig {
    /** 'public' routes need no key; 'read' and 'write' are the scope required. Default: by method. */
    auth?: 'public' | 'read' | 'write';
  }
}

export type Credential = { kind: 'key'; value: string } | { kind: 'session'; value: string };

/**
 * The key from `Authorization: Bearer <key>` or `x-api-key: <key>`, else the
 * status page's session cookie — for writes only with the page's own
 * `x-samgita-ui: 1` header, which a cross-site form cannot add (CSRF).
 */
export function presentedCredential(req: FastifyRequest): Credential | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return { kind: 'key', value: m[1]! };
  }
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x.trim()) return { kind: 'key', value: x.trim() };
  const safe = req.method === 'GET' || req.method === 'HEAD';
  if (!safe && req.headers['x-samgita-ui'] !== '1') return null;
  const session = sessionFromCookie(req.headers.cookie);
  return session ? { kind: 'session', value: session } : null;
}

function requiredScope(req: FastifyRequest): 'public' | KeyScope {
  const configured = req.routeOptions.config?.auth;
  if (configured) return configured;
  // The interactive API page (and its assets) served by @fastify/swagger-ui.
  if (req.url === '/docs' || req.url.startsWith('/docs/')) return 'public';
  return req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS' ? 'read' : 'write';
}

/** How long a verified key is trusted without asking the database again. */
const KEY_CACHE_MS = 5_000;
const KEY_CACHE_MAX = 10_000;

/** A key created or revoked anywhere: cached verifications may be stale. */
const KEY_EVENTS: ReadonlySet<string> = new Set<EventKind>(['api_key.created', 'api_key.revoked']);

export interface AuthHookOptions {
  /** The limit on failed authentication per client address; false turns it off. Default 10 a minute. */
  failedAuth?: FailedAuthOptions | false;
}

/**
 * onRequest hook: every route needs a key unless marked public. With no key in
 * the database at all the API stays closed and says how to create one. The
 * status page's session cookie stands in for its key on the page's routes only
 * (web-ui/session-cookie.ts). Failed authentication is limited per client
 * address (failed-auth.ts); each key's requests by the token bucket `limiter`.
 */
export function authHook(db: Queryable, limiter: RateLimiter | null, hub?: NotifyHub, options: AuthHookOptions = {}) {
  const failures =
    options.failedAuth === false ? null : new FailedAuthLimiter(options.failedAuth ?? DEFAULT_FAILED_AUTH);
  const touched = new Map<string, number>();
  // Verified keys, by the hash of what was presented (the secret itself is not kept).
  // A revocation anywhere clears it through the event stream, so revoking stays
  // effective at once; the TTL bounds staleness should a notification be missed.
  // Sessions are not cached: each request looks its session up (one indexed join),
  // so a sign-out or a revoked key ends it on every server at once.
  const verified = new Map<string, { key: AuthenticatedKey; until: number }>();
  hub?.subscribe('samgita_events', (e) => {
    if (KEY_EVENTS.has(String(e.kind))) verified.clear();
  });
  const verify = async (presented: string, id: string): Promise<Awaited<ReturnType<typeof verifyApiKey>>> => {
    const hit = verified.get(id);
    if (hit && hit.until > Date.now()) return { ok: true as const, key: hit.key };
    const result = await verifyApiKey(db, presented);
    if (result.ok) {
      if (verified.size >= KEY_CACHE_MAX) verified.clear();
      verified.set(id, { key: result.key, until: Date.now() + KEY_CACHE_MS });
    } else verified.delete(id);
    return result;
  };
  const touchedSessions = new Map<string, number>();
  const authenticate = async (req: FastifyRequest, cred: Credential, hash: string): Promise<AuthenticatedKey> => {
    if (cred.kind === 'key') {
      const result = await verify(cred.value, hash);
      if (result.ok) return result.key;
      // A revoked key is a real (former) key, not a guess: refused but not counted.
      if (result.reason === 'revoked') failures?.refused(hash);
      else failures?.failed(req.ip, hash);
      const message =
        result.reason === 'revoked'
          ? 'this API key has been revoked'
          : result.reason === 'malformed'
            ? 'the API key is malformed: expected sg_<prefix>_<secret>'
            : 'the API key is not valid';
      throw new ApiError(401, 'UNAUTHORIZED', message, undefined, CREATE_KEY_HINT);
    }
    const result = await verifySession(db, cred.value);
    if (!result.ok) {
      // Only a well-formed id that matches nothing is a guess; a malformed one (such as an
      // old cookie that held a key) costs no lookup and could never match.
      if (result.reason === 'unknown') failures?.failed(req.ip, hash);
      else failures?.refused(hash);
      throw new ApiError(401, 'UNAUTHORIZED', sessionFailureMessage(result.reason), undefined, SIGN_IN_HINT);
    }
    req.apiSession = result.session;
    const now = Date.now();
    if ((touchedSessions.get(result.session.id) ?? 0) < now - 60_000) {
      if (touchedSessions.size >= KEY_CACHE_MAX) touchedSessions.clear();
      touchedSessions.set(result.session.id, now);
      touchSession(db, result.session.id).catch(() => {});
    }
    return result.key;
  };
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    req.apiKey = null;
    req.apiSession = null;
    req.authFailures = failures;
    const need = requiredScope(req);
    if (need === 'public') return;
    const presented = presentedCredential(req);
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
    if (presented.kind === 'session' && !sessionMayReach(req.method, req.routeOptions.url)) {
      throw new ApiError(
        401,
        'UNAUTHORIZED',
        `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]} needs an API key: the status page's session is accepted only on the routes the page uses`,
        undefined,
        'send `Authorization: Bearer <key>` or `x-api-key: <key>`',
      );
    }
    const hash = hashKey(presented.value);
    const blocked = failures?.retryAfter(req.ip, hash) ?? 0;
    if (blocked > 0) {
      reply.header('retry-after', String(blocked));
      throw new ApiError(
        429,
        'RATE_LIMITED',
        `too many failed authentication attempts from ${req.ip}; retry in ${blocked}s`,
        undefined,
        'check the API key: a key that has not authenticated recently waits until the limit refills',
      );
    }
    const key = await authenticate(req, presented, hash);
    failures?.succeeded(hash);
    if (need === 'write' && key.scope !== 'write') {
      throw new ApiError(
        403,
        'FORBIDDEN',
        `${req.apiSession ? 'this session of key' : 'key'} ${key.name} has scope read; ${req.method} needs a write key`,
        undefined,
        'create one with `samgita keys create --name ci --scope write`',
      );
    }
    if (limiter) {
      const wait = limiter.take(key.id);
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new ApiError(429, 'RATE_LIMITED', `too many requests for key ${key.name}; retry in ${wait}s`);
      }
    }
    req.apiKey = key;
    const now = Date.now();
    if ((touched.get(key.id) ?? 0) < now - 60_000) {
      touched.set(key.id, now);
      touchApiKey(db, key.id).catch(() => {});
    }
  };
}
