-- Why a rule was overridden (issue "Scheduling …": "an admin may override with a reason, which
-- is audited"; "a clinician overrides with a reason (audited)").
--
-- The reason is free text a person typed ("paciente trouxe liberação do dermatologista"): it may
-- name people or conditions. The audit trail is append-only and hash-chained, and its events
-- carry ids and codes only, so the text lives here, sealed like clinical notes (AES-256-GCM
-- envelope from the API; associated data binds table, column, row and clinic), and the audit
-- event names this row (`details.overrideId`). Rows are never changed through the API (no
-- update or delete policy); key rotation re-seals them on the service path.

create table public.appointment_overrides (
  id uuid primary key,
  clinic_id uuid not null references public.clinics (id),
  appointment_id uuid not null,
  kind text not null check (kind in ('schedule', 'clinical')),
  rule_ids text[] not null,
  reason_enc bytea not null,
  created_by uuid not null,
  created_at timestamptz not null default now(),
  unique (clinic_id, id),
  foreign key (clinic_id, appointment_id) references public.appointments (clinic_id, id)
);

comment on table public.appointment_overrides is
  'Reasons given for overriding working hours/time off (admin) or a contraindication (clinician); sealed text, referenced by the audit event.';

create index appointment_overrides_appointment_idx
  on public.appointment_overrides (clinic_id, appointment_id);

alter table public.appointment_overrides enable row level security;
alter table public.appointment_overrides force row level security;
revoke all on public.appointment_overrides from public, anon, authenticated;
grant all on public.appointment_overrides to service_role;
grant select, insert on public.appointment_overrides to authenticated;

-- Admins and clinicians read them (they justify clinical decisions); whoever may book writes
-- them, and the API only does so for an override its role is allowed to make.
create policy appointment_overrides_select on public.appointment_overrides
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician']))
  );
create policy appointment_overrides_insert on public.appointment_overrides
  for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and created_by = (select auth.uid())
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );
