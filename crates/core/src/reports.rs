//! What a fundamentals job asks for: the periods of each report kind, the query of a code's
//! period, and the day after which an empty answer means "none" rather than "not yet" (the
//! legal disclosure deadlines: Q1 and Q3 a month after the quarter, H1 two months, the year
//! four; a year of express or forecast reports or dividends once the year is over).

use baostock::report::{DividendYear, Published, ReportKind, ReportQuery};
use chrono::{Datelike, Days, Months, NaiveDate};

/// The kinds a fundamentals job asks for, per code (the SQL `kinds` names).
pub const JOB_KINDS: [ReportKind; 9] = ReportKind::PER_CODE;

/// Whether a kind is asked per quarter (the rest per year).
pub fn is_quarterly(kind: ReportKind) -> bool {
    kind.quarterly().is_some()
}

/// The last day of every period of `kind` in the years `from..=to`: quarter ends, or 31
/// December for the kinds asked per year.
pub fn periods(kind: ReportKind, from: i32, to: i32) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for year in from..=to {
        if is_quarterly(kind) {
            out.extend((1..=4).filter_map(|q| baostock::report::quarter_end(year, q)));
        } else {
            out.extend(NaiveDate::from_ymd_opt(year, 12, 31));
        }
    }
    out
}

/// The first day of the period that ends on `period`.
pub fn period_start(kind: ReportKind, period: NaiveDate) -> NaiveDate {
    let months = if is_quarterly(kind) { 2 } else { 11 };
    period
        .with_day(1)
        .and_then(|d| d.checked_sub_months(Months::new(months)))
        .unwrap_or(period)
}

/// The last day an empty answer for the period may still mean "not published yet": the legal
/// deadline of a quarter's report (Q1 30 April, H1 31 August, Q3 31 October, the annual report
/// 30 April of the next year); the period's end for the kinds asked per year (their query
/// selects by publication within the year).
pub fn deadline(kind: ReportKind, period: NaiveDate) -> NaiveDate {
    if !is_quarterly(kind) {
        return period;
    }
    let (y, m, d) = match period.month() {
        3 => (period.year(), 4, 30),
        6 => (period.year(), 8, 31),
        9 => (period.year(), 10, 31),
        _ => (period.year() + 1, 4, 30),
    };
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(period)
}

/// Whether an answer asked on China day `asked` is final: it had rows, or it came after the
/// deadline's reports were published (the server publishes a day's reports the next day).
pub fn is_final(kind: ReportKind, period: NaiveDate, rows: usize, asked: NaiveDate) -> bool {
    rows > 0
        || asked
            > deadline(kind, period)
                .checked_add_days(Days::new(1))
                .unwrap_or(NaiveDate::MAX)
}

/// The query of a code's period: the quarter's report; the express or forecast reports
/// published in the year; the dividends whose plan was announced in the year.
pub fn query(code: &str, kind: ReportKind, period: NaiveDate) -> ReportQuery {
    let code = code.to_owned();
    match kind.quarterly() {
        Some(q) => ReportQuery::Quarter {
            kind: q,
            code,
            year: period.year(),
            quarter: baostock::report::quarter_of(period).1,
        },
        None => {
            let start = period_start(kind, period);
            match kind {
                ReportKind::Express => ReportQuery::Published {
                    kind: Published::Express,
                    code,
                    start,
                    end: period,
                },
                ReportKind::Forecast => ReportQuery::Published {
                    kind: Published::Forecast,
                    code,
                    start,
                    end: period,
                },
                _ => ReportQuery::Dividend {
                    code,
                    year: period.year(),
                    year_type: DividendYear::Report,
                },
            }
        }
    }
}

/// Whether a code listed on `ipo` and delisted on `out` (if it was) reported the period that
/// ends on `period`, as of China day `today`: the period ended (a year's reports may come
/// while it runs, so a year counts from its first day), it was listed by its end, and still
/// listed when it began.
pub fn reported(kind: ReportKind, period: NaiveDate, ipo: NaiveDate, out: Option<NaiveDate>, today: NaiveDate) -> bool {
    let start = period_start(kind, period);
    let due = if is_quarterly(kind) {
        period < today
    } else {
        start <= today
    };
    due && ipo <= period && out.is_none_or(|o| start < o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_are_quarter_ends_or_year_ends() {
        assert_eq!(
            periods(ReportKind::Profit, 2023, 2023),
            [d(2023, 3, 31), d(2023, 6, 30), d(2023, 9, 30), d(2023, 12, 31)]
        );
        assert_eq!(
            periods(ReportKind::Dividend, 2022, 2023),
            [d(2022, 12, 31), d(2023, 12, 31)]
        );
        assert_eq!(period_start(ReportKind::Growth, d(2023, 6, 30)), d(2023, 4, 1));
        assert_eq!(period_start(ReportKind::Express, d(2023, 12, 31)), d(2023, 1, 1));
    }

    #[test]
    fn deadlines_are_the_legal_ones_and_empty_is_final_only_after_them() {
        let cases = [
            (d(2023, 3, 31), d(2023, 4, 30)),
            (d(2023, 6, 30), d(2023, 8, 31)),
            (d(2023, 9, 30), d(2023, 10, 31)),
            (d(2023, 12, 31), d(2024, 4, 30)),
        ];
        for (period, due) in cases {
            assert_eq!(deadline(ReportKind::Profit, period), due);
            // Published the day after the deadline at 01:30: asked that day it may still come.
            assert!(!is_final(ReportKind::Profit, period, 0, due.succ_opt().unwrap()));
            assert!(is_final(ReportKind::Profit, period, 0, due + Days::new(2)));
            assert!(is_final(ReportKind::Profit, period, 1, period));
        }
        assert_eq!(deadline(ReportKind::Dividend, d(2023, 12, 31)), d(2023, 12, 31));
        assert!(!is_final(ReportKind::Express, d(2023, 12, 31), 0, d(2023, 7, 1)));
        assert!(is_final(ReportKind::Express, d(2023, 12, 31), 0, d(2024, 1, 2)));
    }

    #[test]
    fn a_period_is_asked_only_when_the_code_could_have_reported_it() {
        let today = d(2024, 5, 10);
        let ipo = d(2023, 5, 15);
        // Before the listing's quarter, no; the quarter it listed in, yes.
        assert!(!reported(ReportKind::Profit, d(2023, 3, 31), ipo, None, today));
        assert!(reported(ReportKind::Profit, d(2023, 6, 30), ipo, None, today));
        // A quarter not over is not asked; a year that has begun is.
        assert!(!reported(ReportKind::Profit, d(2024, 6, 30), ipo, None, today));
        assert!(reported(ReportKind::Dividend, d(2024, 12, 31), ipo, None, today));
        // Delisted on 2024-01-10: nothing of a period that began after it.
        let out = Some(d(2024, 1, 10));
        assert!(reported(ReportKind::Profit, d(2023, 12, 31), ipo, out, today));
        assert!(reported(ReportKind::Profit, d(2024, 3, 31), ipo, out, today));
        assert!(!reported(ReportKind::Profit, d(2024, 6, 30), ipo, out, d(2024, 12, 1)));
    }

    #[test]
    fn queries_ask_the_period() {
        let q = query("sh.600000", ReportKind::CashFlow, d(2023, 6, 30));
        assert_eq!(q.kind(), ReportKind::CashFlow);
        assert_eq!(q.params(), ["sh.600000", "2023", "2"]);
        let q = query("sh.600000", ReportKind::Forecast, d(2023, 12, 31));
        assert_eq!(q.params(), ["sh.600000", "2023-01-01", "2023-12-31"]);
        let q = query("sh.600000", ReportKind::Dividend, d(2023, 12, 31));
        assert_eq!(q.params(), ["sh.600000", "2023", "report"]);
        assert_eq!(JOB_KINDS.len(), 9);
    }
}
