//! What goes: pure functions over the server's date and the partitions it lists.
//!
//! A table's partition of month `M` is dropped when the whole month is older than the
//! table's period: `M < toYYYYMM(today - keep_days)` (then the last day of `M` is before
//! `today - keep_days`). The current month is never dropped (it is not before itself, and
//! periods are at least [`crate::config::MIN_KEEP_DAYS`]); a period of 0 drops nothing.

use std::fmt;

use chrono::{Datelike, Days, NaiveDate};

use crate::tables::Table;

/// A month, as the `YYYYMM` partition id of `toYYYYMM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month(u32);

impl Month {
    /// The month of `date`.
    pub fn of(date: NaiveDate) -> Self {
        // Years of a NaiveDate handled here are positive (1970..); the cast cannot wrap.
        Self(date.year().unsigned_abs() * 100 + date.month())
    }

    /// A partition id, strictly: six ASCII digits `YYYYMM`, year 1970..=2106 (the DateTime
    /// range), month 01..=12. Anything else (`all`, a hash, `-1`) is `None`.
    pub fn from_partition_id(id: &str) -> Option<Self> {
        if id.len() != 6 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n: u32 = id.parse().ok()?;
        let (year, month) = (n / 100, n % 100);
        ((1970..=2106).contains(&year) && (1..=12).contains(&month)).then_some(Self(n))
    }

    /// `YYYYMM` as a number.
    pub fn yyyymm(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

/// The first month kept for a period of `keep_days` on `today`: every earlier month is
/// wholly older than the period. `None` for 0 (keep forever).
pub fn first_kept(today: NaiveDate, keep_days: u32) -> Option<Month> {
    if keep_days == 0 {
        return None;
    }
    let cutoff = today
        .checked_sub_days(Days::new(u64::from(keep_days)))
        .unwrap_or(NaiveDate::MIN);
    Some(Month::of(cutoff).min(Month::of(today)))
}

/// One active partition as `system.parts` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// Its id (`YYYYMM` for every managed table).
    pub id: String,
    /// Rows in its active parts.
    pub rows: u64,
    /// Bytes on disk of its active parts.
    pub bytes: u64,
    /// Active parts.
    pub parts: u64,
}

/// A partition to drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The table.
    pub table: Table,
    /// The table's period, days.
    pub keep_days: u32,
    /// The month dropped.
    pub month: Month,
    /// Rows it holds.
    pub rows: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Active parts.
    pub parts: u64,
}

/// A partition id that is not a month: the table is not partitioned as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAMonth {
    /// The table.
    pub table: &'static str,
    /// The id.
    pub partition_id: String,
}

/// The partitions of `table` to drop on `today`, oldest first. Any id that is not a
/// month is an error (nothing of the table is dropped then).
pub fn candidates(
    table: Table,
    keep_days: u32,
    today: NaiveDate,
    partitions: &[Partition],
) -> Result<Vec<Candidate>, NotAMonth> {
    let mut out = Vec::new();
    let first_kept = first_kept(today, keep_days);
    for p in partitions {
        let month = Month::from_partition_id(&p.id).ok_or_else(|| NotAMonth {
            table: table.name,
            partition_id: p.id.clone(),
        })?;
        if first_kept.is_some_and(|kept| month < kept) {
            out.push(Candidate {
                table,
                keep_days,
                month,
                rows: p.rows,
                bytes: p.bytes,
                parts: p.parts,
            });
        }
    }
    out.sort_by_key(|c| c.month);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::tables::TABLES;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn part(id: &str) -> Partition {
        Partition {
            id: id.to_owned(),
            rows: 1,
            bytes: 10,
            parts: 1,
        }
    }

    #[test]
    fn partition_ids_are_strict_months() {
        assert_eq!(
            Month::from_partition_id("202401").unwrap().yyyymm(),
            202_401
        );
        for bad in [
            "all",
            "2024",
            "2024011",
            "202400",
            "202413",
            "196912",
            "21070",
            "-20240",
            "2024 1",
            "20240a",
            "２０２４０１",
            "",
            "1; DROP",
        ] {
            assert_eq!(Month::from_partition_id(bad), None, "{bad:?}");
        }
        assert_eq!(
            Month::from_partition_id("197001").unwrap().to_string(),
            "197001"
        );
    }

    #[test]
    fn a_month_goes_only_when_wholly_older_than_the_period() {
        // 31 days before 2025-03-31 is 2025-02-28: February is not wholly older yet.
        assert_eq!(first_kept(date(2025, 3, 31), 31), Some(Month(202_502)));
        // 31 days before 2025-04-01 is 2025-03-01: February is.
        assert_eq!(first_kept(date(2025, 4, 1), 31), Some(Month(202_503)));
        assert_eq!(first_kept(date(2025, 4, 1), 0), None);
        assert_eq!(first_kept(date(2025, 4, 1), 400), Some(Month(202_402)));
    }

    #[test]
    fn never_the_current_month_nor_a_kept_one() {
        let table = TABLES[0];
        let parts: Vec<Partition> = ["202312", "202401", "202402", "202403"]
            .into_iter()
            .map(part)
            .collect();
        let today = date(2024, 3, 15);
        let months = |days| {
            candidates(table, days, today, &parts)
                .unwrap()
                .iter()
                .map(|c| c.month.to_string())
                .collect::<Vec<_>>()
        };
        // 2024-03-15 - 31 days = 2024-02-13: December and January go.
        assert_eq!(months(31), ["202312", "202401"]);
        assert_eq!(months(60), ["202312"]);
        assert!(months(0).is_empty());
        // Whatever the period, at least the current month stays.
        for days in [31, 45, 90, 365, 36_500] {
            assert!(!months(days).contains(&"202403".to_owned()));
        }
        // A future partition (a clock skewed engine) is never dropped either.
        let future = candidates(table, 31, today, &[part("202405")]).unwrap();
        assert!(future.is_empty());
    }

    #[test]
    fn a_partition_that_is_not_a_month_drops_nothing() {
        let err = candidates(
            TABLES[0],
            31,
            date(2024, 3, 15),
            &[part("202301"), part("all")],
        )
        .unwrap_err();
        assert_eq!(err.partition_id, "all");
    }
}
