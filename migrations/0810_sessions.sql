-- Sessions of the status page (docs/status-page.md). Signing in with an API key
-- makes a row here; the browser's cookie holds only the random session id, of
-- which only the SHA-256 hash is stored. A session never outlives its key: the
-- lookup joins api_keys and refuses a session whose key is revoked, and deleting
-- the key deletes its sessions.

create table api_sessions (
  id           uuid primary key default gen_random_uuid(),
  -- SHA-256 (hex) of the session id in the cookie; the id itself is never stored.
  token_hash   text not null unique,
  api_key_id   uuid not null references api_keys (id) on delete cascade,
  -- At most the key's scope (checked again at every lookup).
  scope        text not null check (scope in ('read', 'write')),
  created_at   timestamptz not null default now(),
  -- Absolute: a session is not extended by use.
  expires_at   timestamptz not null,
  revoked_at   timestamptz,
  last_seen_at timestamptz not null default now(),
  check (expires_at > created_at)
);

create index api_sessions_api_key_id_idx on api_sessions (api_key_id);
-- Sign-in deletes sessions long past their end.
create index api_sessions_expires_at_idx on api_sessions (expires_at);
