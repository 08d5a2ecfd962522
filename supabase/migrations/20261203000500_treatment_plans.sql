-- Multi-session treatment plans (issue "Scheduling …", part B).
--
-- A plan groups appointments of one patient: each session is an ordinary appointment carrying
-- `treatment_plan_id` and `session_number` (columns created by the scheduling migration), so
-- the exclusion constraints that forbid double booking apply to plan sessions unchanged. The
-- API creates the plan and every session in one transaction (all or nothing) and enforces the
-- minimum interval between consecutive sessions of a procedure, also on reschedule.

create table public.treatment_plans (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null references public.clinics (id),
  patient_id uuid not null,
  status text not null default 'active' check (status in ('active', 'completed', 'cancelled')),
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, id),
  foreign key (clinic_id, patient_id) references public.patients (clinic_id, id)
);

comment on table public.treatment_plans is
  'Multi-session plans; sessions are appointments with treatment_plan_id and session_number.';

create index treatment_plans_clinic_patient_idx on public.treatment_plans (clinic_id, patient_id);

create trigger treatment_plans_set_updated_at
  before update on public.treatment_plans
  for each row execute function private.set_updated_at();

alter table public.appointments
  add constraint appointments_treatment_plan_fk
  foreign key (clinic_id, treatment_plan_id) references public.treatment_plans (clinic_id, id),
  add constraint appointments_plan_session_check
  check ((treatment_plan_id is null) = (session_number is null));

alter table public.treatment_plans enable row level security;
alter table public.treatment_plans force row level security;
revoke all on public.treatment_plans from public, anon, authenticated;
grant all on public.treatment_plans to service_role;
grant select, insert, update on public.treatment_plans to authenticated;

-- Same audience as appointments: staff, clinicians and admins of the clinic; a patient sees
-- their own. Never deleted.
create policy treatment_plans_select on public.treatment_plans for select to authenticated
  using (
    (select auth.uid()) is not null
    and (
      clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
      or patient_id in (select private.own_patient_ids())
    )
  );
create policy treatment_plans_insert on public.treatment_plans for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );
create policy treatment_plans_update on public.treatment_plans for update to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  )
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );
