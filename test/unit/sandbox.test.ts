import { describe, expect, it } from 'vitest';
import { bwrapArgs } from '../../src/sandbox/bwrap.js';
import { verifyEnv } from '../../src/sandbox/env.js';
import { knownSecrets, redact } from '../../src/sandbox/secrets.js';

describe('sandbox', () => {
  it('removes every known secret value, longest first, including URL passwords and PEM lines', () => {
    const pemBody = 'MIIEowIBAAKCAQEA0planted0body0line0that0is0long0enough';
    const secrets = knownSecrets({
      ANTHROPIC_API_KEY: 'sk-ant-planted-123456',
      WEBHOOK_SECRET: 'whsec-planted-abc',
      DATABASE_URL: 'postgres://samgita:s3cr3t-pw@db:5432/samgita',
      PRIVATE_KEY: `-----BEGIN RSA PRIVATE KEY-----\\n${pemBody}\\n-----END RSA PRIVATE KEY-----`,
      GITHUB_TOKEN: 'short',
      PATH: '/usr/bin',
    });
    const text = `key sk-ant-planted-123456 hook whsec-planted-abc pw s3cr3t-pw pem ${pemBody} short /usr/bin`;
    const out = redact(text, secrets);
    expect(out).toBe(
      'key [redacted:ANTHROPIC_API_KEY] hook [redacted:WEBHOOK_SECRET] pw [redacted:DATABASE_URL password] pem [redacted:PRIVATE_KEY] short /usr/bin',
    );
  });

  it('gives verify commands an allow-listed environment', () => {
    const env = verifyEnv(
      ['NPM_TOKEN'],
      { sandboxed: true },
      {
        PATH: '/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
        NPM_TOKEN: 'x',
        DATABASE_URL: 'postgres://',
        WEBHOOK_SECRET: 'y',
      },
    );
    expect(env).toEqual({ PATH: '/bin', HOME: '/tmp/home', CI: 'true', LANG: 'C.UTF-8', NPM_TOKEN: 'x' });
  });

  it('hides what holds the worktree, binds the worktree back, and cuts the network unless allowed', () => {
    const args = bwrapArgs(
      {
        workdir: '/home/u/.samgita/worktrees/p/t',
        hide: ['/home/u/.samgita', '/home/u', '/root'],
        readOnly: ['/r/.git'],
        network: 'none',
      },
      ['/bin/sh', '-c', 'npm test'],
    );
    const s = args.join(' ');
    expect(s.indexOf('--tmpfs /home/u ')).toBeLessThan(s.indexOf('--tmpfs /home/u/.samgita '));
    expect(s.indexOf('--tmpfs /home/u/.samgita ')).toBeLessThan(s.indexOf('--bind /home/u/.samgita/worktrees/p/t'));
    expect(args).toContain('--unshare-net');
    expect(args).toContain('--unshare-pid');
    expect(args.slice(-4)).toEqual(['--', '/bin/sh', '-c', 'npm test']);
    const open = bwrapArgs({ workdir: '/w', hide: ['/w', '/w/sub'], readOnly: [], network: 'host' }, ['true']);
    expect(open).not.toContain('--unshare-net');
    expect(open.join(' ')).not.toMatch(/--tmpfs \/w\b/);
  });
});
