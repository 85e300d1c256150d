-- Memories are recalled by relevance to the task at hand (src/memory/relevance.ts),
-- not by importance alone: full-text search everywhere, and vector similarity
-- where pgvector exists and an embeddings endpoint is configured.

-- Paths and dotted names ("src/store/tasks.ts", "api:projects") are split into
-- words before indexing, so a memory about a file matches a task naming its
-- folder. The query side applies the same split (src/store/memories.ts).
alter table memories
  add column search tsvector
    generated always as (to_tsvector('english', regexp_replace(content, '[/._:]+', ' ', 'g'))) stored,
  -- Exact duplicates (same words, case and punctuation aside) are one memory
  -- whose importance rises when learned again (see rememberMemory).
  add column content_hash text
    generated always as (md5(btrim(regexp_replace(lower(content), '[^a-z0-9]+', ' ', 'g')))) stored,
  -- How often the same lesson was learned again (deduplicated inserts).
  add column reinforced integer not null default 0,
  -- The model that made `embedding` (vectors of different models do not compare).
  add column embedding_model text;

create index memories_search_idx on memories using gin (search);

-- Duplicates stored before this migration collapse into their most important one.
delete from memories m
 using memories d
 where d.project_id = m.project_id and d.content_hash = m.content_hash
   and (d.importance, d.inserted_at, d.id) > (m.importance, m.inserted_at, m.id);
create unique index memories_content_idx on memories (project_id, content_hash);

-- The real[] column of 0001 was never written; its place is taken by a pgvector
-- column where the extension can be had. Debian's PostgreSQL and the embedded
-- one usually lack it: there the column is simply absent and recall is full-text
-- only (the store checks for the column, src/store/memories.ts).
alter table memories drop column embedding;

do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'vector') then
    begin
      create extension if not exists vector;
    exception when insufficient_privilege then
      raise notice 'pgvector is installed but this role may not create it: memories use full-text search only';
      return;
    end;
    alter table memories add column embedding vector(1536);
    -- Cosine distance: what OpenAI-style embeddings are compared by.
    create index memories_embedding_idx on memories using hnsw (embedding vector_cosine_ops);
  end if;
end $$;
