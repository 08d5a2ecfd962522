//! Scheduling input parsed into domain values at the edge: council registrations, catalog
//! codes, times and the appointment status machine. Nothing here touches the database.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::br::{AnvisaRegistration, Council, CouncilRegistration, Uf};
use crate::error::ApiError;
use crate::patients::model::Errors;

/// Procedure categories (domain.md §1.8); they decide the ANVISA gate and the rule set.
pub const CATEGORIES: &[&str] = &[
    "injectable",
    "laser",
    "facial",
    "body",
    "surgical",
    "combination",
];

/// Categories whose products or devices must carry a valid ANVISA registration at booking.
pub const ANVISA_REQUIRED: &[&str] = &["injectable", "laser", "surgical"];

/// Cancellation reason codes (structured, never free text about a person).
pub const CANCEL_REASONS: &[&str] = &[
    "patient_request",
    "clinic_request",
    "professional_unavailable",
    "patient_unwell",
    "rescheduled",
    "other",
];

/// Time-off reason codes.
pub const TIME_OFF_REASONS: &[&str] = &["vacation", "congress", "sick_leave", "training", "other"];

/// Appointment status. Active statuses hold their slot (the exclusion constraints use the same
/// list); the others free it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Booked.
    Scheduled,
    /// The patient confirmed.
    Confirmed,
    /// The patient checked in and the procedure started.
    InProgress,
    /// Done.
    Completed,
    /// Cancelled with a reason code.
    Cancelled,
    /// The patient did not come.
    NoShow,
}

impl Status {
    /// Parses the stored/API value.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "scheduled" => Self::Scheduled,
            "confirmed" => Self::Confirmed,
            "in_progress" => Self::InProgress,
            "completed" => Self::Completed,
            "cancelled" => Self::Cancelled,
            "no_show" => Self::NoShow,
            _ => return None,
        })
    }

    /// The stored/API value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Confirmed => "confirmed",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    /// Whether the appointment still holds its professional and room.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Scheduled | Self::Confirmed | Self::InProgress)
    }

    /// The status machine: `scheduled → confirmed → in_progress → completed`, and cancelled or
    /// no-show from scheduled/confirmed. Terminal states never change.
    pub fn can_become(self, next: Status) -> bool {
        use Status::*;
        matches!(
            (self, next),
            (Scheduled, Confirmed | Cancelled | NoShow)
                | (Confirmed, InProgress | Cancelled | NoShow)
                | (InProgress, Completed)
        )
    }
}

/// A lower-case code (`botox_certified`, `laser_safety`): catalog vocabularies are codes, so
/// matching is exact and no free text about people lands in them.
pub(crate) fn code(e: &mut Errors, field: &str, value: &str) -> Option<String> {
    let v = value.trim().to_ascii_lowercase();
    let ok = (2..=60).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_lowercase())
        && v.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Some(v)
    } else {
        e.push(
            field,
            "invalid_code",
            "Use um código curto (a-z, 0-9 e _).",
            "Use a short code (a-z, 0-9 and _).",
        );
        None
    }
}

fn codes(e: &mut Errors, field: &str, values: &[String], max: usize) -> Vec<String> {
    if values.len() > max {
        e.push(field, "too_many_items", "Itens demais.", "Too many items.");
        return Vec::new();
    }
    let mut out: Vec<String> = values
        .iter()
        .enumerate()
        .filter_map(|(i, v)| code(e, &format!("{field}[{i}]"), v))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn name(e: &mut Errors, field: &str, value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    if v.is_empty() || v.chars().count() > max || v.chars().any(char::is_control) {
        e.push(
            field,
            "invalid_text",
            "Texto vazio, longo demais ou com caracteres de controle.",
            "Text empty, too long or with control characters.",
        );
        None
    } else {
        Some(v.to_owned())
    }
}

fn range(e: &mut Errors, field: &str, v: Option<i32>, lo: i32, hi: i32) -> Option<i32> {
    match v {
        Some(n) if !(lo..=hi).contains(&n) => {
            e.push(
                field,
                "out_of_range",
                "Valor fora do intervalo permitido.",
                "Value out of the allowed range.",
            );
            None
        }
        other => other,
    }
}

fn one_of(e: &mut Errors, field: &str, value: &str, allowed: &[&str]) -> Option<String> {
    if allowed.contains(&value) {
        Some(value.to_owned())
    } else {
        e.push(
            field,
            "invalid_value",
            "Valor não permitido.",
            "Value not allowed.",
        );
        None
    }
}

/// Parses `HH:MM` (local wall-clock time).
fn clock(e: &mut Errors, field: &str, value: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(value.trim(), "%H:%M")
        .map_err(|_| {
            e.push(
                field,
                "invalid_time",
                "Use o formato HH:MM.",
                "Use the HH:MM format.",
            )
        })
        .ok()
}

/// One block of weekly working hours in the clinic's local time.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct HoursInput {
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: i16,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
}

/// Body of `POST /v1/professionals` and `PUT /v1/professionals/{id}`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct ProfessionalInput {
    pub user_id: Option<Uuid>,
    pub display_name: String,
    pub council: String,
    pub council_uf: String,
    pub council_number: String,
    #[serde(default)]
    pub rqe: Vec<String>,
    pub verification_status: Option<String>,
    #[serde(default)]
    pub certifications: Vec<String>,
    pub buffer_minutes: Option<i32>,
    #[serde(default)]
    pub working_hours: Vec<HoursInput>,
    pub active: Option<bool>,
}

/// A validated professional.
#[derive(Debug, Clone)]
pub struct NewProfessional {
    pub user_id: Option<Uuid>,
    pub display_name: String,
    pub registration: CouncilRegistration,
    pub rqe: Vec<String>,
    pub verification_status: String,
    pub certifications: Vec<String>,
    pub buffer_minutes: i32,
    pub hours: Vec<(i16, NaiveTime, NaiveTime)>,
    pub active: bool,
}

impl ProfessionalInput {
    /// Parses every field, reporting every problem at once.
    pub fn validate(&self) -> Result<NewProfessional, ApiError> {
        let mut e = Errors::default();
        let display_name = name(&mut e, "displayName", &self.display_name, 200);
        let council = Council::parse(&self.council)
            .map_err(|i| e.issue("council", i))
            .ok();
        let uf = Uf::parse(&self.council_uf)
            .map_err(|i| e.issue("councilUf", i))
            .ok();
        let registration = match (council, uf) {
            (Some(c), Some(u)) => CouncilRegistration::new(c, u, &self.council_number)
                .map_err(|i| e.issue("councilNumber", i))
                .ok(),
            _ => None,
        };
        let mut rqe = Vec::new();
        if self.rqe.len() > 20 {
            e.push("rqe", "too_many_items", "Itens demais.", "Too many items.");
        } else {
            for (i, r) in self.rqe.iter().enumerate() {
                let digits: String = r.trim().to_owned();
                if (1..=10).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
                    rqe.push(digits);
                } else {
                    e.push(
                        &format!("rqe[{i}]"),
                        "invalid_rqe",
                        "RQE deve ter de 1 a 10 dígitos.",
                        "An RQE has 1 to 10 digits.",
                    );
                }
            }
        }
        let verification_status = one_of(
            &mut e,
            "verificationStatus",
            self.verification_status.as_deref().unwrap_or("pending"),
            &["pending", "verified", "suspended"],
        );
        let certifications = codes(&mut e, "certifications", &self.certifications, 50);
        let buffer_minutes = range(&mut e, "bufferMinutes", self.buffer_minutes, 0, 240);
        let mut hours = Vec::new();
        if self.working_hours.len() > 28 {
            e.push(
                "workingHours",
                "too_many_items",
                "Itens demais.",
                "Too many items.",
            );
        }
        for (i, h) in self.working_hours.iter().take(28).enumerate() {
            let f = format!("workingHours[{i}]");
            if !(0..=6).contains(&h.weekday) {
                e.push(
                    &format!("{f}.weekday"),
                    "out_of_range",
                    "Dia da semana de 0 (domingo) a 6 (sábado).",
                    "Weekday from 0 (Sunday) to 6 (Saturday).",
                );
            }
            let s = clock(&mut e, &format!("{f}.start"), &h.start);
            let t = clock(&mut e, &format!("{f}.end"), &h.end);
            if let (Some(s), Some(t)) = (s, t) {
                if s < t {
                    hours.push((h.weekday, s, t));
                } else {
                    e.push(
                        &format!("{f}.end"),
                        "end_before_start",
                        "O fim deve ser depois do início.",
                        "The end must be after the start.",
                    );
                }
            }
        }
        e.finish()?;
        let (Some(display_name), Some(registration), Some(verification_status)) =
            (display_name, registration, verification_status)
        else {
            return Err(ApiError::internal(std::io::Error::other(
                "validated professional is incomplete",
            )));
        };
        Ok(NewProfessional {
            user_id: self.user_id,
            display_name,
            registration,
            rqe,
            verification_status,
            certifications,
            buffer_minutes: buffer_minutes.unwrap_or(15),
            hours,
            active: self.active.unwrap_or(true),
        })
    }
}

/// Body of `POST /v1/professionals/{id}/time-off`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct TimeOffInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

impl TimeOffInput {
    /// Checks the range and the reason code.
    pub fn validate(&self) -> Result<(DateTime<Utc>, DateTime<Utc>, String), ApiError> {
        let mut e = Errors::default();
        if self.ends_at <= self.starts_at {
            e.push(
                "endsAt",
                "end_before_start",
                "O fim deve ser depois do início.",
                "The end must be after the start.",
            );
        }
        let reason = one_of(
            &mut e,
            "reason",
            self.reason.as_deref().unwrap_or("other"),
            TIME_OFF_REASONS,
        );
        e.finish()?;
        Ok((self.starts_at, self.ends_at, reason.unwrap_or_default()))
    }
}

/// Body of `POST /v1/rooms` and `PUT /v1/rooms/{id}`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct RoomInput {
    pub name: String,
    pub kind: Option<String>,
    pub active: Option<bool>,
}

/// A validated room or device.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub name: String,
    pub kind: String,
    pub active: bool,
}

impl RoomInput {
    /// Parses the room.
    pub fn validate(&self) -> Result<NewRoom, ApiError> {
        let mut e = Errors::default();
        let name = name(&mut e, "name", &self.name, 120);
        let kind = one_of(
            &mut e,
            "kind",
            self.kind.as_deref().unwrap_or("room"),
            &["room", "device"],
        );
        e.finish()?;
        Ok(NewRoom {
            name: name.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            active: self.active.unwrap_or(true),
        })
    }
}

/// Body of `POST /v1/procedures` and `PUT /v1/procedures/{id}`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct ProcedureInput {
    pub name: String,
    pub category: String,
    pub kind: Option<String>,
    pub duration_minutes: i32,
    pub buffer_after_minutes: Option<i32>,
    pub session_count: Option<i32>,
    pub min_interval_days: Option<i32>,
    pub max_interval_days: Option<i32>,
    pub recovery_days: Option<i32>,
    pub touch_up_window_days: Option<i32>,
    #[serde(default)]
    pub required_certifications: Vec<String>,
    #[serde(default)]
    pub allowed_councils: Vec<String>,
    pub anvisa_registration: Option<String>,
    pub anvisa_expires_on: Option<NaiveDate>,
    pub price_cents: i64,
    pub active: Option<bool>,
}

/// A validated procedure.
#[derive(Debug, Clone)]
pub struct NewProcedure {
    pub name: String,
    pub category: String,
    pub kind: Option<String>,
    pub duration_minutes: i32,
    pub buffer_after_minutes: i32,
    pub session_count: i32,
    pub min_interval_days: Option<i32>,
    pub max_interval_days: Option<i32>,
    pub recovery_days: i32,
    pub touch_up_window_days: Option<i32>,
    pub required_certifications: Vec<String>,
    pub allowed_councils: Vec<String>,
    pub anvisa_registration: Option<AnvisaRegistration>,
    pub anvisa_expires_on: Option<NaiveDate>,
    pub price_cents: i64,
    pub active: bool,
}

impl ProcedureInput {
    /// Parses every field; intervals must be ordered and prices non-negative.
    pub fn validate(&self) -> Result<NewProcedure, ApiError> {
        let mut e = Errors::default();
        let name = name(&mut e, "name", &self.name, 200);
        let category = one_of(&mut e, "category", &self.category, CATEGORIES);
        let kind = self.kind.as_deref().and_then(|k| code(&mut e, "kind", k));
        let duration = range(
            &mut e,
            "durationMinutes",
            Some(self.duration_minutes),
            5,
            600,
        );
        let buffer = range(
            &mut e,
            "bufferAfterMinutes",
            self.buffer_after_minutes,
            0,
            240,
        );
        let sessions = range(&mut e, "sessionCount", self.session_count, 1, 20);
        let min_i = range(&mut e, "minIntervalDays", self.min_interval_days, 0, 730);
        let max_i = range(&mut e, "maxIntervalDays", self.max_interval_days, 0, 730);
        if let (Some(a), Some(b)) = (min_i, max_i)
            && a > b
        {
            e.push(
                "maxIntervalDays",
                "max_below_min",
                "O intervalo máximo é menor que o mínimo.",
                "The maximum interval is below the minimum.",
            );
        }
        let recovery = range(&mut e, "recoveryDays", self.recovery_days, 0, 365);
        let touch_up = range(
            &mut e,
            "touchUpWindowDays",
            self.touch_up_window_days,
            0,
            365,
        );
        let required_certifications = codes(
            &mut e,
            "requiredCertifications",
            &self.required_certifications,
            20,
        );
        let mut allowed_councils = Vec::new();
        for (i, c) in self.allowed_councils.iter().enumerate() {
            match Council::parse(c) {
                Ok(c) => allowed_councils.push(c.as_str().to_owned()),
                Err(issue) => e.issue(&format!("allowedCouncils[{i}]"), issue),
            }
        }
        allowed_councils.sort();
        allowed_councils.dedup();
        let anvisa = self.anvisa_registration.as_deref().and_then(|a| {
            AnvisaRegistration::parse(a)
                .map_err(|i| e.issue("anvisaRegistration", i))
                .ok()
        });
        if !(0..=100_000_000).contains(&self.price_cents) {
            e.push(
                "priceCents",
                "out_of_range",
                "Preço fora do intervalo permitido.",
                "Price out of the allowed range.",
            );
        }
        e.finish()?;
        Ok(NewProcedure {
            name: name.unwrap_or_default(),
            category: category.unwrap_or_default(),
            kind,
            duration_minutes: duration.unwrap_or(self.duration_minutes),
            buffer_after_minutes: buffer.unwrap_or(0),
            session_count: sessions.unwrap_or(1),
            min_interval_days: min_i,
            max_interval_days: max_i,
            recovery_days: recovery.unwrap_or(0),
            touch_up_window_days: touch_up,
            required_certifications,
            allowed_councils,
            anvisa_registration: anvisa,
            anvisa_expires_on: self.anvisa_expires_on,
            price_cents: self.price_cents,
            active: self.active.unwrap_or(true),
        })
    }
}

/// `{"reason": "…"}`: why a rule is overridden (recorded in the audit trail).
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct OverrideInput {
    pub reason: String,
}

/// Validates an override reason (3–300 characters, no control characters).
pub(crate) fn override_reason(
    e: &mut Errors,
    field: &str,
    o: Option<&OverrideInput>,
) -> Option<String> {
    let o = o?;
    let v = o.reason.trim();
    if v.chars().count() < 3 || v.chars().count() > 300 || v.chars().any(char::is_control) {
        e.push(
            field,
            "invalid_reason",
            "Informe um motivo (3 a 300 caracteres).",
            "Give a reason (3 to 300 characters).",
        );
        None
    } else {
        Some(v.to_owned())
    }
}

/// Body of `POST /v1/appointments`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct AppointmentInput {
    pub patient_id: Uuid,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub procedure_id: Uuid,
    /// RFC 3339 with an offset (a bare local time is rejected: ambiguous).
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub notes: Option<String>,
    /// Admin override of working hours and time off.
    #[serde(rename = "override")]
    pub schedule_override: Option<OverrideInput>,
    /// Clinician override of an absolute contraindication.
    pub clinical_override: Option<OverrideInput>,
}

/// A validated booking request.
#[derive(Debug, Clone)]
pub struct NewAppointment {
    pub patient_id: Uuid,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub procedure_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub kind: String,
    pub notes: Option<String>,
    pub schedule_override: Option<String>,
    pub clinical_override: Option<String>,
}

fn notes(e: &mut Errors, value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    if v.is_empty() {
        return None;
    }
    if v.chars().count() > 500 || v.chars().any(|c| c.is_control() && c != '\n') {
        e.push(
            "notes",
            "invalid_text",
            "Nota longa demais (máx. 500) ou com caracteres de controle.",
            "Note too long (max 500) or with control characters.",
        );
        return None;
    }
    Some(v.to_owned())
}

/// Years the scheduling API accepts dates in. Far outside any clinic calendar on both sides,
/// and far from chrono's limits, so plan and washout arithmetic can never overflow.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// Refuses a date outside [`YEARS`] (422 on `field`); true when it is inside.
pub(crate) fn plausible_date(e: &mut Errors, field: &str, d: NaiveDate) -> bool {
    use chrono::Datelike;
    let ok = YEARS.contains(&d.year());
    if !ok {
        e.push(
            field,
            "out_of_range",
            "Data fora do intervalo aceito (anos 2000 a 2100).",
            "Date outside the accepted range (years 2000 to 2100).",
        );
    }
    ok
}

/// [`plausible_date`] for an instant.
pub(crate) fn plausible_instant(e: &mut Errors, field: &str, t: DateTime<Utc>) -> bool {
    plausible_date(e, field, t.date_naive())
}

/// The one-shot form of [`plausible_date`] for handlers without an error list.
pub fn check_date(field: &str, d: NaiveDate) -> Result<(), ApiError> {
    let mut e = Errors::default();
    plausible_date(&mut e, field, d);
    e.finish()
}

fn ends_after(e: &mut Errors, start: DateTime<Utc>, end: Option<DateTime<Utc>>) {
    plausible_instant(e, "startsAt", start);
    if let Some(end) = end
        && (end <= start || end - start > chrono::Duration::hours(12))
    {
        e.push(
            "endsAt",
            "invalid_range",
            "O fim deve ser depois do início (no máximo 12 horas).",
            "The end must be after the start (at most 12 hours).",
        );
    }
}

impl AppointmentInput {
    /// Parses the booking request.
    pub fn validate(&self) -> Result<NewAppointment, ApiError> {
        let mut e = Errors::default();
        ends_after(&mut e, self.starts_at, self.ends_at);
        let kind = one_of(
            &mut e,
            "type",
            self.kind.as_deref().unwrap_or("in_person"),
            &["in_person", "telemedicine"],
        );
        let notes = notes(&mut e, self.notes.as_deref());
        let so = override_reason(&mut e, "override.reason", self.schedule_override.as_ref());
        let co = override_reason(
            &mut e,
            "clinicalOverride.reason",
            self.clinical_override.as_ref(),
        );
        e.finish()?;
        Ok(NewAppointment {
            patient_id: self.patient_id,
            professional_id: self.professional_id,
            room_id: self.room_id,
            procedure_id: self.procedure_id,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            kind: kind.unwrap_or_default(),
            notes,
            schedule_override: so,
            clinical_override: co,
        })
    }
}

/// Body of `PATCH /v1/appointments/{id}` (reschedule; `If-Match` carries the version).
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct RescheduleInput {
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub professional_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    #[serde(rename = "override")]
    pub schedule_override: Option<OverrideInput>,
    /// Clinician override of an absolute contraindication on the new date.
    pub clinical_override: Option<OverrideInput>,
}

/// A validated reschedule.
#[derive(Debug, Clone)]
pub struct Reschedule {
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub professional_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    pub schedule_override: Option<String>,
    pub clinical_override: Option<String>,
}

impl RescheduleInput {
    /// Parses the reschedule.
    pub fn validate(&self) -> Result<Reschedule, ApiError> {
        let mut e = Errors::default();
        ends_after(&mut e, self.starts_at, self.ends_at);
        let so = override_reason(&mut e, "override.reason", self.schedule_override.as_ref());
        let co = override_reason(
            &mut e,
            "clinicalOverride.reason",
            self.clinical_override.as_ref(),
        );
        e.finish()?;
        Ok(Reschedule {
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            professional_id: self.professional_id,
            room_id: self.room_id,
            schedule_override: so,
            clinical_override: co,
        })
    }
}

/// Body of `POST /v1/appointments/{id}/status`.
#[derive(Debug, Clone, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct StatusInput {
    pub status: String,
    pub reason: Option<String>,
}

impl StatusInput {
    /// Parses the target status; `cancelled` needs a reason code.
    pub fn validate(&self) -> Result<(Status, Option<String>), ApiError> {
        let mut e = Errors::default();
        let status = Status::parse(&self.status);
        if status.is_none() || status == Some(Status::Scheduled) {
            e.push(
                "status",
                "invalid_value",
                "Valor não permitido.",
                "Value not allowed.",
            );
        }
        let reason = match (status, self.reason.as_deref()) {
            (Some(Status::Cancelled), Some(r)) => one_of(&mut e, "reason", r, CANCEL_REASONS),
            (Some(Status::Cancelled), None) => {
                e.push(
                    "reason",
                    "required",
                    "Informe o motivo do cancelamento.",
                    "Give the cancellation reason.",
                );
                None
            }
            _ => None,
        };
        e.finish()?;
        let status = status.ok_or_else(|| ApiError::internal(std::io::Error::other("status")))?;
        Ok((status, reason))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_machine_allows_only_forward_moves() {
        use Status::*;
        let all = [
            Scheduled, Confirmed, InProgress, Completed, Cancelled, NoShow,
        ];
        let allowed: Vec<(Status, Status)> = all
            .iter()
            .flat_map(|a| all.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Scheduled, Confirmed),
                (Scheduled, Cancelled),
                (Scheduled, NoShow),
                (Confirmed, InProgress),
                (Confirmed, Cancelled),
                (Confirmed, NoShow),
                (InProgress, Completed),
            ]
        );
        for s in all {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn procedure_validation_reports_every_bad_field() {
        let input: ProcedureInput = serde_json::from_value(serde_json::json!({
            "name": " ", "category": "magic", "durationMinutes": 1, "minIntervalDays": 30,
            "maxIntervalDays": 10, "anvisaRegistration": "999", "priceCents": -1,
            "allowedCouncils": ["XYZ"]
        }))
        .unwrap();
        let Err(ApiError::Validation(fields)) = input.validate() else {
            panic!("expected 422")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "name",
            "category",
            "durationMinutes",
            "maxIntervalDays",
            "anvisaRegistration",
            "priceCents",
            "allowedCouncils[0]",
        ] {
            assert!(names.contains(&f), "{f} missing in {names:?}");
        }
    }

    #[test]
    fn cancelling_needs_a_reason_code() {
        let s = |v: serde_json::Value| serde_json::from_value::<StatusInput>(v).unwrap();
        assert!(
            s(serde_json::json!({"status": "cancelled"}))
                .validate()
                .is_err()
        );
        assert!(
            s(serde_json::json!({"status": "cancelled", "reason": "because"}))
                .validate()
                .is_err()
        );
        assert_eq!(
            s(serde_json::json!({"status": "cancelled", "reason": "patient_request"}))
                .validate()
                .unwrap()
                .0,
            Status::Cancelled
        );
        assert!(
            s(serde_json::json!({"status": "scheduled"}))
                .validate()
                .is_err()
        );
    }
}
