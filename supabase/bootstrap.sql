-- Bootstrap for NON-Supabase databases (local PostgreSQL 15 in scripts/dev and scripts/test).
--
-- Creates what every Supabase project already has, so the migrations run unchanged on both:
-- the API roles, the `auth` helper functions with Supabase's exact definitions, and the
-- `extensions` schema. Idempotent: safe to run on every migrate. Never run it on Supabase.
--
-- Sources: supabase/supabase docker/volumes/db/init/00-initial-schema.sql (roles) and
-- supabase/auth migrations/20240624145325_recreate_auth_functions.up.sql (functions).

-- Roles ---------------------------------------------------------------------------------------
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select 1 from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  -- The login role of the API. NOINHERIT: it has no privileges of its own and gets those of
  -- anon/authenticated/service_role only through SET ROLE, so a request path that forgets the
  -- role switch fails with "permission denied" instead of bypassing RLS.
  if not exists (select 1 from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
end
$$;

-- Re-assert the attributes in case the roles existed with others.
alter role anon nologin noinherit;
alter role authenticated nologin noinherit;
alter role service_role nologin noinherit bypassrls;
alter role authenticator login noinherit nosuperuser nocreatedb nocreaterole nobypassrls;

grant anon, authenticated, service_role to authenticator;

-- Extensions (Supabase installs them into the `extensions` schema) ------------------------------
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists btree_gist with schema extensions;

-- auth schema and helpers (exact Supabase definitions) ----------------------------------------
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

-- Deprecated upstream in favour of auth.jwt() ->> 'sub', but still what policies use.
-- Note: the legacy per-claim setting request.jwt.claim.sub takes precedence over request.jwt.claims.
create or replace function auth.uid()
  returns uuid
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.sub', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$func$ language sql stable;

create or replace function auth.role()
  returns text
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.role', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$func$ language sql stable;

create or replace function auth.email()
  returns text
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim.email', true), ''),
      (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$func$ language sql stable;

create or replace function auth.jwt()
  returns jsonb
  set search_path to ''
as $func$
  select
    coalesce(
      nullif(current_setting('request.jwt.claim', true), ''),
      nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$func$ language sql stable;

grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role;

-- The login role must never hold table privileges of its own (see above).
revoke all on all tables in schema public from authenticator;
revoke all on all sequences in schema public from authenticator;
