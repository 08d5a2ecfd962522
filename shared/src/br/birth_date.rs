//! Birth dates: a `YYYY-MM-DD` calendar date between 1900-01-01 and today (Brazilian time).

use std::fmt;

use chrono::{Datelike, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, parsed_from_text};

/// The earliest birth date accepted: older dates are typing mistakes, not patients.
const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => NaiveDate::MIN,
};

/// Brasília time (BRT), UTC−3. A fixed offset is exact: Brazil abolished daylight saving time
/// in 2019 (Decreto nº 9.772/2019), so `America/Sao_Paulo` has been UTC−3 all year since, and
/// birth dates only need the current day. This avoids the `chrono-tz` database.
const BRT_OFFSET_SECONDS: i32 = -3 * 3600;

/// A plausible date of birth.
///
/// A patient's birth date is personal data, so `Debug` prints `BirthDate(***)`. "Today" is a
/// parameter of [`BirthDate::parse_on`] so tests and services can pin the clock (style.md §5
/// rule 10); [`BirthDate::parse`] (and deserialisation) use today in Brasília time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct BirthDate(NaiveDate);

impl BirthDate {
    /// Parses `YYYY-MM-DD` (exactly: four-digit year, two-digit month and day) as of today in
    /// Brasília time.
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        Self::parse_on(text, today_in_brazil())
    }

    /// Parses `YYYY-MM-DD` as of `today`: refuses dates after `today` and before 1900-01-01.
    pub fn parse_on(text: &str, today: NaiveDate) -> Result<Self, FieldIssue> {
        let text = text.trim();
        let shape_ok = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(FieldIssue::BirthDate);
        }
        let date =
            NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| FieldIssue::BirthDate)?;
        Self::from_date_on(date, today)
    }

    /// Checks an already-typed date (e.g. read back from the database) against the same rules.
    pub fn from_date_on(date: NaiveDate, today: NaiveDate) -> Result<Self, FieldIssue> {
        if date > today {
            Err(FieldIssue::BirthDateInFuture)
        } else if date < EARLIEST {
            Err(FieldIssue::BirthDateTooOld)
        } else {
            Ok(BirthDate(date))
        }
    }

    /// The date, for storage (`DATE` column) and arithmetic.
    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// Whole years completed on `on` (0 before the first birthday, and for `on` before the
    /// birth). Someone born on 29 February completes a year on 1 March in common years, as the
    /// Código Civil (art. 132 §3) counts years.
    pub fn age_on(&self, on: NaiveDate) -> u32 {
        let birth = self.0;
        if on < birth {
            return 0;
        }
        let years = on.year() - birth.year();
        let had_birthday = (on.month(), on.day()) >= (birth.month(), birth.day());
        let age = if had_birthday { years } else { years - 1 };
        u32::try_from(age).unwrap_or(0)
    }
}

/// Today's date in Brasília time (see [`BRT_OFFSET_SECONDS`]).
fn today_in_brazil() -> NaiveDate {
    let now = Utc::now();
    match FixedOffset::east_opt(BRT_OFFSET_SECONDS) {
        Some(brt) => now.with_timezone(&brt).date_naive(),
        None => now.date_naive(),
    }
}

parsed_from_text!(BirthDate);

/// `YYYY-MM-DD`.
impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// Never prints the date.
impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BirthDate(***)")
    }
}

/// `YYYY-MM-DD`.
impl Serialize for BirthDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    const TODAY: (i32, u32, u32) = (2026, 3, 15);

    fn today() -> NaiveDate {
        d(TODAY.0, TODAY.1, TODAY.2)
    }

    #[test]
    fn an_ordinary_date_parses_and_displays_the_same() {
        let b = BirthDate::parse_on("1990-07-21", today()).unwrap();
        assert_eq!(b.date(), d(1990, 7, 21));
        assert_eq!(b.to_string(), "1990-07-21");
    }

    #[test]
    fn today_and_1900_01_01_are_the_inclusive_bounds() {
        assert!(BirthDate::parse_on("2026-03-15", today()).is_ok());
        assert_eq!(
            BirthDate::parse_on("2026-03-16", today()),
            Err(FieldIssue::BirthDateInFuture)
        );
        assert!(BirthDate::parse_on("1900-01-01", today()).is_ok());
        assert_eq!(
            BirthDate::parse_on("1899-12-31", today()),
            Err(FieldIssue::BirthDateTooOld)
        );
    }

    #[test]
    fn impossible_or_loosely_written_dates_are_refused() {
        for input in [
            "",
            "1990-02-30",
            "2023-02-29",
            "1990-13-01",
            "1990-00-10",
            "1990-01-00",
            "1990-1-5",
            "90-01-05",
            "21/07/1990",
            "1990/07/21",
            "1990-07-21T00:00:00Z",
            "+1990-07-21",
            "1990-07-2a",
        ] {
            assert_eq!(
                BirthDate::parse_on(input, today()),
                Err(FieldIssue::BirthDate),
                "{input:?}"
            );
        }
        assert!(BirthDate::parse_on("2024-02-29", today()).is_ok());
    }

    #[test]
    fn age_counts_completed_years() {
        let b = BirthDate::parse_on("1990-07-21", today()).unwrap();
        assert_eq!(b.age_on(d(2026, 7, 20)), 35);
        assert_eq!(b.age_on(d(2026, 7, 21)), 36);
        assert_eq!(b.age_on(d(1990, 7, 21)), 0);
        assert_eq!(b.age_on(d(1991, 7, 20)), 0);
        assert_eq!(b.age_on(d(1991, 7, 21)), 1);
        assert_eq!(b.age_on(d(1980, 1, 1)), 0, "before birth");
    }

    #[test]
    fn a_29_february_birthday_completes_on_1_march_in_common_years() {
        let b = BirthDate::parse_on("2008-02-29", today()).unwrap();
        assert_eq!(b.age_on(d(2026, 2, 28)), 17);
        assert_eq!(b.age_on(d(2026, 3, 1)), 18);
        assert_eq!(b.age_on(d(2028, 2, 29)), 20);
    }

    #[test]
    fn parse_uses_a_real_today() {
        assert!(BirthDate::parse("1990-07-21").is_ok());
        assert_eq!(
            BirthDate::parse("2999-01-01"),
            Err(FieldIssue::BirthDateInFuture)
        );
        let brt = today_in_brazil();
        let utc = Utc::now().date_naive();
        assert!(utc.signed_duration_since(brt).num_days() <= 1);
    }

    #[test]
    fn debug_does_not_print_the_date() {
        let b = BirthDate::parse_on("1990-07-21", today()).unwrap();
        assert_eq!(format!("{b:?}"), "BirthDate(***)");
    }

    #[test]
    fn serde_emits_iso_dates_and_parses_on_the_way_in() {
        let b: BirthDate = serde_json::from_str("\"1990-07-21\"").unwrap();
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"1990-07-21\"");
        assert!(serde_json::from_str::<BirthDate>("\"1990-02-30\"").is_err());
    }
}
