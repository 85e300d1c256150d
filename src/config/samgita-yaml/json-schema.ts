import { z } from 'zod';
import { AGENT_TYPE_KEY_PATTERN, BUILTIN_AGENT_TYPES } from './agent-types.js';
import { samgitaConfigSchema } from './schema.js';

export const SAMGITA_SCHEMA_ID = 'https://samgita.dev/schema/samgita.yaml/v1.json';

/**
 * JSON Schema (draft 2020-12) for samgita.yaml, for editors (yaml-language-server)
 * and `samgita schema`. Describes the file as written: durations are strings or
 * seconds, and every default is shown as it would be written in YAML.
 */
export function samgitaJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(samgitaConfigSchema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
  }) as Record<string, unknown>;

  // Editors: offer the built-in agent types, and require `role` for custom ones.
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  const agents = properties.agents;
  if (agents && typeof agents.additionalProperties === 'object') {
    const entry = agents.additionalProperties as Record<string, unknown>;
    schema.$defs = { ...((schema.$defs as object | undefined) ?? {}), agent: entry };
    agents.propertyNames = { type: 'string', pattern: AGENT_TYPE_KEY_PATTERN.source };
    agents.properties = Object.fromEntries(BUILTIN_AGENT_TYPES.map((t) => [t, { $ref: '#/$defs/agent' }]));
    agents.additionalProperties = {
      allOf: [{ $ref: '#/$defs/agent' }, { required: ['role'] }],
      description: 'A custom agent type; it must have a `role`.',
    };
  }
  return { $schema: schema.$schema, $id: SAMGITA_SCHEMA_ID, title: 'samgita.yaml', ...schema };
}
