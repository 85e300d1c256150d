import { defaultConfig, type SamgitaConfig } from './samgita-yaml/schema.js';

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
