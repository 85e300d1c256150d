import { readFileSync } from 'node:fs';

/**
 * Samgita's own version, from its package.json (one level above both `src/`
 * and `dist/`). Not npm_package_version: under `npm run` in a user's
 * repository, that is the user's package.
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
