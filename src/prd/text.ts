import { createHash } from 'node:crypto';

/** Collapse all whitespace runs to one space and trim, so reflowing text does not change it. */
export function normalizeText(text: string): string {
  return text.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** sha256 hex of the normalized text. */
export function contentHash(text: string): string {
  return createHash('sha256').update(normalizeText(text)).digest('hex');
}

/** Lower-case ASCII slug: "FR-1: Project Management" → "fr-1-project-management". */
export function slugify(text: string, maxLength = 60): string {
  const slug = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/gu, '')
    .toLowerCase()
    .replace(/&/gu, ' and ')
    .replace(/[^a-z0-9]+/gu, '-')
    .replace(/^-+|-+$/gu, '');
  if (slug.length <= maxLength) return slug;
  const cut = slug.slice(0, maxLength);
  const lastDash = cut.lastIndexOf('-');
  return (lastDash > maxLength / 2 ? cut.slice(0, lastDash) : cut).replace(/-+$/u, '');
}

/** Heading slug without a leading list number ("1. Solo Developer" → "solo-developer"). */
export function headingSlug(title: string): string {
  const stripped = title.replace(/^\s*\d+[.)]\s+/u, '');
  return slugify(stripped) || slugify(title) || 'section';
}

/** Requirement IDs like FR-1, FR-1.4, NFR-2, AC-3, US-12. */
export const ID_PATTERN = /\b([A-Z][A-Z0-9]{0,5}-\d+(?:\.\d+)*)\b/gu;
export const LEADING_ID = /^\s*([A-Z][A-Z0-9]{0,5}-\d+(?:\.\d+)*)\b/u;
export const FULL_ID = /^\s*([A-Z][A-Z0-9]{0,5}-\d+(?:\.\d+)*)\s*$/u;

export function findIds(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(ID_PATTERN)) if (m[1]) out.add(m[1]);
  return [...out];
}
