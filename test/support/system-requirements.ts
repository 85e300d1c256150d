/**
 * Tests that need a program from the operating system (not from npm). When one
 * is missing outside CI, its tests are skipped — and the skipped-tests
 * reporter says so loudly at the end of `npm test`, with the install command,
 * so nobody mistakes a partial run for a full one. In CI a missing program is
 * a failure, never a skip (`.ci/run` installs them).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface SystemRequirement {
  /** What the tests are, e.g. "browser tests". */
  what: string;
  /** Test files (relative to the repository) that skip without it. */
  files: string[];
  /** Why it is missing, or null when present. */
  missing(): string | null;
  install: string;
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const REQUIREMENTS: SystemRequirement[] = [
  {
    what: 'browser tests (the status page in Chromium)',
    files: ['test/e2e/page-status.test.ts'],
    missing: () => {
      if (!existsSync(CHROMIUM)) return `Chromium not found at ${CHROMIUM}`;
      if (!existsSync(path.resolve('web/dist/index.html'))) return 'the status page is not built (web/dist)';
      return null;
    },
    install: 'sudo apt-get install -y chromium   (or set CHROMIUM_PATH; `npm run build:web` if web/dist is missing)',
  },
];

/** Whether the tests of `file` must be skipped here: a requirement is missing and this is not CI. */
export function mustSkip(file: string): boolean {
  if (process.env.CI) return false;
  return REQUIREMENTS.some((r) => r.files.includes(file) && r.missing() !== null);
}
