//! The planning arithmetic of backfills and tracking: where the server's history of a
//! frequency starts, how a code's stretch of days is cut into units, and what a plan costs
//! (requests, seconds, China days under the daily budget). The extension's planner
//! (src/sync/jobs.rs) asks the store which days and codes need units and what the calendar
//! holds, and hands the answers here.

use baostock::value::Frequency;
use chrono::{Datelike, NaiveDate};

use crate::period::{period_end, period_start};
use crate::publication;
use crate::states::UnitKind;
use crate::{Unit, FIRST_TRADING_DAY};

/// Latency a request is assumed to take in estimates (the public server answers in about
/// 0.16-0.2 s).
pub const ASSUMED_LATENCY_S: f64 = 0.2;
/// Rows a second the store is assumed to write in estimates (bench_store's upsert).
pub const ASSUMED_WRITE_RATE: f64 = 60_000.0;

/// Requests of the budget kept for `sync_date`: 5% of it, at least 20.
pub fn budget_reserve(budget: u64) -> u64 {
    (budget / 20).max(20).min(budget)
}

/// China days `requests` take when backfills may send `budget` less the reserve a day.
pub fn days_under_budget(requests: i64, budget: u64) -> Option<i64> {
    let per_day = i64::try_from(budget - budget_reserve(budget)).ok().filter(|n| *n > 0)?;
    Some((requests.max(1) + per_day - 1) / per_day)
}

/// The first day worth asking the server for bars of `frequency` of a security type (1 stock,
/// 5 ETF, ...): where its history starts (`publication::history_start`), else the first
/// trading day.
pub fn history_floor(frequency: Frequency, sec_type: i16, minute_start: NaiveDate) -> NaiveDate {
    publication::history_start(frequency, sec_type, minute_start).unwrap_or(FIRST_TRADING_DAY)
}

/// The units of one code's stretch of trading days `start..=end` at `frequency`: weekly and
/// monthly ones start on their period's first day and end on its last (a bar covers the whole
/// period), not after `published`; minute ones are cut at year ends (a unit stays small).
pub fn range_units(
    code: &str,
    frequency: Frequency,
    start: NaiveDate,
    end: NaiveDate,
    published: NaiveDate,
) -> Vec<Unit> {
    let pieces = match frequency {
        Frequency::Weekly | Frequency::Monthly => {
            vec![(
                period_start(frequency, start),
                period_end(frequency, end).min(published),
            )]
        }
        Frequency::Daily => vec![(start, end)],
        _ => (start.year()..=end.year())
            .filter_map(|y| {
                let from = NaiveDate::from_ymd_opt(y, 1, 1)?.max(start);
                let to = NaiveDate::from_ymd_opt(y, 12, 31)?.min(end);
                Some((from, to))
            })
            .collect(),
    };
    pieces
        .into_iter()
        .map(|(start, end)| Unit::Range {
            code: code.to_owned(),
            frequency,
            start,
            end,
        })
        .collect()
}

/// One row of `plan()`: a kind of unit (or `total`).
#[derive(Clone, Debug, PartialEq)]
pub struct PlanRow {
    pub kind: &'static str,
    pub units: i64,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub est_requests: i64,
    pub est_seconds: f64,
    /// China days the requests take under the daily budget (`None`: no budget).
    pub est_days: Option<i64>,
}

/// What an estimate goes by besides the units.
#[derive(Clone, Copy, Debug)]
pub struct Costs {
    /// Sessions the worker fetches with.
    pub sessions: usize,
    /// Rows a page of a range's answer (95) holds: the page size the range is asked with.
    pub per_page: u32,
    /// The daily request budget (0: none).
    pub budget: u64,
    /// Stocks and ETFs listed on the plan's last day: the bars a day unit brings.
    pub listed: f64,
}

/// What a plan costs: a row per kind of unit planned, then `total` (with a login and a logout
/// per session); the total's requests and seconds (to the tenth).
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub rows: Vec<PlanRow>,
    pub requests: i64,
    pub seconds: f64,
}

/// Estimates `units`; `trading_days` counts the trading days of a range (the stored
/// calendar's).
pub fn estimate(units: &[Unit], costs: &Costs, mut trading_days: impl FnMut(NaiveDate, NaiveDate) -> i64) -> Estimate {
    let sessions = costs.sessions as f64;
    let mut rows = Vec::new();
    let (mut all_requests, mut all_seconds) = (0i64, 0f64);
    for &kind in UnitKind::ALL {
        let of_kind: Vec<&Unit> = units.iter().filter(|u| u.kind() == kind).collect();
        if of_kind.is_empty() {
            continue;
        }
        let first = of_kind.iter().map(|u| span(u).0).min();
        let last = of_kind.iter().map(|u| span(u).1).max();
        // A range's bars come in pages of `per_page` rows, a request each.
        let range_rows: Vec<f64> = of_kind
            .iter()
            .map(|u| match u {
                Unit::Range { start, end, .. } => trading_days(*start, *end) as f64 * bars_a_day(u),
                _ => 0.0,
            })
            .collect();
        let requests: i64 = of_kind
            .iter()
            .zip(&range_rows)
            .map(|(u, rows)| match u {
                Unit::Range { .. } => pages(*rows, costs.per_page),
                _ => u.expected_requests(),
            })
            .sum();
        let bar_rows: f64 = match kind {
            UnitKind::Day => costs.listed * of_kind.len() as f64,
            UnitKind::Range => range_rows.iter().sum(),
            UnitKind::Factors | UnitKind::Report | UnitKind::Lists => 0.0,
        };
        let seconds = requests as f64 * ASSUMED_LATENCY_S / sessions + bar_rows / ASSUMED_WRITE_RATE;
        all_requests += requests;
        all_seconds += seconds;
        rows.push(PlanRow {
            kind: kind.label(),
            units: of_kind.len() as i64,
            first_day: first,
            last_day: last,
            est_requests: requests,
            est_seconds: tenths(seconds),
            est_days: days_under_budget(requests, costs.budget),
        });
    }
    // A login and a logout per session.
    let logins = if units.is_empty() { 0 } else { 2 * costs.sessions as i64 };
    all_requests += logins;
    all_seconds += logins as f64 * ASSUMED_LATENCY_S / sessions;
    rows.push(PlanRow {
        kind: "total",
        units: units.len() as i64,
        first_day: rows.iter().filter_map(|r| r.first_day).min(),
        last_day: rows.iter().filter_map(|r| r.last_day).max(),
        est_requests: all_requests,
        est_seconds: tenths(all_seconds),
        est_days: days_under_budget(all_requests, costs.budget),
    });
    Estimate {
        rows,
        requests: all_requests,
        seconds: tenths(all_seconds),
    }
}

/// Estimates a fundamentals job from its units counted per report kind (`(kind, units,
/// first day, last day)`, a request a unit: a code's period is one page): a row per kind, then
/// `total` with a login and a logout per session, as [`estimate`] does for the other units.
pub fn estimate_reports(per_kind: &[(&'static str, i64, NaiveDate, NaiveDate)], costs: &Costs) -> Estimate {
    let sessions = costs.sessions as f64;
    let mut rows: Vec<PlanRow> = per_kind
        .iter()
        .filter(|(_, units, ..)| *units > 0)
        .map(|&(kind, units, first, last)| PlanRow {
            kind,
            units,
            first_day: Some(first),
            last_day: Some(last),
            est_requests: units,
            est_seconds: tenths(units as f64 * ASSUMED_LATENCY_S / sessions),
            est_days: days_under_budget(units, costs.budget),
        })
        .collect();
    let units: i64 = rows.iter().map(|r| r.units).sum();
    let logins = if units == 0 { 0 } else { 2 * costs.sessions as i64 };
    let requests = units + logins;
    let seconds = tenths(requests as f64 * ASSUMED_LATENCY_S / sessions);
    rows.push(PlanRow {
        kind: "total",
        units,
        first_day: rows.iter().filter_map(|r| r.first_day).min(),
        last_day: rows.iter().filter_map(|r| r.last_day).max(),
        est_requests: requests,
        est_seconds: seconds,
        est_days: days_under_budget(requests, costs.budget),
    });
    Estimate {
        rows,
        requests,
        seconds,
    }
}

/// What keeping `series` tracked series current costs each evening (beside a backfill, not in
/// its total): a request a series (a day of bars is one page) and one a tracked index.
pub fn tracking_a_day(series: i64, indexes: i64, sessions: usize) -> PlanRow {
    let requests = series + indexes;
    PlanRow {
        kind: "tracking a day",
        units: series,
        first_day: None,
        last_day: None,
        est_requests: requests,
        est_seconds: tenths(requests as f64 * ASSUMED_LATENCY_S / sessions as f64),
        est_days: None,
    }
}

/// The first and last day a unit covers.
fn span(u: &Unit) -> (NaiveDate, NaiveDate) {
    match u {
        Unit::Day(d) => (*d, *d),
        Unit::Range { start, end, .. } | Unit::Factors { start, end, .. } => (*start, *end),
        Unit::Report { kind, period, .. } => (crate::reports::period_start(*kind, *period), *period),
        Unit::Lists { date, .. } => (*date, *date),
    }
}

/// Bars a trading day brings a range unit (about, for weeks and months).
fn bars_a_day(u: &Unit) -> f64 {
    match u {
        Unit::Range { frequency, .. } => match frequency.minutes() {
            Some(m) => f64::from(240 / m),
            None if *frequency == Frequency::Weekly => 0.2,
            None if *frequency == Frequency::Monthly => 0.05,
            None => 1.0,
        },
        _ => 1.0,
    }
}

/// Requests a paged answer of about `rows` rows takes: the client asks for the next page
/// after every full one (so a last full page costs one empty answer more).
fn pages(rows: f64, per_page: u32) -> i64 {
    (rows.max(0.0) / f64::from(per_page.max(1))).floor() as i64 + 1
}

/// Seconds as plans show them: to the tenth.
pub fn tenths(seconds: f64) -> f64 {
    (seconds * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_range_costs_a_request_a_page_and_one_more_after_a_full_page() {
        // A year of 5-minute bars: 244 trading days x 48 bars = 11,712 rows, 6 pages of 2000.
        assert_eq!(pages(244.0 * 48.0, 2000), 6);
        assert_eq!(pages(0.0, 2000), 1);
        assert_eq!(pages(1999.0, 2000), 1);
        assert_eq!(pages(2000.0, 2000), 2);
        assert_eq!(tenths(12.345_678_9), 12.3);
        assert_eq!(tenths(0.06), 0.1);
    }

    #[test]
    fn the_budget_less_its_reserve_makes_the_china_days_of_a_backfill() {
        // The default budget: 40,000 a day, 38,000 of them for backfills.
        assert_eq!(budget_reserve(40_000), 2_000);
        assert_eq!(days_under_budget(38_000, 40_000), Some(1));
        assert_eq!(days_under_budget(38_001, 40_000), Some(2));
        assert_eq!(days_under_budget(100_000, 0), None);
        assert_eq!(
            days_under_budget(1, 15),
            None,
            "a budget all reserve leaves backfills nothing"
        );
    }

    #[test]
    fn ranges_are_cut_at_year_ends_and_widened_to_their_periods() {
        let code = "sh.600000";
        let spans = |units: Vec<Unit>| -> Vec<(NaiveDate, NaiveDate)> { units.into_iter().map(|u| span(&u)).collect() };
        let (s, e) = (d(2023, 11, 8), d(2025, 2, 5));
        assert_eq!(spans(range_units(code, Frequency::Daily, s, e, e)), [(s, e)]);
        assert_eq!(
            spans(range_units(code, Frequency::Min5, s, e, e)),
            [
                (s, d(2023, 12, 31)),
                (d(2024, 1, 1), d(2024, 12, 31)),
                (d(2025, 1, 1), e)
            ]
        );
        // 2023-11-08 is a Wednesday, 2025-02-05 too: its week ends on Sunday the 9th.
        assert_eq!(
            spans(range_units(code, Frequency::Weekly, s, e, d(2025, 2, 20))),
            [(d(2023, 11, 6), d(2025, 2, 9))]
        );
        assert_eq!(
            spans(range_units(code, Frequency::Monthly, s, e, d(2025, 2, 20))),
            [(d(2023, 11, 1), d(2025, 2, 20))]
        );
        assert_eq!(history_floor(Frequency::Daily, 1, d(2020, 1, 3)), FIRST_TRADING_DAY);
        assert_eq!(history_floor(Frequency::Min30, 1, d(2020, 1, 3)), d(2020, 1, 3));
    }

    #[test]
    fn an_estimate_counts_pages_rows_and_logins() {
        let costs = Costs {
            sessions: 2,
            per_page: 2000,
            budget: 40_000,
            listed: 6000.0,
        };
        let units = [
            Unit::Factors {
                code: "sh.600000".into(),
                start: FIRST_TRADING_DAY,
                end: d(2024, 3, 6),
            },
            Unit::Day(d(2024, 3, 5)),
            Unit::Day(d(2024, 3, 6)),
            Unit::Range {
                code: "sh.600000".into(),
                frequency: Frequency::Min5,
                start: d(2024, 1, 1),
                end: d(2024, 12, 31),
            },
        ];
        let e = estimate(&units, &costs, |_, _| 244);
        let kinds: Vec<&str> = e.rows.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["day", "range", "factors", "total"]);
        // Two days: 3 requests and 6000 bars each.
        assert_eq!(e.rows[0].est_requests, 6);
        assert_eq!(e.rows[0].est_seconds, tenths(6.0 * 0.2 / 2.0 + 12_000.0 / 60_000.0));
        assert_eq!(
            (e.rows[0].first_day, e.rows[0].last_day),
            (Some(d(2024, 3, 5)), Some(d(2024, 3, 6)))
        );
        // A year of 5-minute bars: 6 pages.
        assert_eq!(e.rows[1].est_requests, 6);
        assert_eq!(e.rows[2].est_requests, 1);
        let total = &e.rows[3];
        assert_eq!((total.units, total.est_requests, e.requests), (4, 6 + 6 + 1 + 4, 17));
        assert_eq!(
            (total.first_day, total.last_day),
            (Some(FIRST_TRADING_DAY), Some(d(2024, 12, 31)))
        );
        assert_eq!(total.est_days, Some(1));
        assert_eq!(e.seconds, total.est_seconds);
        // Nothing planned costs nothing, not even a login.
        let none = estimate(&[], &costs, |_, _| 0);
        assert_eq!(none.rows.len(), 1);
        assert_eq!((none.requests, none.seconds), (0, 0.0));
        let t = tracking_a_day(10, 2, 3);
        assert_eq!(
            (t.kind, t.units, t.est_requests, t.est_seconds),
            ("tracking a day", 10, 12, 0.8)
        );
    }

    #[test]
    fn a_fundamentals_plan_costs_a_request_a_unit_and_says_its_days() {
        let costs = Costs {
            sessions: 2,
            per_page: 2000,
            budget: 50_000,
            listed: 0.0,
        };
        let e = estimate_reports(
            &[
                ("profit", 100_000, d(2005, 1, 1), d(2024, 12, 31)),
                ("dividend", 0, d(2005, 1, 1), d(2024, 12, 31)),
                ("growth", 20_000, d(2005, 1, 1), d(2024, 12, 31)),
            ],
            &costs,
        );
        let kinds: Vec<&str> = e.rows.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["profit", "growth", "total"]);
        assert_eq!(e.requests, 120_004);
        // 50,000 less its 2,500 reserve a day: 3 China days.
        assert_eq!(e.rows[2].est_days, Some(3));
        assert_eq!(e.seconds, 12_000.4);
        assert!(estimate_reports(&[], &costs).rows[0].units == 0);
    }
}
