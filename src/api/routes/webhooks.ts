import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { recordEvent } from '../../store/events.js';
import { withTransaction } from '../../store/pool.js';
import { isWebhookEvent, WEBHOOK_EVENTS } from '../../webhooks/events.js';
import { type ApiContext, actorOf } from '../context.js';
import { decodeCursor, paginate } from '../cursor.js';
import { badInput, notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import {
  DeliveryListQuery,
  IdParams,
  page,
  Webhook,
  WebhookCreate,
  WebhookCreated,
  WebhookDelivery,
} from '../schema.js';

const COLUMNS = 'id, url, events, description, active, created_at, updated_at';
const tags = ['webhooks'];

export async function webhookRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.post<{ Body: z.infer<typeof WebhookCreate> }>(
    '/api/webhooks',
    {
      schema: routeSchema({
        tags,
        summary: 'Register a webhook (FR-7.2)',
        description: `events: any of ${WEBHOOK_EVENTS.join(', ')}, or * for all. The secret signs every delivery (x-samgita-signature); one is generated when absent and shown only in this response.`,
        body: WebhookCreate,
        response: { 201: WebhookCreated },
      }),
    },
    async (req, reply) => {
      const b = req.body;
      let url: URL;
      try {
        url = new URL(b.url);
      } catch {
        throw badInput('url', 'url is not a valid URL');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw badInput('url', 'url must be http:// or https://');
      const bad = b.events.findIndex((e) => !isWebhookEvent(e));
      if (bad >= 0) {
        throw badInput(
          `events.${bad}`,
          `unknown event ${JSON.stringify(b.events[bad])}; known: ${WEBHOOK_EVENTS.join(', ')}, *`,
        );
      }
      const secret = b.secret ?? `whsec_${randomBytes(24).toString('hex')}`;
      const row = await withTransaction(ctx.pool, async (db) => {
        const { rows } = await db.query<{ id: string }>(
          `insert into webhooks (url, events, secret, description) values ($1, $2, $3, $4) returning ${COLUMNS}`,
          [url.toString(), [...new Set(b.events)], secret, b.description ?? null],
        );
        const w = rows[0]!;
        await recordEvent(db, {
          kind: 'webhook.created',
          subjectType: 'webhook',
          subjectId: w.id,
          actor: actorOf(req),
          data: { url: url.toString(), events: b.events },
        });
        return w;
      });
      return reply.code(201).send({ ...row, secret });
    },
  );

  app.get(
    '/api/webhooks',
    {
      schema: routeSchema({
        tags,
        summary: 'List webhooks (secrets are never shown again)',
        response: { 200: z.object({ data: z.array(Webhook) }) },
      }),
    },
    async () => {
      const { rows } = await ctx.pool.query(`select ${COLUMNS} from webhooks order by created_at, id`);
      return { data: rows };
    },
  );

  app.get<{ Params: z.infer<typeof IdParams>; Querystring: z.infer<typeof DeliveryListQuery> }>(
    '/api/webhooks/:id/deliveries',
    {
      schema: routeSchema({
        tags,
        summary: 'Delivery history of a webhook, newest first',
        params: IdParams,
        query: DeliveryListQuery,
        response: { 200: page(WebhookDelivery) },
        errors: [404],
      }),
    },
    async (req) => {
      const { limit, cursor, status } = req.query;
      const hook = await ctx.pool.query('select 1 from webhooks where id = $1', [req.params.id]);
      if (!hook.rows[0]) throw notFound('webhook', req.params.id);
      const after = decodeCursor(cursor, 2);
      const params: unknown[] = [req.params.id, limit + 1];
      const where = ['webhook_id = $1'];
      if (status) where.push(`status = $${params.push(status)}`);
      if (after)
        where.push(`(inserted_at, id) < ($${params.push(after[0])}::timestamptz, $${params.push(after[1])}::uuid)`);
      const { rows } = await ctx.pool.query<{ _ts: string; id: string }>(
        `select id, webhook_id, event_id, event, status, attempts, response_status, response_body, error, duration_ms,
           inserted_at, delivered_at, inserted_at::text as _ts
         from webhook_deliveries where ${where.join(' and ')} order by inserted_at desc, id desc limit $2`,
        params,
      );
      return paginate(rows, limit, (r) => [r._ts, r.id]);
    },
  );

  app.delete<{ Params: z.infer<typeof IdParams> }>(
    '/api/webhooks/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'Remove a webhook and its pending deliveries',
        params: IdParams,
        response: { 204: null },
        errors: [404],
      }),
    },
    async (req, reply) => {
      await withTransaction(ctx.pool, async (db) => {
        const { rows } = await db.query<{ url: string }>('delete from webhooks where id = $1 returning url', [
          req.params.id,
        ]);
        if (!rows[0]) throw notFound('webhook', req.params.id);
        await recordEvent(db, {
          kind: 'webhook.deleted',
          subjectType: 'webhook',
          subjectId: req.params.id,
          actor: actorOf(req),
          data: { url: rows[0].url },
        });
      });
      return reply.code(204).send();
    },
  );
}
