/**
 * Where sandboxed processes may connect: the policy, pure. The sandbox
 * itself has no network (its own namespace, loopback only); the ways out are
 * the host-side proxies in egress.ts, reached through Unix sockets bound into
 * the sandbox. What may pass is decided here.
 */
import type { SamgitaConfig } from '../config/samgita-yaml/schema.js';

/** Public package registries (`allow_registries: true`; the install step's `registries`). */
export const REGISTRY_HOSTS: readonly string[] = [
  'registry.npmjs.org',
  'registry.yarnpkg.com',
  'pypi.org',
  'files.pythonhosted.org',
  'crates.io',
  'index.crates.io',
  'static.crates.io',
  'proxy.golang.org',
  'sum.golang.org',
  'rubygems.org',
  'index.rubygems.org',
  'repo.maven.apache.org',
  'repo1.maven.org',
  'plugins.gradle.org',
  'services.gradle.org',
  'api.nuget.org',
];

export type Egress =
  /** The host's network, unfiltered (the sandbox keeps files and processes apart, not connections). */
  | { kind: 'host' }
  /** No connection out at all. */
  | { kind: 'none' }
  /** Only the model API (through the credential-injecting proxy) and, over HTTPS CONNECT, `hosts`. */
  | { kind: 'filtered'; model: boolean; hosts: string[] };

type Network = SamgitaConfig['sandbox']['network'];

/** The Claude Code CLI (and so its Bash tool): the model API, plus registries and named hosts if allowed. */
export function agentEgress(network: Network): Egress {
  if (network.agent === 'host') return { kind: 'host' };
  return { kind: 'filtered', model: true, hosts: hostsFor(network, network.allow_registries) };
}

/** A verify command: `install` may reach the registries; build, lint and test nothing by default. */
export function verifyEgress(network: Network, step: 'install' | 'build' | 'lint' | 'test'): Egress {
  const mode = step === 'install' ? network.install : network.verify;
  if (mode === 'host') return { kind: 'host' };
  if (mode === 'none') return { kind: 'none' };
  return { kind: 'filtered', model: false, hosts: hostsFor(network, true) };
}

function hostsFor(network: Network, registries: boolean): string[] {
  const hosts = [...(registries ? REGISTRY_HOSTS : []), ...network.allowed_hosts];
  return [...new Set(hosts.map((h) => h.toLowerCase()))].sort();
}

/** Whether `host` is on the list: exact names, or `*.example.com` for its subdomains. Pure. */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : h === a));
}
