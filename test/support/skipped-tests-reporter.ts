/**
 * Ends `npm test` with a loud line for every group of tests that did not run
 * because a program is missing from this machine (see system-requirements.ts).
 */
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';
import { REQUIREMENTS } from './system-requirements.js';

export default class SkippedTestsReporter implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    for (const req of REQUIREMENTS) {
      const why = req.missing();
      if (!why) continue;
      let skipped = 0;
      for (const m of modules) {
        if (!req.files.includes(path.relative(process.cwd(), m.moduleId))) continue;
        for (const t of m.children.allTests()) if (t.result().state === 'skipped') skipped++;
      }
      if (skipped === 0) continue;
      const bar = '!'.repeat(78);
      process.stdout.write(
        `\n\x1b[1;33m${bar}\n!! ${skipped} ${req.what} DID NOT RUN: ${why}.\n!! Install it and run npm test again: ${req.install}\n${bar}\x1b[0m\n\n`,
      );
    }
  }
}
