import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import { EventFeed, kindMatches } from '../../server/event-feed.js';
import { openSse } from '../../server/sse.js';
import { type EventRow, eventsAfter, listEvents } from '../../store/read/tasks.js';
import type { ApiContext } from '../context.js';
import { CURSORS, decodeCursor, paginate } from '../cursor.js';
import { badInput } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { Event, EventListQuery, EventStreamQuery, page } from '../schema.js';

const tags = ['events'];

export async function eventRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const feed = new EventFeed(ctx.pool, ctx.hub, ctx.log);

  app.get<{ Querystring: z.infer<typeof EventListQuery> }>(
    '/api/events',
    {
      schema: routeSchema({
        tags,
        summary: 'The audit log: every state change with who made it',
        description:
          'Filter by project_id, kind (exact, or a prefix like `task.*`) and actor_id (an API key id, a runner id, a GitHub login). Newest first by default; cursor pagination by id.',
        query: EventListQuery,
        response: { 200: page(Event) },
      }),
    },
    async (req) => {
      const { limit, cursor, project_id, kind, actor_id, order } = req.query;
      const after = decodeCursor(cursor, CURSORS.serialId);
      const rows = await listEvents(ctx.pool, {
        projectId: project_id,
        kind,
        actorId: actor_id,
        order,
        limit,
        afterId: after ? after[0] : null,
      });
      return paginate(rows, limit, (r) => [r.id]);
    },
  );

  app.get<{ Querystring: z.infer<typeof EventStreamQuery> }>(
    '/api/events/stream',
    {
      schema: routeSchema({
        tags,
        summary: 'Live events over Server-Sent Events',
        description:
          'Each event is sent as `id: <event id>`, `event: <kind>`, `data: <event JSON>`. Reconnect with `Last-Event-ID` (or `?after=`) to receive what was missed first. Heartbeat comments every 15 s. Filters: project_id, kind (exact or `prefix.*`).',
        query: EventStreamQuery,
        response: {
          200: {
            description: 'text/event-stream of events',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
        },
      }),
    },
    async (req, reply) => {
      const { project_id, kind } = req.query;
      const header = req.headers['last-event-id'];
      let fromHeader: number | undefined;
      if (typeof header === 'string' && header !== '') {
        fromHeader = Number(header);
        if (!/^\d{1,16}$/.test(header) || !Number.isSafeInteger(fromHeader)) {
          throw badInput('Last-Event-ID', 'Last-Event-ID must be the id of an event this server sent (a whole number)');
        }
      }
      const resumeFrom = fromHeader ?? req.query.after;
      const matches = (e: EventRow) => (!project_id || e.project_id === project_id) && kindMatches(kind, e.kind);

      const stream = openSse(req, reply, ctx.sse);
      let lastSent = resumeFrom ?? 0;
      let live = false;
      const buffered: EventRow[] = [];
      const send = (e: EventRow) => {
        if (e.id <= lastSent || !matches(e)) return;
        lastSent = e.id;
        stream.send({ id: e.id, event: e.kind, data: e });
      };
      const unsubscribe = feed.subscribe((e) => (live ? send(e) : buffered.push(e)));
      stream.onClose(unsubscribe);
      await ctx.hub.start().catch(() => {});
      try {
        if (resumeFrom !== undefined) {
          for (;;) {
            const rows = await eventsAfter(ctx.pool, lastSent, { projectId: project_id, kind }, 1000);
            for (const e of rows) send(e);
            if (rows.length < 1000 || stream.closed) break;
          }
        }
      } catch (err) {
        // The client reconnects with its Last-Event-ID; a stream that cannot catch up must not sit half-open.
        req.log.warn({ err }, 'event stream could not replay; closed');
        unsubscribe();
        reply.raw.end();
        return;
      }
      for (const e of buffered.splice(0)) send(e);
      live = true;
      stream.comment('live');
    },
  );
}
