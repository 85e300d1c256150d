-- A task that ends for good (completed, dead-lettered) asks for its project to
-- advance in the same transaction that settles it; the advance that sees the
-- request clears it (src/projects/advance.ts). Settles no longer wait on the
-- project row, and a request whose advance was skipped or lost with its runner
-- is still in the table for the next advance or the queue repair.
alter table tasks add column advance_wanted boolean not null default false;
create index tasks_advance_wanted_idx on tasks (project_id) where advance_wanted;
