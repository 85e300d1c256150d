import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isWebhookEvent, WEBHOOK_EVENTS } from '../../outgoing-webhooks/events.js';
import { checkWebhookUrl, urlProblemMessage } from '../../outgoing-webhooks/target-policy.js';
import { createWebhook, deleteWebhook, listDeliveries, listWebhooks, webhookExists } from '../../store/api.js';
import { withTransaction } from '../../store/connection.js';
import { type ApiContext, actorOf } from '../context.js';
import { CURSORS, decodeCursor, paginate } from '../cursor.js';
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
      // http(s), no credentials, no literal internal address; host names are checked at each delivery.
      const checked = checkWebhookUrl(b.url, ctx.env.webhookAllow);
      if (!checked.ok) throw badInput('url', urlProblemMessage(checked));
      const url = checked.url;
      const bad = b.events.findIndex((e) => !isWebhookEvent(e));
      if (bad >= 0) {
        throw badInput(
          `events.${bad}`,
          `unknown event ${JSON.stringify(b.events[bad])}; known: ${WEBHOOK_EVENTS.join(', ')}, *`,
        );
      }
      const secret = b.secret ?? `whsec_${randomBytes(24).toString('hex')}`;
      const row = await withTransaction(ctx.pool, (db) =>
        createWebhook(
          db,
          { url: url.toString(), events: [...new Set(b.events)], secret, description: b.description ?? null },
          actorOf(req),
          { url: url.toString(), events: b.events },
        ),
      );
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
    async () => ({ data: await listWebhooks(ctx.pool) }),
  );

  app.get<{ Params: z.infer<typeof IdParams>; Querystring: z.infer<typeof DeliveryListQuery> }>(
    '/api/webhooks/:id/deliveries',
    {
      schema: routeSchema({
        tags,
        summary: 'Delivery history of a webhook, newest first',
        description:
          'response_body (the first 256 characters of the answer, secrets redacted) is shown to write keys only; read keys get null.',
        params: IdParams,
        query: DeliveryListQuery,
        response: { 200: page(WebhookDelivery) },
        errors: [404],
      }),
    },
    async (req) => {
      const { limit, cursor, status } = req.query;
      if (!(await webhookExists(ctx.pool, req.params.id))) throw notFound('webhook', req.params.id);
      const after = decodeCursor(cursor, CURSORS.timeAndId);
      const rows = await listDeliveries(ctx.pool, req.params.id, { limit, status, after });
      // A receiver's answer may be internal data: only write keys see it.
      const shown = req.apiKey?.scope === 'write' ? rows : rows.map((r) => ({ ...r, response_body: null }));
      return paginate(shown, limit, (r) => [r._ts, r.id]);
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
        if (!(await deleteWebhook(db, req.params.id, actorOf(req)))) throw notFound('webhook', req.params.id);
      });
      return reply.code(204).send();
    },
  );
}
