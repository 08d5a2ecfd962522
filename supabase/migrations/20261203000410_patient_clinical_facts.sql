-- Dated clinical facts of a patient (conditions, medications, allergies) for the
-- contraindication check (issue "Scheduling …", item 4; domain.md §5.10).
--
-- The patient record already holds undated lists (`patients.conditions_enc`, …): they say what
-- is true *now*. Washouts need dates: isotretinoin stopped 3 months ago still blocks an ablative
-- laser for another 3 months (180 days after the last dose), chemotherapy within 12 months
-- blocks a filler. One row per fact, with `started_on` / `ended_on` (null = ongoing).
--
-- The free text is an AES-256-GCM envelope produced by the API (associated data binds table,
-- column, row and clinic), like the clinical columns of `patients`; it is never logged. A
-- clinician may code the fact (`condition_code`), which then counts for that condition whatever
-- the wording; an uncoded fact is matched by the condition's keywords, like the record's lists.

create table public.patient_clinical_facts (
  id uuid primary key,
  clinic_id uuid not null references public.clinics (id),
  patient_id uuid not null,
  kind text not null check (kind in ('condition', 'medication', 'allergy')),
  condition_code text null references public.contraindication_conditions (code),
  description_enc bytea not null,
  started_on date null check (started_on >= date '1900-01-01'),
  ended_on date null check (ended_on >= date '1900-01-01'),
  recorded_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (clinic_id, id),
  foreign key (clinic_id, patient_id) references public.patients (clinic_id, id),
  check (started_on is null or ended_on is null or ended_on >= started_on)
);

comment on table public.patient_clinical_facts is
  'Dated conditions, medications and allergies of a patient (encrypted text, optional condition code); read by the contraindication check.';

create index patient_clinical_facts_patient_idx
  on public.patient_clinical_facts (clinic_id, patient_id, ended_on);

create trigger patient_clinical_facts_set_updated_at
  before update on public.patient_clinical_facts
  for each row execute function private.set_updated_at();

alter table public.patient_clinical_facts enable row level security;
alter table public.patient_clinical_facts force row level security;
revoke all on public.patient_clinical_facts from public, anon, authenticated;
grant all on public.patient_clinical_facts to service_role;
grant select, insert, update on public.patient_clinical_facts to authenticated;

-- Staff read the rows too: a booking made by staff must be checked against them. The API
-- decrypts them only inside the check and returns rule texts, never the facts, to staff.
create policy patient_clinical_facts_select on public.patient_clinical_facts
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );
-- Only clinicians and admins record or correct clinical facts.
create policy patient_clinical_facts_insert on public.patient_clinical_facts
  for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician']))
  );
create policy patient_clinical_facts_update on public.patient_clinical_facts
  for update to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician']))
  )
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician']))
  );
