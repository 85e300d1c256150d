/**
 * Typed queries: a `sql` tagged template (sql-template-tag: values always travel
 * as parameters, never spliced into the text) and a zod schema per row, so a
 * store function's result type is what PostgreSQL actually returned — a
 * renamed column or a changed type fails loudly at the query, not three
 * modules later. Runs on the shared pg pool that graphile-worker also uses.
 */
import type { Sql } from 'sql-template-tag';
import type { z } from 'zod';
import type { Queryable } from './pool.js';

export { default as sql, empty, join, raw, Sql } from 'sql-template-tag';

/** Every row, each parsed by `row`. */
export async function rows<S extends z.ZodType>(db: Queryable, row: S, query: Sql): Promise<z.output<S>[]> {
  const result = await db.query(query);
  return result.rows.map((r) => row.parse(r));
}

/** The first row, or null when there is none. */
export async function maybeOne<S extends z.ZodType>(db: Queryable, row: S, query: Sql): Promise<z.output<S> | null> {
  const result = await db.query(query);
  const first = result.rows[0];
  return first === undefined ? null : row.parse(first);
}

/** Exactly one row; anything else is a bug in the query, reported with it. */
export async function one<S extends z.ZodType>(db: Queryable, row: S, query: Sql): Promise<z.output<S>> {
  const result = await db.query(query);
  if (result.rows.length !== 1)
    throw new Error(`expected one row, got ${result.rows.length}: ${query.text.replace(/\s+/g, ' ').slice(0, 200)}`);
  return row.parse(result.rows[0]);
}

/** A statement run for its effect; returns how many rows it touched. */
export async function exec(db: Queryable, query: Sql): Promise<number> {
  const result = await db.query(query);
  return result.rowCount ?? 0;
}
