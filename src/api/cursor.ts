import { badInput } from './errors.js';

/** Opaque keyset cursors: the sort key of the last row of a page, as base64url JSON. */
export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined, arity: number): unknown[] | null {
  if (cursor === undefined || cursor === '') return null;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === arity) return v;
  } catch {
    // fall through
  }
  throw badInput('cursor', 'cursor is not one this server issued; pass next_cursor from the previous page unchanged');
}

/** Splits a fetched `limit + 1` rows into the page and the cursor of the next one. */
export function paginate<T>(rows: T[], limit: number, key: (row: T) => unknown[]) {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, next_cursor: more && last !== undefined ? encodeCursor(key(last)) : null };
}
