//! Fetching and applying units: `fetch` asks the server and touches no SPI (it runs on the
//! network thread); `apply` validates the answer and writes its rows and its data checkpoint
//! (`synced_days`, `synced_ranges`, `report_checks`; an index list is its own) in the caller's transaction, where the caller adds its
//! own record (a run, or the unit's row of a job).

use baostock::client::Pool;
use baostock::reply::{AdjustFactor, IndexConstituent};
use baostock::report::{Report, ReportKind};
use chrono::{NaiveDate, NaiveDateTime};
use pg_baostock_core::bars::{MinuteRow, PeriodRow};
use pg_baostock_core::publication::{self, Kind};
use pg_baostock_core::{membership, reports};
use pg_baostock_core::{Counts, Status, Unit};

use crate::error::{SyncError, SyncResult};
use crate::net;
use crate::shmem;
use crate::store;
use crate::store::bars;

/// Share of the stocks (and of the ETFs) `baostock.securities` lists on a day that its 98
/// (and 9A) answer must have for the day to count as complete.
pub const MIN_SHARE: f64 = 0.9;

/// A unit's answer, in memory until it is applied, with the server's China time when it was
/// asked for (what was published then bounds what the answer covers).
pub struct Fetched {
    pub asked_at: NaiveDateTime,
    pub rows: Rows,
}

pub enum Rows {
    Day(net::Day),
    Bars(net::Bars),
    Factors(Vec<AdjustFactor>),
    Reports(Vec<Report>),
    Lists(Vec<IndexConstituent>),
}

/// Asks the server for what `unit` needs; no SPI (it runs on the network thread).
pub async fn fetch(unit: &Unit, pool: &Pool) -> SyncResult<Fetched> {
    let started = std::time::Instant::now();
    let rows = match unit {
        Unit::Day(d) => Rows::Day(net::day(pool, *d).await?),
        Unit::Range {
            code,
            frequency,
            start,
            end,
        } => Rows::Bars(net::history(pool, code, *start, *end, *frequency).await?),
        Unit::Factors { code, start, end } => Rows::Factors(net::factor_history(pool, code, *start, *end).await?),
        Unit::Report { code, kind, period } => {
            Rows::Reports(net::reports(pool, reports::query(code, *kind, *period)).await?)
        }
        Unit::Lists { index, date } => Rows::Lists(net::constituents(pool, *index, Some(*date)).await?),
    };
    // The server's time now (a login on the way may have just told it) less the time taken.
    let took = chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
    Ok(Fetched {
        asked_at: shmem::server_now() - took,
        rows,
    })
}

/// Validates `unit`'s answer and writes it with the data checkpoint in the current transaction.
pub fn apply(unit: &Unit, fetched: Fetched, job_id: Option<i64>, batch: usize) -> SyncResult<(Status, Counts)> {
    store::with_citus_connections(|| apply_fetched(unit, fetched, job_id, batch))
}

fn apply_fetched(unit: &Unit, fetched: Fetched, job_id: Option<i64>, batch: usize) -> SyncResult<(Status, Counts)> {
    let asked_at = fetched.asked_at;
    match (unit, fetched.rows) {
        (Unit::Day(day), Rows::Day(d)) => apply_day(*day, d, asked_at, job_id, batch),
        (
            Unit::Range {
                code,
                frequency,
                start,
                end,
            },
            Rows::Bars(bars),
        ) => {
            if let Some((c, d)) = bars.keys().into_iter().find(|(c, d)| c != code || d < start || d > end) {
                return Err(outside("bar", c, d, code, *start, *end));
            }
            let counts = match bars {
                net::Bars::Daily(b) => store::upsert_bars(&b, batch)?,
                net::Bars::Period(f, b) => {
                    let rows: Vec<PeriodRow> = b.into_iter().map(|b| PeriodRow::new(f, b)).collect();
                    bars::upsert_periods(f, &rows, batch)?
                }
                net::Bars::Minute(f, b) => {
                    if let Some(bar) = stray_minute(&b) {
                        return Err(outside(
                            "minute bar time",
                            &bar.code,
                            bar.time.date(),
                            code,
                            *start,
                            *end,
                        ));
                    }
                    let minutes = i16::try_from(f.minutes().unwrap_or(0)).unwrap_or(0);
                    let rows: Vec<MinuteRow> = b
                        .into_iter()
                        .map(|bar| MinuteRow {
                            frequency: minutes,
                            bar,
                        })
                        .collect();
                    bars::upsert_minutes(&rows, batch)?
                }
            };
            // Up to what the server had published when asked; a week or month not over yet is
            // fetched again later: the range covers whole periods only.
            if let Some(covered) = store::covered_end(*frequency, *end, asked_at)?.filter(|c| c >= start) {
                store::mark_range(code, frequency.code(), *start, covered, job_id)?;
            }
            Ok((Status::Ok, counts))
        }
        (Unit::Factors { code, start, end }, Rows::Factors(factors)) => {
            if let Some(f) = factors
                .iter()
                .find(|f| f.code != *code || f.operate_date < *start || f.operate_date > *end)
            {
                return Err(outside("adjust factor", &f.code, f.operate_date, code, *start, *end));
            }
            let counts = store::upsert_factors(&factors, batch)?;
            // The factors of days not yet published may still come: the history reaches as far
            // as the server had published.
            let covered = (*end).min(publication::published_through(Kind::Factors, asked_at));
            if covered >= *start {
                store::mark_range(code, "factors", *start, covered, job_id)?;
            }
            Ok((Status::Ok, counts))
        }
        (Unit::Report { code, kind, period }, Rows::Reports(rows)) => {
            apply_reports(code, *kind, *period, &rows, asked_at, job_id)
        }
        (Unit::Lists { index, date }, Rows::Lists(rows)) => {
            // The list of the date's week: dated by its Monday, never after the date.
            if let Some(r) = rows
                .iter()
                .find(|r| r.update_date > *date || r.update_date < membership::monday(*date))
            {
                return Err(outside(
                    "index list",
                    &r.code,
                    r.update_date,
                    index.method(),
                    *date,
                    *date,
                ));
            }
            let counts = store::reference::replace_constituents(*index, &rows)?;
            Ok((Status::Ok, counts))
        }
        _ => Err(SyncError::Store(
            "pg_baostock: a unit got the answer of another kind".into(),
        )),
    }
}

/// A day is complete when 98 has rows, and 98 and 9A each have at least `MIN_SHARE` of the
/// stocks and of the ETFs `baostock.securities` lists as trading that day (so an empty 9A
/// is complete only on days before the first ETF, or before the server's ETF history). It is
/// marked synced only when its factors were published when asked: before that its bars are
/// stored and the day is fetched again, so that its dividends and splits are never lost.
fn apply_day(
    day: NaiveDate,
    d: net::Day,
    asked_at: NaiveDateTime,
    job_id: Option<i64>,
    batch: usize,
) -> SyncResult<(Status, Counts)> {
    // A backfill's day and sync_date's write one after the other (sync_date holds it already).
    store::lock_day(day)?;
    if d.stocks.is_empty() {
        return Ok((Status::Empty, Counts::default()));
    }
    for (what, got, sec_type) in [("stock", d.stocks.len(), 1), ("ETF", d.etfs.len(), 5)] {
        if sec_type == 5 && day < publication::ETF_HISTORY_START {
            continue;
        }
        let listed = store::listed(day, sec_type)?;
        if (got as f64) < MIN_SHARE * listed as f64 {
            return Ok((
                Status::Incomplete(format!(
                    "the server sent {got} {what} bars for {day}, but {listed} {what}s are listed that day"
                )),
                Counts::default(),
            ));
        }
    }
    let mut bars = d.stocks;
    bars.extend(d.etfs);
    // Rows of another day would mark this one synced without its data.
    if let Some(b) = bars.iter().find(|b| b.date != day) {
        return Err(other_day("bar", &b.code, b.date, day));
    }
    if let Some(f) = d.factors.iter().find(|f| f.operate_date != day) {
        return Err(other_day("adjust factor", &f.code, f.operate_date, day));
    }
    // The day's factors first, so that its bars are adjusted by them.
    store::lock_factors_and_bars()?;
    let factor_counts = store::upsert_factors(&d.factors, batch)?;
    let bar_counts = store::upsert_bars(&bars, batch)?;
    let mut counts = bar_counts;
    counts += factor_counts;
    if publication::published_through(Kind::Factors, asked_at) < day {
        let at = publication::published_at(Kind::Factors, day);
        return Ok((
            Status::Awaiting(format!(
                "the bars of {day} are stored, but its adjust factors are published at {} China time",
                at.format("%H:%M")
            )),
            counts,
        ));
    }
    store::mark_synced(day, job_id, bar_counts.total(), factor_counts.total())?;
    Ok((Status::Ok, counts))
}

/// Writes a code's reports of a kind for a period and records the answer: final when rows
/// came or the period's disclosure deadline had passed when asked; an empty answer before it
/// is "not yet" (the unit is done, and a later plan asks again). Rows of another code, kind
/// or period are refused (a hostile or confused server must not write them).
fn apply_reports(
    code: &str,
    kind: ReportKind,
    period: NaiveDate,
    rows: &[Report],
    asked_at: NaiveDateTime,
    job_id: Option<i64>,
) -> SyncResult<(Status, Counts)> {
    if let Some(r) = rows.iter().find(|r| !report_belongs(r, code, kind, period)) {
        return Err(SyncError::Protocol {
            what: "backfill_fundamentals".into(),
            message: format!(
                "the server answered {code}'s {} of {period} with a row of {} for {}",
                kind.name(),
                crate::error::clean(r.code().unwrap_or("")),
                r.stat_date()
                    .or(r.known_date())
                    .map_or_else(|| "no date".to_owned(), |d| d.to_string())
            ),
        });
    }
    let counts = store::reports::upsert_reports(kind, rows)?;
    let is_final = reports::is_final(kind, period, rows.len(), asked_at.date());
    store::reports::check_report(code, kind, period, rows.len(), is_final, job_id)?;
    Ok((Status::Ok, counts))
}

/// Whether a report row answers a code's kind for a period: its code and kind, and its
/// period (a quarter's statDate; a publication in the year for express and forecast reports).
fn report_belongs(r: &Report, code: &str, kind: ReportKind, period: NaiveDate) -> bool {
    let in_year = |d: Option<NaiveDate>| d.is_some_and(|d| reports::period_start(kind, period) <= d && d <= period);
    r.kind == kind
        && r.code() == Some(code)
        && match kind {
            ReportKind::Express | ReportKind::Forecast => in_year(r.known_date()),
            ReportKind::Dividend => r.known_date().is_some(),
            _ => r.stat_date() == Some(period),
        }
}

/// A minute bar whose time does not lie on its day: the time picks the month partition the
/// store creates, so a hostile server could make it create one for any month.
fn stray_minute(bars: &[baostock::reply::MinuteBar]) -> Option<&baostock::reply::MinuteBar> {
    bars.iter().find(|bar| bar.time.date() != bar.date)
}

fn other_day(what: &str, code: &str, got: NaiveDate, day: NaiveDate) -> SyncError {
    SyncError::Protocol {
        what: "sync_date".into(),
        message: format!(
            "the server answered {day} with a {what} of {} for {got}",
            crate::error::clean(code)
        ),
    }
}

fn outside(what: &str, got_code: &str, got: NaiveDate, code: &str, start: NaiveDate, end: NaiveDate) -> SyncError {
    SyncError::Protocol {
        what: "backfill".into(),
        message: format!(
            "the server answered {code} {start}..{end} with a {what} of {} for {got}",
            crate::error::clean(got_code)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(date: NaiveDate, time: &str) -> baostock::reply::MinuteBar {
        baostock::reply::MinuteBar {
            date,
            time: baostock::value::parse_minute_time(time).unwrap(),
            code: "sh.600000".into(),
            open: None,
            high: None,
            low: None,
            close: None,
            volume: None,
            amount: None,
            adjustflag: None,
        }
    }

    #[test]
    fn a_minute_bar_timed_off_its_day_is_refused() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let fine = [bar(day, "20240301093500000"), bar(day, "20240301150000000")];
        assert!(stray_minute(&fine).is_none());
        let hostile = [fine[0].clone(), bar(day, "20991201093500000")];
        assert_eq!(
            stray_minute(&hostile).map(|b| b.time.date()),
            NaiveDate::from_ymd_opt(2099, 12, 1)
        );
    }

    #[test]
    fn server_text_in_errors_has_no_control_characters() {
        let day = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        for e in [
            other_day("bar", "sh.6\u{1b}[2J\n00000", day, day),
            outside("bar", "sz.0\r\n\u{7}", day, "sz.000001", day, day),
        ] {
            let text = e.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
    }
}
