import { resolveAgentTypes } from '../agents/catalog.js';
import type { SamgitaConfig } from '../config/samgita-yaml/index.js';
import { SamgitaError } from '../errors.js';
import { parsePrd } from '../prd/parse.js';
import type { ParsedPrd } from '../prd/types.js';
import { planProject } from './plan.js';
import type { Plan } from './types.js';

/** Most requirements one project's PRD may hold: planning cost grows faster than linearly past this. */
export const MAX_REQUIREMENTS = 2000;

export interface PlannedPrd {
  parsed: ParsedPrd;
  plan: Plan;
}

/** Parses a PRD, refusing one past MAX_REQUIREMENTS. */
export function parseBoundedPrd(prd: string): ParsedPrd {
  const parsed = parsePrd(prd);
  if (parsed.requirements.length > MAX_REQUIREMENTS) {
    throw new SamgitaError(
      'PRD_INVALID',
      `the PRD has ${parsed.requirements.length} requirements; Samgita plans at most ${MAX_REQUIREMENTS} per project`,
      { hint: 'split the product into several projects, or group related requirements under one ID' },
    );
  }
  return parsed;
}

/** Parses a PRD and plans it from scratch: pure, CPU-bound, and bounded by MAX_REQUIREMENTS. */
export function planPrdNow(prd: string, config: SamgitaConfig): PlannedPrd {
  const parsed = parseBoundedPrd(prd);
  return { parsed, plan: planProject({ prd: parsed, config, catalog: resolveAgentTypes(config.agents) }) };
}

/** The worker thread's task (piscina calls the default export). Errors cross as plain data. */
export default function plan(task: {
  prd: string;
  config: SamgitaConfig | null;
}): { ok: true; value: PlannedPrd | null } | { ok: false; code: string; message: string; hint?: string | undefined } {
  try {
    if (task.config === null) {
      parseBoundedPrd(task.prd);
      return { ok: true, value: null };
    }
    return { ok: true, value: planPrdNow(task.prd, task.config) };
  } catch (err) {
    if (err instanceof SamgitaError) return { ok: false, code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
}
