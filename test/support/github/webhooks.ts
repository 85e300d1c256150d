/**
 * Real webhook payloads (@octokit/webhooks-examples), adapted to a test
 * repository and signed with the webhook secret like GitHub signs them.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface EventDoc {
  name: string;
  examples: Record<string, unknown>[];
}

let docs: EventDoc[] | null = null;

/** A deep copy of GitHub's example payload for `event` (and `action`, when given). */
export function examplePayload(
  event: string,
  action?: string,
  pick?: (p: Record<string, unknown>) => boolean,
): Record<string, unknown> {
  docs ??= require('@octokit/webhooks-examples') as EventDoc[];
  const doc = docs.find((d) => d.name === event);
  if (!doc) throw new Error(`no webhook examples for ${event}`);
  const ex = doc.examples.find((e) => (action === undefined || e.action === action) && (!pick || pick(e)));
  if (!ex) throw new Error(`no ${event}.${action} webhook example`);
  return structuredClone(ex);
}

export function sign(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export interface DeliveryResult {
  status: number;
  body: string;
  id: string;
}

/** POSTs a signed delivery to the webhook endpoint, the way GitHub does. */
export async function deliver(
  url: string,
  secret: string,
  event: string,
  payload: unknown,
  opts: { id?: string; signature?: string } = {},
): Promise<DeliveryResult> {
  const body = JSON.stringify(payload);
  const id = opts.id ?? randomUUID();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': id,
      'x-github-hook-id': '1',
      'x-hub-signature-256': opts.signature ?? sign(secret, body),
    },
    body,
  });
  return { status: res.status, body: await res.text(), id };
}

/** Points a payload's repository (and installation) at a test repository. */
export function forRepo(
  payload: Record<string, unknown>,
  repo: { owner: string; name: string; id: number; defaultBranch: string; cloneUrl: string },
  installationId: number,
): Record<string, unknown> {
  const r = (payload.repository ?? {}) as Record<string, unknown>;
  payload.repository = {
    ...r,
    id: repo.id,
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    owner: { ...(r.owner as object), login: repo.owner, name: repo.owner },
    clone_url: repo.cloneUrl,
    default_branch: repo.defaultBranch,
    master_branch: repo.defaultBranch,
  };
  payload.installation = { id: installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==' };
  return payload;
}
