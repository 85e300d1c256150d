export {
  AGENT_TYPE_KEY_PATTERN,
  BUILTIN_AGENT_TYPES,
  type BuiltinAgentType,
  isBuiltinAgentType,
} from './agent-types.js';
export { DURATION_HINT, formatDuration, parseDuration } from './duration.js';
export { SAMGITA_SCHEMA_ID, samgitaJsonSchema } from './json-schema.js';
export {
  formatSamgitaYamlIssues,
  loadSamgitaYaml,
  parseSamgitaYaml,
  SAMGITA_YAML_FILE,
  type SamgitaYamlIssue,
} from './parse.js';
export {
  type AgentConfig,
  type BudgetCap,
  DEFAULT_ALLOWED_TOOLS,
  DEFAULT_PHASES,
  defaultConfig,
  escalateTier,
  MODEL_TIERS,
  type ModelTier,
  PERMISSION_MODES,
  type PermissionMode,
  PHASES,
  type PhaseName,
  resolveModel,
  type SamgitaConfig,
  SCHEMA_VERSION,
  samgitaConfigSchema,
} from './schema.js';
