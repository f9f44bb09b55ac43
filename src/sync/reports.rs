//! The reports as syncs: the macro series (deposit and loan rates, reserve ratios, money
//! supply), each asked over its whole history in one request a series.

use baostock::report::{Rates, Report, ReportKind, ReportQuery, ReserveDate, YearMonth};
use chrono::{Datelike, NaiveDate};
use pg_baostock_core::Counts;
use serde_json::json;

use super::{one_session, Outcome};
use crate::error::{SyncError, SyncResult};
use crate::net;
use crate::store::{self, reports};

/// The first day the macro queries ask from (before any series starts).
const MACRO_START: (i32, u32, u32) = (1990, 1, 1);

/// The macro series' queries, from [`MACRO_START`] to `today`.
fn macro_queries(today: NaiveDate) -> Vec<ReportQuery> {
    let start = NaiveDate::from_ymd_opt(MACRO_START.0, MACRO_START.1, MACRO_START.2);
    let end = Some(today);
    vec![
        ReportQuery::Rates {
            kind: Rates::Deposit,
            start,
            end,
        },
        ReportQuery::Rates {
            kind: Rates::Loan,
            start,
            end,
        },
        ReportQuery::ReserveRatio {
            start,
            end,
            by: ReserveDate::Announced,
        },
        ReportQuery::MoneySupplyMonth {
            start: Some(YearMonth {
                year: MACRO_START.0,
                month: 1,
            }),
            end: Some(YearMonth::of(today)),
        },
        ReportQuery::MoneySupplyYear {
            start: Some(MACRO_START.0),
            end: Some(today.year()),
        },
    ]
}

/// Fetches the five macro series whole and writes them (one run; a result row a series).
pub fn sync_macro() -> SyncResult<Vec<(&'static str, Outcome)>> {
    let today = store::china_today()?;
    let queries = macro_queries(today);
    let fetch = |pool: &baostock::client::Pool| {
        net::block_on(net::closing(pool, async {
            let mut series = Vec::new();
            for q in queries.clone() {
                let kind = q.kind();
                series.push((kind, net::reports(pool, q).await?));
            }
            Ok::<_, SyncError>(series)
        }))?
    };
    let write = |series: Vec<(ReportKind, Vec<Report>)>| {
        let mut per_kind = Vec::new();
        let mut total = Counts::default();
        for (kind, rows) in &series {
            if let Some(r) = rows.iter().find(|r| r.kind != *kind) {
                return Err(SyncError::Protocol {
                    what: "sync_macro".into(),
                    message: format!("the server answered {} with rows of {}", kind.method(), r.kind.method()),
                });
            }
            let counts = reports::upsert_reports(*kind, rows)?;
            total += counts;
            per_kind.push((kind.name(), counts));
        }
        Ok((total, per_kind))
    };
    let (outcome, per_kind) = one_session("sync_macro", json!({}), None, fetch, write)?;
    Ok(per_kind
        .into_iter()
        .map(|(name, counts)| {
            (
                name,
                Outcome {
                    counts,
                    ..outcome.clone()
                },
            )
        })
        .collect())
}
