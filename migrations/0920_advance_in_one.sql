-- A project's advance in one round trip when it has work left in its phase
-- (issue 16: enqueue → task start). advanceProjectIn (src/projects/transition.ts)
-- is five round trips (begin, lock, counts, enqueue, commit) and the batched
-- advance seven; the common case, decidePhase's 'work' (the current phase has an
-- active task), needs no decision in TypeScript: the tasks made ready are queued
-- and nothing else changes. Every other case ('other') changes nothing here and
-- is left to advanceProjectIn, which decides with decidePhase.
--
-- Each statement of a plpgsql function takes its own snapshot (READ COMMITTED),
-- so the reads after the project lock see every commit made before it was
-- granted, as the statements of advanceProjectIn's transaction do.

-- advanceProjectIn's enqueue: the tasks of p_phase whose dependencies are all
-- completed or cancelled become queued and get their job; pending tasks with an
-- unfinished dependency are shown as blocked. The two updates touch disjoint
-- rows, so one snapshot gives what running them one after the other did.
create function samgita_queue_ready(p_project uuid, p_phase text, p_identifier text, p_max_priority int)
returns table (id text, priority int, max_attempts int)
-- plpgsql, not sql: its body is resolved when first called, after graphile-worker's schema exists.
language plpgsql volatile as $$
begin
  return query
  with ready as (
    update tasks t set status = 'queued', queued_at = now(), updated_at = now()
     where t.project_id = p_project and t.phase = p_phase and t.status in ('pending', 'blocked')
       and not (t.rarv_step = 'done' and t.pr_number is not null)
       and not exists (
         select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
          where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))
    returning t.id, t.priority, t.max_attempts),
  blocked as (
    update tasks t set status = 'blocked', updated_at = now()
     where t.project_id = p_project and t.status = 'pending'
       and exists (
         select 1 from task_dependencies d join tasks dt on dt.id = d.depends_on
          where d.task_id = t.id and dt.status not in ('completed', 'cancelled'))
    returning t.id)
  -- In FROM, one job per ready task (a job row IS NOT NULL only if none of its columns is null).
  select r.id::text, r.priority::int, r.max_attempts::int
    from ready r
   cross join lateral graphile_worker.add_job(p_identifier, json_build_object('taskId', r.id::text),
           max_attempts => r.max_attempts + 1, job_key => 'task:' || r.id::text,
           priority => least(r.priority, p_max_priority)) as j;
end
$$;

-- p_requested: the batched advance (src/projects/advance.ts): under the try-lock
-- across runners, it takes the project's advance requests before its first read
-- of the tasks ('busy' when another advance holds the lock). When the outcome is
-- 'other', the requests it took are put back, so the function changed nothing
-- and the full advance that follows takes them again.
-- p_active: the statuses that make a phase's work (ACTIVE_TASK_STATUSES).
create function samgita_advance_work(p_project uuid, p_requested boolean, p_active text[],
                                     p_identifier text, p_max_priority int)
returns jsonb
language plpgsql volatile as $$
declare
  v_status text;
  v_phase text;
  v_taken uuid[];
  v_queued int;
begin
  if p_requested then
    if not pg_try_advisory_xact_lock(hashtext('samgita:advance:' || p_project::text)) then
      return jsonb_build_object('outcome', 'busy');
    end if;
    with taken as (
      update tasks set advance_wanted = false where project_id = p_project and advance_wanted returning id)
    select coalesce(array_agg(id), '{}') into v_taken from taken;
  end if;
  select status, phase into v_status, v_phase from projects where id = p_project for no key update;
  if not found or v_status <> 'running' or not exists (
      select 1 from tasks where project_id = p_project and phase = v_phase and status = any (p_active)) then
    if p_requested and cardinality(v_taken) > 0 then
      update tasks set advance_wanted = true where id = any (v_taken);
    end if;
    return jsonb_build_object('outcome', 'other');
  end if;
  select count(*) into v_queued from samgita_queue_ready(p_project, v_phase, p_identifier, p_max_priority);
  return jsonb_build_object('outcome', 'work', 'phase', v_phase, 'queued', v_queued);
end
$$;
