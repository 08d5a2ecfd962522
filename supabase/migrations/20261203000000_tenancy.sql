-- Tenancy: clinics and their members, with Row Level Security (ARCHITECTURE.md §3,
-- reference/security.md §1.4–1.7).
--
-- Every request runs as role `authenticated` with the verified token claims in
-- `request.jwt.claims`; `auth.uid()` is the caller. Membership and roles live in
-- public.clinic_members; the policies read them through security-definer helpers in the
-- non-exposed schema `private`, so a policy on clinic_members never recurses into itself.

-- The helpers must read clinic_members without RLS: their owner (the role running this
-- migration) must bypass it. On local PostgreSQL that is the superuser `postgres`; on Supabase
-- the `postgres` role has BYPASSRLS. Fail loudly rather than create helpers that see nothing.
do $$
begin
  if not exists (
    select 1 from pg_roles where rolname = current_user and (rolsuper or rolbypassrls)
  ) then
    raise exception 'run migrations as a role with SUPERUSER or BYPASSRLS (current: %)', current_user;
  end if;
end
$$;

-- Tables --------------------------------------------------------------------------------------

create table public.clinics (
  id uuid primary key default gen_random_uuid(),
  name text not null check (length(btrim(name)) between 1 and 200),
  -- 14 characters: numeric or the alphanumeric CNPJ of IN RFB 2.229/2024 (12 [0-9A-Z] + 2 digits).
  cnpj char(14) null unique check (cnpj ~ '^[0-9A-Z]{12}[0-9]{2}$'),
  timezone text not null default 'America/Sao_Paulo',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table public.clinics is 'A tenant. Visible to its active members; editable by its admins.';

create table public.clinic_members (
  clinic_id uuid not null references public.clinics (id) on delete cascade,
  user_id uuid not null, -- auth.users.id on Supabase (no foreign key: auth.users is not ours)
  role text not null check (role in ('admin', 'clinician', 'staff', 'patient')),
  active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (clinic_id, user_id)
);

comment on table public.clinic_members is 'Who belongs to which clinic, with which application role.';

-- The primary key leads with clinic_id; policies and lookups filter on user_id.
create index clinic_members_user_id_idx on public.clinic_members (user_id);

-- Non-exposed helper schema -------------------------------------------------------------------

create schema if not exists private;
revoke all on schema private from public;
grant usage on schema private to authenticated;

-- Clinics where the caller has an active membership.
create or replace function private.member_clinic_ids()
  returns setof uuid
  language sql stable security definer
  set search_path = ''
as $$
  select m.clinic_id
  from public.clinic_members m
  where m.user_id = (select auth.uid()) and m.active
$$;

-- Clinics where the caller has an active membership with one of `roles`.
-- Policies use this set form (`clinic_id in (select …)`): it does not depend on the row, so
-- PostgreSQL evaluates it once per statement (reference/security.md §1.6).
create or replace function private.role_clinic_ids(roles text[])
  returns setof uuid
  language sql stable security definer
  set search_path = ''
as $$
  select m.clinic_id
  from public.clinic_members m
  where m.user_id = (select auth.uid()) and m.active and m.role = any (roles)
$$;

-- Whether the caller is an active member of `clinic`.
create or replace function private.is_member(clinic uuid)
  returns boolean
  language sql stable security definer
  set search_path = ''
as $$
  select exists (
    select 1
    from public.clinic_members m
    where m.clinic_id = clinic and m.user_id = (select auth.uid()) and m.active
  )
$$;

-- Whether the caller is an active member of `clinic` with one of `roles`.
create or replace function private.has_role(clinic uuid, roles text[])
  returns boolean
  language sql stable security definer
  set search_path = ''
as $$
  select exists (
    select 1
    from public.clinic_members m
    where m.clinic_id = clinic and m.user_id = (select auth.uid()) and m.active
      and m.role = any (roles)
  )
$$;

revoke all on function private.member_clinic_ids() from public, anon;
revoke all on function private.role_clinic_ids(text[]) from public, anon;
revoke all on function private.is_member(uuid) from public, anon;
revoke all on function private.has_role(uuid, text[]) from public, anon;
grant execute on function private.member_clinic_ids() to authenticated;
grant execute on function private.role_clinic_ids(text[]) to authenticated;
grant execute on function private.is_member(uuid) to authenticated;
grant execute on function private.has_role(uuid, text[]) to authenticated;

-- updated_at maintenance ----------------------------------------------------------------------

create or replace function private.set_updated_at()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end
$$;

revoke all on function private.set_updated_at() from public, anon, authenticated;

-- A clinic's time zone must be an IANA name PostgreSQL knows (schedules are computed in it).
create or replace function private.check_clinic_timezone()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if not exists (select 1 from pg_catalog.pg_timezone_names where name = new.timezone) then
    raise exception 'unknown time zone'
      using errcode = 'check_violation', constraint = 'clinics_timezone_check';
  end if;
  return new;
end
$$;

revoke all on function private.check_clinic_timezone() from public, anon, authenticated;

create trigger clinics_check_timezone
  before insert or update of timezone on public.clinics
  for each row execute function private.check_clinic_timezone();

create trigger clinics_set_updated_at
  before update on public.clinics
  for each row execute function private.set_updated_at();

create trigger clinic_members_set_updated_at
  before update on public.clinic_members
  for each row execute function private.set_updated_at();

-- Privileges: nothing by default, then only what the policies below allow -----------------------

revoke all on table public.clinics from anon, authenticated, public;
revoke all on table public.clinic_members from anon, authenticated, public;

grant select on table public.clinics to authenticated;
grant update (name, cnpj, timezone) on table public.clinics to authenticated;

grant select, delete on table public.clinic_members to authenticated;
grant insert (clinic_id, user_id, role, active) on table public.clinic_members to authenticated;
grant update (role, active) on table public.clinic_members to authenticated;

grant all on table public.clinics to service_role;
grant all on table public.clinic_members to service_role;

-- Row Level Security: enabled and forced (the table owner is subject to it too) ----------------

alter table public.clinics enable row level security;
alter table public.clinics force row level security;
alter table public.clinic_members enable row level security;
alter table public.clinic_members force row level security;

-- clinics: members see their clinics; admins edit name, cnpj and timezone; no insert/delete.
create policy clinics_select_member on public.clinics
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and id in (select private.member_clinic_ids())
  );

create policy clinics_update_admin on public.clinics
  for update to authenticated
  using (
    (select auth.uid()) is not null
    and id in (select private.role_clinic_ids(array['admin']))
  )
  with check (
    (select auth.uid()) is not null
    and id in (select private.role_clinic_ids(array['admin']))
  );

-- clinic_members: users see their own memberships (active or not); admins see and manage every
-- membership of their clinics.
create policy clinic_members_select_own_or_admin on public.clinic_members
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and (
      user_id = (select auth.uid())
      or clinic_id in (select private.role_clinic_ids(array['admin']))
    )
  );

create policy clinic_members_insert_admin on public.clinic_members
  for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin']))
  );

create policy clinic_members_update_admin on public.clinic_members
  for update to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin']))
  )
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin']))
  );

create policy clinic_members_delete_admin on public.clinic_members
  for delete to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin']))
  );
