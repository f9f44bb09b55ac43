//! Fundamentals jobs as users see them: `backfill_fundamentals()` and `plan_fundamentals()`.
//! The arguments are checked, then the units planned code by code: a request for each code,
//! report kind and period the code could have reported (listed by the period's end, not
//! delisted before it began, the period over, or begun for the kinds asked per year) whose
//! last answer is not final (with `force`, final ones too: restatements); the worker runs them
//! like a backfill's.

use std::collections::BTreeMap;

use baostock::report::ReportKind;
use chrono::{Datelike, NaiveDate};
use pg_baostock_core::plan::{estimate_reports, Costs, Estimate, ASSUMED_LATENCY_S};
use pg_baostock_core::reports::{self, JOB_KINDS};
use pg_baostock_core::states::JobKind;
use pg_baostock_core::Unit;
use serde_json::json;

use super::jobs::{
    check_code_shapes, check_known_codes, check_worker_can_run, learn_server_clock_for_plan, worker_sessions,
};
use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::store;
use crate::store::jobs::{self as q, JobArgs};
use crate::store::reports::{final_checks, not_stocks, stock_listings, Listing};

/// Codes planned together (their final checks read at once).
const CODES_A_CHUNK: usize = 500;

/// `backfill_fundamentals()`'s arguments, NULLs checked.
pub struct FundamentalsArgs {
    pub start_year: i32,
    pub end_year: Option<i32>,
    pub codes: Option<Vec<String>>,
    pub kinds: Option<Vec<String>>,
    /// Asks again the periods whose answer is final (a restatement comes as a later pubDate).
    pub force: bool,
}

/// Checked arguments and the stocks a plan covers.
struct Scope {
    from: i32,
    to: i32,
    kinds: Vec<ReportKind>,
    listings: Vec<Listing>,
    today: NaiveDate,
    force: bool,
}

/// A fundamentals plan: its rows (a row a kind, then the total) and the job's summary.
pub struct FundamentalsPlan {
    pub estimate: Estimate,
    pub summary: serde_json::Value,
}

fn invalid(message: String, hint: &str) -> SyncError {
    SyncError::InvalidArgument {
        message,
        hint: Some(hint.into()),
        null: false,
    }
}

/// Checks the arguments and finds the stocks, by the server's China day (what it has
/// published is by its clock, as the last login reply showed it).
fn scope(args: &FundamentalsArgs) -> SyncResult<Scope> {
    let today = store::server_now()?.date();
    let this_year = today.year();
    let from = args.start_year;
    let to = args.end_year.unwrap_or(this_year);
    let years_hint = format!("Years run from 1990 to this year ({this_year}), start_year first.");
    if !(1990..=this_year).contains(&from) || !(1990..=this_year).contains(&to) {
        return Err(invalid(
            format!("the years {from}..{to} are not between 1990 and {this_year}"),
            &years_hint,
        ));
    }
    if from > to {
        return Err(invalid(
            format!("start_year {from} is after end_year {to}"),
            &years_hint,
        ));
    }
    let kinds_hint =
        "Kinds are profit, operation, growth, balance, cash_flow, dupont, express, forecast and dividend (NULL: all).";
    let kinds = match &args.kinds {
        None => JOB_KINDS.to_vec(),
        Some(names) if names.is_empty() => return Err(invalid("kinds is an empty array".into(), kinds_hint)),
        Some(names) => {
            let mut kinds = Vec::new();
            for name in names {
                match ReportKind::from_name(name).filter(|k| JOB_KINDS.contains(k)) {
                    Some(k) if !kinds.contains(&k) => kinds.push(k),
                    Some(_) => {}
                    None => return Err(invalid(format!("unknown report kind {name:?}"), kinds_hint)),
                }
            }
            kinds
        }
    };
    if let Some(codes) = &args.codes {
        check_code_shapes(codes, "every stock")?;
    }
    super::reference::ensure_securities()?;
    if let Some(codes) = &args.codes {
        check_known_codes(codes)?;
        let others = not_stocks(codes)?;
        if !others.is_empty() {
            return Err(invalid(
                format!("only stocks report: {} are not stocks", others.join(", ")),
                "Indices and ETFs have no reports; leave them out.",
            ));
        }
    }
    let first = NaiveDate::from_ymd_opt(from, 1, 1).unwrap_or(today);
    let last = NaiveDate::from_ymd_opt(to, 12, 31).unwrap_or(today).min(today);
    Ok(Scope {
        from,
        to,
        kinds,
        listings: stock_listings(args.codes.as_deref(), first, last)?,
        today,
        force: args.force,
    })
}

/// Hands the units of the scope to `f`, a chunk of codes at a time, in each chunk kind by
/// kind and period by period.
fn each_chunk(s: &Scope, mut f: impl FnMut(Vec<Unit>) -> SyncResult<()>) -> SyncResult<()> {
    for chunk in s.listings.chunks(CODES_A_CHUNK) {
        let codes: Vec<String> = chunk.iter().map(|l| l.0.clone()).collect();
        let finals = if s.force {
            Default::default()
        } else {
            final_checks(&codes)?
        };
        let mut units = Vec::new();
        for &kind in &s.kinds {
            for period in reports::periods(kind, s.from, s.to) {
                for (code, ipo, out) in chunk {
                    if reports::reported(kind, period, *ipo, *out, s.today)
                        && !finals.contains(&(code.clone(), kind.name().to_owned(), period))
                    {
                        units.push(Unit::Report {
                            code: code.clone(),
                            kind,
                            period,
                        });
                    }
                }
            }
        }
        f(units)?;
    }
    Ok(())
}

fn plan_scope(s: &Scope) -> SyncResult<FundamentalsPlan> {
    let mut per_kind: BTreeMap<usize, (i64, NaiveDate, NaiveDate)> = BTreeMap::new();
    each_chunk(s, |units| {
        for u in units {
            if let Unit::Report { kind, period, .. } = u {
                let order = s.kinds.iter().position(|k| *k == kind).unwrap_or(0);
                let start = reports::period_start(kind, period);
                let e = per_kind.entry(order).or_insert((0, start, period));
                e.0 += 1;
                e.1 = e.1.min(start);
                e.2 = e.2.max(period);
            }
        }
        Ok(())
    })?;
    let rows: Vec<(&'static str, i64, NaiveDate, NaiveDate)> = per_kind
        .iter()
        .map(|(&i, &(n, first, last))| (s.kinds[i].name(), n, first, last))
        .collect();
    let costs = Costs {
        sessions: worker_sessions(),
        per_page: guc::client_config().per_page,
        budget: guc::daily_request_budget(),
        listed: 0.0,
    };
    let estimate = estimate_reports(&rows, &costs);
    let total = estimate.rows.last().cloned();
    let summary = json!({
        "units": rows.iter().map(|r| (r.0, r.1)).collect::<BTreeMap<_, _>>(),
        "years": [s.from, s.to],
        "codes": s.listings.len(),
        "est_requests": estimate.requests,
        "est_seconds": estimate.seconds,
        "est_days": total.and_then(|t| t.est_days),
        "assumed": {"latency_s": ASSUMED_LATENCY_S, "sessions": costs.sessions as f64, "daily_request_budget": costs.budget},
    });
    Ok(FundamentalsPlan { estimate, summary })
}

/// What `backfill_fundamentals()` with the same arguments would ask, without queueing.
pub fn plan(args: &FundamentalsArgs) -> SyncResult<FundamentalsPlan> {
    plan_scope(&scope(args)?)
}

/// Plans and queues a fundamentals job; returns its id. A plan with nothing to ask is
/// recorded as done. Says, before it starts, how many China days the budget makes it take.
pub fn backfill(args: &FundamentalsArgs) -> SyncResult<i64> {
    // The server's clock learnt first: a period is asked only once it is over by that clock.
    learn_server_clock_for_plan();
    let s = scope(args)?;
    check_worker_can_run("backfill_fundamentals")?;
    let plan = plan_scope(&s)?;
    let start = NaiveDate::from_ymd_opt(s.from, 1, 1).unwrap_or(s.today);
    let end = NaiveDate::from_ymd_opt(s.to, 12, 31).unwrap_or(s.today);
    let job_args = JobArgs {
        kind: JobKind::Fundamentals,
        start,
        end,
        codes: args.codes.as_deref(),
        frequency: "d",
        force: s.force,
    };
    let job_id = q::insert_job(
        &job_args,
        &plan.summary,
        plan.estimate.requests,
        plan.estimate.seconds,
        &[],
    )?;
    let mut next = 0i32;
    each_chunk(&s, |units| {
        q::insert_units(job_id, next, &units)?;
        next += i32::try_from(units.len()).unwrap_or(i32::MAX);
        Ok(())
    })?;
    let units = i64::from(next);
    if units == 0 {
        q::finish_empty_job(job_id)?;
        pgrx::notice!(
            "job {job_id}: every report of {}..{} the codes could have filed has a final answer already; nothing to ask",
            s.from,
            s.to
        );
    } else {
        let days = plan
            .estimate
            .rows
            .last()
            .and_then(|t| t.est_days)
            .map(|d| {
                format!(
                    ", {d} China days under the daily request budget of {}",
                    guc::daily_request_budget()
                )
            })
            .unwrap_or_default();
        pgrx::notice!(
            "job {job_id}: {units} reports of {} codes, about {} requests and {:.0} s{days}; SELECT baostock.wait({job_id}) follows it",
            s.listings.len(),
            plan.estimate.requests,
            plan.estimate.seconds
        );
    }
    Ok(job_id)
}

/// The report units the evening's tracking job adds: for each of `codes` (the tracked ones) and
/// each kind a fundamentals job asked of it before, the periods the code could have reported
/// from the first asked, after that kind's newest final answer, that have none yet; the ones asked longest ago (or
/// never) first, at most `baostock.report_pickup`. A day's reports are published the next day
/// at 01:30, so the evening after they come out it asks them.
pub fn pickup(codes: &[String]) -> SyncResult<Vec<Unit>> {
    let limit = guc::report_pickup();
    if limit == 0 || codes.is_empty() {
        return Ok(Vec::new());
    }
    let today = store::server_now()?.date();
    let followed = store::reports::followed(codes)?;
    if followed.is_empty() {
        return Ok(Vec::new());
    }
    let listings: BTreeMap<String, Listing> = stock_listings(Some(codes), NaiveDate::MIN, today)?
        .into_iter()
        .map(|l| (l.0.clone(), l))
        .collect();
    let asked = store::reports::open_checks(codes)?;
    let mut candidates = Vec::new();
    for (code, kind, first_asked, newest_final) in followed {
        let Some((_, ipo, out)) = listings.get(&code) else {
            continue;
        };
        let from = newest_final.unwrap_or(first_asked).max(first_asked);
        for period in reports::periods(kind, from.year(), today.year()) {
            if period < first_asked
                || newest_final.is_some_and(|f| period <= f)
                || !reports::reported(kind, period, *ipo, *out, today)
            {
                continue;
            }
            let last_asked = asked.get(&(code.clone(), kind.name().to_owned(), period)).copied();
            candidates.push((last_asked, period, code.clone(), kind));
        }
    }
    // Never asked first, then the ones asked longest ago; older periods before newer.
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    Ok(candidates
        .into_iter()
        .take(limit)
        .map(|(_, period, code, kind)| Unit::Report { code, kind, period })
        .collect())
}
