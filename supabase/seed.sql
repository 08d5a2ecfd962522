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

-- Scheduling catalog (issue "Scheduling …"): one verified professional per clinic (the seeded
-- clinician) with working hours Monday–Saturday, a room and a laser device, and a catalog with
-- the session counts and intervals of reference/domain.md §5.9. ANVISA numbers are
-- well-formed placeholders, not real registrations.
insert into public.professionals (id, clinic_id, user_id, display_name, council, council_uf, council_number,
  rqe, verification_status, verified_at, certifications, buffer_minutes) values
  ('a1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
   'a0000000-0000-4000-8000-000000000002', 'Dra. Helena Prado', 'CRM', 'SP', 123456, '{45678}',
   'verified', now(), '{injectables,laser_safety,microneedling,peels}', 15),
  ('b1000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222',
   'b0000000-0000-4000-8000-000000000002', 'Dr. Rafael Lins', 'CRM', 'RJ', 654321, '{98765}',
   'verified', now(), '{injectables,laser_safety,microneedling,peels}', 15)
on conflict do nothing;

-- Monday (1) to Friday (5) 08:00–18:00, Saturday (6) 08:00–12:00, local time.
insert into public.professional_hours (clinic_id, professional_id, weekday, start_time, end_time)
select p.clinic_id, p.id, d, '08:00', case when d = 6 then time '12:00' else time '18:00' end
from public.professionals p, generate_series(1, 6) d
where p.id in ('a1000000-0000-4000-8000-000000000001', 'b1000000-0000-4000-8000-000000000001')
on conflict do nothing;

insert into public.rooms (id, clinic_id, name, kind) values
  ('a2000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Sala 1', 'room'),
  ('a2000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'Laser Alexandrita', 'device'),
  ('b2000000-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222', 'Consultório 1', 'room'),
  ('b2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Laser Diodo', 'device')
on conflict do nothing;

insert into public.procedures (id, clinic_id, name, category, kind, duration_minutes, buffer_after_minutes,
  session_count, min_interval_days, max_interval_days, recovery_days, touch_up_window_days,
  required_certifications, allowed_councils, anvisa_registration, anvisa_expires_on, price_cents)
select (c.prefix || p.suffix)::uuid, c.clinic_id, p.name, p.category, p.kind, p.duration, p.buffer,
       p.sessions, p.min_i, p.max_i, p.recovery, p.touch_up, p.certs, p.councils, p.anvisa, p.expires, p.price
from (values
  ('a3000000-0000-4000-8000-', '11111111-1111-4111-8111-111111111111'::uuid),
  ('b3000000-0000-4000-8000-', '22222222-2222-4222-8222-222222222222'::uuid)
) as c(prefix, clinic_id),
(values
  -- Retreat no sooner than 3 months; touch-up review at ~2 weeks.
  ('000000000001', 'Toxina botulínica', 'injectable', 'botulinum_toxin', 30, 15, 1, 90, null::int, 0, 14,
   '{injectables}'::text[], '{CRM,CRO,CRBM}'::text[], '1000000000011', date '2030-12-31', 150000::bigint),
  -- Single session, optional touch-up at 2–4 weeks.
  ('000000000002', 'Preenchimento com ácido hialurônico', 'injectable', 'ha_filler', 45, 15, 1, null, null, 1, 28,
   '{injectables}', '{CRM,CRO,CRBM}', '80000000001', date '2030-12-31', 220000),
  -- 2–3 sessions 4–8 weeks apart.
  ('000000000003', 'Bioestimulador de colágeno (PLLA)', 'injectable', 'biostimulator', 45, 15, 3, 28, 56, 2, null,
   '{injectables}', '{CRM,CRO,CRBM}', '80000000002', date '2030-12-31', 280000),
  -- 4–6 sessions ~4–6 weeks apart.
  ('000000000004', 'Microagulhamento', 'facial', 'microneedling', 60, 15, 4, 28, 42, 2, null,
   '{microneedling}', '{}', null, null, 60000),
  -- Superficial peels 2–4 weeks apart.
  ('000000000005', 'Peeling superficial', 'facial', 'superficial_peel', 30, 15, 4, 14, 28, 1, null,
   '{peels}', '{}', null, null, 35000),
  -- Non-ablative laser hair removal, 4–8 weeks apart.
  ('000000000006', 'Depilação a laser', 'laser', 'laser_hair_removal', 30, 30, 6, 28, 56, 0, null,
   '{laser_safety}', '{}', '80000000003', date '2030-12-31', 40000),
  -- Ablative resurfacing: one session, weeks of downtime; isotretinoin washout 180 days applies.
  ('000000000007', 'Laser CO2 fracionado (ablativo)', 'laser', 'ablative_laser', 60, 30, 1, null, null, 14, null,
   '{laser_safety}', '{CRM}', '80000000004', date '2030-12-31', 180000)
) as p(suffix, name, category, kind, duration, buffer, sessions, min_i, max_i, recovery, touch_up, certs, councils,
       anvisa, expires, price)
on conflict do nothing;
