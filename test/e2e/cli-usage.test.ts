/**
 * The CLI's own usage, as a user meets it: `bin/samgita.js` spawned, its exit
 * code and output read. --version and --help exit 0 and say what they should;
 * anything commander cannot parse is a usage error (2).
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { samgita } from '../support/cli.js';

const { version } = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('samgita usage', () => {
  it("--version prints Samgita's own version, not the version of the package npm happens to be running", async () => {
    const r = await samgita(['--version'], { npm_package_version: '9.9.9' });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${version}\n`);
  });

  it('--help lists every command and the exit codes', async () => {
    const r = await samgita(['--help'], {});
    expect(r.code).toBe(0);
    for (const command of ['run', 'start', 'runner', 'serve', 'status', 'plan', 'retry', 'doctor', 'keys', 'migrate'])
      expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(r.stdout).toContain('130  interrupted (Ctrl-C)');
  });

  it('an unknown command or option is a usage error (2) that says what was wrong', async () => {
    const unknown = await samgita(['dance'], {});
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'dance'");
    const badFlag = await samgita(['status', '--no-such-flag'], {});
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("unknown option '--no-such-flag'");
  });
});
