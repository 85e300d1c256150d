/** The requirements record: the FR rows and sections of each PRD revision, by stable key. */
import type { Requirement } from '../prd/types.js';
import type { PoolClient, Queryable } from './pool.js';

/**
 * Stores requirements of a PRD revision: upserted by key, marked removed when
 * they vanish. Returns which keys changed or disappeared since the last revision.
 */
export async function upsertRequirements(
  db: PoolClient,
  projectId: string,
  revisionId: string,
  requirements: readonly Requirement[],
): Promise<{ changed: string[]; removed: string[]; added: string[] }> {
  const before = await db.query<{ key: string; content_hash: string; status: string }>(
    'select key, content_hash, status from requirements where project_id = $1',
    [projectId],
  );
  const old = new Map(before.rows.map((r) => [r.key, r]));
  const changed: string[] = [];
  const added: string[] = [];
  for (const r of requirements) {
    const prev = old.get(r.key);
    if (!prev || prev.status === 'removed') added.push(r.key);
    else if (prev.content_hash !== r.contentHash) changed.push(r.key);
  }
  if (requirements.length) {
    await db.query(
      `insert into requirements (project_id, key, kind, title, body, priority, section_path, line, content_hash,
                                 first_revision_id, last_revision_id)
       select $1, r.key, r.kind, r.title, r.body, r.priority, r.section_path, r.line, r.content_hash, $2, $2
         from jsonb_to_recordset($3::jsonb) as r(key text, kind text, title text, body text, priority text,
                                                 section_path text[], line int, content_hash text)
       on conflict (project_id, key) do update set
         kind = excluded.kind, title = excluded.title, body = excluded.body, priority = excluded.priority,
         section_path = excluded.section_path, line = excluded.line, content_hash = excluded.content_hash,
         status = 'active', last_revision_id = excluded.last_revision_id,
         updated_at = case when requirements.content_hash <> excluded.content_hash or requirements.status <> 'active'
                           then now() else requirements.updated_at end`,
      [
        projectId,
        revisionId,
        JSON.stringify(
          requirements.map((r) => ({
            key: r.key,
            kind: r.kind,
            title: r.title.slice(0, 500),
            body: r.text,
            priority: r.priority,
            section_path: r.sectionPath,
            line: r.line,
            content_hash: r.contentHash,
          })),
        ),
      ],
    );
  }
  const keys = requirements.map((r) => r.key);
  const removedRows = await db.query<{ key: string }>(
    `update requirements set status = 'removed', updated_at = now()
      where project_id = $1 and status = 'active' and not (key = any($2::text[])) returning key`,
    [projectId, keys],
  );
  return { changed, removed: removedRows.rows.map((r) => r.key), added };
}

/** Requirement keys added, changed and removed relative to what is recorded. Reads only. */
export async function requirementDiff(
  db: Queryable,
  projectId: string,
  requirements: readonly { key: string; contentHash: string }[],
): Promise<{ added: string[]; changed: string[]; removed: string[] }> {
  const { rows } = await db.query<{ key: string; content_hash: string; status: string }>(
    'select key, content_hash, status from requirements where project_id = $1',
    [projectId],
  );
  const old = new Map(rows.map((r) => [r.key, r]));
  const now = new Set(requirements.map((r) => r.key));
  const added: string[] = [];
  const changed: string[] = [];
  for (const r of requirements) {
    const prev = old.get(r.key);
    if (!prev || prev.status === 'removed') added.push(r.key);
    else if (prev.content_hash !== r.contentHash) changed.push(r.key);
  }
  const removed = rows.filter((r) => r.status === 'active' && !now.has(r.key)).map((r) => r.key);
  return { added, changed, removed };
}
