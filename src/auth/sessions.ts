import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../store/connection.js';
import { findSession, insertSession, revokeSession } from '../store/sessions.js';
import type { KeyScope } from './keys.js';

/**
 * The status page's sessions (docs/status-page.md). Signing in with an API key
 * makes a session: a random id (32 bytes, base64url) that the browser keeps in
 * its cookie and of which the database keeps only the SHA-256 hash. A session
 * ends at a fixed time (absolute, 12 h by default: use does not extend it), at
 * sign-out, or when its key is revoked or deleted.
 */
export const DEFAULT_SESSION_TTL_SECONDS = 12 * 3600;

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export function hashSessionToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CreatedSession {
  /** The session id for the cookie: returned once, never stored. */
  token: string;
  id: string;
  scope: KeyScope;
  expiresAt: Date;
}

/** Makes a session for a verified key, with at most the key's scope. */
export async function createSession(
  db: Queryable,
  key: { id: string; scope: KeyScope },
  options: { scope?: KeyScope; ttlSeconds?: number } = {},
): Promise<CreatedSession> {
  const scope: KeyScope = key.scope === 'write' && (options.scope ?? 'write') === 'write' ? 'write' : 'read';
  const token = randomBytes(32).toString('base64url');
  const row = await insertSession(db, {
    tokenHash: hashSessionToken(token),
    apiKeyId: key.id,
    scope,
    ttlSeconds: options.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS,
  });
  return { token, id: row.id, scope: row.scope, expiresAt: row.expires_at };
}

export type SessionResult =
  | { ok: true; session: { id: string; expiresAt: Date }; key: { id: string; name: string; scope: KeyScope } }
  | { ok: false; reason: 'malformed' | 'unknown' | 'expired' | 'revoked' | 'key_revoked' };

/** Looks a cookie's session id up, with its key's current state: a revoked key ends its sessions. */
export async function verifySession(db: Queryable, token: string): Promise<SessionResult> {
  if (!TOKEN_RE.test(token)) return { ok: false, reason: 'malformed' };
  const s = await findSession(db, hashSessionToken(token));
  if (!s) return { ok: false, reason: 'unknown' };
  if (s.key_revoked) return { ok: false, reason: 'key_revoked' };
  if (s.revoked) return { ok: false, reason: 'revoked' };
  if (s.expired) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    session: { id: s.id, expiresAt: s.expires_at },
    key: { id: s.key_id, name: s.key_name, scope: s.scope },
  };
}

/** Sign-out: ends the session of this cookie value (whatever its state). */
export async function endSession(db: Queryable, token: string): Promise<void> {
  if (TOKEN_RE.test(token)) await revokeSession(db, hashSessionToken(token));
}

export function sessionFailureMessage(reason: Exclude<SessionResult, { ok: true }>['reason']): string {
  switch (reason) {
    case 'expired':
      return 'your session has expired: sign in again';
    case 'revoked':
      return 'this session was signed out: sign in again';
    case 'key_revoked':
      return 'the API key this session was made from has been revoked';
    default:
      return 'the session is not valid: sign in again';
  }
}

export const SIGN_IN_HINT = 'sign in on the status page (/ui/) with an API key';
