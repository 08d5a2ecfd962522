-- Scheduling (issue "Scheduling: professionals, procedure catalog, appointments that cannot
-- double-book, multi-session treatment plans").
--
-- The original system checked for overlaps with a query and then inserted, so two concurrent
-- bookings could both pass. Here the database itself refuses a double booking: two exclusion
-- constraints on public.appointments (one per professional, including the buffer after each
-- appointment; one per room) over the active statuses. The API turns the violation (SQLSTATE
-- 23P01) into a 409 that lists every blocking appointment.
--
-- `btree_gist` lives in the `extensions` schema (supabase/bootstrap.sql locally, Supabase in
-- production). A GiST index over `uuid WITH =` needs its operator class; the default operator
-- class of a type is found by type and access method, not through search_path, so it is enough
-- that the extension exists.
--
-- Local business rules (working hours) are evaluated in the clinic's time zone
-- (`clinics.timezone`, America/Sao_Paulo by default) with PostgreSQL's own tz database.

-- Professionals ---------------------------------------------------------------------------------

create table public.professionals (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id),
  -- The clinic member who logs in as this professional, if any.
  user_id uuid null,
  display_name text not null check (length(btrim(display_name)) between 1 and 200),
  council text not null check (council in ('CRM', 'COREN', 'CRO', 'CRF', 'CRBM', 'CREFITO', 'CRN', 'CRP')),
  council_uf char(2) not null check (council_uf ~ '^[A-Z]{2}$'),
  council_number integer not null check (council_number between 1 and 9999999),
  -- Registro de Qualificação de Especialista, one per specialty (domain.md §5.3).
  rqe text[] not null default '{}' check (cardinality(rqe) <= 20),
  verification_status text not null default 'pending'
    check (verification_status in ('pending', 'verified', 'suspended')),
  verified_at timestamptz null,
  certifications text[] not null default '{}' check (cardinality(certifications) <= 50),
  -- Minutes blocked after each of this professional's appointments (cleaning, notes).
  buffer_minutes integer not null default 15 check (buffer_minutes between 0 and 240),
  active boolean not null default true,
  version integer not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, id),
  unique (clinic_id, council, council_uf, council_number),
  foreign key (clinic_id, user_id) references public.clinic_members (clinic_id, user_id),
  check ((verification_status = 'verified') = (verified_at is not null) or verification_status = 'suspended')
);

comment on table public.professionals is
  'Who performs procedures: council registration, verification, certifications, buffer.';

create index professionals_clinic_idx on public.professionals (clinic_id, display_name);

create trigger professionals_set_updated_at
  before update on public.professionals
  for each row execute function private.set_updated_at();

-- Weekly working hours, local time of the clinic (weekday 0 = Sunday, as extract(dow)).
create table public.professional_hours (
  clinic_id uuid not null,
  professional_id uuid not null,
  weekday smallint not null check (weekday between 0 and 6),
  start_time time not null,
  end_time time not null,
  primary key (professional_id, weekday, start_time),
  foreign key (clinic_id, professional_id) references public.professionals (clinic_id, id) on delete cascade,
  check (start_time < end_time)
);

create index professional_hours_clinic_idx on public.professional_hours (clinic_id);

create table public.professional_time_off (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null,
  professional_id uuid not null,
  during tstzrange not null check (not isempty(during) and lower(during) is not null and upper(during) is not null),
  -- A short code (vacation, congress, sick_leave, other); never free text about a person.
  reason text not null default 'other' check (reason in ('vacation', 'congress', 'sick_leave', 'training', 'other')),
  created_at timestamptz not null default now(),
  foreign key (clinic_id, professional_id) references public.professionals (clinic_id, id) on delete cascade
);

create index professional_time_off_idx on public.professional_time_off using gist (professional_id, during);
create index professional_time_off_clinic_idx on public.professional_time_off (clinic_id);

-- Rooms and devices -----------------------------------------------------------------------------

create table public.rooms (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id),
  name text not null check (length(btrim(name)) between 1 and 120),
  kind text not null default 'room' check (kind in ('room', 'device')),
  active boolean not null default true,
  version integer not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, id),
  unique (clinic_id, name)
);

comment on table public.rooms is 'Bookable resources: treatment rooms and devices (one booking at a time).';

create trigger rooms_set_updated_at
  before update on public.rooms
  for each row execute function private.set_updated_at();

-- Procedures ------------------------------------------------------------------------------------

create table public.procedures (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id),
  name text not null check (length(btrim(name)) between 1 and 200),
  category text not null check (category in ('injectable', 'laser', 'facial', 'body', 'surgical', 'combination')),
  -- Finer kind used by contraindication rules (botulinum_toxin, ha_filler, biostimulator, …).
  kind text null check (kind ~ '^[a-z][a-z0-9_]{1,59}$'),
  duration_minutes integer not null check (duration_minutes between 5 and 600),
  buffer_after_minutes integer not null default 0 check (buffer_after_minutes between 0 and 240),
  session_count integer not null default 1 check (session_count between 1 and 20),
  min_interval_days integer null check (min_interval_days between 0 and 730),
  max_interval_days integer null check (max_interval_days between 0 and 730),
  recovery_days integer not null default 0 check (recovery_days between 0 and 365),
  touch_up_window_days integer null check (touch_up_window_days between 0 and 365),
  required_certifications text[] not null default '{}' check (cardinality(required_certifications) <= 20),
  -- Councils whose members may perform it (empty: any verified professional).
  allowed_councils text[] not null default '{}' check (cardinality(allowed_councils) <= 8),
  -- Digits only; 9, 11 or 13 digits; first digit a known ANVISA class (domain.md §5.4).
  anvisa_registration text null check (anvisa_registration ~ '^[1-68]([0-9]{8}|[0-9]{10}|[0-9]{12})$'),
  anvisa_expires_on date null,
  price_cents bigint not null default 0 check (price_cents between 0 and 100000000),
  active boolean not null default true,
  version integer not null default 1 check (version >= 1),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, id),
  unique (clinic_id, name),
  check (min_interval_days is null or max_interval_days is null or min_interval_days <= max_interval_days)
);

comment on table public.procedures is
  'Procedure catalog: duration, buffer, sessions and intervals, requirements, ANVISA registration, price (BRL cents).';

create trigger procedures_set_updated_at
  before update on public.procedures
  for each row execute function private.set_updated_at();

-- Appointments ----------------------------------------------------------------------------------

create table public.appointments (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id),
  patient_id uuid not null,
  professional_id uuid not null,
  room_id uuid null,
  procedure_id uuid not null,
  starts_at timestamptz not null,
  ends_at timestamptz not null,
  -- ends_at + the buffer, computed by the API: `timestamptz + interval` is only STABLE, so it
  -- cannot appear in the constraint below; `tstzrange(a, b)` over two columns is IMMUTABLE.
  blocked_until timestamptz not null,
  type text not null default 'in_person' check (type in ('in_person', 'telemedicine')),
  status text not null default 'scheduled'
    check (status in ('scheduled', 'confirmed', 'in_progress', 'completed', 'cancelled', 'no_show')),
  -- Short scheduling note, AES-256-GCM envelope made by the API.
  notes_enc bytea null,
  cancel_reason text null check (cancel_reason in
    ('patient_request', 'clinic_request', 'professional_unavailable', 'patient_unwell', 'rescheduled', 'other')),
  cancelled_at timestamptz null,
  overridden boolean not null default false,
  treatment_plan_id uuid null,
  session_number integer null check (session_number between 1 and 20),
  version integer not null default 1 check (version >= 1),
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, id),
  foreign key (clinic_id, patient_id) references public.patients (clinic_id, id),
  foreign key (clinic_id, professional_id) references public.professionals (clinic_id, id),
  foreign key (clinic_id, room_id) references public.rooms (clinic_id, id),
  foreign key (clinic_id, procedure_id) references public.procedures (clinic_id, id),
  check (starts_at < ends_at),
  check (blocked_until >= ends_at),
  check (ends_at - starts_at <= interval '12 hours'),
  check ((status = 'cancelled') = (cancel_reason is not null)),
  -- No double booking of a professional (buffer included) …
  constraint appointments_professional_no_overlap exclude using gist (
    professional_id with =,
    tstzrange(starts_at, blocked_until, '[)') with &&
  ) where (status in ('scheduled', 'confirmed', 'in_progress')),
  -- … nor of a room or device.
  constraint appointments_room_no_overlap exclude using gist (
    room_id with =,
    tstzrange(starts_at, ends_at, '[)') with &&
  ) where (status in ('scheduled', 'confirmed', 'in_progress'))
);

comment on table public.appointments is
  'Bookings. Double booking of a professional (with buffer) or room is impossible: exclusion constraints.';

create index appointments_clinic_start_idx on public.appointments (clinic_id, starts_at, id);
create index appointments_patient_idx on public.appointments (clinic_id, patient_id, starts_at);
create index appointments_plan_idx on public.appointments (treatment_plan_id) where treatment_plan_id is not null;

create trigger appointments_set_updated_at
  before update on public.appointments
  for each row execute function private.set_updated_at();

-- Privileges and Row Level Security -------------------------------------------------------------

do $$
declare
  t text;
begin
  foreach t in array array['professionals', 'professional_hours', 'professional_time_off', 'rooms', 'procedures', 'appointments']
  loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
    execute format('revoke all on public.%I from public, anon, authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
end
$$;

-- Catalog: every active member reads (a patient's appointment names its professional and
-- procedure); admins write. No deletes: deactivate instead (appointments reference them).
grant select, insert, update on public.professionals, public.rooms, public.procedures to authenticated;
grant select, insert, update, delete on public.professional_hours, public.professional_time_off to authenticated;

create policy professionals_select on public.professionals for select to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.member_clinic_ids()));
create policy professionals_insert on public.professionals for insert to authenticated
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));
create policy professionals_update on public.professionals for update to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])))
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));

create policy professional_hours_select on public.professional_hours for select to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.member_clinic_ids()));
create policy professional_hours_write on public.professional_hours for all to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])))
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));

create policy professional_time_off_select on public.professional_time_off for select to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.member_clinic_ids()));
create policy professional_time_off_write on public.professional_time_off for all to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])))
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));

create policy rooms_select on public.rooms for select to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.member_clinic_ids()));
create policy rooms_insert on public.rooms for insert to authenticated
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));
create policy rooms_update on public.rooms for update to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])))
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));

create policy procedures_select on public.procedures for select to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.member_clinic_ids()));
create policy procedures_insert on public.procedures for insert to authenticated
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));
create policy procedures_update on public.procedures for update to authenticated
  using ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])))
  with check ((select auth.uid()) is not null and clinic_id in (select private.role_clinic_ids(array['admin'])));

-- Appointments: staff, clinicians and admins of the clinic; a patient sees their own. Never
-- deleted: cancelled.
grant select, insert, update on public.appointments to authenticated;

create policy appointments_select on public.appointments for select to authenticated
  using (
    (select auth.uid()) is not null
    and (
      clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
      or patient_id in (select private.own_patient_ids())
    )
  );
create policy appointments_insert on public.appointments for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );
create policy appointments_update on public.appointments for update to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  )
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );
