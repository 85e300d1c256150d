import { describe, expect, it } from 'vitest';
import { BUILTIN_AGENT_TYPES, resolveAgentTypes, SWARMS } from '../../src/agents/catalog.js';
import { matchesKeyword, routeRequirement } from '../../src/agents/route.js';
import { isSamgitaError } from '../../src/errors.js';
import type { Requirement } from '../../src/prd/types.js';

const req = (title: string, sectionPath: string[] = [], kind: Requirement['kind'] = 'functional'): Requirement => ({
  key: `X-${title.length}`,
  kind,
  title,
  text: title,
  priority: null,
  sectionPath,
  sectionKey: '',
  line: 1,
  contentHash: '',
  attributes: {},
  refs: [],
});

describe('agent catalog', () => {
  it('has the 37 types of the brief in 7 swarms', () => {
    expect(BUILTIN_AGENT_TYPES).toHaveLength(37);
    expect(new Set(BUILTIN_AGENT_TYPES.map((t) => t.type)).size).toBe(37);
    const counts = Object.fromEntries(SWARMS.map((s) => [s, BUILTIN_AGENT_TYPES.filter((t) => t.swarm === s).length]));
    expect(counts).toEqual({ engineering: 8, operations: 8, business: 8, data: 3, product: 3, growth: 4, review: 3 });
    for (const t of BUILTIN_AGENT_TYPES) {
      expect(t.prompt.length).toBeGreaterThan(40);
      expect(t.phases.length).toBeGreaterThan(0);
      expect(t.keywords.length).toBeGreaterThan(0);
      expect(t.allowedTools).toContain('Read');
      if (t.swarm === 'business' || t.swarm === 'growth') expect(t.allowedTools).not.toContain('Bash');
    }
  });

  it('applies samgita.yaml overrides and custom types', () => {
    const catalog = resolveAgentTypes({
      'eng-backend': { model: 'strong', instructions: 'Use Fastify.', max_turns: 40, disallowed_tools: ['Bash'] },
      'eng-frontend': { model: 'claude-opus-4-1' },
      'data-privacy': { role: 'Reviews personal data flows and GDPR exposure', phases: ['qa'] },
    });
    const backend = catalog.get('eng-backend');
    expect(backend?.tier).toBe('strong');
    expect(backend?.prompt.endsWith('Use Fastify.')).toBe(true);
    expect(backend?.maxTurns).toBe(40);
    expect(backend?.allowedTools).not.toContain('Bash');
    expect(catalog.get('eng-frontend')?.model).toBe('claude-opus-4-1');
    expect(catalog.get('data-privacy')).toMatchObject({ custom: true, swarm: 'custom', phases: ['qa'] });
    expect(catalog.get('data-privacy')?.keywords).toContain('gdpr');
    expect(catalog.size).toBe(38);
    // the built-in catalog is not mutated
    expect(BUILTIN_AGENT_TYPES.find((t) => t.type === 'eng-backend')?.tier).toBe('standard');
  });

  it('rejects unknown types without a role and unknown phases', () => {
    try {
      resolveAgentTypes({ 'eng-backnd': { model: 'fast' } });
      expect.unreachable();
    } catch (err) {
      expect(isSamgitaError(err, 'CONFIG_YAML_INVALID')).toBe(true);
      expect((err as Error & { hint: string }).hint).toContain('eng-backend');
    }
    expect(() => resolveAgentTypes({ 'eng-qa': { phases: ['testing'] } })).toThrow(/unknown phase "testing"/u);
  });
});

describe('routeRequirement', () => {
  const catalog = resolveAgentTypes({});
  const route = (title: string, section: string[] = []) => routeRequirement(req(title, section), catalog).agentType;

  it('routes by keywords', () => {
    expect(route('Real-time agent status grid', ['Functional Requirements', 'FR-6: Web Dashboard'])).toBe(
      'eng-frontend',
    );
    expect(route('LiveView UI for projects')).toBe('eng-frontend');
    expect(route('REST API for all project operations', ['FR-7: API'])).toBe('eng-api');
    expect(route('Webhook notifications for events')).toBe('eng-api');
    expect(route('OpenAPI specification')).toBe('eng-api');
    expect(route('Periodic state snapshots', ['FR-8: Persistence & Recovery'])).toBe('eng-database');
    expect(route('Store results in Postgres')).toBe('eng-database');
    expect(route('Dead letter queue for failed tasks', ['FR-3: Task Queue'])).toBe('eng-backend');
    expect(route('Claude CLI wrapper via Erlang Port', ['FR-5: Claude CLI Integration'])).toBe('eng-backend');
    expect(route('API authentication (API keys)', ['FR-7: API'])).toBe('ops-security');
    expect(route('Secrets management via TLS')).toBe('ops-security');
    expect(route('Prometheus metrics and monitoring')).toBe('ops-monitor');
    expect(route('Deploy to production with blue-green deployment')).toBe('ops-devops');
    expect(route('Uptime 99.9%', ['Non-Functional Requirements', 'NFR-2: Reliability'])).toBe('ops-sre');
  });

  it('uses kind defaults and pins', () => {
    expect(routeRequirement(req('Project', ['Data Model'], 'data_model'), catalog).agentType).toBe('eng-database');
    expect(routeRequirement(req('Something vague'), catalog)).toMatchObject({
      agentType: 'eng-backend',
      reason: 'default',
    });
    const r = { ...req('Real-time agent status grid'), key: 'FR-6.5' };
    expect(routeRequirement(r, catalog, 'eng-mobile')).toMatchObject({ agentType: 'eng-mobile', reason: 'pinned' });
    expect(routeRequirement(r, catalog, { 'FR-6.*': 'eng-mobile' }).agentType).toBe('eng-mobile');
    expect(routeRequirement(r, catalog, { 'FR-7.*': 'eng-mobile' }).agentType).toBe('eng-frontend');
    expect(() => routeRequirement(r, catalog, 'eng-nope')).toThrow(/unknown agent type/u);
  });

  it('never gives a requirement about where data is stored to analytics', () => {
    // Under an analytics heading, the section alone would otherwise decide.
    expect(route('Keep a history of completed sessions in a file', ['Statistics'])).toBe('eng-backend');
    expect(route('Keep a history in a file', ['Features', 'Analytics'])).toBe('eng-backend');
    expect(route('Store the usage data in a database', ['Reporting'])).toBe('eng-database');
    expect(route('Save each finished session so statistics survive restarts')).toBe('eng-database');
    expect(route('Persist daily statistics to disk', ['Statistics'])).toBe('eng-database');
    // Reading stored data is still analytics.
    expect(route('Show statistics of past sessions', ['Statistics'])).toBe('data-analytics');
    expect(route('Weekly report of focus time', ['Statistics'])).toBe('data-analytics');
  });

  it('is deterministic and matches whole words only', () => {
    expect(matchesKeyword('build the ui', 'ui')).toBe(true);
    expect(matchesKeyword('a guide', 'ui')).toBe(false);
    expect(matchesKeyword('webhooks', 'webhook')).toBe(true);
    expect(matchesKeyword('rest  api', 'rest api')).toBe(true);
    const a = routeRequirement(req('Task kanban board'), catalog);
    expect(routeRequirement(req('Task kanban board'), catalog)).toEqual(a);
  });
});
