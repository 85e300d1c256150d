-- Accept, persist, then work: a GitHub delivery is stored with its payload and
-- a queued job in one transaction, answered at once, and marked done only when
-- its handler has finished. A redelivery of an unfinished one is processed.
alter table github_deliveries
  add column payload text,
  add column status text not null default 'done' check (status in ('pending', 'done')),
  add column attempts integer not null default 0,
  add column last_error text,
  add column finished_at timestamptz;

create index github_deliveries_pending on github_deliveries (received_at) where status = 'pending';
