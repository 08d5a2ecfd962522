-- Tamper-evident audit trail (ARCHITECTURE.md §6, reference/security.md §8).
--
-- One append-only hash chain per clinic: `seq` without gaps, `prev_hash` = the previous
-- event's `hash` (32 zero bytes for the first), `hash` = SHA-256(prev_hash || RFC 8785 canonical
-- JSON of the event), computed by the API in Rust so the verifier re-derives exactly the same
-- bytes. Writers are serialised per clinic with a transaction-scoped advisory lock (safe behind
-- a transaction pooler). The API never gets INSERT, UPDATE, DELETE or TRUNCATE on the table:
-- it appends through two security-definer functions that check the caller's membership and the
-- chain linkage. Triggers refuse UPDATE, DELETE and TRUNCATE even for the table owner, so
-- tampering needs a superuser disabling triggers — which the verifier then reports.

create table public.audit_events (
  id bigint generated always as identity primary key,
  clinic_id uuid not null references public.clinics (id),
  seq bigint not null check (seq >= 1),
  occurred_at timestamptz not null,
  actor_id uuid not null,
  actor_role text not null check (actor_role in ('admin', 'clinician', 'staff', 'patient', 'service')),
  patient_id uuid null,
  action text not null check (action ~ '^[a-z][a-z_.]{1,63}$'),
  resource_type text not null check (resource_type ~ '^[a-z][a-z_]{1,63}$'),
  resource_id uuid null,
  outcome text not null check (outcome in ('success', 'denied', 'failure')),
  risk_level text not null check (risk_level in ('low', 'medium', 'high', 'critical')),
  request_id text null check (length(request_id) <= 128),
  ip text null check (length(ip) <= 64),
  user_agent text null check (length(user_agent) <= 256),
  -- Ids and codes only (reasons, changed field names); never names, CPF or notes.
  details jsonb not null default '{}'::jsonb,
  prev_hash bytea not null check (length(prev_hash) = 32),
  hash bytea not null check (length(hash) = 32),
  hash_version smallint not null default 1,
  unique (clinic_id, seq),
  -- Fork guard: two events can never claim the same predecessor.
  unique (clinic_id, prev_hash)
);

comment on table public.audit_events is
  'Append-only, per-clinic hash-chained audit trail of patient-data access and changes.';

create index audit_events_clinic_patient_idx on public.audit_events (clinic_id, patient_id, seq);
create index audit_events_clinic_actor_idx on public.audit_events (clinic_id, actor_id, seq);
create index audit_events_clinic_time_idx on public.audit_events (clinic_id, occurred_at);

alter table public.audit_events enable row level security;
alter table public.audit_events force row level security;

revoke all on public.audit_events from public, anon, authenticated, service_role;
grant select on public.audit_events to authenticated;
grant select on public.audit_events to service_role;

-- Only a clinic's admins read its trail.
create policy audit_events_select_admin on public.audit_events
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin']))
  );

-- Append-only, also for the owner ------------------------------------------------------------

create or replace function private.audit_events_immutable()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  raise exception 'audit_events is append-only (% refused)', tg_op
    using errcode = 'insufficient_privilege';
end
$$;

revoke all on function private.audit_events_immutable() from public, anon, authenticated;

create trigger audit_events_no_update_delete
  before update or delete on public.audit_events
  for each row execute function private.audit_events_immutable();

create trigger audit_events_no_truncate
  before truncate on public.audit_events
  for each statement execute function private.audit_events_immutable();

-- Appending -----------------------------------------------------------------------------------

-- Step 1, inside the writer's transaction: take the clinic's chain lock (held until commit or
-- rollback) and return the next seq and the hash it must chain to.
create or replace function private.audit_chain_head(p_clinic uuid)
  returns table (next_seq bigint, prev_hash bytea)
  language plpgsql volatile security definer
  set search_path = ''
as $$
begin
  if (select auth.uid()) is null or not private.is_member(p_clinic) then
    raise exception 'not a member of this clinic' using errcode = 'insufficient_privilege';
  end if;
  perform pg_catalog.pg_advisory_xact_lock(
    pg_catalog.hashtextextended('neonpro.audit:' || p_clinic::text, 0));
  return query
    select coalesce(max(e.seq), 0) + 1,
           coalesce((select e2.hash from public.audit_events e2
                     where e2.clinic_id = p_clinic order by e2.seq desc limit 1),
                    '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
    from public.audit_events e
    where e.clinic_id = p_clinic;
end
$$;

-- Step 2: insert the event whose hash the API computed. The function re-checks everything the
-- caller could get wrong or forge: membership, actor = the token's subject, the chain linkage.
create or replace function private.audit_append(
  p_clinic uuid, p_seq bigint, p_occurred_at timestamptz, p_actor_role text,
  p_patient uuid, p_action text, p_resource_type text, p_resource_id uuid, p_outcome text,
  p_risk_level text, p_request_id text, p_ip text, p_user_agent text, p_details jsonb,
  p_prev_hash bytea, p_hash bytea)
  returns bigint
  language plpgsql volatile security definer
  set search_path = ''
as $$
declare
  head_seq bigint;
  head_hash bytea;
  new_id bigint;
begin
  if (select auth.uid()) is null or not private.is_member(p_clinic) then
    raise exception 'not a member of this clinic' using errcode = 'insufficient_privilege';
  end if;
  select h.next_seq, h.prev_hash into head_seq, head_hash from private.audit_chain_head(p_clinic) h;
  if p_seq <> head_seq or p_prev_hash <> head_hash then
    raise exception 'audit chain head moved' using errcode = 'serialization_failure';
  end if;
  insert into public.audit_events (clinic_id, seq, occurred_at, actor_id, actor_role, patient_id,
    action, resource_type, resource_id, outcome, risk_level, request_id, ip, user_agent, details,
    prev_hash, hash)
  values (p_clinic, p_seq, p_occurred_at, (select auth.uid()), p_actor_role, p_patient,
    p_action, p_resource_type, p_resource_id, p_outcome, p_risk_level, p_request_id, p_ip,
    p_user_agent, coalesce(p_details, '{}'::jsonb), p_prev_hash, p_hash)
  returning id into new_id;
  return new_id;
end
$$;

revoke all on function private.audit_chain_head(uuid) from public, anon;
revoke all on function private.audit_append(uuid, bigint, timestamptz, text, uuid, text, text,
  uuid, text, text, text, text, text, jsonb, bytea, bytea) from public, anon;
grant execute on function private.audit_chain_head(uuid) to authenticated;
grant execute on function private.audit_append(uuid, bigint, timestamptz, text, uuid, text, text,
  uuid, text, text, text, text, text, jsonb, bytea, bytea) to authenticated;
