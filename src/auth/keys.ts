import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { SamgitaError } from '../errors.js';
import {
  API_KEY_SCOPES,
  type ApiKeyRow,
  type ApiKeyScope,
  findApiKeyByPrefix,
  insertApiKey,
  revokeApiKey as revokeStoredKey,
} from '../store/api.js';
import type { Queryable } from '../store/connection.js';
import type { Actor } from '../store/events.js';

export { hasActiveKeys, listApiKeys, touchApiKey } from '../store/api.js';

export type KeyScope = ApiKeyScope;
export const KEY_SCOPES: readonly KeyScope[] = API_KEY_SCOPES;

export type ApiKeyInfo = ApiKeyRow;

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
      const row = await insertApiKey(
        db,
        { name: input.name.trim(), prefix, hash: hashKey(key), scope: input.scope },
        actor,
      );
      return { ...row, key };
    } catch (err) {
      // A prefix collision (48 random bits) is next to impossible; try again.
      if (attempt < 3 && (err as { code?: string }).code === '23505') continue;
      throw err;
    }
  }
}

/** Revokes by id or by prefix; returns the key, or throws NOT_FOUND. Revoking twice is a no-op. */
export async function revokeApiKey(
  db: Queryable,
  idOrPrefix: string,
  actor: Actor = { type: 'cli' },
): Promise<ApiKeyInfo> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(idOrPrefix);
  const prefix = idOrPrefix.replace(/^sg_/, '').slice(0, 12);
  const key = await revokeStoredKey(db, isUuid ? { id: idOrPrefix } : { prefix }, actor);
  if (!key) {
    throw new SamgitaError('NOT_FOUND', `no API key with id or prefix ${JSON.stringify(idOrPrefix)}`, {
      hint: 'list keys with `samgita keys list`',
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
  const row = await findApiKeyByPrefix(db, parsed.prefix);
  // Hash anyway so an unknown prefix costs the same as a wrong secret.
  const given = Buffer.from(hashKey(presented), 'hex');
  const stored = Buffer.from(row?.hash ?? '0'.repeat(64), 'hex');
  const same = stored.length === given.length && timingSafeEqual(stored, given);
  if (!row || !same) return { ok: false, reason: 'unknown' };
  if (row.revoked) return { ok: false, reason: 'revoked' };
  return { ok: true, key: { id: row.id, name: row.name, scope: row.scope } };
}
