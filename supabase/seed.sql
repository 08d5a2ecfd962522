-- Demo data for local development and tests (scripts/dev, scripts/test). Idempotent.
-- The UUIDs are fixed and documented in README.md; scripts/token knows them by role and clinic.
-- Users exist only as ids here (Supabase keeps them in auth.users, which we do not emulate).

insert into public.clinics (id, name, cnpj, timezone) values
  ('11111111-1111-4111-8111-111111111111', 'Clínica Aurora Estética', '11222333000181', 'America/Sao_Paulo'),
  ('22222222-2222-4222-8222-222222222222', 'Clínica Boreal Dermatologia', '45123456000187', 'America/Sao_Paulo')
on conflict do nothing;

insert into public.clinic_members (clinic_id, user_id, role, active) values
  -- Clínica Aurora Estética (São Paulo)
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000001', 'admin', true),
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000002', 'clinician', true),
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000003', 'staff', true),
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000004', 'patient', true),
  -- a former clinician of Aurora: the membership exists but grants nothing
  ('11111111-1111-4111-8111-111111111111', 'a0000000-0000-4000-8000-000000000005', 'clinician', false),
  -- Clínica Boreal Dermatologia (Rio de Janeiro)
  ('22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000001', 'admin', true),
  ('22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000002', 'clinician', true),
  ('22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000003', 'staff', true),
  ('22222222-2222-4222-8222-222222222222', 'b0000000-0000-4000-8000-000000000004', 'patient', true),
  -- one person in both clinics: admin of Aurora, staff of Boreal
  ('11111111-1111-4111-8111-111111111111', 'c0000000-0000-4000-8000-000000000001', 'admin', true),
  ('22222222-2222-4222-8222-222222222222', 'c0000000-0000-4000-8000-000000000001', 'staff', true)
on conflict do nothing;
