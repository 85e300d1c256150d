#!/usr/bin/env node
// Runs the compiled CLI when the package is built (npm run build), and the
// TypeScript sources through tsx otherwise, so a fresh checkout needs no build step.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (existsSync(built) && !process.env.SAMGITA_FROM_SOURCE) {
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
