/**
 * The api_sessions record: the status page's sessions, each made from an API
 * key. Only the SHA-256 hash of a session id is stored; making ids, hashing
 * and deciding what a session may do is auth/sessions.ts's business.
 */
import { z } from 'zod';
import { API_KEY_SCOPES, type ApiKeyScope } from './api.js';
import { exec, maybeOne, one, type Queryable, sql } from './connection.js';

export const SessionRow = z.object({
  id: z.string(),
  api_key_id: z.string(),
  scope: z.enum(API_KEY_SCOPES),
  created_at: z.date(),
  expires_at: z.date(),
});
export type SessionRow = z.output<typeof SessionRow>;

/** Stores a session that ends `ttlSeconds` from now; sessions ended more than a day ago are deleted on the way. */
export async function insertSession(
  db: Queryable,
  session: { tokenHash: string; apiKeyId: string; scope: ApiKeyScope; ttlSeconds: number },
): Promise<SessionRow> {
  await exec(db, sql`delete from api_sessions where expires_at < now() - interval '1 day'`);
  return one(
    db,
    SessionRow,
    sql`insert into api_sessions (token_hash, api_key_id, scope, expires_at)
        values (${session.tokenHash}, ${session.apiKeyId}, ${session.scope},
                now() + make_interval(secs => ${session.ttlSeconds}::double precision))
        returning id, api_key_id, scope, created_at, expires_at`,
  );
}

const FoundSession = z.object({
  id: z.string(),
  /** The session's scope, lowered to the key's should the key have less. */
  scope: z.enum(API_KEY_SCOPES),
  expires_at: z.date(),
  expired: z.boolean(),
  revoked: z.boolean(),
  key_id: z.string(),
  key_name: z.string(),
  key_revoked: z.boolean(),
});
export type FoundSession = z.output<typeof FoundSession>;

/** The session with this token hash, joined to its key's state (null when there is none). */
export async function findSession(db: Queryable, tokenHash: string): Promise<FoundSession | null> {
  return maybeOne(
    db,
    FoundSession,
    sql`select s.id,
               case when s.scope = 'write' and k.scope = 'write' then 'write' else 'read' end as scope,
               s.expires_at, s.expires_at <= now() as expired, s.revoked_at is not null as revoked,
               k.id as key_id, k.name as key_name, k.revoked_at is not null as key_revoked
          from api_sessions s join api_keys k on k.id = s.api_key_id
         where s.token_hash = ${tokenHash}`,
  );
}

/** Ends the session with this token hash (sign-out); true when one was still open. */
export async function revokeSession(db: Queryable, tokenHash: string): Promise<boolean> {
  return (
    (await exec(
      db,
      sql`update api_sessions set revoked_at = now() where token_hash = ${tokenHash} and revoked_at is null`,
    )) > 0
  );
}

/** Records that a session was used, at most once a minute. */
export async function touchSession(db: Queryable, id: string): Promise<void> {
  await exec(
    db,
    sql`update api_sessions set last_seen_at = now()
         where id = ${id} and last_seen_at < now() - interval '1 minute'`,
  );
}
