-- Contraindication rules (issue "Scheduling …", part A; domain.md §5.10, §5.9, §1.9).
--
-- Reference data, not per clinic: rules are procedure × condition → absolute | relative |
-- washout (with a number of days). The API evaluates them deterministically against the
-- patient's record; it only flags and asks for an override reason, the clinician decides
-- (ANVISA RDC 657/2022: decision support, not diagnosis). Clinicians must review the rule set
-- before go-live (several sources are clinic pages; domain.md §5.10 caveat).
--
-- A *condition* is a stable code plus how it is recognised in the record:
--   fact = 'pregnancy_status'  keywords are values of patients.pregnancy_status;
--   fact = 'text'              keywords are matched against the decrypted texts of the kinds
--                              named in `sources` (conditions, medications, allergies: the
--                              record's undated lists, which count as ongoing, and the dated
--                              rows of `patient_clinical_facts`, migration …000410) after
--                              normalisation (lower case, accents removed, non-alphanumerics →
--                              space); a keyword of ≤ 3 characters must match a whole word, a
--                              longer one any substring ("varfarina 5mg" matches "varfarina");
--   fact = 'age_under'         the age in full years on the appointment's local date is below
--                              `threshold`;
--   fact = 'recent_procedure'  keywords are procedure kinds; the patient has an active or
--                              completed appointment of that kind within the rule's
--                              `washout_days` before the appointment's local date.
--
-- A dated fact (`patient_clinical_facts`, or one coded with `condition_code`) holds on a date D
-- when it started on or before D and, for absolute/relative rules, has not ended before D; for
-- a washout rule it holds until `ended_on + washout_days` (an ongoing fact: no end date yet).
--
-- A rule matches a procedure whose `kind` is in `procedure_kinds` or whose `category` is in
-- `procedure_categories`. Kinds used: botulinum_toxin, ha_filler, biostimulator,
-- microneedling, superficial_peel, medium_peel, deep_peel, dermabrasion, ablative_laser,
-- non_ablative_laser, laser_hair_removal.

create table public.contraindication_conditions (
  code text primary key check (code ~ '^[a-z][a-z0-9_]{1,59}$'),
  fact text not null check (fact in ('pregnancy_status', 'text', 'age_under', 'recent_procedure')),
  sources text[] not null default '{}'
    check (sources <@ array['conditions', 'medications', 'allergies']::text[]),
  keywords text[] not null default '{}',
  threshold integer null,
  label_pt text not null,
  label_en text not null,
  check ((fact = 'text') = (cardinality(sources) > 0)),
  check ((fact = 'age_under') = (threshold is not null)),
  check (fact = 'age_under' or cardinality(keywords) > 0)
);

comment on table public.contraindication_conditions is
  'Stable condition codes and how each is recognised in a patient record (keywords in pt-BR and English, normalised).';

create table public.contraindication_rules (
  id text primary key check (id ~ '^[a-z][a-z0-9_]{1,79}$'),
  condition text not null references public.contraindication_conditions (code),
  procedure_kinds text[] not null default '{}',
  procedure_categories text[] not null default '{}',
  severity text not null check (severity in ('absolute', 'relative', 'washout')),
  washout_days integer null check (washout_days between 1 and 730),
  reason_pt text not null,
  reason_en text not null,
  source text not null check (length(btrim(source)) > 0),
  check ((severity = 'washout') = (washout_days is not null)),
  check (cardinality(procedure_kinds) + cardinality(procedure_categories) > 0)
);

comment on table public.contraindication_rules is
  'Procedure × condition → absolute | relative | washout_days, each with its source (domain.md §5.10).';

do $$
declare
  t text;
begin
  foreach t in array array['contraindication_conditions', 'contraindication_rules']
  loop
    execute format('alter table public.%I enable row level security', t);
    execute format('alter table public.%I force row level security', t);
    execute format('revoke all on public.%I from public, anon, authenticated', t);
    execute format('grant all on public.%I to service_role', t);
    -- Members read; nobody writes through the API (rules change by migration, after review).
    execute format('grant select on public.%I to authenticated', t);
    execute format(
      'create policy %I on public.%I for select to authenticated using ((select auth.uid()) is not null and exists (select 1 from private.member_clinic_ids()))',
      t || '_select', t);
  end loop;
end
$$;

insert into public.contraindication_conditions (code, fact, sources, keywords, threshold, label_pt, label_en) values
  ('pregnancy', 'pregnancy_status', '{}', '{pregnant}', null, 'Gestação', 'Pregnancy'),
  ('breastfeeding', 'pregnancy_status', '{}', '{breastfeeding}', null, 'Amamentação', 'Breastfeeding'),
  ('active_infection', 'text', '{conditions}',
    '{infeccao,infeccioso,infection,herpes,impetigo,abscesso,abscess,foliculite,folliculitis}', null,
    'Infecção ativa ou herpes no local', 'Active infection or herpes at the site'),
  ('neuromuscular_disease', 'text', '{conditions}',
    '{miastenia,myasthenia,lambert eaton,esclerose lateral amiotrofica,amyotrophic lateral sclerosis,als,ela,neuromuscular}', null,
    'Doença neuromuscular', 'Neuromuscular disease'),
  ('aminoglycosides', 'text', '{medications}',
    '{aminoglicosideo,aminoglycoside,gentamicina,gentamicin,amicacina,amikacin,tobramicina,tobramycin,neomicina,neomycin,estreptomicina,streptomycin,clindamicina,clindamycin,tetraciclina,tetracycline}', null,
    'Aminoglicosídeos e potencializadores do bloqueio neuromuscular', 'Aminoglycosides and other neuromuscular-blockade potentiators'),
  ('anticoagulants', 'text', '{medications,conditions}',
    '{anticoagul,antiagreg,antiplaquet,antiplatelet,varfarina,warfarin,marevan,coumadin,rivaroxabana,rivaroxaban,xarelto,apixabana,apixaban,eliquis,dabigatrana,dabigatran,pradaxa,edoxabana,edoxaban,heparina,heparin,enoxaparina,enoxaparin,clopidogrel,aas,acido acetilsalicilico,aspirina,aspirin,ibuprofeno,ibuprofen,naproxeno,naproxen,diclofenaco,diclofenac,hemofilia,hemophilia,von willebrand,coagulopatia,coagulopathy,bleeding disorder}', null,
    'Anticoagulantes, antiagregantes, AINEs ou distúrbio de coagulação', 'Anticoagulants, antiplatelets, NSAIDs or a bleeding disorder'),
  ('autoimmune_disease', 'text', '{conditions}',
    '{autoimun,autoimmun,lupus,artrite reumatoide,rheumatoid arthritis,esclerodermia,scleroderma,dermatomiosite,dermatomyositis,doenca do colageno,collagen vascular,sjogren}', null,
    'Doença autoimune', 'Autoimmune disease'),
  ('keloid', 'text', '{conditions}',
    '{queloide,keloid,cicatriz hipertrofica,hypertrophic scar}', null,
    'Queloide ou cicatrização hipertrófica', 'Keloid or hypertrophic scarring'),
  ('isotretinoin', 'text', '{medications}',
    '{isotretinoina,isotretinoin,roacutan,accutane}', null,
    'Isotretinoína (uso atual ou nos últimos 6 meses)', 'Isotretinoin (current or within 6 months)'),
  ('minor', 'age_under', '{}', '{}', 18, 'Menor de 18 anos', 'Under 18'),
  ('allergy_toxin_component', 'text', '{allergies}',
    '{toxina botulinica,botulinum,botox,dysport,xeomin,albumina,albumin}', null,
    'Alergia a componente da toxina (toxina, albumina)', 'Allergy to a toxin component (toxin, albumin)'),
  ('allergy_ha_component', 'text', '{allergies}',
    '{acido hialuronico,hialuronico,hyaluronic,lidocaina,lidocaine}', null,
    'Alergia a componente do preenchedor (ácido hialurônico, lidocaína)', 'Allergy to a filler component (hyaluronic acid, lidocaine)'),
  ('allergy_biostimulator_component', 'text', '{allergies}',
    '{acido polilatico,polilatico,poly l lactic,polylactic,plla,sculptra,hidroxiapatita,hydroxyapatite,caha,radiesse,carboximetilcelulose,carboxymethylcellulose}', null,
    'Alergia a componente do bioestimulador (PLLA, CaHA)', 'Allergy to a biostimulator component (PLLA, CaHA)'),
  ('chemotherapy', 'text', '{conditions,medications}',
    '{quimioterapia,quimio,chemotherapy,chemo}', null,
    'Quimioterapia nos últimos 12 meses', 'Chemotherapy within 12 months'),
  ('recent_botulinum_toxin', 'recent_procedure', '{}', '{botulinum_toxin}', null,
    'Toxina botulínica recente', 'Recent botulinum toxin'),
  ('recent_ha_filler', 'recent_procedure', '{}', '{ha_filler}', null,
    'Preenchimento com ácido hialurônico recente', 'Recent hyaluronic-acid filler'),
  ('recent_chemical_peel', 'recent_procedure', '{}', '{superficial_peel,medium_peel,deep_peel}', null,
    'Peeling químico recente', 'Recent chemical peel');

insert into public.contraindication_rules
  (id, condition, procedure_kinds, procedure_categories, severity, washout_days, reason_pt, reason_en, source) values
  ('pregnancy_toxin', 'pregnancy', '{botulinum_toxin}', '{}', 'absolute', null,
    'Toxina botulínica contraindicada na gestação.', 'Botulinum toxin is contraindicated in pregnancy.',
    'domain.md §5.10: peakexpression.co.uk/botox/nottreat'),
  ('pregnancy_ha_filler', 'pregnancy', '{ha_filler}', '{}', 'absolute', null,
    'Preenchimento com ácido hialurônico contraindicado na gestação.', 'Hyaluronic-acid filler is contraindicated in pregnancy.',
    'domain.md §5.10: dermacare.at FAQ (https://www.dermacare.at/en/faq/what-do-i-have-to-consider-before-a-treatment-with-hyaluronic-acid/)'),
  ('pregnancy_biostimulator', 'pregnancy', '{biostimulator}', '{}', 'absolute', null,
    'Bioestimulador contraindicado na gestação (prática clínica).', 'Biostimulators are contraindicated in pregnancy (practice).',
    'domain.md §5.10: practice (no primary source)'),
  ('pregnancy_microneedling', 'pregnancy', '{microneedling}', '{}', 'relative', null,
    'Evitar microagulhamento na gestação.', 'Avoid microneedling in pregnancy.',
    'domain.md §5.10: purelyboutique.com microneedling treatment'),
  ('breastfeeding_toxin', 'breastfeeding', '{botulinum_toxin}', '{}', 'absolute', null,
    'Toxina botulínica contraindicada na amamentação.', 'Botulinum toxin is contraindicated while breastfeeding.',
    'domain.md §5.10: peakexpression.co.uk/botox/nottreat'),
  ('breastfeeding_ha_filler', 'breastfeeding', '{ha_filler}', '{}', 'absolute', null,
    'Preenchimento com ácido hialurônico contraindicado na amamentação.', 'Hyaluronic-acid filler is contraindicated while breastfeeding.',
    'domain.md §5.10: dermacare.at FAQ'),
  ('breastfeeding_biostimulator', 'breastfeeding', '{biostimulator}', '{}', 'absolute', null,
    'Bioestimulador contraindicado na amamentação (prática clínica).', 'Biostimulators are contraindicated while breastfeeding (practice).',
    'domain.md §5.10: practice (no primary source)'),
  ('breastfeeding_microneedling', 'breastfeeding', '{microneedling}', '{}', 'relative', null,
    'Evitar microagulhamento na amamentação.', 'Avoid microneedling while breastfeeding.',
    'domain.md §5.10: purelyboutique.com microneedling treatment'),
  ('active_infection_site', 'active_infection',
    '{botulinum_toxin,ha_filler,biostimulator,microneedling,superficial_peel,medium_peel,deep_peel,dermabrasion,ablative_laser,non_ablative_laser,laser_hair_removal}', '{}',
    'absolute', null,
    'Infecção ativa ou herpes no local: não realizar até a resolução.', 'Active infection or herpes at the site: do not treat until resolved.',
    'domain.md §5.10: Botox label summary (droracle.ai); dermacare.at FAQ; purelyboutique.com'),
  ('neuromuscular_toxin', 'neuromuscular_disease', '{botulinum_toxin}', '{}', 'absolute', null,
    'Doença neuromuscular (miastenia, Lambert-Eaton, ELA): toxina contraindicada pela bula; casos manejados exigem especialista.',
    'Neuromuscular disease (myasthenia, Lambert-Eaton, ALS): toxin contraindicated by the label; managed cases need a specialist.',
    'domain.md §5.10: peakexpression.co.uk/botox/nottreat; PubMed 34929650 (J Clin Neurosci 2022)'),
  ('aminoglycosides_toxin', 'aminoglycosides', '{botulinum_toxin}', '{}', 'relative', null,
    'Aminoglicosídeos (e clindamicina, tetraciclinas) potencializam o bloqueio neuromuscular da toxina.',
    'Aminoglycosides (and clindamycin, tetracyclines) potentiate the toxin''s neuromuscular blockade.',
    'domain.md §5.10: droracle.ai (label-based)'),
  ('anticoagulants_injectables', 'anticoagulants', '{botulinum_toxin,ha_filler,biostimulator}', '{}', 'relative', null,
    'Anticoagulantes/antiagregantes/AINEs: risco de hematoma; avaliar suspensão por alguns dias com o médico prescritor.',
    'Anticoagulants/antiplatelets/NSAIDs: bruising risk; consider holding for a few days with the prescriber.',
    'domain.md §5.10: dermacare.at FAQ; §5.9'),
  ('anticoagulants_microneedling', 'anticoagulants', '{microneedling}', '{}', 'absolute', null,
    'Microagulhamento contraindicado com anticoagulantes ou distúrbio de coagulação.',
    'Microneedling is contraindicated with anticoagulants or a bleeding disorder.',
    'domain.md §5.10: purelyboutique.com microneedling treatment'),
  ('autoimmune_fillers', 'autoimmune_disease', '{ha_filler,biostimulator}', '{}', 'relative', null,
    'Doença autoimune: maior risco de reação ao implante; avaliar atividade da doença.',
    'Autoimmune disease: higher risk of implant reaction; assess disease activity.',
    'domain.md §5.10: dermacare.at FAQ; yazbekartistry.com'),
  ('autoimmune_microneedling', 'autoimmune_disease', '{microneedling}', '{}', 'absolute', null,
    'Doença do colágeno/autoimune: microagulhamento contraindicado.',
    'Collagen-vascular/autoimmune disease: microneedling is contraindicated.',
    'domain.md §5.10: yazbekartistry.com; purelyboutique.com'),
  ('keloid_fillers', 'keloid', '{ha_filler,biostimulator}', '{}', 'relative', null,
    'Histórico de queloide: risco de cicatrização anormal.', 'Keloid history: risk of abnormal scarring.',
    'domain.md §5.10: dermacare.at FAQ'),
  ('keloid_resurfacing', 'keloid', '{microneedling,medium_peel,deep_peel,dermabrasion,ablative_laser}', '{}', 'relative', null,
    'Histórico de queloide: risco de cicatriz hipertrófica após procedimento de ressurfacimento.',
    'Keloid history: risk of hypertrophic scarring after resurfacing.',
    'domain.md §5.10: purelyboutique.com; renewedspiritdayspa'),
  ('isotretinoin_ablative', 'isotretinoin', '{dermabrasion,ablative_laser,medium_peel,deep_peel}', '{}', 'washout', 180,
    'Isotretinoína: aguardar 6 meses após a última dose antes de dermoabrasão, laser ablativo e peelings médios/profundos (peeling superficial e laser não ablativo são aceitos, ASDS 2017).',
    'Isotretinoin: wait 6 months after the last dose before dermabrasion, ablative laser and medium/deep peels (superficial peels and non-ablative lasers are acceptable, ASDS 2017).',
    'domain.md §5.9: package insert; ASDS consensus, Dermatol Surg 2017;43:1249 (https://insights.ovid.com/pubmed?pmid=28498204)'),
  ('minor_toxin', 'minor', '{botulinum_toxin}', '{surgical}', 'relative', null,
    'Menor de 18 anos: exige consentimento do responsável legal.', 'Under 18: requires a legal guardian''s consent.',
    'domain.md §5.10: dermacare.at FAQ; neonpro rule (§1.9)'),
  ('minor_fillers', 'minor', '{ha_filler,biostimulator}', '{}', 'relative', null,
    'Menor de 18 anos: evitar preenchedores e bioestimuladores.', 'Under 18: avoid fillers and biostimulators.',
    'domain.md §5.10: dermacare.at FAQ'),
  ('allergy_toxin', 'allergy_toxin_component', '{botulinum_toxin}', '{}', 'absolute', null,
    'Alergia a componente da toxina (inclui albumina).', 'Allergy to a toxin component (albumin included).',
    'domain.md §5.10: peakexpression.co.uk/botox/nottreat'),
  ('allergy_ha_filler', 'allergy_ha_component', '{ha_filler}', '{}', 'absolute', null,
    'Alergia a componente do preenchedor de ácido hialurônico.', 'Allergy to a component of the hyaluronic-acid filler.',
    'domain.md §5.10: dermacare.at FAQ'),
  ('allergy_biostimulator', 'allergy_biostimulator_component', '{biostimulator}', '{}', 'absolute', null,
    'Alergia a componente do bioestimulador.', 'Allergy to a component of the biostimulator.',
    'domain.md §5.10: peakexpression.co.uk; dermacare.at FAQ'),
  ('chemotherapy_ha_filler', 'chemotherapy', '{ha_filler}', '{}', 'washout', 365,
    'Quimioterapia nos últimos 12 meses: preenchimento contraindicado até 12 meses após o término.',
    'Chemotherapy within 12 months: filler is contraindicated until 12 months after it ended.',
    'domain.md §5.10: dermacare.at FAQ'),
  ('recent_toxin_microneedling', 'recent_botulinum_toxin', '{microneedling}', '{}', 'washout', 14,
    'Microagulhamento somente 2 semanas ou mais após toxina botulínica.', 'Microneedling only 2 weeks or more after botulinum toxin.',
    'domain.md §5.9: store.ppsd.com/microneedling-treatment; purelyboutique.com'),
  ('recent_filler_microneedling', 'recent_ha_filler', '{microneedling}', '{}', 'washout', 28,
    'Microagulhamento somente 4 semanas ou mais após preenchimento.', 'Microneedling only 4 weeks or more after a filler.',
    'domain.md §5.9: yazbekartistry.com/read-me2'),
  ('recent_peel_microneedling', 'recent_chemical_peel', '{microneedling}', '{}', 'washout', 30,
    'Microagulhamento somente 30 dias ou mais após peeling.', 'Microneedling only 30 days or more after a peel.',
    'domain.md §5.9: store.ppsd.com/microneedling-treatment');
