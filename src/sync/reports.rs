//! The reports as syncs: the macro series (deposit and loan rates, reserve ratios, money
//! supply), each asked over its whole history in one request a series.

use baostock::report::{Rates, Report, ReportKind, ReportQuery, ReserveDate, YearMonth};
use chrono::{Datelike, NaiveDate};
use pg_baostock_core::{Counts, FIRST_TRADING_DAY};
use serde_json::json;

use super::{one_session, Outcome};
use crate::error::{SyncError, SyncResult};
use crate::net;
use crate::store::{self, reports};

/// The first year the money-supply queries ask from.
const MONEY_START: i32 = 1990;

/// The macro series' queries up to `today`: the rates from the server's first day (it refuses
/// an earlier date, 10004013), money supply from [`MONEY_START`].
fn macro_queries(today: NaiveDate) -> Vec<ReportQuery> {
    let start = Some(FIRST_TRADING_DAY);
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
                year: MONEY_START,
                month: 1,
            }),
            end: Some(YearMonth::of(today)),
        },
        ReportQuery::MoneySupplyYear {
            start: Some(MONEY_START),
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
    Ok(super::per_item(outcome, per_kind))
}
