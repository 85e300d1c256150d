-- A project created through the API whose repository must be cloned is answered
-- at once (202) and cloned by the server's worker; its state is kept here.
alter table projects
  add column clone_state text check (clone_state in ('cloning', 'failed')),
  add column clone_error text;
