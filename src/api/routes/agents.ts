import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { openSse, wantsSse } from '../../server/sse.js';
import { projectExists } from '../../store/read/projects.js';
import { activeAgentRuns, agentRunEnded, readAgentLogs, readAgentRun } from '../../store/read/tasks.js';
import type { ApiContext } from '../context.js';
import { notFound } from '../errors.js';
import { routeSchema } from '../route-schema.js';
import { AgentLog, AgentLogQuery, AgentRun, IdParams } from '../schema.js';

const tags = ['agents'];

export async function agentRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  app.get<{ Params: z.infer<typeof IdParams> }>(
    '/api/projects/:id/agents',
    {
      schema: routeSchema({
        tags,
        summary: 'List a project’s active agent runs (not yet ended)',
        params: IdParams,
        response: { 200: listOf(AgentRun) },
        errors: [404],
      }),
    },
    async (req) => {
      const rows = await activeAgentRuns(ctx.pool, req.params.id);
      if (rows.length === 0 && !(await projectExists(ctx.pool, req.params.id)))
        throw notFound('project', req.params.id);
      return { data: rows };
    },
  );

  app.get<{ Params: z.infer<typeof IdParams> }>(
    '/api/agents/:id',
    {
      schema: routeSchema({
        tags,
        summary: 'Get an agent run',
        params: IdParams,
        response: { 200: AgentRun },
        errors: [404],
      }),
    },
    async (req) => {
      const run = await readAgentRun(ctx.pool, req.params.id);
      if (!run) throw notFound('agent run', req.params.id);
      return run;
    },
  );

  app.get<{ Params: z.infer<typeof IdParams>; Querystring: z.infer<typeof AgentLogQuery> }>(
    '/api/agents/:id/logs',
    {
      schema: routeSchema({
        tags,
        summary: 'An agent run’s log: JSON history, or live over SSE',
        description:
          'With `Accept: text/event-stream` or `?follow=1` the response is an SSE stream: every line after `after` (event `log`, id = line id, data = the line as JSON), then new lines as they are written; `event: end` when the run has ended. Heartbeat comments every 15 s.',
        params: IdParams,
        query: AgentLogQuery,
        response: { 200: listOf(AgentLog) },
        errors: [404],
      }),
    },
    async (req, reply) => {
      const runId = req.params.id;
      const { after, limit, follow } = req.query;
      const ended = await agentRunEnded(ctx.pool, runId);
      if (ended === null) throw notFound('agent run', runId);
      if (!wantsSse(req, follow)) return { data: await readAgentLogs(ctx.pool, runId, after, limit) };

      const stream = openSse(req, reply, ctx.sse);
      let last = after;
      let busy = false;
      let dirty = false;
      const pump = async (): Promise<void> => {
        if (busy) {
          dirty = true;
          return;
        }
        busy = true;
        try {
          do {
            dirty = false;
            for (;;) {
              const rows = await readAgentLogs(ctx.pool, runId, last, 1000);
              for (const r of rows) stream.send({ id: r.id, event: 'log', data: r });
              if (rows.length) last = rows[rows.length - 1]!.id;
              if (rows.length < 1000 || stream.closed) break;
            }
          } while (dirty && !stream.closed);
        } catch (err) {
          ctx.log.warn({ err, runId }, 'agent log stream read failed');
        } finally {
          busy = false;
        }
      };
      const unsubscribe = ctx.hub.subscribe('samgita_agent_logs', (p) => {
        if (p.agent_run_id === runId) void pump();
      });
      stream.onClose(unsubscribe);
      await ctx.hub.start().catch(() => {});
      await pump();
      if (ended) {
        stream.send({ event: 'end', data: { agent_run_id: runId, last_id: last } });
        reply.raw.end();
      }
    },
  );
}

function listOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item) });
}
