import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from '../api/errors.js';
import { hashKey, type KeyScope, verifyApiKey } from '../auth/keys.js';
import { createSession, DEFAULT_SESSION_TTL_SECONDS, endSession } from '../auth/sessions.js';
import { cookieSecureFromEnv, type EnvConfig } from '../config/env.js';
import type { Queryable } from '../store/connection.js';
import { sessionCookie, sessionFromCookie } from './session-cookie.js';

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  type: string;
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.json': 'application/json',
};

/** web/dist of this package, from src/web-ui or dist/src/web-ui alike. */
export function findWebDist(): string | null {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'web', 'dist');
    if (existsSync(path.join(candidate, 'index.html'))) return candidate;
    dir = path.dirname(dir);
  }
  return null;
}

async function loadAssets(dist: string): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await walk(full, `${prefix}${e.name}/`);
        continue;
      }
      const ext = path.extname(e.name);
      const body = await readFile(full);
      const compressible = ['.js', '.css', '.html', '.svg', '.map', '.json'].includes(ext);
      assets.set(`${prefix}${e.name}`, {
        body,
        gzip: compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : null,
        type: TYPES[ext] ?? 'application/octet-stream',
        // esbuild names assets <name>-<hash>.<ext>: cache those forever.
        immutable: /-[A-Z0-9]{8}\.[a-z]+$/i.test(e.name),
      });
    }
  };
  await walk(dist, '');
  return assets;
}

function sendAsset(req: FastifyRequest, reply: FastifyReply, a: Asset, cacheControl: string) {
  reply.header('content-type', a.type);
  reply.header('cache-control', cacheControl);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('vary', 'accept-encoding');
  const accepts = String(req.headers['accept-encoding'] ?? '');
  if (a.gzip && /\bgzip\b/.test(accepts)) {
    reply.header('content-encoding', 'gzip');
    return reply.send(a.gzip);
  }
  return reply.send(a.body);
}

export interface WebUiOptions {
  pool: Queryable;
  /** Defaults to this package's web/dist. */
  distDir?: string;
  /** How long a session lasts from sign-in (absolute; default 12 h). */
  sessionTtlSeconds?: number;
  /** The session cookie's Secure attribute; default env.cookieSecure. */
  cookieSecure?: boolean;
  /** The process configuration (cookieSecure); default: read from process.env. */
  env?: EnvConfig;
}

/**
 * The status page: web/dist served with long-lived caching for hashed assets,
 * an SPA fallback under /ui/, and sign-in: an API key is exchanged for a
 * server-side session (src/auth/sessions.ts) whose id alone goes into an
 * httpOnly, SameSite=Strict cookie; the API auth hook accepts it on the
 * page's routes (session-cookie.ts).
 */
export async function webUi(app: FastifyInstance, opts: WebUiOptions): Promise<void> {
  const dist = opts.distDir ?? findWebDist();
  const assets = dist ? await loadAssets(dist) : new Map<string, Asset>();
  const index = assets.get('index.html');
  const ttl = opts.sessionTtlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
  // From configuration only: a client's X-Forwarded-Proto must not decide it.
  const secure = opts.cookieSecure ?? opts.env?.cookieSecure ?? cookieSecureFromEnv(process.env);
  const publicRoute = { config: { auth: 'public' as const }, schema: { hide: true } };

  const page = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!index) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('the status page is not built: run `npm run build:web`');
    }
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self'");
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    return sendAsset(req, reply, index, 'no-cache');
  };

  app.get('/', publicRoute, async (_req, reply) => reply.redirect('/ui/'));
  app.get('/ui', publicRoute, page);
  app.get('/ui/*', publicRoute, page);
  app.get<{ Params: { '*': string } }>('/assets/*', publicRoute, async (req, reply) => {
    const a = assets.get(`assets/${req.params['*']}`);
    if (!a) throw new ApiError(404, 'NOT_FOUND', `no asset ${req.params['*']}`);
    return sendAsset(req, reply, a, a.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  });

  app.post<{ Body: { key: string; scope?: KeyScope } }>(
    '/api/session',
    {
      config: { auth: 'public' },
      schema: {
        hide: true,
        body: {
          type: 'object',
          properties: {
            key: { type: 'string', minLength: 1, maxLength: 200 },
            // A view-only session from a write key; never more than the key's scope.
            scope: { type: 'string', enum: ['read', 'write'] },
          },
          required: ['key'],
        },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store');
      // Only the page signs in (login CSRF: a cross-site form cannot add this header).
      if (req.headers['x-samgita-ui'] !== '1') {
        throw new ApiError(403, 'FORBIDDEN', 'sign in from the status page: the x-samgita-ui: 1 header is missing');
      }
      const key = String(req.body.key).trim();
      const hash = hashKey(key);
      const failures = req.authFailures;
      const wait = failures?.retryAfter(req.ip, hash) ?? 0;
      if (wait > 0) {
        reply.header('retry-after', String(wait));
        throw new ApiError(
          429,
          'RATE_LIMITED',
          `too many failed sign-in attempts from this address; retry in ${wait}s`,
          'key',
        );
      }
      const result = await verifyApiKey(opts.pool, key);
      if (!result.ok) {
        if (result.reason === 'revoked') failures?.refused(hash);
        else failures?.failed(req.ip, hash);
        throw new ApiError(
          401,
          'UNAUTHORIZED',
          result.reason === 'malformed'
            ? 'that is not an API key: expected sg_<prefix>_<secret>'
            : result.reason === 'revoked'
              ? 'this API key has been revoked'
              : 'this API key is not valid',
          'key',
          'create one with `samgita keys create --name me --scope write`',
        );
      }
      failures?.succeeded(hash);
      if (req.body.scope === 'write' && result.key.scope !== 'write') {
        throw new ApiError(403, 'FORBIDDEN', `key ${result.key.name} has scope read`, 'scope');
      }
      const session = await createSession(opts.pool, result.key, {
        ...(req.body.scope ? { scope: req.body.scope } : {}),
        ttlSeconds: ttl,
      });
      reply.header('set-cookie', sessionCookie(session.token, ttl, secure));
      return { name: result.key.name, scope: session.scope, expires_at: session.expiresAt.toISOString() };
    },
  );

  app.get('/api/session', { config: { auth: 'read' }, schema: { hide: true } }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return {
      name: req.apiKey?.name ?? null,
      scope: req.apiKey?.scope ?? null,
      expires_at: req.apiSession?.expiresAt.toISOString() ?? null,
    };
  });

  // Sign-out: ends the session server-side (whatever state it is in) and clears the cookie.
  app.delete('/api/session', { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
    const token = sessionFromCookie(req.headers.cookie);
    if (token) await endSession(opts.pool, token);
    reply.header('set-cookie', sessionCookie('', 0, secure));
    reply.header('cache-control', 'no-store');
    return reply.code(204).send();
  });
}
