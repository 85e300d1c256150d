/**
 * The built-in agent types Samgita knows how to staff. A `samgita.yaml` key under
 * `agents:` that is not in this list is a custom agent type and must carry a `role`.
 */
export const BUILTIN_AGENT_TYPES = [
  'eng-frontend',
  'eng-backend',
  'eng-database',
  'eng-mobile',
  'eng-api',
  'eng-qa',
  'eng-perf',
  'eng-infra',
  'ops-devops',
  'ops-sre',
  'ops-security',
  'ops-monitor',
  'ops-incident',
  'ops-release',
  'ops-cost',
  'ops-compliance',
  'biz-marketing',
  'biz-sales',
  'biz-finance',
  'biz-legal',
  'biz-support',
  'biz-hr',
  'biz-investor',
  'biz-partnerships',
  'data-ml',
  'data-eng',
  'data-analytics',
  'prod-pm',
  'prod-design',
  'prod-techwriter',
  'growth-hacker',
  'growth-community',
  'growth-success',
  'growth-lifecycle',
  'review-code',
  'review-business',
  'review-security',
] as const;

export type BuiltinAgentType = (typeof BUILTIN_AGENT_TYPES)[number];

const BUILTIN_SET: ReadonlySet<string> = new Set(BUILTIN_AGENT_TYPES);

export function isBuiltinAgentType(name: string): name is BuiltinAgentType {
  return BUILTIN_SET.has(name);
}

/** Agent type keys: lowercase letters, digits and '-', starting with a letter. */
export const AGENT_TYPE_KEY_PATTERN = /^[a-z][a-z0-9-]*$/;
