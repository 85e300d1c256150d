import { type AgentType, resolveAgentTypes } from '../agents/catalog.js';
import { escalateTier, resolveModel, type SamgitaConfig } from '../config/samgita-yaml/schema.js';

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
