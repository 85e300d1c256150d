import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { EventKind } from '../domain/events.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { listenToEvents } from '../store/events.js';
import { createGitHubApp, type GitHubApp } from './app.js';
import type { GitHubConfig } from './config.js';
import { enqueueDelivery } from './deliveries.js';
import type { OctokitTuning } from './octokit.js';

const OWN_EVENTS: ReadonlySet<string> = new Set<EventKind>(['github.pr_opened', 'github.publish_deferred']);

export interface MountDeps {
  pool: pg.Pool;
  config: GitHubConfig;
  samgitaHome: string;
  log: Logger;
  octokit?: OctokitTuning;
  /** Listen for samgita_events and keep check runs / dashboards current (default true). */
  listen?: boolean;
  /** How often deferred publishes are retried (default 60 s). */
  retryEveryMs?: number;
  /** A pending delivery came again: look for work orphaned by a dead server now. */
  onRedelivery?: () => void;
}

/** The one error body of the API, for the webhook endpoint too. */
const refuse = (code: string, message: string) => ({ error: { code, message } });

/**
 * Mounts the GitHub App's webhook endpoint on the server's one port. The body
 * is read raw (the signature covers the exact bytes) in an encapsulated scope,
 * so the API's JSON parsing is unaffected. A delivery with a valid signature
 * is stored with its job and answered 202 at once (deliveries.ts); 401 for a
 * bad signature, 400 for a payload that is not a JSON object.
 */
export async function mountGitHubApp(app: FastifyInstance, deps: MountDeps): Promise<GitHubApp> {
  const github = createGitHubApp(deps);
  await app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    // Authenticated by the webhook signature, not an API key.
    scope.post(deps.config.webhookPath, { config: { auth: 'public' }, schema: { hide: true } }, async (req, reply) => {
      const h = req.headers;
      const id = String(h['x-github-delivery'] ?? '');
      const name = String(h['x-github-event'] ?? '');
      const signature = String(h['x-hub-signature-256'] ?? '');
      if (!id || !name || !signature) {
        return reply
          .code(400)
          .send(refuse('INVALID_INPUT', 'missing X-GitHub-Delivery, X-GitHub-Event or X-Hub-Signature-256'));
      }
      if (id.length > 200 || !/^[\w.-]+$/.test(id) || !/^[a-z_]{1,100}$/.test(name)) {
        return reply.code(400).send(refuse('INVALID_INPUT', 'X-GitHub-Delivery or X-GitHub-Event is malformed'));
      }
      const body = typeof req.body === 'string' ? req.body : '';
      if (!(await github.probot.webhooks.verify(body, signature).catch(() => false))) {
        deps.log.warn({ delivery: id, event: name }, 'webhook signature does not match');
        return reply.code(401).send(refuse('UNAUTHORIZED', 'signature does not match; check WEBHOOK_SECRET'));
      }
      let payload: unknown;
      try {
        payload = JSON.parse(body);
      } catch {
        payload = undefined;
      }
      if (!payload || typeof payload !== 'object' || Array.isArray(payload)) {
        return reply.code(400).send(refuse('INVALID_INPUT', 'the payload is not a JSON object'));
      }
      const action = (payload as { action?: unknown }).action;
      const accepted = await enqueueDelivery(deps.pool, {
        id,
        event: name,
        action: typeof action === 'string' ? action.slice(0, 100) : null,
        payload: body,
      });
      if (accepted.kind === 'duplicate') {
        deps.log.info({ delivery: id, event: name }, 'duplicate delivery ignored');
        return reply.code(202).send({ ok: true, delivery: id, state: 'duplicate' });
      }
      // A redelivery of one still pending: its first worker may have died with its process.
      if (accepted.state === 'pending') deps.onRedelivery?.();
      return reply.code(202).send({ ok: true, delivery: id, state: 'queued' });
    });
  });

  const stops: (() => Promise<void>)[] = [];
  if (deps.listen !== false) {
    // Progress in GitHub follows every change of a project, except the App's own records (no feedback loop).
    const listener = await listenToEvents(
      deps.pool,
      (payload) => {
        try {
          const e = JSON.parse(payload) as { project_id?: string; kind?: string };
          if (e.project_id && !OWN_EVENTS.has(e.kind ?? '')) void github.progress.schedule(e.project_id);
        } catch {
          // not ours
        }
      },
      (err) => deps.log.warn({ err: errorMessage(err) }, 'cannot LISTEN for project changes; retrying'),
    );
    stops.push(() => listener.close());
  }
  const timer = setInterval(() => {
    void github.publisher.retryPending().catch(() => {});
  }, deps.retryEveryMs ?? 60_000);
  timer.unref();
  stops.push(async () => clearInterval(timer));
  app.addHook('onClose', async () => {
    for (const s of stops) await s();
    await github.idle();
  });
  return github;
}
