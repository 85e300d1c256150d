import { describe, expect, it } from 'vitest';
import { parseSamgitaYaml } from '../../src/config/samgita-yaml/index.js';
import { bwrapArgs } from '../../src/sandbox/bwrap.js';
import { agentEgress, hostAllowed, REGISTRY_HOSTS, verifyEgress } from '../../src/sandbox/network.js';
import { parseAddedLines, scanAdded } from '../../src/sandbox/secret-scan.js';

const network = (yaml: string) => parseSamgitaYaml(yaml).sandbox.network;

describe('sandbox network policy', () => {
  it('lets the agent reach only the model API by default, registries and named hosts when allowed', () => {
    expect(agentEgress(network('{}'))).toEqual({ kind: 'filtered', model: true, hosts: [] });
    const open = agentEgress(
      network(
        'sandbox:\n  network:\n    allow_registries: true\n    allowed_hosts: [npm.corp.example, "*.pkg.example"]\n',
      ),
    );
    expect(open.kind === 'filtered' && open.hosts).toEqual(
      expect.arrayContaining(['registry.npmjs.org', 'pypi.org', 'npm.corp.example', '*.pkg.example']),
    );
    expect(agentEgress(network('sandbox:\n  network:\n    agent: host\n'))).toEqual({ kind: 'host' });
  });

  it('gives build, lint and test no network, and install the registries', () => {
    const n = network('{}');
    expect(verifyEgress(n, 'test')).toEqual({ kind: 'none' });
    expect(verifyEgress(n, 'install')).toEqual({ kind: 'filtered', model: false, hosts: [...REGISTRY_HOSTS].sort() });
    expect(verifyEgress(network('sandbox:\n  network:\n    install: none\n'), 'install')).toEqual({ kind: 'none' });
  });

  it('matches hosts exactly or by a leading wildcard, never a look-alike', () => {
    const list = ['registry.npmjs.org', '*.pkg.example'];
    expect(hostAllowed('registry.npmjs.org', list)).toBe(true);
    expect(hostAllowed('REGISTRY.npmjs.org.', list)).toBe(true);
    expect(hostAllowed('evil-registry.npmjs.org', list)).toBe(false);
    expect(hostAllowed('registry.npmjs.org.evil.com', list)).toBe(false);
    expect(hostAllowed('a.pkg.example', list)).toBe(true);
    expect(hostAllowed('pkg.example', list)).toBe(false);
    expect(hostAllowed('evilpkg.example', list)).toBe(false);
    expect(hostAllowed('127.0.0.1', list)).toBe(false);
  });

  it('refuses a host with a scheme or path in samgita.yaml, saying where', () => {
    let error: unknown;
    try {
      parseSamgitaYaml('sandbox:\n  network:\n    allowed_hosts: ["https://x.example/a"]\n');
    } catch (err) {
      error = err;
    }
    expect((error as { format(): string }).format()).toMatch(/^samgita\.yaml:3:21: .*allowed_hosts\[0\] a host name/);
  });
});

describe('bubblewrap mounts', () => {
  it('mounts outermost first, so a bind of a parent never uncovers a hidden child', () => {
    const args = bwrapArgs(
      {
        workdir: '/srv/home/wt/task',
        hide: ['/srv/home', '/root'],
        readOnly: ['/root/.local/bin'],
        bind: [{ src: '/srv', dest: '/srv' }],
        network: 'none',
      },
      ['true'],
    );
    const at = (flag: string, p: string) => args.findIndex((a, i) => a === flag && args[i + 1] === p);
    expect(at('--bind-try', '/srv')).toBeLessThan(at('--tmpfs', '/srv/home'));
    expect(at('--tmpfs', '/srv/home')).toBeLessThan(at('--bind', '/srv/home/wt/task'));
    expect(at('--tmpfs', '/root')).toBeLessThan(at('--ro-bind-try', '/root/.local/bin'));
  });
});

describe('secret scan', () => {
  const diff = [
    'diff --git a/.env b/.env',
    'new file mode 100644',
    '--- /dev/null',
    '+++ b/.env',
    '@@ -0,0 +1,3 @@',
    '+NAME=demo',
    '+HOOK=whsec-planted-1234',
    '+GH=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',
    'diff --git a/src/a.ts b/src/a.ts',
    '--- a/src/a.ts',
    '+++ b/src/a.ts',
    '@@ -10,0 +11,1 @@',
    "+const fine = 'nothing here';",
    '@@ -20 +21 @@',
    '-old',
    "+const key = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzAB-123456AA';",
  ].join('\n');

  it('reads the added lines of a diff with their line numbers', () => {
    expect(parseAddedLines(diff)).toEqual([
      {
        file: '.env',
        lines: [
          { line: 1, text: 'NAME=demo' },
          { line: 2, text: 'HOOK=whsec-planted-1234' },
          { line: 3, text: 'GH=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' },
        ],
      },
      {
        file: 'src/a.ts',
        lines: [
          { line: 11, text: "const fine = 'nothing here';" },
          { line: 21, text: expect.stringContaining('sk-ant-api03') },
        ],
      },
    ]);
  });

  it('finds known secret values and credential patterns, and names them without their values', async () => {
    const hits = await scanAdded(parseAddedLines(diff), [{ name: 'WEBHOOK_SECRET', value: 'whsec-planted-1234' }]);
    expect(hits).toEqual([
      { file: '.env', line: 2, column: 6, what: 'the value of WEBHOOK_SECRET' },
      { file: '.env', line: 3, column: 4, what: expect.stringMatching(/GitHub.*secretlint-rule-github/) },
      { file: 'src/a.ts', line: 21, column: 14, what: expect.stringMatching(/Anthropic.*secretlint-rule-anthropic/) },
    ]);
    for (const h of hits) expect(h.what).not.toMatch(/whsec|ghp_|sk-ant/);
  });
});
