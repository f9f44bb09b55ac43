//! The network side of a sync: runs the async client on a private current-thread runtime in
//! the backend's own thread, and gives up within 100 ms when the statement is cancelled.
//! Nothing here touches SPI; results come back as codec types.

use std::future::Future;
use std::time::Duration;

use baostock::client::Pool;
use baostock::reply::{AdjustFactor, DailyBar, Data, Reply, StockBasic, TradeDate};
use baostock::{Page, Request};
use chrono::NaiveDate;
use pgrx::pg_sys;

use crate::error::{SyncError, SyncResult};
use crate::guc;

/// How often a network wait looks for a pending cancel.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);

/// Runs `fut` to completion unless the backend gets a cancel or timeout interrupt first.
pub fn block_on<F: Future>(fut: F) -> SyncResult<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| SyncError::Config(format!("cannot start the network runtime: {e}")))?;
    rt.block_on(async {
        tokio::pin!(fut);
        let mut tick = tokio::time::interval(INTERRUPT_POLL);
        loop {
            tokio::select! {
                out = &mut fut => return Ok(out),
                _ = tick.tick() => {
                    // Only a cancel or a termination ends the wait; other interrupts (barriers,
                    // connection checks) wait for the next CHECK_FOR_INTERRUPTS.
                    // SAFETY: plain reads of flags the signal handlers set.
                    if unsafe { pg_sys::QueryCancelPending != 0 || pg_sys::ProcDiePending != 0 } {
                        return Err(SyncError::Interrupted);
                    }
                }
            }
        }
    })
}

/// A pool configured from the `baostock.*` settings.
pub fn pool(max_sessions: Option<usize>) -> SyncResult<Pool> {
    let mut cfg = guc::client_config();
    if cfg.client_version.len() != 7 || !cfg.client_version.is_ascii() {
        return Err(SyncError::Config(format!(
            "baostock.client_version must be 7 ASCII characters, not {:?}",
            cfg.client_version
        )));
    }
    if cfg.host.is_empty() {
        return Err(SyncError::Config("baostock.host is empty".into()));
    }
    if let Some(n) = max_sessions {
        cfg.max_sessions = cfg.max_sessions.min(n);
    }
    Ok(Pool::new(cfg))
}

/// What a pool did, for the run history.
#[derive(Clone, Copy, Debug, Default)]
pub struct Traffic {
    pub requests: i64,
    pub bytes: i64,
}

impl Traffic {
    pub fn of(pool: &Pool) -> Traffic {
        Traffic {
            requests: i64::try_from(pool.requests()).unwrap_or(i64::MAX),
            bytes: i64::try_from(pool.bytes_in()).unwrap_or(i64::MAX),
        }
    }
}

/// Everything the server has for one trading day.
pub struct Day {
    pub stocks: Vec<DailyBar>,
    pub etfs: Vec<DailyBar>,
    pub factors: Vec<AdjustFactor>,
}

/// The rows `extract` takes out of an answer; any other kind of rows is a protocol error.
fn rows_of<T>(data: Data, what: &str, extract: fn(Data) -> Option<Vec<T>>) -> SyncResult<Vec<T>> {
    let found = data.kind();
    extract(data).ok_or_else(|| SyncError::Protocol {
        what: what.into(),
        message: format!("unexpected {found}"),
    })
}

fn daily_bars(d: Data) -> Option<Vec<DailyBar>> {
    match d {
        Data::DailyBars(v) => Some(v),
        _ => None,
    }
}

fn adjust_factors(d: Data) -> Option<Vec<AdjustFactor>> {
    match d {
        Data::AdjustFactors(v) => Some(v),
        _ => None,
    }
}

/// One unpaged query's rows.
async fn one<T>(pool: &Pool, req: Request, extract: fn(Data) -> Option<Vec<T>>) -> SyncResult<Vec<T>> {
    let what = req.method().to_owned();
    match pool.request(&req).await {
        Ok(Reply::Table(t)) => rows_of(t.data, &what, extract),
        Ok(other) => Err(SyncError::Protocol {
            what,
            message: format!("unexpected reply {other:?}"),
        }),
        Err(e) => Err(SyncError::client(what, e)),
    }
}

/// 98 + 9A + 9C for one day over one session (login and logout included: five requests).
pub fn fetch_day(pool: &Pool, date: NaiveDate) -> SyncResult<Day> {
    let user = String::new;
    block_on(closing(pool, async {
        let stocks = one(pool, Request::DailyAStock { user: user(), date }, daily_bars).await?;
        // An empty stock answer means the day is not published yet: don't ask for the rest.
        if stocks.is_empty() {
            return Ok(Day {
                stocks,
                etfs: Vec::new(),
                factors: Vec::new(),
            });
        }
        let etfs = one(pool, Request::DailyEtf { user: user(), date }, daily_bars).await?;
        let factors = one(pool, Request::DailyAdjustFactor { user: user(), date }, adjust_factors).await?;
        Ok(Day { stocks, etfs, factors })
    }))?
}

/// Every page of a paged query, as the rows `extract` takes out of each page.
fn fetch_pages<T>(pool: &Pool, req: Request, what: &str, extract: fn(Data) -> Option<Vec<T>>) -> SyncResult<Vec<T>> {
    let pages = block_on(closing(pool, pool.query_all(&req)))?.map_err(|e| SyncError::client(what, e))?;
    let mut rows = Vec::new();
    for page in pages {
        rows.extend(rows_of(page.data, what, extract)?);
    }
    Ok(rows)
}

/// The trade calendar between two days, every page.
pub fn fetch_calendar(pool: &Pool, start: NaiveDate, end: NaiveDate) -> SyncResult<Vec<TradeDate>> {
    let page = Page::first(pool.config().per_page);
    let req = Request::TradeDates {
        user: String::new(),
        page,
        start,
        end,
    };
    fetch_pages(pool, req, "query_trade_dates", |d| match d {
        Data::TradeDates(v) => Some(v),
        _ => None,
    })
}

/// Basic data of every security.
pub fn fetch_securities(pool: &Pool) -> SyncResult<Vec<StockBasic>> {
    let page = Page::first(pool.config().per_page);
    let req = Request::StockBasic {
        user: String::new(),
        page,
        code: String::new(),
        code_name: String::new(),
    };
    fetch_pages(pool, req, "query_stock_basic", |d| match d {
        Data::StockBasic(v) => Some(v),
        _ => None,
    })
}

/// Runs `work`, then logs every session out, on the same runtime as the sessions' sockets.
async fn closing<T>(pool: &Pool, work: impl Future<Output = T>) -> T {
    let out = work.await;
    pool.close().await;
    out
}

/// Whether an error came from a cancel rather than from the server.
pub fn is_interrupt(e: &SyncError) -> bool {
    matches!(e, SyncError::Interrupted)
}

/// Re-raises a pending cancel as Postgres' own error (57014), if there is one.
pub fn check_for_interrupts() {
    pgrx::check_for_interrupts!();
}
