//! The network side of a sync: runs the async client on a private current-thread runtime in
//! the backend's own thread, and gives up within 100 ms when the statement is cancelled.
//! Nothing here touches SPI; results come back as codec types.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use baostock::client::Pool;
use baostock::reply::{
    AdjustFactor, DailyBar, Data, IndexConstituent, MinuteBar, PeriodBar, Reply, StockBasic, StockIndustry, TradeDate,
    WrongRows,
};
use baostock::report::{Report, ReportQuery};
use baostock::request::HistoryKQuery;
use baostock::value::{AdjustFlag, Frequency};
use baostock::{Page, Request, StockIndex};
use chrono::NaiveDate;
use pg_baostock_core::plan::budget_reserve;

use crate::error::{SyncError, SyncResult};
use crate::guc;
use crate::latch;
use crate::shmem::ClusterGate;

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
                    if latch::interrupt_pending() {
                        return Err(SyncError::Interrupted);
                    }
                }
            }
        }
    })
}

/// Who a pool is for: the worker's backfills stop short of the budget, so `sync_date` can
/// still run the day it is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    Full,
    LessReserve,
}

/// The most requests a pool of `who` may send a China day under the cluster's `budget` (0: no
/// budget, `None`). A budget all reserve leaves backfills `Some(0)`: nothing, never unlimited.
pub fn request_limit(budget: u64, who: Budget) -> Option<u64> {
    match (budget, who) {
        (0, _) => None,
        (b, Budget::Full) => Some(b),
        (b, Budget::LessReserve) => Some(b - budget_reserve(b)),
    }
}

/// Reads `user`, `password` and `api_key` lines (`key=value`) from the credentials file into
/// `cfg`. The file must be a regular file of the server's own user, unreadable by others;
/// errors name the file and the line number, never a value.
fn read_credentials(path: &str, cfg: &mut baostock::client::Config) -> SyncResult<()> {
    use std::os::unix::fs::MetadataExt;
    // The path is the superuser's setting: errors (in runs, which PUBLIC reads) name the setting.
    let bad = |why: String| SyncError::Config(format!("baostock.credentials_file: {why}"));
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() {
        return Err(bad("not a regular file".into()));
    }
    if meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(bad(format!(
            "must belong to the server's user and be readable by it alone (chmod 600); its mode is {:o}",
            meta.mode() & 0o777
        )));
    }
    if meta.len() > 64 * 1024 {
        return Err(bad("larger than 64 kB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(bad(format!("line {} is not key=value", n + 1)));
        };
        let value = value.trim().to_owned();
        match key.trim() {
            "user" => cfg.user = value,
            "password" => cfg.password = value,
            "api_key" => cfg.api_key = (!value.is_empty()).then_some(value),
            // The line may be a secret pasted whole: say where it is, never what it says.
            _ => {
                return Err(bad(format!(
                    "line {} has an unknown key (the keys are user, password and api_key)",
                    n + 1
                )))
            }
        }
    }
    Ok(())
}

/// The client configuration of the settings, credentials file included, checked.
pub fn config() -> SyncResult<baostock::client::Config> {
    let mut cfg = guc::client_config();
    if let Some(path) = guc::credentials_file() {
        read_credentials(&path, &mut cfg)?;
    }
    cfg.check()
        .map_err(|e| SyncError::Config(format!("baostock settings: {e}")))?;
    if cfg.client_version.len() != 7 || !cfg.client_version.is_ascii() {
        return Err(SyncError::Config(format!(
            "baostock.client_version must be 7 ASCII characters, not {:?}",
            cfg.client_version
        )));
    }
    if cfg.host.is_empty() {
        return Err(SyncError::Config("baostock.host is empty".into()));
    }
    Ok(cfg)
}

/// A pool configured from the `baostock.*` settings.
pub fn pool(max_sessions: Option<usize>, budget: Budget) -> SyncResult<Pool> {
    let mut cfg = config()?;
    // The setting caps the whole cluster; a caller may ask for fewer sessions of its own.
    let full = guc::daily_request_budget();
    cfg.gate = Some(Arc::new(ClusterGate {
        max: cfg.max_sessions,
        budget: request_limit(full, budget),
        blacklist_pause_ms: guc::blacklist_pause_ms(),
    }));
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

impl std::ops::Add for Traffic {
    type Output = Traffic;
    fn add(self, o: Traffic) -> Traffic {
        Traffic {
            requests: self.requests + o.requests,
            bytes: self.bytes + o.bytes,
        }
    }
}

impl std::ops::Sub for Traffic {
    type Output = Traffic;
    fn sub(self, o: Traffic) -> Traffic {
        Traffic {
            requests: self.requests - o.requests,
            bytes: self.bytes - o.bytes,
        }
    }
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

fn wrong_rows(what: &str, e: WrongRows) -> SyncError {
    SyncError::Protocol {
        what: what.into(),
        message: e.to_string(),
    }
}

/// One unpaged query's rows, of the kind the caller asks for.
async fn one<T>(pool: &Pool, req: Request) -> SyncResult<Vec<T>>
where
    Vec<T>: TryFrom<Data, Error = WrongRows>,
{
    let what = req.method().to_owned();
    match pool.request(&req).await {
        Ok(Reply::Table(t)) => Vec::<T>::try_from(t.data).map_err(|e| wrong_rows(&what, e)),
        Ok(other) => Err(SyncError::Protocol {
            what,
            message: format!(
                "unexpected reply: {}",
                match other {
                    Reply::Login { .. } => "a login reply",
                    Reply::Logout { .. } => "a logout reply",
                    Reply::Error(_) => "an error",
                    Reply::Table(_) => "rows",
                }
            ),
        }),
        Err(e) => Err(SyncError::client(what, e)),
    }
}

/// Every page of a paged query, of the kind the caller asks for.
async fn pages<T>(pool: &Pool, req: Request) -> SyncResult<Vec<T>>
where
    Vec<T>: TryFrom<Data, Error = WrongRows>,
{
    let what = req.method().to_owned();
    let pages = pool.query_all(&req).await.map_err(|e| SyncError::client(&what, e))?;
    let mut rows = Vec::new();
    for page in pages {
        rows.extend(Vec::<T>::try_from(page.data).map_err(|e| wrong_rows(&what, e))?);
    }
    Ok(rows)
}

/// 98 + 9A + 9C for one day, the three at once over the pool's sessions (whose logins run in
/// parallel too). An empty stock answer means the day is not published (or the server keeps
/// no all-market history that far back): the other two answers are then dropped.
pub async fn day(pool: &Pool, date: NaiveDate) -> SyncResult<Day> {
    let user = String::new;
    let (stocks, etfs, factors) = tokio::join!(
        one::<DailyBar>(pool, Request::DailyAStock { user: user(), date }),
        one::<DailyBar>(pool, Request::DailyEtf { user: user(), date }),
        one::<AdjustFactor>(pool, Request::DailyAdjustFactor { user: user(), date }),
    );
    let stocks = stocks?;
    if stocks.is_empty() {
        return Ok(Day {
            stocks,
            etfs: Vec::new(),
            factors: Vec::new(),
        });
    }
    Ok(Day {
        stocks,
        etfs: etfs?,
        factors: factors?,
    })
}

/// Rows a page of 95 and 15 answers (the official client's own page size for these).
pub const HISTORY_PAGE: u32 = 10_000;

/// One code's unadjusted daily bars between two days (95), every page.
/// One code's unadjusted bars of any frequency over a range (95), every page.
pub async fn history(
    pool: &Pool,
    code: &str,
    start: NaiveDate,
    end: NaiveDate,
    frequency: Frequency,
) -> SyncResult<Bars> {
    let req = history_request(code, start, end, frequency);
    Ok(match frequency {
        Frequency::Daily => Bars::Daily(pages(pool, req).await?),
        Frequency::Weekly | Frequency::Monthly => Bars::Period(frequency, pages(pool, req).await?),
        _ => Bars::Minute(frequency, pages(pool, req).await?),
    })
}

fn history_request(code: &str, start: NaiveDate, end: NaiveDate, frequency: Frequency) -> Request {
    Request::HistoryK {
        user: String::new(),
        page: Page::first(HISTORY_PAGE),
        query: HistoryKQuery {
            code: code.into(),
            fields: frequency.fields().into(),
            start,
            end,
            frequency,
            adjust: AdjustFlag::None,
        },
    }
}

/// Bars of one frequency, as a 95 answer brings them.
pub enum Bars {
    Daily(Vec<DailyBar>),
    Period(Frequency, Vec<PeriodBar>),
    Minute(Frequency, Vec<MinuteBar>),
}

impl Bars {
    /// Each bar's code and date.
    pub fn keys(&self) -> Vec<(&str, NaiveDate)> {
        match self {
            Bars::Daily(v) => v.iter().map(|b| (b.code.as_str(), b.date)).collect(),
            Bars::Period(_, v) => v.iter().map(|b| (b.code.as_str(), b.date)).collect(),
            Bars::Minute(_, v) => v.iter().map(|b| (b.code.as_str(), b.date)).collect(),
        }
    }
}

/// One code's adjust factors whose operate date lies between two days (15), every page.
pub async fn factor_history(
    pool: &Pool,
    code: &str,
    start: NaiveDate,
    end: NaiveDate,
) -> SyncResult<Vec<AdjustFactor>> {
    let req = Request::AdjustFactor {
        user: String::new(),
        page: Page::first(HISTORY_PAGE),
        code: code.into(),
        start,
        end,
    };
    pages(pool, req).await
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
    block_on(closing(pool, pages(pool, req)))?
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
    block_on(closing(pool, pages(pool, req)))?
}

/// The constituents of an index on a day (the latest list without one), every page.
pub async fn constituents(
    pool: &Pool,
    index: StockIndex,
    date: Option<NaiveDate>,
) -> SyncResult<Vec<IndexConstituent>> {
    let req = Request::IndexConstituents {
        user: String::new(),
        page: Page::first(pool.config().per_page),
        index,
        date,
    };
    pages(pool, req).await
}

/// The rows of a report query, every page.
pub async fn reports(pool: &Pool, query: ReportQuery) -> SyncResult<Vec<Report>> {
    let req = Request::Report {
        user: String::new(),
        page: Page::first(pool.config().per_page),
        query,
    };
    pages(pool, req).await
}

/// Every stock's industry on a day (the latest without one), every page.
pub async fn industries(pool: &Pool, date: Option<NaiveDate>) -> SyncResult<Vec<StockIndustry>> {
    let req = Request::StockIndustry {
        user: String::new(),
        page: Page::first(pool.config().per_page),
        code: String::new(),
        date,
    };
    pages(pool, req).await
}

/// Logs in and out once, so that the server's clock (from the login reply) is current before
/// deciding what it has published; returns what it cost.
pub fn learn_server_clock() -> SyncResult<Traffic> {
    let pool = pool(Some(1), Budget::Full)?;
    block_on(closing(&pool, pool.login()))?.map_err(|e| SyncError::client("login", e))?;
    Ok(Traffic::of(&pool))
}

/// Runs `work`, then logs every session out, on the same runtime as the sessions' sockets.
pub async fn closing<T>(pool: &Pool, work: impl Future<Output = T>) -> T {
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
