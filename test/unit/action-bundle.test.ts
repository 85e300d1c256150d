import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');

test('the committed action bundle is what action/src builds (GitHub runs the committed file)', () => {
  const out = execFileSync(process.execPath, [path.join(ROOT, 'action/build.mjs'), '--check'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  expect(out).toMatch(/is current/);
});
