import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SamgitaError } from '../errors.js';
import { type Actor, recordEvent } from '../store/events.js';
import type { Queryable } from '../store/pool.js';

export type KeyScope = 'read' | 'write';
export const KEY_SCOPES: readonly KeyScope[] = ['read', 'write'];

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  scope: KeyScope;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

export interface CreatedKey extends ApiKeyInfo {
  /** The whole key, `sg_<prefix>_<secret>`: shown once, never stored. */
  key: string;
}

const KEY_RE = /^sg_([0-9a-f]{12})_([0-9a-f]{64})$/;

export const CREATE_KEY_HINT = 'create one with `samgita keys create --name ci --scope write`';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Splits `sg_<prefix>_<secret>`; null when the text is not shaped like a key. */
export function parseKey(key: string): { prefix: string } | null {
  const m = KEY_RE.exec(key);
  return m ? { prefix: m[1]! } : null;
}

function assertName(name: string): void {
  if (!name.trim() || name.length > 100) {
    throw new SamgitaError('INVALID_INPUT', 'key name must be 1 to 100 characters', { location: { field: 'name' } });
  }
}

function assertScope(scope: string): asserts scope is KeyScope {
  if (!KEY_SCOPES.includes(scope as KeyScope)) {
    throw new SamgitaError('INVALID_INPUT', `scope must be read or write (got ${JSON.stringify(scope)})`, {
      location: { field: 'scope' },
      hint: 'read allows GET requests only; write allows every request',
    });
  }
}

const COLUMNS = 'id, name, prefix, scope, created_at, last_used_at, revoked_at';

export async function createApiKey(
  db: Queryable,
  input: { name: string; scope: string },
  actor: Actor = { type: 'cli' },
): Promise<CreatedKey> {
  assertName(input.name);
  assertScope(input.scope);
  for (let attempt = 0; ; attempt++) {
    const prefix = randomBytes(6).toString('hex');
    const key = `sg_${prefix}_${randomBytes(32).toString('hex')}`;
    try {
      const { rows } = await db.query<ApiKeyInfo>(
        `insert into api_keys (name, prefix, hash, scope) values ($1, $2, $3, $4) returning ${COLUMNS}`,
        [input.name.trim(), prefix, hashKey(key), input.scope],
      );
      const row = rows[0]!;
      await recordEvent(db, {
        kind: 'api_key.created',
        subjectType: 'api_key',
        subjectId: row.id,
        actor,
        data: { name: row.name, prefix, scope: row.scope },
      });
      return { ...row, key };
    } catch (err) {
      // A prefix collision (48 random bits) is next to impossible; try again.
      if (attempt < 3 && (err as { code?: string }).code === '23505') continue;
      throw err;
    }
  }
}

export async function listApiKeys(db: Queryable, options: { includeRevoked?: boolean } = {}): Promise<ApiKeyInfo[]> {
  const { rows } = await db.query<ApiKeyInfo>(
    `select ${COLUMNS} from api_keys ${options.includeRevoked ? '' : 'where revoked_at is null'} order by created_at, id`,
  );
  return rows;
}

/** Revokes by id or by prefix; returns the key, or throws NOT_FOUND. Revoking twice is a no-op. */
export async function revokeApiKey(
  db: Queryable,
  idOrPrefix: string,
  actor: Actor = { type: 'cli' },
): Promise<ApiKeyInfo> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const prefix = idOrPrefix.replace(/^sg_/, '').slice(0, 12);
  const { rows } = await db.query<ApiKeyInfo & { was_revoked: boolean }>(
    `with k as (select id, revoked_at is not null as was_revoked from api_keys where ${isUuid ? 'id = $1::uuid' : 'prefix = $1'})
     update api_keys a set revoked_at = coalesce(a.revoked_at, now()) from k where a.id = k.id
     returning ${COLUMNS.split(', ')
       .map((c) => `a.${c}`)
       .join(', ')}, k.was_revoked`,
    [isUuid ? idOrPrefix : prefix],
  );
  const row = rows[0];
  if (!row) {
    throw new SamgitaError('NOT_FOUND', `no API key with id or prefix ${JSON.stringify(idOrPrefix)}`, {
      hint: 'list keys with `samgita keys list`',
    });
  }
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

export type VerifyResult =
  | { ok: true; key: { id: string; name: string; scope: KeyScope } }
  | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' };

/** Checks a presented key against its stored hash in constant time. */
export async function verifyApiKey(db: Queryable, presented: string): Promise<VerifyResult> {
  const parsed = parseKey(presented);
  if (!parsed) return { ok: false, reason: 'malformed' };
  const { rows } = await db.query<{ id: string; name: string; scope: KeyScope; hash: string; revoked: boolean }>(
    'select id, name, scope, hash, revoked_at is not null as revoked from api_keys where prefix = $1',
    [parsed.prefix],
  );
  const row = rows[0];
  // Hash anyway so an unknown prefix costs the same as a wrong secret.
  const given = Buffer.from(hashKey(presented), 'hex');
  const stored = Buffer.from(row?.hash ?? '0'.repeat(64), 'hex');
  const same = stored.length === given.length && timingSafeEqual(stored, given);
  if (!row || !same) return { ok: false, reason: 'unknown' };
  if (row.revoked) return { ok: false, reason: 'revoked' };
  return { ok: true, key: { id: row.id, name: row.name, scope: row.scope } };
}

export async function hasActiveKeys(db: Queryable): Promise<boolean> {
  const { rows } = await db.query('select 1 from api_keys where revoked_at is null limit 1');
  return rows.length > 0;
}

/** Records that a key was used, at most once a minute per key. */
export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await db.query(
    `update api_keys set last_used_at = now()
     where id = $1 and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
    [id],
  );
}
