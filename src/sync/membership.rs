//! Membership jobs as users see them: `backfill_membership()`. Each index's list on the first
//! Monday of every month from its first list (or a start day) to this week, skipping lists
//! stored already; where two stored lists more than a week apart differ, the worker asks the
//! list halfway between (`store::jobs::bisect_lists`) until every change lies between two
//! lists a week apart, so the stored lists give each day's members.

use baostock::StockIndex;
use chrono::{Datelike, NaiveDate};
use pg_baostock_core::membership;
use pg_baostock_core::plan::{days_under_budget, tenths, ASSUMED_LATENCY_S};
use pg_baostock_core::states::JobKind;
use pg_baostock_core::Unit;
use serde_json::json;

use super::jobs::{check_worker_can_run, learn_server_clock_for_plan, worker_sessions};
use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::store;
use crate::store::jobs::{self as q, JobArgs};
use crate::store::reference::{index_name, index_of_name};

/// Requests a changing index-year is assumed to add by bisection: two reviews a year, each
/// found in about three halvings of a month.
const BISECTIONS_A_YEAR: i64 = 6;

/// Queues a membership job for one index (`None`: every index) from `start` (`None`: each
/// index's first list); returns its id.
pub fn backfill(index: Option<&str>, start: Option<NaiveDate>) -> SyncResult<i64> {
    let indexes = match index {
        None => StockIndex::ALL.to_vec(),
        Some(name) => vec![index_of_name(name).ok_or_else(|| SyncError::InvalidArgument {
            message: format!("unknown index {name:?}"),
            hint: Some("Indices are hs300 (CSI 300), sz50 (SSE 50) and zz500 (CSI 500); NULL: all three.".into()),
            null: false,
        })?],
    };
    learn_server_clock_for_plan();
    let today = store::server_now()?.date();
    if let Some(s) = start {
        pg_baostock_core::check_day("start_date", s, today)?;
    }
    check_worker_can_run("backfill_membership")?;
    let mut units = Vec::new();
    let mut per_index = serde_json::Map::new();
    let mut index_years = 0i64;
    for index in &indexes {
        let from = start.unwrap_or(NaiveDate::MIN).max(membership::launch(*index));
        let stored = q::stored_list_dates(index_name(*index))?;
        let dates: Vec<NaiveDate> = membership::list_dates(*index, from, today)
            .into_iter()
            .filter(|d| !stored.contains(d))
            .collect();
        per_index.insert(index_name(*index).into(), json!(dates.len()));
        if from <= today {
            index_years += i64::from(today.year() - from.year() + 1);
        }
        units.extend(dates.into_iter().map(|date| Unit::Lists { index: *index, date }));
    }
    let first = indexes
        .iter()
        .map(|i| start.unwrap_or(NaiveDate::MIN).max(membership::launch(*i)))
        .min()
        .unwrap_or(today)
        .min(today);
    let requests = units.len() as i64 + BISECTIONS_A_YEAR * index_years + 2 * worker_sessions() as i64;
    let seconds = tenths(requests as f64 * ASSUMED_LATENCY_S / worker_sessions() as f64);
    let summary = json!({
        "units": per_index,
        "est_requests": requests,
        "est_seconds": seconds,
        "est_days": days_under_budget(requests, guc::daily_request_budget()),
        "assumed": {"bisections_a_year": BISECTIONS_A_YEAR, "sessions": worker_sessions()},
    });
    let args = JobArgs {
        kind: JobKind::Membership,
        start: first,
        end: today,
        codes: None,
        frequency: "d",
        force: false,
    };
    // Queued even with no list to ask: the worker still bisects the stored lists.
    let job_id = q::insert_job(&args, &summary, requests, seconds, &units)?;
    pgrx::notice!(
        "job {job_id}: {} lists (a Monday a month from {first} to {today}), then the lists between those that differ; about {requests} requests and {seconds:.0} s; SELECT baostock.wait({job_id}) follows it",
        units.len()
    );
    Ok(job_id)
}
