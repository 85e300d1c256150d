import { describe, expect, it } from 'vitest';
import { loadEnvConfig } from '../../src/config/env.js';
import { isSamgitaError } from '../../src/errors.js';
import { responseExcerpt } from '../../src/outgoing-webhooks/deliver.js';
import {
  type AddressVerdict,
  checkWebhookUrl,
  classifyAddress,
  classifyHost,
  EMPTY_ALLOW_LIST,
  parseAllowList,
  refusalReason,
  type UrlVerdict,
  urlForLog,
  urlProblemMessage,
} from '../../src/outgoing-webhooks/target-policy.js';

const refusedAs = (v: AddressVerdict) => (v.allowed ? `allowed:${v.by}` : v.range);

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['fec0::1', 'siteLocal'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.254', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    // IPv4-compatible (deprecated ::/96) and anything else outside 2000::/3
    ['::7f00:1', 'reserved'],
    ['::a00:1', 'reserved'],
    ['2002:7f00:1::1', 'tunnel'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'tunnel'],
    ['64:ff9b:1::a00:1', 'reserved'],
  ])('%s is refused as %s', (address, range) => {
    expect(refusedAs(classifyAddress(address))).toBe(range);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.1'],
    ['::ffff:7f00:1', 'loopback', '127.0.0.1'],
    ['[::ffff:127.0.0.1]', 'loopback', '127.0.0.1'],
    ['::ffff:10.0.0.1', 'private', '10.0.0.1'],
    ['::ffff:169.254.169.254', 'linkLocal', '169.254.169.254'],
    ['64:ff9b::7f00:1', 'loopback', '127.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'linkLocal', '169.254.169.254'],
  ])('%s (IPv6 carrying IPv4) is judged as the IPv4 address: %s', (address, range, ipv4) => {
    const v = classifyAddress(address);
    expect(v).toMatchObject({ allowed: false, range, ipv4 });
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '100.63.255.255',
    '100.128.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '2606:4700:4700::1111',
    '2a00:1450:4001:82b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
  ])('%s is public', (address) => {
    expect(classifyAddress(address)).toEqual({ allowed: true, address, by: 'public' });
  });

  it('refuses what is not an IP at all', () => {
    expect(refusedAs(classifyAddress('localhost'))).toBe('reserved');
    expect(refusedAs(classifyAddress('0x7f000001'))).toBe('reserved');
  });

  it('allows refused ranges the allow-list names, and only those', () => {
    const allow = parseAllowList('127.0.0.1/32, 10.0.0.0/8,::1,fd00::/8');
    expect(refusedAs(classifyAddress('127.0.0.1', allow))).toBe('allowed:allow-list');
    expect(refusedAs(classifyAddress('127.0.0.2', allow))).toBe('loopback');
    expect(refusedAs(classifyAddress('10.200.0.9', allow))).toBe('allowed:allow-list');
    expect(refusedAs(classifyAddress('192.168.0.1', allow))).toBe('private');
    expect(refusedAs(classifyAddress('::1', allow))).toBe('allowed:allow-list');
    expect(refusedAs(classifyAddress('fd00::5', allow))).toBe('allowed:allow-list');
    expect(refusedAs(classifyAddress('fc00::5', allow))).toBe('uniqueLocal');
    // The IPv4-mapped form of an allowed IPv4 address is allowed too.
    expect(refusedAs(classifyAddress('::ffff:127.0.0.1', allow))).toBe('allowed:allow-list');
    expect(refusedAs(classifyAddress('8.8.8.8', allow))).toBe('allowed:public');
  });
});

describe('parseAllowList', () => {
  it('reads host names, addresses and CIDRs', () => {
    const a = parseAllowList(' 127.0.0.1/32 ,Hooks.Internal.,[::1],, 10.0.0.0/8');
    expect([...a.hosts]).toEqual(['hooks.internal']);
    expect(a.ranges.map(([ip, bits]) => `${ip.toString()}/${bits}`)).toEqual(['127.0.0.1/32', '::1/128', '10.0.0.0/8']);
    expect(parseAllowList(undefined)).toBe(EMPTY_ALLOW_LIST);
    expect(parseAllowList('  ')).toBe(EMPTY_ALLOW_LIST);
  });

  it.each(['10.0.0.0/33', 'not a host', 'http://x', '1.2.3.4/x'])('refuses %j', (raw) => {
    expect(() => parseAllowList(raw)).toThrow(/not a valid CIDR|neither a host name/);
  });

  it('is read and validated by loadEnvConfig', () => {
    expect(loadEnvConfig({ HOME: '/h' }).webhookAllow.ranges).toEqual([]);
    const c = loadEnvConfig({ HOME: '/h', SAMGITA_WEBHOOK_ALLOW: '127.0.0.1/32,hooks.internal' });
    expect([...c.webhookAllow.hosts]).toEqual(['hooks.internal']);
    expect(c.webhookAllow.ranges).toHaveLength(1);
    let err: unknown;
    try {
      loadEnvConfig({ HOME: '/h', SAMGITA_WEBHOOK_ALLOW: '127.0.0.1/99' });
    } catch (e) {
      err = e;
    }
    expect(isSamgitaError(err)).toBe(true);
    expect((err as Error).message).toMatch(/SAMGITA_WEBHOOK_ALLOW is invalid: "127\.0\.0\.1\/99" is not a valid CIDR/);
  });
});

describe('classifyHost', () => {
  it('refuses a host when ANY of its addresses is refused', () => {
    const v = classifyHost('evil.example', ['93.184.215.14', '10.0.0.7'], EMPTY_ALLOW_LIST);
    expect(v).toMatchObject({
      allowed: false,
      host: 'evil.example',
      refused: { address: '10.0.0.7', range: 'private' },
    });
    expect(classifyHost('good.example', ['93.184.215.14', '2606:4700::1'], EMPTY_ALLOW_LIST)).toEqual({
      allowed: true,
      by: 'public',
    });
    expect(classifyHost('nothing.example', [], EMPTY_ALLOW_LIST).allowed).toBe(false);
  });

  it('allows an allowed host name whatever it resolves to, case- and trailing-dot-insensitive', () => {
    const allow = parseAllowList('hooks.internal');
    expect(classifyHost('HOOKS.internal.', ['10.0.0.7', '::1'], allow)).toEqual({ allowed: true, by: 'allow-list' });
    expect(classifyHost('other.internal', ['10.0.0.7'], allow).allowed).toBe(false);
  });

  it('says what was refused and how to allow it', () => {
    const byName = classifyHost('localhost', ['127.0.0.1'], EMPTY_ALLOW_LIST);
    if (byName.allowed) throw new Error('expected a refusal');
    expect(refusalReason(byName)).toBe(
      'refused: localhost resolves to 127.0.0.1, a loopback address; allow it with SAMGITA_WEBHOOK_ALLOW=localhost (or 127.0.0.1/32)',
    );
    const literal = classifyHost('127.0.0.1', ['127.0.0.1'], EMPTY_ALLOW_LIST);
    if (literal.allowed) throw new Error('expected a refusal');
    expect(refusalReason(literal)).toBe(
      'refused: 127.0.0.1 is a loopback address; allow it with SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32',
    );
    const mapped = classifyHost('::ffff:7f00:1', ['::ffff:7f00:1'], EMPTY_ALLOW_LIST);
    if (mapped.allowed) throw new Error('expected a refusal');
    expect(refusalReason(mapped)).toBe(
      'refused: ::ffff:7f00:1 (127.0.0.1) is a loopback address; allow it with SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32',
    );
    const v6 = classifyHost('::1', ['::1'], EMPTY_ALLOW_LIST);
    if (v6.allowed) throw new Error('expected a refusal');
    expect(refusalReason(v6)).toMatch(/SAMGITA_WEBHOOK_ALLOW=::1\/128$/);
  });
});

describe('checkWebhookUrl', () => {
  const problem = (v: UrlVerdict) => (v.ok ? 'ok' : v.problem);

  it.each([
    'http://127.0.0.1:8080/hook',
    'http://127.1/',
    'http://0x7f000001/',
    'http://2130706433/',
    'http://0177.0.0.1/',
    'http://%31%32%37.0.0.1/',
    'http://[::1]:9000/',
    'http://[::ffff:127.0.0.1]/',
    'http://[0:0:0:0:0:ffff:7f00:1]/',
    'http://[::127.0.0.1]/',
    'http://169.254.169.254/latest/meta-data/',
    'http://10.0.0.1/',
    'https://192.168.0.10/',
    'http://100.64.1.1/',
    'http://0.0.0.0/',
    'http://[fd00::1]/',
    'http://[fe80::1]/',
  ])('refuses the literal internal address in %s', (url) => {
    expect(problem(checkWebhookUrl(url))).toBe('address');
  });

  it('leaves host names to the delivery-time check', () => {
    expect(problem(checkWebhookUrl('http://localhost:3000/x'))).toBe('ok');
    expect(problem(checkWebhookUrl('https://hooks.example.com/samgita'))).toBe('ok');
    expect(problem(checkWebhookUrl('https://8.8.8.8/'))).toBe('ok');
    expect(problem(checkWebhookUrl('http://[2606:4700:4700::1111]/'))).toBe('ok');
  });

  it('refuses other schemes, credentials and non-URLs', () => {
    expect(checkWebhookUrl('ftp://x.example/')).toEqual({ ok: false, problem: 'scheme', scheme: 'ftp:' });
    expect(problem(checkWebhookUrl('file:///etc/passwd'))).toBe('scheme');
    expect(problem(checkWebhookUrl('gopher://127.0.0.1:6379/_x'))).toBe('scheme');
    expect(problem(checkWebhookUrl('https://user:pass@hooks.example.com/'))).toBe('credentials');
    expect(problem(checkWebhookUrl('https://token@hooks.example.com/'))).toBe('credentials');
    expect(problem(checkWebhookUrl('https://:pw@hooks.example.com/'))).toBe('credentials');
    expect(problem(checkWebhookUrl('not a url'))).toBe('invalid');
  });

  it('follows the allow-list', () => {
    expect(problem(checkWebhookUrl('http://127.0.0.1:1/', parseAllowList('127.0.0.1/32')))).toBe('ok');
    expect(problem(checkWebhookUrl('http://0x7f000001/', parseAllowList('127.0.0.0/8')))).toBe('ok');
    expect(problem(checkWebhookUrl('http://[::1]/', parseAllowList('127.0.0.1/32')))).toBe('address');
  });

  it('explains each problem with its fix', () => {
    const msg = (url: string) => {
      const v = checkWebhookUrl(url);
      if (v.ok) throw new Error('expected a problem');
      return urlProblemMessage(v);
    };
    expect(msg('http://0x7f000001/')).toBe(
      "url points at 127.0.0.1, a loopback address, which webhooks may not reach; use a public address, or have the server's operator allow it with SAMGITA_WEBHOOK_ALLOW=127.0.0.1/32",
    );
    expect(msg('https://u:p@x.example/')).toMatch(/must not contain credentials.*x-samgita-signature/);
    expect(msg('ftp://x.example/')).toMatch(/must be http:\/\/ or https:\/\/ \(got ftp:\/\/\)/);
    expect(msg('nope')).toMatch(/not a valid URL/);
  });
});

describe('urlForLog', () => {
  it('drops user and password', () => {
    expect(urlForLog('https://user:hunter2@hooks.example.com/x?y=1')).toBe('https://hooks.example.com/x?y=1');
    expect(urlForLog('https://tok@hooks.example.com/')).toBe('https://hooks.example.com/');
    expect(urlForLog('https://hooks.example.com/')).toBe('https://hooks.example.com/');
    expect(urlForLog('ht!tp://user:hunter2@x/')).not.toContain('hunter2');
  });
});

describe('responseExcerpt', () => {
  it('redacts the webhook secret and known secrets, then cuts to 256 characters', () => {
    const secret = 'whsec_0123456789abcdef0123';
    const out = responseExcerpt(`echo: ${secret} ${'x'.repeat(1000)}`, secret);
    expect(out).not.toContain(secret);
    expect(out).toMatch(/^echo: \[redacted:webhook secret\] x+$/);
    expect(out).toHaveLength(256);
  });
});
