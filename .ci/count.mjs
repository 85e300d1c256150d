// Prints "<passed> <failed>" from a vitest JSON report. A test file that fails
// to load has no test results, so it counts as one failure of its own.
import { readFileSync } from 'node:fs';

try {
  const r = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const brokenFiles = r.testResults.filter((f) => f.status === 'failed' && f.assertionResults.length === 0).length;
  console.log(`${r.numPassedTests} ${r.numFailedTests + brokenFiles}`);
} catch {
  console.log('0 1');
}
