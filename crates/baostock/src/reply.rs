//! Typed responses: error frames, login and logout, and tables of typed rows.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::DecodeError;
use crate::frame::{decode_response, Frame, MsgType, SEP};
use crate::json::parse_records;
use crate::limits::Limits;
use crate::request::Page;
use crate::value::{
    parse_date, parse_decimal, parse_flag, parse_integer, parse_minute_time, parse_small, AdjustFlag, CellError,
    Decimal, Frequency,
};

/// An error the server reported, in an `04` frame or in a normal reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// The server's code, e.g. `10004011` (invalid code).
    pub code: String,
    pub message: String,
}

/// Server error codes (PROTOCOL.md §2).
pub mod codes {
    pub const SUCCESS: &str = "0";
    pub const NOT_LOGGED_IN: &str = "10001001";
    pub const BAD_CREDENTIALS: &str = "10001002";
    pub const LOGIN_LIMIT: &str = "10001005";
    pub const BLACKLISTED: &str = "10001011";
    pub const PARAM_ERROR: &str = "10004006";
    pub const INVALID_CODE: &str = "10004011";
    pub const INVALID_INDICATOR: &str = "10004012";
    pub const DATE_OUT_OF_RANGE: &str = "10004013";
    pub const WRONG_MSG_TYPE: &str = "10004020";
}

/// A decoded response.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// Login succeeded; the server's 17-digit time.
    Login { user: String, server_time: String },
    /// Logout succeeded.
    Logout { user: String, server_time: String },
    /// An error, from an `04` frame or a non-zero `error_code`.
    Error(ServerError),
    /// Rows of a query.
    Table(Table),
}

/// The rows of a query, with page metadata and the echoed parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub msg_type: MsgType,
    pub method: String,
    pub user: String,
    /// Present for paged queries.
    pub page: Option<Page>,
    /// Column names, trimmed, in the order of each row.
    pub fields: Vec<String>,
    /// The echoed request parameters that follow the data element.
    pub params: Vec<String>,
    pub data: Data,
}

impl Table {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            Data::DailyBars(v) => v.len(),
            Data::PeriodBars(v) => v.len(),
            Data::MinuteBars(v) => v.len(),
            Data::AdjustFactors(v) => v.len(),
            Data::TradeDates(v) => v.len(),
            Data::AllStock(v) => v.len(),
            Data::StockBasic(v) => v.len(),
            Data::Rows(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Typed rows, by API and frequency.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// 95 with frequency `d`, 98 and 9A.
    DailyBars(Vec<DailyBar>),
    /// 95 with frequency `w` or `m`.
    PeriodBars(Vec<PeriodBar>),
    /// 95 with frequency 5, 15, 30 or 60.
    MinuteBars(Vec<MinuteBar>),
    /// 15 and 9C.
    AdjustFactors(Vec<AdjustFactor>),
    /// 33.
    TradeDates(Vec<TradeDate>),
    /// 35.
    AllStock(Vec<StockListing>),
    /// 45.
    StockBasic(Vec<StockBasic>),
    /// Every other query, as text cells (empty cells absent).
    Rows(Vec<Vec<Option<String>>>),
}

impl Data {
    /// What kind of rows these are, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Data::DailyBars(_) => "daily bars",
            Data::PeriodBars(_) => "weekly or monthly bars",
            Data::MinuteBars(_) => "minute bars",
            Data::AdjustFactors(_) => "adjust factors",
            Data::TradeDates(_) => "trade dates",
            Data::AllStock(_) => "security listings",
            Data::StockBasic(_) => "security basics",
            Data::Rows(_) => "untyped rows",
        }
    }
}

/// Rows of another kind than the ones asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unexpected {found}")]
pub struct WrongRows {
    pub found: &'static str,
}

/// `Vec<Row>::try_from(data)`: the typed rows of an answer, when they are of that kind.
macro_rules! rows_from_data {
    ($($variant:ident => $row:ty),* $(,)?) => {$(
        impl TryFrom<Data> for Vec<$row> {
            type Error = WrongRows;
            fn try_from(data: Data) -> Result<Self, WrongRows> {
                match data {
                    Data::$variant(rows) => Ok(rows),
                    other => Err(WrongRows { found: other.kind() }),
                }
            }
        }
    )*};
}

rows_from_data!(
    DailyBars => DailyBar,
    PeriodBars => PeriodBar,
    MinuteBars => MinuteBar,
    AdjustFactors => AdjustFactor,
    TradeDates => TradeDate,
    AllStock => StockListing,
    StockBasic => StockBasic,
);

/// A daily bar. Fields not requested, and empty cells, are `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DailyBar {
    pub date: NaiveDate,
    pub code: String,
    pub open: Option<Decimal>,
    pub high: Option<Decimal>,
    pub low: Option<Decimal>,
    pub close: Option<Decimal>,
    pub preclose: Option<Decimal>,
    pub volume: Option<i64>,
    pub amount: Option<Decimal>,
    pub adjustflag: Option<AdjustFlag>,
    pub turn: Option<Decimal>,
    /// `true` when trading, `false` when suspended.
    pub tradestatus: Option<bool>,
    pub pct_chg: Option<Decimal>,
    pub pe_ttm: Option<Decimal>,
    pub pb_mrq: Option<Decimal>,
    pub ps_ttm: Option<Decimal>,
    pub pcf_ncf_ttm: Option<Decimal>,
    pub is_st: Option<bool>,
}

/// A weekly or monthly bar.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeriodBar {
    pub date: NaiveDate,
    pub code: String,
    pub open: Option<Decimal>,
    pub high: Option<Decimal>,
    pub low: Option<Decimal>,
    pub close: Option<Decimal>,
    pub volume: Option<i64>,
    pub amount: Option<Decimal>,
    pub adjustflag: Option<AdjustFlag>,
    pub turn: Option<Decimal>,
    pub pct_chg: Option<Decimal>,
}

/// A 5/15/30/60-minute bar; `time` marks the end of the bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinuteBar {
    pub date: NaiveDate,
    pub time: NaiveDateTime,
    pub code: String,
    pub open: Option<Decimal>,
    pub high: Option<Decimal>,
    pub low: Option<Decimal>,
    pub close: Option<Decimal>,
    pub volume: Option<i64>,
    pub amount: Option<Decimal>,
    pub adjustflag: Option<AdjustFlag>,
}

/// An adjust factor in force from `operate_date` until the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdjustFactor {
    pub code: String,
    pub operate_date: NaiveDate,
    pub fore: Option<Decimal>,
    pub back: Option<Decimal>,
    pub factor: Option<Decimal>,
}

/// One calendar day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TradeDate {
    pub date: NaiveDate,
    pub is_trading_day: bool,
}

/// A security listed on a day (35).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockListing {
    pub code: String,
    /// `true` when trading that day, `false` when suspended.
    pub trade_status: Option<bool>,
    pub name: Option<String>,
}

/// Basic data of a security (45).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockBasic {
    pub code: String,
    pub name: Option<String>,
    pub ipo_date: Option<NaiveDate>,
    /// Absent while listed.
    pub out_date: Option<NaiveDate>,
    /// 1 stock, 2 index, 3 other, 4 convertible bond, 5 ETF.
    pub sec_type: Option<i16>,
    /// 1 listed, 0 delisted.
    pub status: Option<i16>,
}

/// Decodes one whole response from the start of `buf`: `Ok(None)` until the frame is complete,
/// then the reply and the number of bytes it used.
pub fn decode_reply(buf: &[u8], limits: &Limits) -> Result<Option<(Reply, usize)>, DecodeError> {
    match decode_response(buf, limits)? {
        None => Ok(None),
        Some((frame, used)) => Ok(Some((Reply::from_frame(&frame, limits)?, used))),
    }
}

/// Where the field list sits in a body, by method; paged replies otherwise end with it.
enum Layout {
    /// `[4] data [5] fields`.
    Unpaged,
    /// `[4] page [5] per_page [6] data`, fields at this index.
    PagedAt(usize),
    /// Paged, fields last.
    PagedLast,
}

fn layout(method: &str) -> Layout {
    match method {
        "query_daily_history_k_AStock" | "query_daily_history_k_ETF" | "query_daily_adjust_factor" => Layout::Unpaged,
        "query_history_k_data_plus" => Layout::PagedAt(8),
        _ => Layout::PagedLast,
    }
}

impl Reply {
    /// Interprets a decoded frame.
    pub fn from_frame(frame: &Frame, limits: &Limits) -> Result<Reply, DecodeError> {
        let f: Vec<&str> = frame.body.split(SEP).collect();
        let need = |n: usize| {
            if f.len() >= n {
                Ok(())
            } else {
                Err(DecodeError::MissingFields {
                    expected: n,
                    got: f.len(),
                })
            }
        };
        need(2)?;
        if frame.msg_type == MsgType::ERROR || f[0] != codes::SUCCESS {
            return Ok(Reply::Error(ServerError {
                code: f[0].to_owned(),
                message: f[1].to_owned(),
            }));
        }
        need(4)?;
        let method = f[2];
        match method {
            "login" => {
                need(5)?;
                return Ok(Reply::Login {
                    user: f[3].to_owned(),
                    server_time: f[4].to_owned(),
                });
            }
            "logout" => {
                need(5)?;
                return Ok(Reply::Logout {
                    user: f[3].to_owned(),
                    server_time: f[4].to_owned(),
                });
            }
            _ => {}
        }
        let (page, data_at, fields_at) = match layout(method) {
            Layout::Unpaged => {
                need(6)?;
                (None, 4, 5)
            }
            Layout::PagedAt(i) => {
                need(i + 1)?;
                (Some(parse_page(&f)?), 6, i)
            }
            Layout::PagedLast => {
                need(8)?;
                (Some(parse_page(&f)?), 6, f.len() - 1)
            }
        };
        let fields: Vec<String> = f[fields_at].split(',').map(|s| s.trim().to_owned()).collect();
        let rows = parse_records(f[data_at], fields.len(), limits.max_rows)?;
        let params = f[data_at + 1..]
            .iter()
            .enumerate()
            .filter(|(i, _)| data_at + 1 + i != fields_at);
        let params: Vec<String> = params.map(|(_, p)| (*p).to_owned()).collect();
        let data = typed_rows(method, &fields, &params, rows)?;
        Ok(Reply::Table(Table {
            msg_type: frame.msg_type,
            method: method.to_owned(),
            user: f[3].to_owned(),
            page,
            fields,
            params,
            data,
        }))
    }
}

fn parse_page(f: &[&str]) -> Result<Page, DecodeError> {
    let n = |i: usize| {
        f[i].parse::<u32>().map_err(|_| DecodeError::Value {
            row: 0,
            field: if i == 4 { "page" } else { "per_page" }.into(),
            value: f[i].into(),
            reason: "not a page number",
        })
    };
    Ok(Page {
        page: n(4)?,
        per_page: n(5)?,
    })
}

fn typed_rows(method: &str, fields: &[String], params: &[String], rows: Vec<Vec<String>>) -> Result<Data, DecodeError> {
    let cols = Columns { fields };
    match method {
        "query_daily_history_k_AStock" | "query_daily_history_k_ETF" => cols.map(rows, daily_bar).map(Data::DailyBars),
        "query_history_k_data_plus" => {
            // Echoed parameters after the fields: start, end, frequency, adjustflag.
            let freq = params.get(3).map(String::as_str).unwrap_or("d");
            // A bar is keyed by code and date (and time, intraday); a field list the caller
            // chose without them gives untyped rows rather than an error.
            let has = |f: &str| fields.iter().any(|x| x == f);
            let intraday = freq.parse::<Frequency>().is_ok_and(|f| f.minutes().is_some());
            if !has("code") || !has("date") || (intraday && !has("time")) {
                return Ok(untyped(rows));
            }
            match freq.parse::<Frequency>() {
                Ok(Frequency::Daily) => cols.map(rows, daily_bar).map(Data::DailyBars),
                Ok(Frequency::Weekly | Frequency::Monthly) => cols.map(rows, period_bar).map(Data::PeriodBars),
                Ok(_) => cols.map(rows, minute_bar).map(Data::MinuteBars),
                Err(reason) => Err(DecodeError::Value {
                    row: 0,
                    field: "frequency".into(),
                    value: freq.into(),
                    reason,
                }),
            }
        }
        "query_adjust_factor" | "query_daily_adjust_factor" => cols.map(rows, adjust_factor).map(Data::AdjustFactors),
        "query_trade_dates" => cols.map(rows, trade_date).map(Data::TradeDates),
        "query_all_stock" => cols.map(rows, listing).map(Data::AllStock),
        "query_stock_basic" => cols.map(rows, stock_basic).map(Data::StockBasic),
        _ => Ok(untyped(rows)),
    }
}

/// Text cells, empty ones absent.
fn untyped(rows: Vec<Vec<String>>) -> Data {
    Data::Rows(
        rows.into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|c| if c.is_empty() { None } else { Some(c) })
                    .collect()
            })
            .collect(),
    )
}

/// Looks cells up by field name and parses them, naming row and field in errors.
struct Columns<'a> {
    fields: &'a [String],
}

/// One row being converted.
struct Row<'a> {
    fields: &'a [String],
    cells: &'a [String],
    index: usize,
}

impl Columns<'_> {
    fn map<T>(&self, rows: Vec<Vec<String>>, f: fn(&Row) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
        rows.iter()
            .enumerate()
            .map(|(index, cells)| {
                f(&Row {
                    fields: self.fields,
                    cells,
                    index,
                })
            })
            .collect()
    }
}

impl Row<'_> {
    fn raw(&self, name: &str) -> Option<&str> {
        let i = self.fields.iter().position(|f| f == name)?;
        Some(self.cells[i].as_str()).filter(|s| !s.is_empty())
    }

    fn opt<T>(&self, name: &str, parse: impl Fn(&str) -> Result<T, CellError>) -> Result<Option<T>, DecodeError> {
        self.raw(name)
            .map(|s| {
                parse(s).map_err(|reason| DecodeError::Value {
                    row: self.index,
                    field: name.to_owned(),
                    value: s.to_owned(),
                    reason,
                })
            })
            .transpose()
    }

    fn req<T>(&self, name: &'static str, parse: impl Fn(&str) -> Result<T, CellError>) -> Result<T, DecodeError> {
        if !self.fields.iter().any(|f| f == name) {
            return Err(DecodeError::MissingColumn(name));
        }
        self.opt(name, parse)?.ok_or_else(|| DecodeError::Value {
            row: self.index,
            field: name.to_owned(),
            value: String::new(),
            reason: "required value is empty",
        })
    }

    fn dec(&self, name: &str) -> Result<Option<Decimal>, DecodeError> {
        self.opt(name, parse_decimal)
    }

    fn text(&self, name: &'static str) -> Result<String, DecodeError> {
        self.req(name, |s| Ok(s.to_owned()))
    }
}

fn daily_bar(r: &Row) -> Result<DailyBar, DecodeError> {
    Ok(DailyBar {
        date: r.req("date", parse_date)?,
        code: r.text("code")?,
        open: r.dec("open")?,
        high: r.dec("high")?,
        low: r.dec("low")?,
        close: r.dec("close")?,
        preclose: r.dec("preclose")?,
        volume: r.opt("volume", parse_integer)?,
        amount: r.dec("amount")?,
        adjustflag: r.opt("adjustflag", str::parse)?,
        turn: r.dec("turn")?,
        tradestatus: r.opt("tradestatus", parse_flag)?,
        pct_chg: r.dec("pctChg")?,
        pe_ttm: r.dec("peTTM")?,
        pb_mrq: r.dec("pbMRQ")?,
        ps_ttm: r.dec("psTTM")?,
        pcf_ncf_ttm: r.dec("pcfNcfTTM")?,
        is_st: r.opt("isST", parse_flag)?,
    })
}

fn period_bar(r: &Row) -> Result<PeriodBar, DecodeError> {
    Ok(PeriodBar {
        date: r.req("date", parse_date)?,
        code: r.text("code")?,
        open: r.dec("open")?,
        high: r.dec("high")?,
        low: r.dec("low")?,
        close: r.dec("close")?,
        volume: r.opt("volume", parse_integer)?,
        amount: r.dec("amount")?,
        adjustflag: r.opt("adjustflag", str::parse)?,
        turn: r.dec("turn")?,
        pct_chg: r.dec("pctChg")?,
    })
}

fn minute_bar(r: &Row) -> Result<MinuteBar, DecodeError> {
    Ok(MinuteBar {
        date: r.req("date", parse_date)?,
        time: r.req("time", parse_minute_time)?,
        code: r.text("code")?,
        open: r.dec("open")?,
        high: r.dec("high")?,
        low: r.dec("low")?,
        close: r.dec("close")?,
        volume: r.opt("volume", parse_integer)?,
        amount: r.dec("amount")?,
        adjustflag: r.opt("adjustflag", str::parse)?,
    })
}

fn adjust_factor(r: &Row) -> Result<AdjustFactor, DecodeError> {
    Ok(AdjustFactor {
        code: r.text("code")?,
        operate_date: r.req("dividOperateDate", parse_date)?,
        fore: r.dec("foreAdjustFactor")?,
        back: r.dec("backAdjustFactor")?,
        factor: r.dec("adjustFactor")?,
    })
}

fn trade_date(r: &Row) -> Result<TradeDate, DecodeError> {
    Ok(TradeDate {
        date: r.req("calendar_date", parse_date)?,
        is_trading_day: r.req("is_trading_day", parse_flag)?,
    })
}

fn listing(r: &Row) -> Result<StockListing, DecodeError> {
    Ok(StockListing {
        code: r.text("code")?,
        trade_status: r.opt("tradeStatus", parse_flag)?,
        name: r.raw("code_name").map(str::to_owned),
    })
}

fn stock_basic(r: &Row) -> Result<StockBasic, DecodeError> {
    Ok(StockBasic {
        code: r.text("code")?,
        name: r.raw("code_name").map(str::to_owned),
        ipo_date: r.opt("ipoDate", parse_date)?,
        out_date: r.opt("outDate", parse_date)?,
        sec_type: r.opt("type", parse_small)?,
        status: r.opt("status", parse_small)?,
    })
}
