/**
 * Where outgoing webhooks may be sent: the pure decision, no I/O. A webhook URL
 * is http(s) without credentials, and every address its host stands for must be
 * a public unicast address, unless the operator allows the host name or the
 * address range with SAMGITA_WEBHOOK_ALLOW. Resolving and connecting (to the
 * very addresses checked here) is src/outgoing-webhooks/safe-post.ts.
 */
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type IP = ipaddr.IPv4 | ipaddr.IPv6;

/** Why an address is refused. */
export type RefusedRange =
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'uniqueLocal'
  | 'siteLocal'
  | 'unspecified'
  | 'carrierGradeNat'
  | 'multicast'
  | 'broadcast'
  | 'tunnel'
  | 'reserved';

export type AddressVerdict =
  | { readonly allowed: true; readonly address: string; readonly by: 'public' | 'allow-list' }
  | {
      readonly allowed: false;
      readonly address: string;
      readonly range: RefusedRange;
      /** The IPv4 address an IPv4-mapped or NAT64 IPv6 address stands for, when that is what was judged. */
      readonly ipv4?: string;
    };

export type RefusedAddress = Extract<AddressVerdict, { allowed: false }>;

/** Host names and address ranges the operator allows despite the policy (SAMGITA_WEBHOOK_ALLOW). */
export interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly ranges: readonly (readonly [IP, number])[];
}

export const EMPTY_ALLOW_LIST: AllowList = { hosts: new Set(), ranges: [] };

export const ALLOW_ENV = 'SAMGITA_WEBHOOK_ALLOW';

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

const normalHost = (host: string) => host.toLowerCase().replace(/\.$/, '');
const unbracket = (host: string) => (host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host);

/**
 * Parses `127.0.0.1/32,hooks.internal,::1`: CIDRs, single addresses and host
 * names, comma-separated. Throws an Error naming the first bad entry.
 */
export function parseAllowList(raw: string | undefined): AllowList {
  if (!raw?.trim()) return EMPTY_ALLOW_LIST;
  const hosts = new Set<string>();
  const ranges: (readonly [IP, number])[] = [];
  for (const part of raw.split(',')) {
    const entry = unbracket(part.trim());
    if (!entry) continue;
    if (entry.includes('/')) {
      if (!ipaddr.isValidCIDR(entry)) throw new Error(`${JSON.stringify(entry)} is not a valid CIDR range`);
      ranges.push(ipaddr.parseCIDR(entry));
    } else if (isIP(entry)) {
      const ip = ipaddr.parse(entry);
      ranges.push([ip, ip.kind() === 'ipv4' ? 32 : 128]);
    } else if (HOST_NAME.test(normalHost(entry))) {
      hosts.add(normalHost(entry));
    } else {
      throw new Error(`${JSON.stringify(entry)} is neither a host name, an IP address nor a CIDR range`);
    }
  }
  return { hosts, ranges };
}

/** The error of `parseAllowList(raw)`, or null when it parses. */
export function allowListError(raw: string): string | null {
  try {
    parseAllowList(raw);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');

function inAllowedRange(ip: IP, allow: AllowList): boolean {
  return allow.ranges.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net, bits));
}

function v4Range(ip: ipaddr.IPv4): RefusedRange | null {
  const r = ip.range() as string;
  switch (r) {
    case 'unicast':
      return null;
    case 'loopback':
    case 'private':
    case 'linkLocal':
    case 'unspecified':
    case 'carrierGradeNat':
    case 'multicast':
    case 'broadcast':
      return r;
    default:
      // reserved, documentation, benchmarking, as112, amt and whatever else is special-purpose
      return 'reserved';
  }
}

function v6Range(ip: ipaddr.IPv6): RefusedRange | null {
  const r = ip.range() as string;
  switch (r) {
    case 'loopback':
    case 'linkLocal':
    case 'uniqueLocal':
    case 'unspecified':
    case 'multicast':
      return r;
    case 'deprecatedSiteLocal':
      return 'siteLocal';
    case '6to4':
    case 'teredo':
      return 'tunnel';
    case 'unicast':
      // Only global unicast space is public; ::/8 (IPv4-compatible forms among them) and the rest are not.
      return ip.match(GLOBAL_UNICAST_V6) ? null : 'reserved';
    default:
      return 'reserved';
  }
}

/** The IPv4 address an IPv6 address carries and is routed to (IPv4-mapped, NAT64 well-known prefix). */
function embeddedV4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  if (ip.isIPv4MappedAddress()) return ip.toIPv4Address();
  if (ip.match(NAT64_WELL_KNOWN)) {
    const b = ip.toByteArray();
    return new ipaddr.IPv4(b.slice(12, 16));
  }
  return null;
}

/** Judges one IP address (as DNS or a URL gives it). Not an IP at all → refused as reserved. */
export function classifyAddress(address: string, allow: AllowList = EMPTY_ALLOW_LIST): AddressVerdict {
  const text = unbracket(address);
  if (!isIP(text)) return { allowed: false, address, range: 'reserved' };
  const ip = ipaddr.parse(text);
  if (ip.kind() === 'ipv4') {
    const v4 = ip as ipaddr.IPv4;
    if (inAllowedRange(v4, allow)) return { allowed: true, address, by: 'allow-list' };
    const range = v4Range(v4);
    return range ? { allowed: false, address, range } : { allowed: true, address, by: 'public' };
  }
  const v6 = ip as ipaddr.IPv6;
  if (inAllowedRange(v6, allow)) return { allowed: true, address, by: 'allow-list' };
  const v4 = embeddedV4(v6);
  if (v4) {
    if (inAllowedRange(v4, allow)) return { allowed: true, address, by: 'allow-list' };
    const range = v4Range(v4);
    return range ? { allowed: false, address, range, ipv4: v4.toString() } : { allowed: true, address, by: 'public' };
  }
  const range = v6Range(v6);
  return range ? { allowed: false, address, range } : { allowed: true, address, by: 'public' };
}

export type HostVerdict =
  | { readonly allowed: true; readonly by: 'public' | 'allow-list' }
  | { readonly allowed: false; readonly host: string; readonly refused: RefusedAddress };

/**
 * Judges a host and every address it resolved to: an allowed host name passes
 * whatever it resolves to; otherwise ONE refused address refuses the host.
 */
export function classifyHost(host: string, addresses: readonly string[], allow: AllowList): HostVerdict {
  const name = normalHost(unbracket(host));
  if (allow.hosts.has(name)) return { allowed: true, by: 'allow-list' };
  let by: 'public' | 'allow-list' = 'public';
  for (const a of addresses) {
    const v = classifyAddress(a, allow);
    if (!v.allowed) return { allowed: false, host: name, refused: v };
    if (v.by === 'allow-list') by = 'allow-list';
  }
  if (addresses.length === 0)
    return { allowed: false, host: name, refused: { allowed: false, address: '', range: 'reserved' } };
  return { allowed: true, by };
}

const RANGE_WORDS: Record<RefusedRange, string> = {
  loopback: 'a loopback address',
  private: 'a private (RFC 1918) address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local (fc00::/7) address',
  siteLocal: 'a site-local (fec0::/10) address',
  unspecified: 'the unspecified address',
  carrierGradeNat: 'a carrier-grade NAT (100.64.0.0/10) address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  tunnel: 'an IPv6 tunnel (6to4/Teredo) address',
  reserved: 'a reserved or special-purpose address',
};

/** `127.0.0.1, a loopback address` / `::ffff:7f00:1 (127.0.0.1), a loopback address`. */
export function describeAddress(r: RefusedAddress): string {
  const shown = r.ipv4 ? `${r.address} (${r.ipv4})` : r.address;
  return `${shown}, ${RANGE_WORDS[r.range]}`;
}

/** The SAMGITA_WEBHOOK_ALLOW entry that would allow this address. */
export function allowEntryFor(r: RefusedAddress): string {
  const ip = r.ipv4 ?? unbracket(r.address);
  return isIP(ip) === 6 ? `${ip}/128` : `${ip}/32`;
}

/** The reason recorded for a refused delivery attempt. */
export function refusalReason(v: Extract<HostVerdict, { allowed: false }>): string {
  const r = v.refused;
  if (!r.address) return `refused: ${v.host} resolved to no address`;
  const entry = allowEntryFor(r);
  if (isIP(v.host)) {
    const shown = r.ipv4 ? `${r.address} (${r.ipv4})` : r.address;
    return `refused: ${shown} is ${RANGE_WORDS[r.range]}; allow it with ${ALLOW_ENV}=${entry}`;
  }
  return `refused: ${v.host} resolves to ${describeAddress(r)}; allow it with ${ALLOW_ENV}=${v.host} (or ${entry})`;
}

export type UrlVerdict =
  | {
      readonly ok: true;
      readonly url: URL;
      /** The host name or IP address, without brackets. */
      readonly host: string;
    }
  | { readonly ok: false; readonly problem: 'invalid' }
  | { readonly ok: false; readonly problem: 'scheme'; readonly scheme: string }
  | { readonly ok: false; readonly problem: 'credentials' }
  | { readonly ok: false; readonly problem: 'address'; readonly verdict: Extract<HostVerdict, { allowed: false }> };

/**
 * The checks a webhook URL gets without DNS: http(s), no user:password@, and a
 * literal IP host (WHATWG parsing has already turned 0x7f000001, 2130706433
 * and 0177.0.0.1 into 127.0.0.1) must not be refused.
 */
export function checkWebhookUrl(raw: string, allow: AllowList = EMPTY_ALLOW_LIST): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, problem: 'invalid' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return { ok: false, problem: 'scheme', scheme: url.protocol };
  if (url.username || url.password) return { ok: false, problem: 'credentials' };
  const host = unbracket(url.hostname);
  if (isIP(host)) {
    const v = classifyHost(host, [host], allow);
    if (!v.allowed) return { ok: false, problem: 'address', verdict: v };
  }
  return { ok: true, url, host };
}

/** What is wrong with a refused URL and how to fix it, for the API's 400. */
export function urlProblemMessage(v: Extract<UrlVerdict, { ok: false }>): string {
  switch (v.problem) {
    case 'invalid':
      return 'url is not a valid URL; give an absolute URL such as https://hooks.example.com/samgita';
    case 'scheme':
      return `url must be http:// or https:// (got ${v.scheme}//); give the https:// URL of your receiver`;
    case 'credentials':
      return 'url must not contain credentials (user:password@); remove them and have the receiver check the x-samgita-signature header instead';
    case 'address':
      return `url points at ${describeAddress(v.verdict.refused)}, which webhooks may not reach; use a public address, or have the server's operator allow it with ${ALLOW_ENV}=${allowEntryFor(v.verdict.refused)}`;
  }
}

/** A URL fit for logs and errors: any user:password@ removed. */
export function urlForLog(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.username && !u.password) return u.toString();
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return raw.replace(/\/\/[^/?#@]*@/, '//');
  }
}
