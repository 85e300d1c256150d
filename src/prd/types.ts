/**
 * What the PRD parser produces. A requirement is the unit the planner and the
 * reconciler reason about: its `key` is its identity across PRD revisions, its
 * `contentHash` tells whether its meaning changed.
 */
export type RequirementKind =
  | 'functional'
  | 'non_functional'
  | 'section'
  | 'acceptance'
  | 'bullet'
  | 'data_model'
  | 'api';

export type Priority = 'P0' | 'P1' | 'P2';

export interface Requirement {
  /** Stable identity: an explicit ID ("FR-1.4"), "NFR-1/<metric>", or a heading slug path. */
  key: string;
  kind: RequirementKind;
  title: string;
  /** The requirement's content as plain text (markup removed). */
  text: string;
  priority: Priority | null;
  /** Heading titles from the top-level section down to the enclosing one (document title excluded). */
  sectionPath: string[];
  /** Key of the enclosing section (see PrdSection.key). */
  sectionKey: string;
  /** 1-based source line where the requirement starts. */
  line: number;
  /** sha256 (hex) of the whitespace-normalized text. */
  contentHash: string;
  /** Table columns of the row it came from (header → cell), e.g. {Metric, Target}. Empty otherwise. */
  attributes: Record<string, string>;
  /** IDs of other requirements mentioned in the text (e.g. "FR-7.1"). */
  refs: string[];
}

export interface PrdSection {
  /** Slug path of headings, e.g. "goals-non-goals/goals". */
  key: string;
  title: string;
  /** Markdown heading depth (2 for "##"). */
  depth: number;
  /** Explicit ID at the start of the heading ("FR-1", "NFR-2") or null. */
  id: string | null;
  path: string[];
  line: number;
  /** Own prose of the section (paragraphs, lists, tables as text; code blocks excluded), children excluded. */
  text: string;
  /** True when the section is context only (summary, non-goals, appendix...): no requirements come from it. */
  informational: boolean;
  children: PrdSection[];
}

export interface ParsedPrd {
  title: string | null;
  sections: PrdSection[];
  requirements: Requirement[];
  /** Non-fatal oddities (duplicate IDs, rows without text...). */
  warnings: string[];
}
