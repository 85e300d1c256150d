/**
 * One webhook POST that cannot be pointed inside: the URL is checked, its host
 * resolved, every address judged by the target policy, and the connection made
 * to exactly those addresses (the socket's lookup answers from the checked
 * list, so DNS cannot change its answer between the check and the connect).
 * Redirects are not followed: a 3xx is the answer.
 */
import { promises as dns, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { type AllowList, checkWebhookUrl, classifyHost, refusalReason, urlProblemMessage } from './target-policy.js';

/** Resolves a host name to every address it has (like getaddrinfo). */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) => dns.lookup(host, { all: true, verbatim: true });

export interface SafePostOptions {
  headers: Record<string, string>;
  body: string;
  allow: AllowList;
  timeoutMs: number;
  /** Aborts the attempt (worker shutdown). */
  signal?: AbortSignal;
  resolve?: Resolver;
  /** Bytes of the answer kept (default 4096); the rest is not read. */
  maxResponseBytes?: number;
}

export type SafePostOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly body: string }
  /** The policy refused the target: nothing was sent. */
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A socket lookup that only ever answers with the addresses already checked. */
function pinnedLookup(checked: readonly LookupAddress[]) {
  return (_host: string, options: LookupOptions, callback: LookupCallback): void => {
    const f = options.family;
    const family = f === 4 || f === 'IPv4' ? 4 : f === 6 || f === 'IPv6' ? 6 : 0;
    const list = family ? checked.filter((a) => a.family === family) : [...checked];
    const first = list[0];
    if (!first) {
      callback(Object.assign(new Error(`no checked IPv${family} address`), { code: 'ENOTFOUND' }), '');
      return;
    }
    if (options.all) callback(null, list);
    else callback(null, first.address, first.family);
  };
}

/** Rejects when `signal` aborts, so a hanging DNS lookup is bounded by the attempt's timeout too. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

export async function safePost(rawUrl: string, opts: SafePostOptions): Promise<SafePostOutcome> {
  const checked = checkWebhookUrl(rawUrl, opts.allow);
  if (!checked.ok) {
    return {
      kind: 'refused',
      reason: checked.problem === 'address' ? refusalReason(checked.verdict) : `refused: ${urlProblemMessage(checked)}`,
    };
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([timeout, opts.signal]) : timeout;
  const failure = (err: unknown): SafePostOutcome => ({
    kind: 'failed',
    reason: timeout.aborted ? `timed out after ${opts.timeoutMs} ms` : (err as Error)?.message || String(err),
  });

  let addresses: LookupAddress[];
  const ipFamily = isIP(checked.host);
  if (ipFamily) addresses = [{ address: checked.host, family: ipFamily }];
  else {
    try {
      addresses = await abortable((opts.resolve ?? systemResolver)(checked.host), signal);
    } catch (err) {
      return failure(err);
    }
  }
  const verdict = classifyHost(
    checked.host,
    addresses.map((a) => a.address),
    opts.allow,
  );
  if (!verdict.allowed) return { kind: 'refused', reason: refusalReason(verdict) };

  try {
    return await send(checked.url, addresses, opts, signal);
  } catch (err) {
    return failure(err);
  }
}

function send(
  url: URL,
  addresses: readonly LookupAddress[],
  opts: SafePostOptions,
  signal: AbortSignal,
): Promise<SafePostOutcome> {
  const max = opts.maxResponseBytes ?? 4096;
  return new Promise((resolve, reject) => {
    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: 'POST',
      headers: { ...opts.headers, 'content-length': String(Buffer.byteLength(opts.body)) },
      // A fresh agent: no pooled socket from an earlier, differently resolved connection.
      agent: false,
      lookup: pinnedLookup(addresses),
      signal,
    });
    request.on('error', reject);
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve({
          kind: 'answered',
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).subarray(0, max).toString('utf8'),
        });
        res.destroy();
      };
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= max) finish();
      });
      res.on('end', finish);
      // An answer cut short still has its status.
      res.on('error', finish);
      res.on('aborted', finish);
    });
    request.end(opts.body);
  });
}
