-- Patients and consents (issue "Patients, consents and the tamper-evident audit trail").
--
-- Personal data minimisation at rest: the CPF and clinical free text are stored only as
-- AES-256-GCM envelopes produced by the API (key id + nonce inside, associated data binding
-- table, column, row and clinic); the CPF is found through a keyed blind index (HMAC-SHA256
-- over clinic id and CPF), unique per clinic and unlinkable across clinics. Rows are never
-- deleted by the API: an LGPD erasure request restricts the record (clinical records are kept
-- for 20 years after the last entry, CFM 1.821/2007).

create table public.patients (
  id uuid primary key,
  clinic_id uuid not null references public.clinics (id),
  full_name text not null check (length(btrim(full_name)) between 1 and 200),
  -- Lower-case, accent-free copy of full_name for prefix search (computed by the API).
  name_search text not null check (length(name_search) <= 200),
  social_name text null check (length(social_name) <= 200),
  birth_date date not null check (birth_date >= date '1900-01-01'),
  sex text null check (sex in ('female', 'male', 'intersex', 'unknown')),
  gender_identity text null check (length(gender_identity) <= 60),
  cpf_enc bytea null,
  cpf_index bytea null check (length(cpf_index) = 32),
  email text null check (length(email) <= 254),
  phone text null check (phone ~ '^\+55[0-9]{10,11}$'),
  address jsonb null,
  emergency_contact jsonb null,
  allergies_enc bytea null,
  medications_enc bytea null,
  conditions_enc bytea null,
  clinical_notes_enc bytea null,
  pregnancy_status text null
    check (pregnancy_status in ('not_pregnant', 'pregnant', 'breastfeeding', 'not_applicable', 'unknown')),
  fitzpatrick_skin_type smallint null check (fitzpatrick_skin_type between 1 and 6),
  preferred_contact_channel text null check (preferred_contact_channel in ('email', 'phone', 'sms', 'whatsapp')),
  language text not null default 'pt-BR' check (language in ('pt-BR', 'en', 'es')),
  version integer not null default 1 check (version >= 1),
  created_by uuid not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  last_clinical_entry_at timestamptz null,
  restricted_at timestamptz null,
  restricted_by uuid null,
  restriction_reason text null check (restriction_reason in
    ('lgpd_erasure_request', 'lgpd_blocking_request', 'duplicate_record', 'legal_hold', 'other')),
  unique (clinic_id, id),
  unique (clinic_id, cpf_index),
  check ((cpf_enc is null) = (cpf_index is null))
);

comment on table public.patients is
  'Clinic-scoped patient records. CPF and clinical text are encrypted by the API; never deleted.';

create index patients_clinic_created_idx on public.patients (clinic_id, created_at desc, id desc);
create index patients_clinic_name_idx on public.patients (clinic_id, name_search text_pattern_ops);
create index patients_clinic_birth_idx on public.patients (clinic_id, birth_date);
create index patients_clinic_updated_idx on public.patients (clinic_id, updated_at);

create trigger patients_set_updated_at
  before update on public.patients
  for each row execute function private.set_updated_at();

-- A patient's own login: a `patient` membership points at their record in the same clinic.
alter table public.clinic_members add column patient_id uuid null;
alter table public.clinic_members add constraint clinic_members_patient_fk
  foreign key (clinic_id, patient_id) references public.patients (clinic_id, id);
alter table public.clinic_members add constraint clinic_members_patient_role_check
  check (patient_id is null or role = 'patient');
create index clinic_members_patient_idx on public.clinic_members (patient_id) where patient_id is not null;

-- Records the caller may read as a patient (their own).
create or replace function private.own_patient_ids()
  returns setof uuid
  language sql stable security definer
  set search_path = ''
as $$
  select m.patient_id
  from public.clinic_members m
  where m.user_id = (select auth.uid()) and m.active and m.role = 'patient' and m.patient_id is not null
$$;

revoke all on function private.own_patient_ids() from public, anon;
grant execute on function private.own_patient_ids() to authenticated;

alter table public.patients enable row level security;
alter table public.patients force row level security;
revoke all on public.patients from public, anon, authenticated;
grant select, insert, update on public.patients to authenticated;
grant all on public.patients to service_role;

create policy patients_select on public.patients
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and (
      clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
      or id in (select private.own_patient_ids())
    )
  );

create policy patients_insert on public.patients
  for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );

create policy patients_update on public.patients
  for update to authenticated
  using (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  )
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );

-- Consents ------------------------------------------------------------------------------------

create table public.consents (
  id uuid primary key default gen_random_uuid(),
  clinic_id uuid not null,
  patient_id uuid not null,
  purpose text not null check (purpose in
    ('treatment', 'data_processing', 'marketing', 'photo_use', 'ai_analysis', 'telemedicine')),
  -- LGPD legal basis: Art. 7 (personal data) or Art. 11 (sensitive/health data).
  legal_basis text not null check (legal_basis in
    ('art7_i_consent', 'art7_ii_legal_obligation', 'art7_v_contract', 'art7_viii_health_protection',
     'art7_ix_legitimate_interest', 'art11_i_specific_consent', 'art11_ii_a_legal_obligation',
     'art11_ii_d_regular_exercise_of_rights', 'art11_ii_f_health_protection')),
  text_version text not null check (length(text_version) between 1 and 40),
  text_sha256 text not null check (text_sha256 ~ '^[0-9a-f]{64}$'),
  collection_method text not null check (collection_method in
    ('written_signature', 'digital_signature', 'electronic_acceptance', 'verbal_recorded')),
  -- A pointer to the evidence (document id, signature envelope id); never the document itself.
  evidence_reference text null check (length(evidence_reference) <= 200),
  given_at timestamptz not null,
  expires_at timestamptz null,
  withdrawn_at timestamptz null,
  withdrawal_reason text null check (length(withdrawal_reason) <= 60),
  recorded_by uuid not null,
  withdrawn_by uuid null,
  created_at timestamptz not null default now(),
  foreign key (clinic_id, patient_id) references public.patients (clinic_id, id),
  check (expires_at is null or expires_at > given_at),
  check ((withdrawn_at is null) = (withdrawn_by is null))
);

comment on table public.consents is
  'LGPD consent registry per patient and purpose. Withdrawal never deletes clinical data.';

create index consents_clinic_patient_idx on public.consents (clinic_id, patient_id, purpose);

alter table public.consents enable row level security;
alter table public.consents force row level security;
revoke all on public.consents from public, anon, authenticated;
grant select, insert on public.consents to authenticated;
-- Only the withdrawal columns can ever change.
grant update (withdrawn_at, withdrawal_reason, withdrawn_by) on public.consents to authenticated;
grant all on public.consents to service_role;

create policy consents_select on public.consents
  for select to authenticated
  using (
    (select auth.uid()) is not null
    and (
      clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
      or patient_id in (select private.own_patient_ids())
    )
  );

create policy consents_insert on public.consents
  for insert to authenticated
  with check (
    (select auth.uid()) is not null
    and clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
  );

-- Staff withdraw on the patient's request; a patient may withdraw their own consent (LGPD
-- Art. 18 IX).
create policy consents_withdraw on public.consents
  for update to authenticated
  using (
    (select auth.uid()) is not null
    and (
      clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
      or patient_id in (select private.own_patient_ids())
    )
  )
  with check (
    (select auth.uid()) is not null
    and (
      clinic_id in (select private.role_clinic_ids(array['admin', 'clinician', 'staff']))
      or patient_id in (select private.own_patient_ids())
    )
  );
