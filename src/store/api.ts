/**
 * The REST API's own records: API keys (hashes only) and outgoing webhooks
 * with their deliveries and the dispatcher's cursor.
 */
import { z } from 'zod';
import { exec, maybeOne, one, type Queryable, raw, rows, type Sql, sql, where } from './connection.js';
import { type Actor, recordEvent } from './events.js';
import { EventRow } from './read/tasks.js';

const ExistsRow = z.object({});
const UrlRow = z.object({ url: z.string() });
const IdRow = z.object({ id: z.string() });
const LastEventIdRow = z.object({ last_event_id: z.number() });
const IdNRow = z.object({ id: z.number().nullable(), n: z.number() });

/**
 * The api_keys record. Only the SHA-256 hash of a key is stored; generating,
 * hashing and verifying keys is auth/keys.ts's business.
 */
export const API_KEY_SCOPES = ['read', 'write'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const KEY_COLUMNS = raw('id, name, prefix, scope, created_at, last_used_at, revoked_at');

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
        returning ${KEY_COLUMNS}`,
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
    sql`select ${KEY_COLUMNS} from api_keys ${options.includeRevoked ? sql`` : sql`where revoked_at is null`}
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
  return (await maybeOne(db, ExistsRow, sql`select 1 from api_keys where revoked_at is null limit 1`)) !== null;
}

/** Records that a key was used, at most once a minute per key. */
export async function touchApiKey(db: Queryable, id: string): Promise<void> {
  await exec(
    db,
    sql`update api_keys set last_used_at = now()
         where id = ${id} and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
  );
}

/**
 * The outgoing webhooks record: subscriptions, their deliveries (one per
 * webhook and event) and the dispatcher's cursor over the events table.
 * Delivery jobs are queue/jobs.ts's; outgoing-webhooks/ decides when and what to send.
 */
const WEBHOOK_COLUMNS = raw('id, url, events, description, active, created_at, updated_at');

export const WebhookRow = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  description: z.string().nullable(),
  active: z.boolean(),
  created_at: z.date(),
  updated_at: z.date(),
});
export type WebhookRow = z.output<typeof WebhookRow>;

/** Stores a webhook and records `webhook.created` (the secret is not in the event). */
export async function createWebhook(
  db: Queryable,
  hook: { url: string; events: readonly string[]; secret: string; description: string | null },
  actor: Actor,
  eventData: Record<string, unknown>,
): Promise<WebhookRow> {
  const row = await one(
    db,
    WebhookRow,
    sql`insert into webhooks (url, events, secret, description)
        values (${hook.url}, ${[...hook.events]}, ${hook.secret}, ${hook.description}) returning ${WEBHOOK_COLUMNS}`,
  );
  await recordEvent(db, {
    kind: 'webhook.created',
    subjectType: 'webhook',
    subjectId: row.id,
    actor,
    data: eventData,
  });
  return row;
}

export async function listWebhooks(db: Queryable): Promise<WebhookRow[]> {
  return rows(db, WebhookRow, sql`select ${WEBHOOK_COLUMNS} from webhooks order by created_at, id`);
}

export async function webhookExists(db: Queryable, id: string): Promise<boolean> {
  return (await maybeOne(db, ExistsRow, sql`select 1 from webhooks where id = ${id}`)) !== null;
}

/** Deletes a webhook (its deliveries cascade) and records `webhook.deleted`; false when there was none. */
export async function deleteWebhook(db: Queryable, id: string, actor: Actor): Promise<boolean> {
  const gone = await maybeOne(db, UrlRow, sql`delete from webhooks where id = ${id} returning url`);
  if (!gone) return false;
  await recordEvent(db, {
    kind: 'webhook.deleted',
    subjectType: 'webhook',
    subjectId: id,
    actor,
    data: { url: gone.url },
  });
  return true;
}

const DeliveryRow = z.object({
  id: z.string(),
  webhook_id: z.string(),
  event_id: z.number(),
  event: z.string(),
  status: z.string(),
  attempts: z.number(),
  response_status: z.number().nullable(),
  response_body: z.string().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().nullable(),
  inserted_at: z.date(),
  delivered_at: z.date().nullable(),
  /** inserted_at as PostgreSQL prints it: microseconds survive the round trip through a cursor. */
  _ts: z.string(),
});

/** A webhook's deliveries, newest first, keyset-paginated; fetches one row past `limit` to tell if more follow. */
export async function listDeliveries(
  db: Queryable,
  webhookId: string,
  q: { limit: number; status?: string | undefined; after: readonly unknown[] | null },
): Promise<z.output<typeof DeliveryRow>[]> {
  const after = q.after;
  return rows(
    db,
    DeliveryRow,
    sql`select id, webhook_id, event_id, event, status, attempts, response_status, response_body, error, duration_ms,
               inserted_at, delivered_at, inserted_at::text as _ts
          from webhook_deliveries
        ${where([
          sql`webhook_id = ${webhookId}`,
          q.status && sql`status = ${q.status}`,
          after && sql`(inserted_at, id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`,
        ])}
         order by inserted_at desc, id desc limit ${q.limit + 1}`,
  );
}

/**
 * One delivery row per active webhook subscribed to each event of `events`
 * (a relation of id, kind, created_at) and created before it. The unique
 * (webhook_id, event_id) makes it idempotent: returns only the new rows.
 */
async function insertDeliveries(db: Queryable, events: Sql): Promise<string[]> {
  const created = await rows(
    db,
    IdRow,
    sql`with e as (${events})
        insert into webhook_deliveries (webhook_id, event_id, event)
        select w.id, e.id, e.kind from e
          join webhooks w on w.active and (e.kind = any (w.events) or '*' = any (w.events)) and w.created_at <= e.created_at
        on conflict (webhook_id, event_id) do nothing
        returning id`,
  );
  return created.map((r) => r.id);
}

export async function insertDeliveriesForEvent(db: Queryable, eventId: number): Promise<string[]> {
  return insertDeliveries(db, sql`select id, kind, created_at from events where id = ${eventId}`);
}

/** The deliveries of up to `limit` events after `afterId`. */
export async function insertDeliveriesAfter(db: Queryable, afterId: number, limit: number): Promise<string[]> {
  return insertDeliveries(
    db,
    sql`select id, kind, created_at from events where id > ${afterId} order by id limit ${limit}`,
  );
}

/** A delivery, where it goes, and the event it carries (the event row's columns, under their own names). */
const Delivery = EventRow.omit({ id: true }).extend({
  id: z.string(),
  status: z.string(),
  url: z.string(),
  secret: z.string(),
  active: z.boolean(),
  event_id: z.number(),
});
export type Delivery = z.output<typeof Delivery>;

/** A delivery with where it goes and the event it carries; null once its webhook is deleted. */
export async function readDelivery(db: Queryable, id: string): Promise<Delivery | null> {
  return maybeOne(
    db,
    Delivery,
    sql`select d.id, d.status, w.url, w.secret, w.active, e.id as event_id, e.kind, e.project_id, e.subject_type,
               e.subject_id, e.actor_type, e.actor_id, e.data, e.created_at
          from webhook_deliveries d join webhooks w on w.id = d.webhook_id join events e on e.id = d.event_id
         where d.id = ${id}`,
  );
}

export async function recordDeliveryAttempt(
  db: Queryable,
  id: string,
  attempt: {
    status: 'succeeded' | 'failed' | 'pending';
    responseStatus: number | null;
    responseBody: string | null;
    error: string | null;
    durationMs: number;
  },
): Promise<void> {
  await exec(
    db,
    sql`update webhook_deliveries set attempts = attempts + 1, status = ${attempt.status},
               response_status = ${attempt.responseStatus}, response_body = ${attempt.responseBody},
               error = ${attempt.error}, duration_ms = ${attempt.durationMs},
               delivered_at = case when ${attempt.status === 'succeeded'} then now() end
         where id = ${id}`,
  );
}

/**
 * The dispatcher's cursor, locked until the transaction ends; undefined when
 * another dispatcher holds it (it sweeps meanwhile).
 */
export async function lockDispatchCursor(db: Queryable): Promise<number | undefined> {
  const cur = await maybeOne(
    db,
    LastEventIdRow,
    sql`select last_event_id from webhook_dispatch_cursor for update skip locked`,
  );
  return cur?.last_event_id;
}

/**
 * Of the next `batch` events after `from`: the last one older than
 * `settleSeconds` (younger ones may still have a slower transaction commit
 * below them), and how many there were.
 */
export async function settledEventsAfter(
  db: Queryable,
  from: number,
  batch: number,
  settleSeconds: number,
): Promise<{ id: number | null; n: number }> {
  return one(
    db,
    IdNRow,
    sql`select max(id) filter (where created_at < now() - make_interval(secs => ${settleSeconds})) as id, count(*)::int as n
          from (select id, created_at from events where id > ${from} order by id limit ${batch}) b`,
  );
}

export async function advanceDispatchCursor(db: Queryable, to: number): Promise<void> {
  await exec(db, sql`update webhook_dispatch_cursor set last_event_id = ${to}, updated_at = now()`);
}
