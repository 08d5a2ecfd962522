-- LGPD restriction (blocking, Art. 18 IV) of a patient stops processing their data: the API
-- cancels the patient's future appointments in the same transaction as the restriction, so the
-- slots are freed and nobody is reminded or treated under a blocked record. The cancellation
-- is recorded with its own reason code.

alter table public.appointments drop constraint appointments_cancel_reason_check;
alter table public.appointments add constraint appointments_cancel_reason_check
  check (cancel_reason in ('patient_request', 'clinic_request', 'professional_unavailable',
                           'patient_unwell', 'rescheduled', 'other', 'patient_restricted'));
