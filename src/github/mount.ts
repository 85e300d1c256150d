import type { FastifyInstance } from 'fastify';
import type pg from 'pg';
import type { EventKind } from '../domain/events.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { listenToEvents } from '../store/events.js';
import { createGitHubApp, type GitHubApp } from './app.js';
import type { GitHubConfig } from './config.js';
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
}

/**
 * Mounts the GitHub App's webhook endpoint on the server's one port. The body
 * is read raw (the signature covers the exact bytes) in an encapsulated scope,
 * so the API's JSON parsing is unaffected. Answers 202 once the delivery is
 * handled, 400 for a bad signature or payload.
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
        return reply.code(400).send({ error: 'missing X-GitHub-Delivery, X-GitHub-Event or X-Hub-Signature-256' });
      }
      try {
        await github.probot.webhooks.verifyAndReceive({
          id,
          name: name as never,
          signature,
          payload: String(req.body ?? ''),
        });
        return reply.code(202).send({ ok: true });
      } catch (err) {
        const message = errorMessage(err);
        const status = /signature/i.test(message) ? 401 : /JSON|payload/i.test(message) ? 400 : 500;
        deps.log.warn({ delivery: id, event: name, err: message }, 'webhook delivery failed');
        return reply
          .code(status)
          .send({ error: status === 401 ? 'signature does not match' : 'webhook handling failed' });
      }
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
