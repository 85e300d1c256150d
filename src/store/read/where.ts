/** Composes optional filters into one WHERE clause (values stay parameters). */
import { empty, join, Sql, sql } from '../sql.js';

/** `where a and b …` of the conditions given, or nothing when none is. */
export function where(conditions: ReadonlyArray<Sql | null | undefined | false | ''>): Sql {
  const given = conditions.filter((c): c is Sql => c instanceof Sql);
  return given.length ? sql`where ${join(given, ' and ')}` : empty;
}

/** `kind` filter: exact, or a prefix when it ends in `.*` (e.g. `task.*`). */
export function kindCondition(kind: string): Sql {
  if (!kind.endsWith('.*')) return sql`kind = ${kind}`;
  // LIKE's own wildcards in the prefix are matched literally.
  return sql`kind like ${`${kind.slice(0, -2).replace(/[\\%_]/g, '\\$&')}.%`}`;
}
