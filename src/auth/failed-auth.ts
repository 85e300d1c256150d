/**
 * The limit on failed authentication, per client address (`req.ip`: the socket's
 * address, or the one SAMGITA_TRUST_PROXY lets the proxy name). A token bucket
 * of `failures` tokens refilled over `perSeconds`: each API key or session that
 * matches nothing takes a token; with none left the address gets 429 RATE_LIMITED
 * with Retry-After, and its credentials are not even looked at — so guessing
 * runs at `failures` per `perSeconds` at most.
 *
 * Credentials that authenticated on this server recently (any address, bounded,
 * kept in memory as hashes) still pass while their address is limited, so one
 * client with a wrong key behind a shared address (NAT, or a proxy without
 * SAMGITA_TRUST_PROXY) does not lock out the others; a credential the server
 * has not seen succeed waits like any guess.
 *
 * Not counted: requests without a credential, malformed session ids (no lookup,
 * never a match), and credentials that exist but no longer work (a revoked key,
 * an expired or signed-out session) — those are not guesses. In memory, per server process, like the per-key limit
 * (src/server/rate-limit.ts, whose buckets are per key and never pruned; these
 * are per address, which a client chooses, so they are pruned).
 */
export interface FailedAuthOptions {
  /** Failures allowed in a burst (and refilled per `perSeconds`). */
  failures: number;
  perSeconds: number;
}

export const DEFAULT_FAILED_AUTH: FailedAuthOptions = { failures: 10, perSeconds: 60 };

const MAX_CLIENTS = 50_000;
const MAX_KNOWN_GOOD = 10_000;
/** How long a credential that authenticated keeps passing a limited address. */
const KNOWN_GOOD_MS = 12 * 3600 * 1000;

export class FailedAuthLimiter {
  private readonly clients = new Map<string, { tokens: number; at: number }>();
  private readonly knownGood = new Map<string, number>();
  private readonly rate: number;

  constructor(private readonly opts: FailedAuthOptions = DEFAULT_FAILED_AUTH) {
    this.rate = opts.failures / opts.perSeconds;
  }

  private tokens(b: { tokens: number; at: number }, now: number): number {
    b.tokens = Math.min(this.opts.failures, b.tokens + ((Math.max(now, b.at) - b.at) / 1000) * this.rate);
    b.at = Math.max(now, b.at);
    return b.tokens;
  }

  /**
   * Seconds `ip` must wait before this credential (its SHA-256 hash) is checked;
   * 0 when it may be checked now.
   */
  retryAfter(ip: string, credentialHash: string, now = Date.now()): number {
    const b = this.clients.get(ip);
    if (!b || this.tokens(b, now) >= 1) return 0;
    const good = this.knownGood.get(credentialHash);
    if (good !== undefined && good > now) return 0;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  /** A credential from `ip` matched nothing. */
  failed(ip: string, credentialHash: string, now = Date.now()): void {
    this.knownGood.delete(credentialHash);
    let b = this.clients.get(ip);
    if (!b) {
      if (this.clients.size >= MAX_CLIENTS) this.prune(now);
      b = { tokens: this.opts.failures, at: now };
      this.clients.set(ip, b);
    }
    this.tokens(b, now);
    b.tokens = Math.max(0, b.tokens - 1);
  }

  /** A credential that exists but no longer works: not a guess, but no longer known good either. */
  refused(credentialHash: string): void {
    this.knownGood.delete(credentialHash);
  }

  /** A credential authenticated. */
  succeeded(credentialHash: string, now = Date.now()): void {
    const until = this.knownGood.get(credentialHash);
    if (until !== undefined && until > now + KNOWN_GOOD_MS - 60_000) return;
    this.knownGood.delete(credentialHash);
    if (this.knownGood.size >= MAX_KNOWN_GOOD) {
      const oldest = this.knownGood.keys().next().value;
      if (oldest !== undefined) this.knownGood.delete(oldest);
    }
    this.knownGood.set(credentialHash, now + KNOWN_GOOD_MS);
  }

  /** Drops addresses whose bucket is full again, then the oldest should that not be enough. */
  private prune(now: number): void {
    for (const [ip, b] of this.clients) if (this.tokens(b, now) >= this.opts.failures) this.clients.delete(ip);
    for (const ip of this.clients.keys()) {
      if (this.clients.size < MAX_CLIENTS * 0.9) break;
      this.clients.delete(ip);
    }
  }
}
