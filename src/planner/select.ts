import type { ParsedPrd, Requirement, RequirementKind } from '../prd/types.js';

export function selectKind(prd: ParsedPrd, kind: RequirementKind): Requirement[] {
  return prd.requirements.filter((r) => r.kind === kind);
}

/** Requirements that become implementation work: numbered rows and the bullets of requirement-like sections. */
export function selectBuildable(prd: ParsedPrd): Requirement[] {
  return prd.requirements.filter((r) => r.kind === 'functional' || r.kind === 'bullet');
}

/** Technical-constraint sections bind the scaffold, the stack and the environments alike. */
export function selectConstraints(prd: ParsedPrd): Requirement[] {
  return selectKind(prd, 'section').filter((r) =>
    r.sectionPath.some((t) => /constraint|tech(nology)? stack/iu.test(t)),
  );
}

/** Groups in first-seen order, so plans built from them keep PRD order. */
export function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}
