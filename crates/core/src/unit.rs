//! Units: the smallest pieces of work that commit on their own (a day, a code's range of bars,
//! a code's factor history, a code's reports of a kind and period, an index's list of a date),
//! and what applying one did. The extension's `engine::unit` fetches
//! and applies them.

use baostock::report::ReportKind;
use baostock::value::Frequency;
use baostock::StockIndex;
use chrono::NaiveDate;

use crate::states::UnitKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unit {
    /// 98 + 9A + 9C: every stock's and ETF's bar and the factors taking effect that day.
    Day(NaiveDate),
    /// 95: one code's bars of a frequency over a range of days.
    Range {
        code: String,
        frequency: Frequency,
        start: NaiveDate,
        end: NaiveDate,
    },
    /// 15: one code's adjust factors with an operate date in a range.
    Factors {
        code: String,
        start: NaiveDate,
        end: NaiveDate,
    },
    /// 13, 17..31: one code's reports of a kind for a period: a quarter (its last day), or
    /// for express and forecast reports and dividends a year (its 31 December).
    Report {
        code: String,
        kind: ReportKind,
        period: NaiveDate,
    },
    /// 61, 63, 65: an index's constituent list on a date (the list of that date's week).
    Lists { index: StockIndex, date: NaiveDate },
}

/// What applying a unit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Rows written and the checkpoint set.
    Ok,
    /// A day with no stock rows: not published yet, or older than the server's all-market
    /// history. Nothing written.
    Empty,
    /// A day whose answers miss something (the reason); nothing written, not marked.
    Incomplete(String),
    /// A day whose bars are written but whose factors the server had not published yet (the
    /// reason); not marked synced, so it is fetched again.
    Awaiting(String),
}

impl Status {
    /// The status word of `sync_date` rows and run records.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Empty => "not_available",
            Status::Incomplete(_) | Status::Awaiting(_) => "incomplete",
        }
    }
}

impl Unit {
    pub fn kind(&self) -> UnitKind {
        match self {
            Unit::Day(_) => UnitKind::Day,
            Unit::Range { .. } => UnitKind::Range,
            Unit::Factors { .. } => UnitKind::Factors,
            Unit::Report { .. } => UnitKind::Report,
            Unit::Lists { .. } => UnitKind::Lists,
        }
    }

    /// Requests this unit sends when all goes well (logins not included).
    pub fn expected_requests(&self) -> i64 {
        match self {
            Unit::Day(_) => 3,
            Unit::Range { .. } | Unit::Factors { .. } | Unit::Report { .. } | Unit::Lists { .. } => 1,
        }
    }
}
