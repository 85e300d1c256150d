-- GitHub App: progress shown in GitHub (check runs per phase, dashboard issue)
-- and the lookups webhooks need.

-- One check run per phase on the PRD commit it reports on.
create table github_check_runs (
  project_id    uuid not null references projects (id) on delete cascade,
  head_sha      text not null,
  phase         text not null,
  check_run_id  bigint not null,
  status        text not null,
  conclusion    text,
  summary_hash  text,
  updated_at    timestamptz not null default now(),
  primary key (project_id, head_sha, phase)
);

-- The "Samgita dashboard" issue of each repository.
create table github_dashboards (
  project_id    uuid primary key references projects (id) on delete cascade,
  issue_number  integer not null,
  body_hash     text,
  updated_at    timestamptz not null default now()
);

create index projects_github_repo_idx on projects (lower(github_repo)) where github_repo is not null;
create index tasks_project_pr_idx on tasks (project_id, pr_number) where pr_number is not null;
create index tasks_project_branch_idx on tasks (project_id, branch) where branch is not null;
