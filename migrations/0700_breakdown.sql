-- The work breakdown as the discovery task's own work (docs/planning.md).
-- When the `discovery/prd-breakdown` task returns a validated breakdown, the
-- project is re-planned from it, and that re-plan is recorded as a revision of
-- its own: the same PRD and samgita.yaml at the same commit, refined by the
-- analysis. So a revision is identified by its analysis too, and a re-plan
-- from a breakdown names its source.

alter table prd_revisions
  -- The breakdown this revision's plan merged (null: the PRD as committed or uploaded).
  add column analysis_id uuid references prd_analyses (id) on delete cascade;

alter table prd_revisions drop constraint prd_revisions_project_id_commit_sha_content_hash_config_has_key;
alter table prd_revisions add constraint prd_revisions_identity_key
  unique nulls not distinct (project_id, commit_sha, content_hash, config_hash, analysis_id);

alter table prd_revisions drop constraint prd_revisions_source_check;
alter table prd_revisions add constraint prd_revisions_source_check
  check (source in ('git', 'api', 'upload', 'github', 'breakdown'));
