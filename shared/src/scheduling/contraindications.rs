//! Contraindication check (clinical decision support, ANVISA RDC 657/2022: it flags, the
//! clinician decides). Deterministic: no scores, no randomness. The rules are data
//! (`contraindication_rules` and `contraindication_conditions`, seeded by migration
//! `20261203000400_contraindications.sql` from domain.md §5.10 and §5.9, each rule with its
//! source); this module only evaluates them.
//!
//! **Condition codes.** A condition (`pregnancy`, `anticoagulants`, `isotretinoin`, …) is
//! recognised from the patient record:
//! - `pregnancy_status` facts compare `patients.pregnancy_status` with the keywords
//!   (`pregnant`, `breastfeeding`);
//! - `text` facts match the decrypted texts of the kinds the condition names (conditions,
//!   medications, allergies): the record's undated lists (`conditions` / `currentMedications` /
//!   `allergies`, which count as ongoing) and the dated rows of `patient_clinical_facts`
//!   ([`super::clinical_facts`]). A dated row coded with the condition (`conditionCode`) counts
//!   whatever its wording. Texts are normalised by [`normalise`]: lower case, accents
//!   removed (á→a, ç→c, …), every non-alphanumeric character turned into one space. A keyword of
//!   three characters or fewer (`aas`, `als`, `ela`) must equal a whole word; a longer one may
//!   appear anywhere (`anticoagul` matches "Anticoagulante oral", `varfarina` matches
//!   "Varfarina 5 mg"). Keywords are pt-BR and English synonyms and brand names
//!   (`isotretinoina|isotretinoin|roacutan|accutane`,
//!   `varfarina|warfarin|rivaroxabana|apixabana|anticoagul|…`);
//! - `age_under` facts compare the age in full years on the appointment's local date with the
//!   threshold (18);
//! - `recent_procedure` facts look for the patient's scheduled/confirmed/in-progress/completed
//!   appointments of the keyword procedure kinds within the rule's `washout_days` before the
//!   appointment's local date; the finding's `until` is that appointment's date plus the days.
//!
//! **Dates.** A fact that starts after the assessed date does not count. For absolute and
//! relative rules a fact counts while it has not ended (`endedOn` ≥ the date, or no end). For a
//! washout rule it counts until `endedOn + washout_days`, which is the finding's `until`
//! (isotretinoin stopped on 1 March blocks an ablative laser until 28 August); an ongoing fact
//! (undated list entry, or no `endedOn`) is a washout without `until`: the days start at the
//! last dose.
//!
//! **Outcome.** Per procedure: `absolute`, `relative` and `washouts` findings; `canProceed` is
//! false when there is an absolute finding or an active washout. Booking refuses such a slot
//! with 422 `contraindicated` unless a clinician or admin overrides with a reason (audited);
//! relative findings come back as warnings.
//!
//! This module must not touch patient storage or encryption: facts come from
//! `patients::service::clinical_facts`.

use chrono::{Datelike, Duration, NaiveDate};
use serde_json::json;
use uuid::Uuid;

use super::clinical_repo;
use super::repo::ProcedureRow;
use crate::audit::{self, Event, Outcome, Risk};
use crate::crypto::FieldCipher;
use crate::db::Tx;
use crate::error::{ApiError, Msg};
use crate::patients::model::name_search_key;
use crate::patients::service::{ClinicalFacts, clinical_facts};
use crate::tenancy::Actor;

/// A condition code and how it is recognised (one row of `contraindication_conditions`).
#[derive(Debug, Clone)]
pub struct ConditionDef {
    pub code: String,
    pub fact: String,
    pub sources: Vec<String>,
    pub keywords: Vec<String>,
    pub threshold: Option<i32>,
    pub label_pt: String,
    pub label_en: String,
}

/// One rule (one row of `contraindication_rules`).
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub condition: String,
    pub procedure_kinds: Vec<String>,
    pub procedure_categories: Vec<String>,
    pub severity: String,
    pub washout_days: Option<i32>,
    pub reason_pt: String,
    pub reason_en: String,
    pub source: String,
}

impl Rule {
    /// Whether the rule concerns this procedure (by kind or by category).
    pub fn applies_to(&self, kind: Option<&str>, category: &str) -> bool {
        kind.is_some_and(|k| self.procedure_kinds.iter().any(|x| x == k))
            || self.procedure_categories.iter().any(|c| c == category)
    }
}

/// The rule set, as loaded once per request.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub conditions: Vec<ConditionDef>,
    pub rules: Vec<Rule>,
}

/// An earlier (or planned) procedure of the patient, for washout rules.
#[derive(Debug, Clone)]
pub struct PastProcedure {
    pub kind: Option<String>,
    pub category: String,
    pub local_date: NaiveDate,
}

/// One condition, medication or allergy of the patient, text already normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFact {
    /// `conditions`, `medications` or `allergies` (the `sources` vocabulary of the rules).
    pub source: &'static str,
    /// The normalised text ([`normalise`]).
    pub text: String,
    /// The condition a clinician coded the fact as, if any.
    pub code: Option<String>,
    /// First day the fact held (None: unknown, counts as always).
    pub started_on: Option<NaiveDate>,
    /// Last day the fact held (None: ongoing).
    pub ended_on: Option<NaiveDate>,
}

impl TextFact {
    /// An undated, uncoded fact (an entry of the record's lists: true now).
    pub fn ongoing(source: &'static str, text: &str) -> Self {
        Self {
            source,
            text: normalise(text),
            code: None,
            started_on: None,
            ended_on: None,
        }
    }

    /// Whether the fact counts for `rule` on `on`; for a washout rule, with its `until`
    /// (None: ongoing, the washout has not started).
    fn holds(&self, rule: &Rule, on: NaiveDate) -> Option<Option<NaiveDate>> {
        if self.started_on.is_some_and(|s| s > on) {
            return None;
        }
        match (rule.washout_days, self.ended_on) {
            (Some(days), Some(end)) => {
                let until = end + Duration::days(i64::from(days));
                (on < until).then_some(Some(until))
            }
            (None, Some(end)) => (end >= on).then_some(None),
            (_, None) => Some(None),
        }
    }
}

/// The patient facts the rules look at.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub pregnancy_status: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub texts: Vec<TextFact>,
    pub recent: Vec<PastProcedure>,
}

impl Facts {
    /// Builds the facts from a decrypted record, its dated facts and recent procedures.
    pub fn from_record(c: &ClinicalFacts, dated: &[TextFact], recent: Vec<PastProcedure>) -> Self {
        let lists: [(&'static str, &[String]); 3] = [
            ("conditions", &c.conditions),
            ("medications", &c.medications),
            ("allergies", &c.allergies),
        ];
        let mut texts: Vec<TextFact> = lists
            .iter()
            .flat_map(|(source, v)| v.iter().map(|t| TextFact::ongoing(source, t)))
            .collect();
        texts.extend(dated.iter().cloned());
        Self {
            pregnancy_status: c.pregnancy_status.clone(),
            birth_date: Some(c.birth_date),
            texts,
            recent,
        }
    }
}

/// Merges the windows of several matching facts: an ongoing one wins (no end yet), otherwise
/// the latest `until`.
fn merge_until(hits: impl Iterator<Item = Option<NaiveDate>>) -> Option<Option<NaiveDate>> {
    let mut out: Option<Option<NaiveDate>> = None;
    for h in hits {
        out = Some(match (out, h) {
            (None, h) => h,
            (Some(None), _) | (_, None) => None,
            (Some(Some(a)), Some(b)) => Some(a.max(b)),
        });
    }
    out
}

/// Lower case, accent-free, non-alphanumerics as single spaces ("Isotretinoína 20mg" →
/// "isotretinoina 20mg", "Poly-L-lactic" → "poly l lactic").
pub fn normalise(text: &str) -> String {
    let base = name_search_key(text);
    let mut out = String::with_capacity(base.len());
    let mut last_space = true;
    for ch in base.chars() {
        if ch.is_alphanumeric() {
            out.push(ch);
            last_space = false;
        } else if !last_space {
            out.push(' ');
            last_space = true;
        }
    }
    out.trim_end().to_owned()
}

/// Whether normalised `text` contains `keyword` (a whole word or phrase for keywords of ≤ 3
/// characters; any substring otherwise).
pub fn matches_keyword(text: &str, keyword: &str) -> bool {
    let keyword = normalise(keyword);
    if keyword.is_empty() {
        return false;
    }
    if keyword.chars().count() <= 3 {
        let padded = format!(" {text} ");
        padded.contains(&format!(" {keyword} "))
    } else {
        text.contains(&keyword)
    }
}

/// Full years between `birth` and `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// One finding: a rule that fires for a procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule_id: String,
    pub condition: String,
    pub severity: String,
    pub reason_pt: String,
    pub reason_en: String,
    pub source: String,
    pub until: Option<NaiveDate>,
}

/// The result for one procedure.
#[derive(Debug, Clone, Default)]
pub struct Assessment {
    pub procedure_id: Uuid,
    pub absolute: Vec<Finding>,
    pub relative: Vec<Finding>,
    pub washouts: Vec<Finding>,
}

impl Assessment {
    /// No absolute finding and no active washout.
    pub fn can_proceed(&self) -> bool {
        self.absolute.is_empty() && self.washouts.is_empty()
    }

    /// The findings that block a booking (absolute and washouts).
    pub fn blocking(&self) -> Vec<&Finding> {
        self.absolute.iter().chain(self.washouts.iter()).collect()
    }

    /// Every rule id that fired.
    pub fn rule_ids(&self) -> Vec<&str> {
        self.absolute
            .iter()
            .chain(&self.relative)
            .chain(&self.washouts)
            .map(|f| f.rule_id.as_str())
            .collect()
    }
}

/// Whether a condition holds; for a `recent_procedure` condition, the latest matching date in
/// the rule's window.
fn condition_holds(
    cond: &ConditionDef,
    rule: &Rule,
    facts: &Facts,
    on: NaiveDate,
) -> Option<Option<NaiveDate>> {
    // Facts a clinician coded as this condition count for any kind of condition that is
    // recorded (not computed like age or recent procedures).
    let coded = facts
        .texts
        .iter()
        .filter(|t| t.code.as_deref() == Some(cond.code.as_str()))
        .filter_map(|t| t.holds(rule, on));
    match cond.fact.as_str() {
        "pregnancy_status" => {
            let status = facts
                .pregnancy_status
                .as_ref()
                .filter(|s| cond.keywords.contains(s))
                .map(|_| None);
            merge_until(status.into_iter().chain(coded))
        }
        "text" => {
            let worded = facts
                .texts
                .iter()
                .filter(|t| cond.sources.iter().any(|s| s == t.source))
                .filter(|t| cond.keywords.iter().any(|k| matches_keyword(&t.text, k)))
                .filter_map(|t| t.holds(rule, on));
            merge_until(coded.chain(worded))
        }
        "age_under" => {
            let (birth, threshold) = (facts.birth_date?, cond.threshold?);
            (age_on(birth, on) < threshold).then_some(None)
        }
        "recent_procedure" => {
            let days = i64::from(rule.washout_days?);
            facts
                .recent
                .iter()
                .filter(|p| {
                    p.kind.as_ref().is_some_and(|k| cond.keywords.contains(k))
                        && p.local_date <= on
                        && on < p.local_date + Duration::days(days)
                })
                .map(|p| p.local_date)
                .max()
                .map(|d| Some(d + Duration::days(days)))
        }
        _ => None,
    }
}

/// Evaluates every rule for one procedure on a local date.
pub fn evaluate(
    set: &RuleSet,
    facts: &Facts,
    procedure: &ProcedureRow,
    on: NaiveDate,
) -> Assessment {
    let mut out = Assessment {
        procedure_id: procedure.id,
        ..Assessment::default()
    };
    for rule in &set.rules {
        if !rule.applies_to(procedure.kind.as_deref(), &procedure.category) {
            continue;
        }
        let Some(cond) = set.conditions.iter().find(|c| c.code == rule.condition) else {
            continue;
        };
        let Some(until) = condition_holds(cond, rule, facts, on) else {
            continue;
        };
        let finding = Finding {
            rule_id: rule.id.clone(),
            condition: rule.condition.clone(),
            severity: rule.severity.clone(),
            reason_pt: rule.reason_pt.clone(),
            reason_en: rule.reason_en.clone(),
            source: rule.source.clone(),
            until,
        };
        match rule.severity.as_str() {
            "absolute" => out.absolute.push(finding),
            "washout" => out.washouts.push(finding),
            _ => out.relative.push(finding),
        }
    }
    out
}

/// The longest washout window of the rule set (how far back recent procedures are loaded).
fn max_washout(set: &RuleSet) -> i64 {
    set.rules
        .iter()
        .filter_map(|r| r.washout_days)
        .max()
        .map_or(0, i64::from)
}

/// Everything needed to check one patient repeatedly (plans check many dates).
pub struct Checker {
    pub set: RuleSet,
    pub record: ClinicalFacts,
    pub dated: Vec<TextFact>,
    pub recent: Vec<PastProcedure>,
}

impl Checker {
    /// Loads the rule set, the patient's facts and their appointments from `from − washout`
    /// to `to + washout` (404 for a patient the caller may not use). `exclude` leaves out an appointment
    /// being moved.
    pub async fn load(
        tx: &Tx,
        cipher: &FieldCipher,
        actor: &Actor,
        patient_id: Uuid,
        from: NaiveDate,
        to: NaiveDate,
        exclude: Option<Uuid>,
    ) -> Result<Self, ApiError> {
        let set = clinical_repo::rule_set(tx).await?;
        let record = clinical_facts(tx, cipher, actor, patient_id).await?;
        let dated = super::clinical_facts::for_check(tx, cipher, actor, patient_id).await?;
        // Later appointments too: a booking must not start a washout that a procedure
        // already scheduled after it falls into ([`Checker::later_findings`]).
        let window = Duration::days(max_washout(&set));
        let recent = clinical_repo::recent_procedures(
            tx,
            actor.clinic_id,
            patient_id,
            from - window,
            to + window,
            exclude,
        )
        .await?;
        Ok(Self {
            set,
            record,
            dated,
            recent,
        })
    }

    /// The assessment of `procedure` on local date `on`, with `extra` planned procedures
    /// (sessions of a plan being proposed) counted as recent, plus the washouts it would start
    /// before the patient's later appointments ([`Checker::later_findings`]).
    pub fn assess(
        &self,
        procedure: &ProcedureRow,
        on: NaiveDate,
        extra: &[PastProcedure],
    ) -> Assessment {
        let mut recent = self.recent.clone();
        recent.extend(extra.iter().cloned());
        let facts = Facts::from_record(&self.record, &self.dated, recent);
        let mut out = evaluate(&self.set, &facts, procedure, on);
        for f in self.later_findings(procedure, on) {
            if out.rule_ids().contains(&f.rule_id.as_str()) {
                continue;
            }
            match f.severity.as_str() {
                "absolute" => out.absolute.push(f),
                "washout" => out.washouts.push(f),
                _ => out.relative.push(f),
            }
        }
        out
    }
}

impl Checker {
    /// The findings `procedure` on `on` would cause for the patient's appointments already
    /// scheduled on or after `on`: a `recent_procedure` rule (e.g. toxin → microneedling, 14
    /// days) read forwards. Assessing only the new booking would let a toxin be booked ten
    /// days before a microneedling session that is already in the calendar.
    pub fn later_findings(&self, procedure: &ProcedureRow, on: NaiveDate) -> Vec<Finding> {
        let Some(kind) = procedure.kind.as_deref() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for rule in &self.set.rules {
            let Some(days) = rule.washout_days else {
                continue;
            };
            let Some(cond) = self
                .set
                .conditions
                .iter()
                .find(|c| c.code == rule.condition)
            else {
                continue;
            };
            if cond.fact != "recent_procedure" || !cond.keywords.iter().any(|k| k == kind) {
                continue;
            }
            let until = on + Duration::days(i64::from(days));
            let hits_later = self.recent.iter().any(|later| {
                later.local_date >= on
                    && later.local_date < until
                    && rule.applies_to(later.kind.as_deref(), &later.category)
            });
            if hits_later {
                out.push(Finding {
                    rule_id: rule.id.clone(),
                    condition: rule.condition.clone(),
                    severity: rule.severity.clone(),
                    reason_pt: rule.reason_pt.clone(),
                    reason_en: rule.reason_en.clone(),
                    source: rule.source.clone(),
                    until: Some(until),
                });
            }
        }
        out
    }
}

/// The 422 of a booking refused by absolute findings or active washouts, with the findings as
/// `role` may see them ([`super::views::FindingView::for_role`]).
pub fn contraindicated(blocking: &[&Finding], role: crate::tenancy::Role) -> ApiError {
    ApiError::Unprocessable {
        code: "contraindicated",
        detail: Msg::new(
            "Contraindicação para este procedimento. Um profissional clínico pode prosseguir informando um motivo (clinicalOverride).",
            "Contraindicated for this procedure. A clinician may proceed by giving a reason (clinicalOverride).",
        ),
        extra: Some(json!({
            "findings": blocking
                .iter()
                .map(|f| super::views::to_json(&super::views::FindingView::for_role(f, role)))
                .collect::<Vec<_>>(),
        })),
    }
}

/// The advisory note returned with every check.
pub const ADVISORY: (&str, &str) = (
    "Apoio à decisão clínica (ANVISA RDC 657/2022): as regras sinalizam, o profissional decide. Revise o prontuário antes do procedimento.",
    "Clinical decision support (ANVISA RDC 657/2022): the rules flag, the clinician decides. Review the record before the procedure.",
);

/// `POST /v1/clinical/contraindications`: assesses each procedure on `on` (the clinic's local
/// date, default today), audited as `clinical.contraindications_check` with ids only. An
/// unknown procedure is a field error (422) naming its position.
pub async fn check(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    patient_id: Uuid,
    procedure_ids: &[Uuid],
    on: Option<NaiveDate>,
) -> Result<Vec<Assessment>, ApiError> {
    let mut procedures = Vec::with_capacity(procedure_ids.len());
    for (i, id) in procedure_ids.iter().enumerate() {
        let p = super::repo::find_procedure(tx, actor.clinic_id, *id)
            .await?
            .ok_or_else(|| {
                ApiError::field(
                    format!("procedureIds[{i}]"),
                    "not_found",
                    Msg::new(
                        "Procedimento não encontrado nesta clínica.",
                        "Procedure not found in this clinic.",
                    ),
                )
            })?;
        procedures.push(p);
    }
    let on = match on {
        Some(d) => d,
        None => clinical_repo::local_today(tx, actor.clinic_id).await?,
    };
    let checker = Checker::load(tx, cipher, actor, patient_id, on, on, None).await?;
    let out: Vec<Assessment> = procedures
        .iter()
        .map(|p| checker.assess(p, on, &[]))
        .collect();
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient_id),
            action: "clinical.contraindications_check",
            resource_type: "patient",
            resource_id: Some(patient_id),
            outcome: Outcome::Success,
            risk: Risk::High,
            details: json!({
                "procedureIds": procedures.iter().map(|p| p.id).collect::<Vec<_>>(),
                "date": on,
                "ruleIds": out.iter().flat_map(|a| a.rule_ids()).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_strips_accents_case_and_punctuation() {
        assert_eq!(normalise("Isotretinoína 20mg"), "isotretinoina 20mg");
        assert_eq!(normalise("  Poly-L-Lactic  "), "poly l lactic");
        assert_eq!(
            normalise("Ácido acetilsalicílico (AAS)"),
            "acido acetilsalicilico aas"
        );
    }

    #[test]
    fn short_keywords_match_whole_words_only() {
        assert!(matches_keyword("aas 100mg", "aas"));
        assert!(!matches_keyword("glaaso", "aas"));
        assert!(matches_keyword("anticoagulante oral", "anticoagul"));
        assert!(!matches_keyword("melasma", "ela"));
    }

    #[test]
    fn age_counts_full_years() {
        let b = NaiveDate::from_ymd_opt(2012, 6, 15).unwrap_or_default();
        assert_eq!(
            age_on(b, NaiveDate::from_ymd_opt(2030, 6, 14).unwrap_or_default()),
            17
        );
        assert_eq!(
            age_on(b, NaiveDate::from_ymd_opt(2030, 6, 15).unwrap_or_default()),
            18
        );
    }
}
