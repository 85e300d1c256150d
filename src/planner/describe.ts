import type { Requirement } from '../prd/types.js';

/**
 * A task's description is the agent's whole brief: what to do, then each
 * covered requirement verbatim with where it sits in the PRD (so the agent can
 * read around it), then the criteria its work is checked against.
 */
export function describeTask(what: string, reqs: readonly Requirement[], criteria: readonly string[]): string {
  const parts = [what];
  if (reqs.length > 0) {
    parts.push(
      reqs
        .map((r) => {
          const where = r.sectionPath.join(' › ');
          const head = `${r.key}${r.priority ? ` (${r.priority})` : ''}${where ? ` — ${where}` : ''}, PRD line ${r.line}:`;
          return `${head}\n${indent(r.text)}`;
        })
        .join('\n\n'),
    );
  }
  if (criteria.length > 0) parts.push(`Acceptance criteria:\n${criteria.map((c) => `- ${c}`).join('\n')}`);
  return parts.join('\n\n');
}

/** A target row ("Metric | Target") is checkable as "<metric>: <target>"; anything else by its own text. */
export function targetCriterion(r: Requirement): string {
  const target = r.attributes.Target ?? r.attributes.Implementation;
  return target ? `${r.title}: ${target}` : oneLine(r.text);
}

/** Multi-line requirement text as one criterion line. */
export function oneLine(text: string): string {
  return text.replace(/\n/gu, ' — ');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
