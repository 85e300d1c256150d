import { readFileSync } from 'node:fs';
import { SamgitaError } from '../errors.js';

/** How Samgita talks to GitHub as a GitHub App. */
export interface GitHubConfig {
  appId: number;
  /** PEM text of the App's private key. */
  privateKey: string;
  webhookSecret: string;
  /** REST API base: https://api.github.com, https://ghe.example.com/api/v3, or a local test server. */
  baseUrl: string;
  /** Where the status page is reachable, for links in PR bodies, checks and the dashboard issue. */
  publicUrl: string | null;
  /** Path the webhook endpoint is mounted at. */
  webhookPath: string;
}

const HINT_APP =
  'create the GitHub App from app.yml (see docs/github-app.md) and set APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, and WEBHOOK_SECRET';

function invalid(field: string, message: string, hint: string): SamgitaError {
  return new SamgitaError('CONFIG_ENV_INVALID', `environment variable ${field} ${message}`, {
    hint,
    location: { field },
  });
}

function normalizeKey(raw: string): string {
  // Hosting dashboards often store multi-line secrets with literal "\n".
  return raw.includes('\\n') && !raw.includes('\n') ? raw.replace(/\\n/g, '\n') : raw;
}

function assertPem(key: string, field: string): void {
  if (!/-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/.test(key) || !/-----END ([A-Z]+ )?PRIVATE KEY-----/.test(key)) {
    throw invalid(
      field,
      'is not a PEM private key (expected "-----BEGIN RSA PRIVATE KEY-----")',
      'download the private key (.pem) from the GitHub App settings page and pass its content, or its path in PRIVATE_KEY_PATH',
    );
  }
}

/**
 * Reads the GitHub App settings. Returns null when APP_ID is not set: the
 * server then runs without the GitHub App. When APP_ID is set every other
 * setting must be valid, and the error names the variable and how to fix it.
 */
export function loadGitHubConfig(env: NodeJS.ProcessEnv = process.env): GitHubConfig | null {
  const appIdRaw = env.APP_ID?.trim();
  if (!appIdRaw) return null;
  if (!/^[1-9][0-9]*$/.test(appIdRaw)) {
    throw invalid('APP_ID', `must be the numeric App ID (got ${JSON.stringify(appIdRaw)})`, HINT_APP);
  }
  let privateKey: string;
  if (env.PRIVATE_KEY?.trim()) {
    privateKey = normalizeKey(env.PRIVATE_KEY.trim());
    assertPem(privateKey, 'PRIVATE_KEY');
  } else if (env.PRIVATE_KEY_PATH?.trim()) {
    const file = env.PRIVATE_KEY_PATH.trim();
    try {
      privateKey = readFileSync(file, 'utf8');
    } catch (err) {
      throw invalid(
        'PRIVATE_KEY_PATH',
        `points to a file that cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}: ${file})`,
        'set it to the path of the .pem file downloaded from the GitHub App settings page',
      );
    }
    assertPem(privateKey, 'PRIVATE_KEY_PATH');
  } else {
    throw invalid('PRIVATE_KEY', 'is not set (nor PRIVATE_KEY_PATH), but APP_ID is', HINT_APP);
  }
  const webhookSecret = env.WEBHOOK_SECRET ?? '';
  if (!webhookSecret) {
    throw invalid(
      'WEBHOOK_SECRET',
      'is not set, but APP_ID is',
      'set it to the webhook secret entered when creating the GitHub App; webhooks are rejected without it',
    );
  }
  const baseUrl = (env.GITHUB_URL?.trim() || 'https://api.github.com').replace(/\/+$/, '');
  if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    throw invalid(
      'GITHUB_URL',
      `is not an http(s) URL (got ${JSON.stringify(baseUrl)})`,
      'leave it unset for github.com, or set it to your GitHub Enterprise API base, e.g. https://github.example.com/api/v3',
    );
  }
  const publicUrl = env.SAMGITA_PUBLIC_URL?.trim() || null;
  if (publicUrl !== null && !URL.canParse(publicUrl)) {
    throw invalid(
      'SAMGITA_PUBLIC_URL',
      `is not a valid URL (got ${JSON.stringify(publicUrl)})`,
      'set it to the URL users reach the status page at',
    );
  }
  return {
    appId: Number(appIdRaw),
    privateKey,
    webhookSecret,
    baseUrl,
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    webhookPath: env.GITHUB_WEBHOOK_PATH?.trim() || '/api/github/webhooks',
  };
}
