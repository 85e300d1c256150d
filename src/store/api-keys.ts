/**
 * The api_keys record. Only the SHA-256 hash of a key is stored; generating,
 * hashing and verifying keys is auth/keys.ts's business.
 */
import { z } from 'zod';
import { type Actor, recordEvent } from './events.js';
import type { Queryable } from './pool.js';
import { exec, maybeOne, one, raw, rows, sql } from './sql.js';

export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const COLUMNS = raw('id, name, prefix, scope, created_at, last_used_at, revoked_at');

export const ApiKeyRow = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scope: z.enum(API_KEY_SCOPES),
  created_at: z.date(),
  last_used_at: z.date().nullable(),
  revoked_at: z.date().nullable(),
});
export type ApiKeyRow = z.output<typeof ApiKeyRow>;

/** Stores a key's hash and records `api_key.created`. A taken prefix fails with PostgreSQL's 23505. */
export async function insertApiKey(
  db: Queryable,
  key: { name: string; prefix: string; hash: string; scope: ApiKeyScope },
  actor: Actor,
): Promise<ApiKeyRow> {
  const row = await one(
    db,
    ApiKeyRow,
    sql`insert into api_keys (name, prefix, hash, scope) values (${key.name}, ${key.prefix}, ${key.hash}, ${key.scope})
        returning ${COLUMNS}`,
  );
  await recordEvent(db, {
    kind: 'api_key.created',
    subjectType: 'api_key',
    subjectId: row.id,
    actor,
    data: { name: row.name, prefix: key.prefix, scope: row.scope },
  });
  return row;
}

export async function listApiKeys(db: Queryable, options: { includeRevoked?: boolean } = {}): Promise<ApiKeyRow[]> {
  return rows(
    db,
    ApiKeyRow,
    sql`select ${COLUMNS} from api_keys ${options.includeRevoked ? sql`` : sql`where revoked_at is null`}
         order by created_at, id`,
  );
}

/**
 * Revokes the key with this id or prefix and records `api_key.revoked`;
 * revoking twice keeps the first time and records nothing. Null when there is no such key.
 */
export async function revokeApiKey(
  db: Queryable,
  ref: { id: string } | { prefix: string },
  actor: Actor,
): Promise<ApiKeyRow | null> {
  const match = 'id' in ref ? sql`id = ${ref.id}::uuid` : sql`prefix = ${ref.prefix}`;
  const row = await maybeOne(
    db,
    ApiKeyRow.extend({ was_revoked: z.boolean() }),
    sql`with k as (select id, revoked_at is not null as was_revoked from api_keys where ${match})
        update api_keys a set revoked_at = coalesce(a.revoked_at, now()) from k where a.id = k.id
        returning a.id, a.name, a.prefix, a.scope, a.created_at, a.last_used_at, a.revoked_at, k.was_revoked`,
  );
  if (!row) return null;
  const { was_revoked, ...key } = row;
  if (!was_revoked) {
    await recordEvent(db, {
      kind: 'api_key.revoked',
      subjectType: 'api_key',
      subjectId: key.id,
      actor,
      data: { name: key.name, prefix: key.prefix },
    });
  }
  return key;
}

const StoredKey = z.object({
  id: z.string(),
  name: z.string(),
  scope: z.enum(API_KEY_SCOPES),
  hash: z.string(),
  revoked: z.boolean(),
});

/** The stored hash of the key with this prefix, for a constant-time comparison. */
export async function findApiKeyByPrefix(db: Queryable, prefix: string): Promise<z.output<typeof StoredKey> | null> {
  return maybeOne(
    db,
    StoredKey,
    sql`select id, name, scope, hash, revoked_at is not null as revoked from api_keys where prefix = ${prefix}`,
  );
}

export async function hasActiveKeys(db: Queryable): Promise<boolean> {
  return (await maybeOne(db, z.object({}), sql`select 1 from api_keys where revoked_at is null limit 1`)) !== null;
}

/** Records that a key was used, at most once a minute per key. */
export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await exec(
    db,
    sql`update api_keys set last_used_at = now()
         where id = ${id} and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
  );
}
