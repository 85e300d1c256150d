-- The checkpoint record in git (refs/samgita/state): who this deployment is,
-- and which state commit each snapshot wrote.

-- One row: this deployment's identity, recorded in the state ref it writes so a
-- second deployment sharing the repository can tell the project is held. Made
-- on first use (not here), so databases cloned from a template differ.
create table deployment (
  id          uuid primary key default gen_random_uuid(),
  singleton   boolean not null default true unique check (singleton),
  created_at  timestamptz not null default now()
);

alter table snapshots
  -- The commit of refs/samgita/state this snapshot wrote (null: nothing changed, or no repository here).
  add column commit_sha text;
