import { z } from 'zod';
import { badInput } from './errors.js';

/**
 * Opaque keyset cursors: the sort key of the last row of a page, as base64url
 * JSON. A cursor comes back from the client, so it is validated against the
 * shape of its key before any value reaches SQL: a crafted one is a 400, never
 * a PostgreSQL cast error.
 */
export function encodeCursor(values: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}

/** inserted_at as PostgreSQL prints timestamptz::text, e.g. `2026-12-01 04:05:06.123456+00`. */
const pgTimestamp = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/)
  .refine((s) => !Number.isNaN(Date.parse(s.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00'))));
const uuid = z.uuid();
/** graphile-worker / tasks priorities are integers well inside int4. */
const priority = z.number().int().min(-2_147_483_648).max(2_147_483_647);
/** bigserial ids, as JSON numbers while they stay exact. */
const serial = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** The cursor shapes of the list routes, by their sort key. */
export const CURSORS = {
  timeAndId: z.tuple([pgTimestamp, uuid]),
  priorityAndId: z.tuple([priority, uuid]),
  serialId: z.tuple([serial]),
} as const;

export function decodeCursor<T extends z.ZodType<readonly unknown[]>>(
  cursor: string | undefined,
  shape: T,
): z.output<T> | null {
  if (cursor === undefined || cursor === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = shape.safeParse(value);
  if (parsed.success) return parsed.data;
  throw badInput('cursor', 'cursor is not one this server issued; pass next_cursor from the previous page unchanged');
}

/** Splits a fetched `limit + 1` rows into the page and the cursor of the next one. */
export function paginate<T>(rows: T[], limit: number, key: (row: T) => unknown[]) {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return { data, next_cursor: more && last !== undefined ? encodeCursor(key(last)) : null };
}
