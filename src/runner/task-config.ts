import { type AgentType, resolveAgentTypes } from '../agents/catalog.js';
import { defaultConfig, escalateTier, resolveModel, type SamgitaConfig } from '../config/samgita-yaml/schema.js';

/**
 * A project's stored configuration (the loader's output, durations already in
 * milliseconds) laid over the defaults, so rows written by older versions
 * still yield a complete configuration.
 */
export function effectiveConfig(stored: unknown): SamgitaConfig {
  const base = defaultConfig();
  if (!stored || typeof stored !== 'object') return base;
  const s = stored as Partial<SamgitaConfig>;
  return {
    ...base,
    ...s,
    models: { ...base.models, ...s.models },
    claude: { ...base.claude, ...s.claude },
    limits: { ...base.limits, ...s.limits },
    budget: {
      project: { ...base.budget.project, ...s.budget?.project },
      phase: { ...base.budget.phase, ...s.budget?.phase },
      task: { ...base.budget.task, ...s.budget?.task },
    },
    verify: { ...base.verify, ...s.verify },
    git: { ...base.git, ...s.git },
    pull_requests: { ...base.pull_requests, ...s.pull_requests },
    perpetual: { ...base.perpetual, ...s.perpetual },
    agents: { ...s.agents },
  };
}

export interface AgentSettings {
  agent: AgentType;
  tier: 'fast' | 'standard' | 'strong';
  model: string;
  allowedTools: string[];
  disallowedTools: string[];
  maxTurns: number;
  systemPrompt: string;
}

const TIERS = ['fast', 'standard', 'strong'] as const;

/** How an agent of `agentType` runs, escalated `escalations` tiers up (FR-2.4, FR-5.4). */
export function agentSettings(config: SamgitaConfig, agentType: string, escalations = 0): AgentSettings {
  const catalog = resolveAgentTypes(config.agents);
  const agent = catalog.get(agentType) ?? catalog.get('eng-backend')!;
  let tier = agent.tier;
  let explicitModel = agent.model;
  for (let i = 0; i < escalations; i++) {
    const next = escalateTier(tier);
    if (!next) break;
    tier = next;
    explicitModel = undefined;
  }
  const configured = config.agents[agentType]?.allowed_tools;
  const allowedTools = configured?.length
    ? configured
    : agent.allowedTools.length
      ? agent.allowedTools
      : config.claude.allowed_tools;
  return {
    agent,
    tier: (TIERS as readonly string[]).includes(tier) ? tier : 'standard',
    model: resolveModel(config, explicitModel ?? tier),
    allowedTools: [...allowedTools],
    disallowedTools: [...agent.disallowedTools],
    maxTurns: agent.maxTurns ?? config.claude.max_turns,
    systemPrompt: agent.prompt,
  };
}
