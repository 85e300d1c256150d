import type { ProbotOctokit } from 'probot';

interface Cached {
  token: string;
  expiresAt: number;
}

/**
 * Installation access tokens for git over HTTPS. They live an hour on GitHub;
 * one is reused until five minutes before it expires, then a fresh one is
 * minted, so a long task never pushes with an expired token.
 */
export class InstallationTokens {
  private readonly cache = new Map<number, Cached>();
  private readonly pending = new Map<number, Promise<Cached>>();

  constructor(
    private readonly appOctokit: () => Promise<ProbotOctokit>,
    private readonly marginMs = 5 * 60 * 1000,
  ) {}

  async get(installationId: number): Promise<string> {
    const hit = this.cache.get(installationId);
    if (hit && hit.expiresAt - this.marginMs > Date.now()) return hit.token;
    let p = this.pending.get(installationId);
    if (!p) {
      p = this.mint(installationId).finally(() => this.pending.delete(installationId));
      this.pending.set(installationId, p);
    }
    return (await p).token;
  }

  /** Forgets a token GitHub refused (revoked, or the clock disagrees). */
  invalidate(installationId: number): void {
    this.cache.delete(installationId);
  }

  private async mint(installationId: number): Promise<Cached> {
    const octokit = await this.appOctokit();
    const { data } = await octokit.rest.apps.createInstallationAccessToken({ installation_id: installationId });
    const entry = { token: data.token, expiresAt: Date.parse(data.expires_at) };
    this.cache.set(installationId, entry);
    return entry;
  }
}
