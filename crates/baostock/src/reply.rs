//! Typed responses: error frames, login and logout, and tables of typed rows.

use chrono::{NaiveDate, NaiveDateTime};

use crate::error::DecodeError;
use std::borrow::Cow;

use crate::frame::{decode_response, Frame, MsgType, SEP};
use crate::json::{count_records, for_each_record, Bounds};
use crate::limits::Limits;
use crate::report::{Cell, Report, ReportKind};
use crate::request::Page;
use crate::value::{
    parse_date, parse_decimal, parse_flag, parse_integer, parse_minute_time, parse_small, AdjustFlag, CellError,
    Decimal, Frequency,
};

/// An error the server reported, in an `04` frame or in a normal reply. Both texts are
/// cleaned by [`clean_server_text`] when decoded: they reach views and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError {
    /// The server's code, e.g. `10004011` (invalid code); at most [`MAX_CODE_CHARS`]
    /// characters.
    pub code: String,
    /// The server's message; at most [`MAX_MESSAGE_CHARS`] characters, no control characters.
    pub message: String,
}

impl ServerError {
    /// The error from the server's raw code and message, cleaned by [`clean_server_text`].
    pub fn from_server(code: &str, message: &str) -> ServerError {
        ServerError {
            code: clean_server_text(code, MAX_CODE_CHARS),
            message: clean_server_text(message, MAX_MESSAGE_CHARS),
        }
    }
}

/// Most characters kept of a server error message, `…` included when it is cut.
pub const MAX_MESSAGE_CHARS: usize = 500;
/// Most characters kept of a server error code, `…` included when it is cut.
pub const MAX_CODE_CHARS: usize = 32;

/// Text from the server made safe to show and log: every control character (Unicode `Cc`:
/// C0, DEL and C1, so also tab, CR and LF), the line and paragraph separators and the bidi
/// formatting characters become a space; text longer than `max` characters is cut on a
/// character boundary to `max - 1` characters followed by `…` (so at most `max` characters).
pub fn clean_server_text(text: &str, max: usize) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    let cut = max > 0 && text.char_indices().nth(max).is_some();
    let kept = if max == 0 {
        ""
    } else if cut {
        let end = text.char_indices().nth(max - 1).map_or(text.len(), |(i, _)| i);
        &text[..end]
    } else {
        text
    };
    let mut out: String = kept.chars().map(|c| if unsafe_char(c) { ' ' } else { c }).collect();
    if cut {
        out.push('…');
    }
    out
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
            Data::IndexConstituents(v) => v.len(),
            Data::StockIndustry(v) => v.len(),
            Data::Reports(v) => v.len(),
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
    /// 61, 63 and 65.
    IndexConstituents(Vec<IndexConstituent>),
    /// 59.
    StockIndustry(Vec<StockIndustry>),
    /// 13, 17..31 odd, 47..55 odd: rows of one report kind.
    Reports(Vec<Report>),
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
            Data::IndexConstituents(_) => "index constituents",
            Data::StockIndustry(_) => "stock industries",
            Data::Reports(_) => "reports",
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
    IndexConstituents => IndexConstituent,
    StockIndustry => StockIndustry,
    Reports => Report,
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

/// A constituent of an index (61, 63, 65) on the list of `update_date`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexConstituent {
    /// The date of the list (the server's weekly update, a Monday in the captures).
    pub update_date: NaiveDate,
    pub code: String,
    pub code_name: Option<String>,
}

/// The industry of a stock (59) as classified on `update_date`; empty cells are `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockIndustry {
    /// The date of the classification (the server's weekly update, a Monday in the captures).
    pub update_date: NaiveDate,
    pub code: String,
    pub code_name: Option<String>,
    /// E.g. `J66货币金融服务`.
    pub industry: Option<String>,
    /// The classification the industry belongs to, e.g. `证监会行业分类`.
    pub industry_classification: Option<String>,
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
        let too_many_fields = DecodeError::TooManyFields {
            limit: limits.max_fields,
        };
        let f: Vec<&str> = frame
            .body
            .split(SEP)
            .take(limits.max_fields.saturating_add(1))
            .collect();
        if f.len() > limits.max_fields {
            return Err(too_many_fields);
        }
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
            return Ok(Reply::Error(ServerError::from_server(f[0], f[1])));
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
        let fields: Vec<String> = f[fields_at]
            .split(',')
            .take(limits.max_fields.saturating_add(1))
            .map(|s| s.trim().to_owned())
            .collect();
        if fields.len() > limits.max_fields {
            return Err(too_many_fields);
        }
        let params = f[data_at + 1..]
            .iter()
            .enumerate()
            .filter(|(i, _)| data_at + 1 + i != fields_at);
        let params: Vec<String> = params.map(|(_, p)| (*p).to_owned()).collect();
        let data = typed_rows(method, &fields, &params, f[data_at], limits)?;
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

fn typed_rows(
    method: &str,
    fields: &[String],
    params: &[String],
    data: &str,
    limits: &Limits,
) -> Result<Data, DecodeError> {
    let cols = Columns { fields, limits };
    match method {
        "query_daily_history_k_AStock" | "query_daily_history_k_ETF" => cols.typed_from(data).map(Data::DailyBars),
        "query_history_k_data_plus" => {
            // Echoed parameters after the fields: start, end, frequency, adjustflag.
            let freq = params.get(3).map(String::as_str).unwrap_or("d");
            // A bar is keyed by code and date (and time, intraday); a field list the caller
            // chose without them gives untyped rows rather than an error.
            let has = |f: &str| fields.iter().any(|x| x == f);
            let intraday = freq.parse::<Frequency>().is_ok_and(|f| f.minutes().is_some());
            if !has("code") || !has("date") || (intraday && !has("time")) {
                return cols.untyped(data);
            }
            match freq.parse::<Frequency>() {
                Ok(Frequency::Daily) => cols.typed_from(data).map(Data::DailyBars),
                Ok(Frequency::Weekly | Frequency::Monthly) => cols.typed_from(data).map(Data::PeriodBars),
                Ok(_) => cols.typed_from(data).map(Data::MinuteBars),
                Err(reason) => Err(DecodeError::Value {
                    row: 0,
                    field: "frequency".into(),
                    value: freq.into(),
                    reason,
                }),
            }
        }
        "query_adjust_factor" | "query_daily_adjust_factor" => cols.typed_from(data).map(Data::AdjustFactors),
        "query_trade_dates" => cols.typed_from(data).map(Data::TradeDates),
        "query_all_stock" => cols.typed_from(data).map(Data::AllStock),
        "query_stock_basic" => cols.typed_from(data).map(Data::StockBasic),
        "query_hs300_stocks" | "query_sz50_stocks" | "query_zz500_stocks" => {
            cols.typed_from(data).map(Data::IndexConstituents)
        }
        "query_stock_industry" => cols.typed_from(data).map(Data::StockIndustry),
        m => match ReportKind::from_method(m) {
            Some(kind) => cols.reports(kind, data).map(Data::Reports),
            None => cols.untyped(data),
        },
    }
}

/// A row type built from named cells.
trait TypedRow: Sized {
    /// Fields of the type: a row counts for at least this many cells against
    /// `Limits::max_cells`, which keeps every type under 24 bytes a counted cell.
    const FIELDS: usize;
    fn from_row(r: &Row) -> Result<Self, DecodeError>;
}

/// The field list of an answer and the limits its rows are read under.
struct Columns<'a> {
    fields: &'a [String],
    limits: &'a Limits,
}

/// One row being converted.
struct Row<'a, 'b> {
    fields: &'a [String],
    cells: &'a [Cow<'b, str>],
    index: usize,
}

impl Columns<'_> {
    fn bounds(&self, cells_per_row: usize) -> Bounds {
        Bounds {
            max_rows: self.limits.max_rows,
            max_cells: self.limits.max_cells,
            cells_per_row,
        }
    }

    /// Counts the rows (allocating nothing, failing on the first bound passed), then builds
    /// them into a vector of exactly that many.
    fn collect<T>(
        &self,
        data: &str,
        cells_per_row: usize,
        mut f: impl FnMut(usize, &[Cow<'_, str>]) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let arity = self.fields.len();
        let bounds = self.bounds(cells_per_row);
        let n = count_records(data, arity, bounds)?;
        let mut out = Vec::with_capacity(n);
        for_each_record(data, arity, bounds, |index, cells| {
            out.push(f(index, cells)?);
            Ok(())
        })?;
        Ok(out)
    }

    fn typed_from<T: TypedRow>(&self, data: &str) -> Result<Vec<T>, DecodeError> {
        self.collect(data, T::FIELDS, |index, cells| {
            T::from_row(&Row {
                fields: self.fields,
                cells,
                index,
            })
        })
    }

    /// Rows of a report kind: every field of the kind must be in the answer (others are
    /// ignored); a row counts two cells a field (a cell takes at most 32 bytes, the row 32).
    fn reports(&self, kind: ReportKind, data: &str) -> Result<Vec<Report>, DecodeError> {
        let at: Vec<usize> = kind
            .fields()
            .iter()
            .map(|f| {
                self.fields
                    .iter()
                    .position(|x| x == f.wire)
                    .ok_or(DecodeError::MissingColumn(f.wire))
            })
            .collect::<Result<_, _>>()?;
        self.collect(data, 2 * kind.fields().len(), |index, cells| {
            let cells = kind
                .fields()
                .iter()
                .zip(&at)
                .map(|(f, &i)| {
                    let raw = cells.get(i).map(|c| c.as_ref()).unwrap_or("");
                    if raw.is_empty() {
                        return Ok(None);
                    }
                    Cell::parse(f.ty, raw).map(Some).map_err(|reason| DecodeError::Value {
                        row: index,
                        field: f.wire.to_owned(),
                        value: raw.to_owned(),
                        reason,
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Report { kind, cells })
        })
    }

    /// Text cells, empty ones absent.
    fn untyped(&self, data: &str) -> Result<Data, DecodeError> {
        self.collect(data, 0, |_, cells| {
            Ok(cells
                .iter()
                .map(|c| Some(c.as_ref()).filter(|c| !c.is_empty()).map(str::to_owned))
                .collect())
        })
        .map(Data::Rows)
    }
}

impl Row<'_, '_> {
    fn raw(&self, name: &str) -> Option<&str> {
        let i = self.fields.iter().position(|f| f == name)?;
        Some(self.cells.get(i)?.as_ref()).filter(|s| !s.is_empty())
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

impl TypedRow for DailyBar {
    const FIELDS: usize = 18;
    fn from_row(r: &Row) -> Result<DailyBar, DecodeError> {
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
}

impl TypedRow for PeriodBar {
    const FIELDS: usize = 11;
    fn from_row(r: &Row) -> Result<PeriodBar, DecodeError> {
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
}

impl TypedRow for MinuteBar {
    const FIELDS: usize = 10;
    fn from_row(r: &Row) -> Result<MinuteBar, DecodeError> {
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
}

impl TypedRow for AdjustFactor {
    const FIELDS: usize = 5;
    fn from_row(r: &Row) -> Result<AdjustFactor, DecodeError> {
        Ok(AdjustFactor {
            code: r.text("code")?,
            operate_date: r.req("dividOperateDate", parse_date)?,
            fore: r.dec("foreAdjustFactor")?,
            back: r.dec("backAdjustFactor")?,
            factor: r.dec("adjustFactor")?,
        })
    }
}

impl TypedRow for TradeDate {
    const FIELDS: usize = 2;
    fn from_row(r: &Row) -> Result<TradeDate, DecodeError> {
        Ok(TradeDate {
            date: r.req("calendar_date", parse_date)?,
            is_trading_day: r.req("is_trading_day", parse_flag)?,
        })
    }
}

impl TypedRow for StockListing {
    const FIELDS: usize = 3;
    fn from_row(r: &Row) -> Result<StockListing, DecodeError> {
        Ok(StockListing {
            code: r.text("code")?,
            trade_status: r.opt("tradeStatus", parse_flag)?,
            name: r.raw("code_name").map(str::to_owned),
        })
    }
}

impl TypedRow for StockBasic {
    const FIELDS: usize = 6;
    fn from_row(r: &Row) -> Result<StockBasic, DecodeError> {
        Ok(StockBasic {
            code: r.text("code")?,
            name: r.raw("code_name").map(str::to_owned),
            ipo_date: r.opt("ipoDate", parse_date)?,
            out_date: r.opt("outDate", parse_date)?,
            sec_type: r.opt("type", parse_small)?,
            status: r.opt("status", parse_small)?,
        })
    }
}

impl TypedRow for IndexConstituent {
    const FIELDS: usize = 3;
    fn from_row(r: &Row) -> Result<IndexConstituent, DecodeError> {
        Ok(IndexConstituent {
            update_date: r.req("updateDate", parse_date)?,
            code: r.text("code")?,
            code_name: r.raw("code_name").map(str::to_owned),
        })
    }
}

impl TypedRow for StockIndustry {
    const FIELDS: usize = 5;
    fn from_row(r: &Row) -> Result<StockIndustry, DecodeError> {
        Ok(StockIndustry {
            update_date: r.req("updateDate", parse_date)?,
            code: r.text("code")?,
            code_name: r.raw("code_name").map(str::to_owned),
            industry: r.raw("industry").map(str::to_owned),
            industry_classification: r.raw("industryClassification").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{encode_response, SERVER_VERSION};
    use crate::limits::BYTES_PER_CELL;

    #[test]
    fn typed_rows_stay_under_24_bytes_a_counted_cell() {
        fn check<T: TypedRow>(name: &str) {
            let size = std::mem::size_of::<T>();
            assert!(size <= 24 * T::FIELDS, "{name}: {size} bytes for {} fields", T::FIELDS);
            assert!(24 * T::FIELDS <= BYTES_PER_CELL * T::FIELDS);
        }
        check::<DailyBar>("DailyBar");
        check::<PeriodBar>("PeriodBar");
        check::<MinuteBar>("MinuteBar");
        check::<AdjustFactor>("AdjustFactor");
        check::<TradeDate>("TradeDate");
        check::<StockListing>("StockListing");
        check::<StockBasic>("StockBasic");
        check::<IndexConstituent>("IndexConstituent");
        check::<StockIndustry>("StockIndustry");
        // The weights are the field lists of the protocol.
        assert_eq!(DailyBar::FIELDS, crate::value::DAILY_FIELDS.split(',').count());
        assert_eq!(MinuteBar::FIELDS, crate::value::MINUTE_FIELDS.split(',').count());
        assert_eq!(
            AdjustFactor::FIELDS,
            crate::value::ADJUST_FACTOR_FIELDS.split(',').count()
        );
    }

    #[test]
    fn server_text_loses_control_characters_and_is_cut_at_500() {
        assert_eq!(clean_server_text("参数错误", MAX_MESSAGE_CHARS), "参数错误");
        assert_eq!(
            clean_server_text("a\nb\r\tc\u{0}d\u{7f}e\u{9b}f\u{202e}g\u{2028}h", 100),
            "a b  c d e f g h"
        );
        let long = "错".repeat(600);
        let cut = clean_server_text(&long, MAX_MESSAGE_CHARS);
        assert_eq!(cut.chars().count(), 500);
        assert!(cut.ends_with("错…"));
        assert_eq!(cut.chars().filter(|&c| c == '错').count(), 499);
        // Exactly the limit is kept whole; one more is cut.
        let exact = "x".repeat(500);
        assert_eq!(clean_server_text(&exact, 500), exact);
        assert_eq!(
            clean_server_text(&"x".repeat(501), 500),
            format!("{}…", "x".repeat(499))
        );
        assert_eq!(clean_server_text("abc", 0), "");
    }

    #[test]
    fn decoded_errors_are_cleaned() {
        let limits = Limits::default();
        // Plain bodies cannot hold a newline (it ends the frame); compressed ones can.
        let message = |nl: &str| format!("bad{nl}thing\u{1b}[31m{}", "é".repeat(1000));
        for (ty, body) in [
            (MsgType::ERROR, format!("10004011\x01{}", message("\r"))),
            (
                MsgType::new(*b"34").unwrap(),
                format!("10004011\x01{}\x01query_trade_dates\x01anonymous", message("\t")),
            ),
            (
                MsgType::HISTORY_K_REPLY,
                format!("10004011\x01{}\x01query_history_k_data_plus", message("\n")),
            ),
        ] {
            let bytes = encode_response(SERVER_VERSION, ty, &body);
            let (reply, _) = decode_reply(&bytes, &limits).unwrap().unwrap();
            let Reply::Error(e) = reply else { panic!("{reply:?}") };
            assert_eq!(e.code, "10004011");
            assert!(e.message.starts_with("bad thing [31méé"), "{}", &e.message[..20]);
            assert_eq!(e.message.chars().count(), MAX_MESSAGE_CHARS);
            assert!(e.message.ends_with('…'));
            assert!(!e.message.chars().any(char::is_control));
        }
        // A hostile code is cut too.
        let bytes = encode_response(SERVER_VERSION, MsgType::ERROR, &format!("{}\x01m", "9".repeat(100)));
        let (Reply::Error(e), _) = decode_reply(&bytes, &limits).unwrap().unwrap() else {
            panic!()
        };
        assert_eq!(e.code.chars().count(), MAX_CODE_CHARS);
    }

    const TRADE_DATES: &str = "0\x01success\x01query_trade_dates\x01anonymous\x011\x012000\x01{\"record\":[[\"2024-01-02\",\"1\"],[\"2024-01-03\",\"1\"]]}\x012024-01-02\x012024-01-03\x01calendar_date, is_trading_day";

    fn decode_with(body: &str, limits: &Limits) -> Result<Reply, DecodeError> {
        let bytes = encode_response(SERVER_VERSION, MsgType::new(*b"34").unwrap(), body);
        decode_reply(&bytes, limits).map(|r| r.unwrap().0)
    }

    #[test]
    fn cells_are_capped_and_typed_rows_count_their_type_width() {
        // Two trade-date rows: 4 cells, 2 fields each.
        let ok = |max_cells| Limits {
            max_cells,
            ..Limits::default()
        };
        assert!(decode_with(TRADE_DATES, &ok(4)).is_ok());
        assert_eq!(
            decode_with(TRADE_DATES, &ok(3)),
            Err(DecodeError::TooManyCells { limit: 3 })
        );
        // Daily bars asked with only date and code still count 18 cells a row.
        let bars = "0\x01success\x01query_history_k_data_plus\x01anonymous\x011\x012000\x01{\"record\":[[\"2024-01-02\",\"sh.600000\"],[\"2024-01-03\",\"sh.600000\"]]}\x01sh.600000\x01date,code\x012024-01-02\x012024-01-03\x01d\x013";
        assert!(matches!(decode_with(bars, &ok(36)), Ok(Reply::Table(t)) if t.len() == 2));
        assert_eq!(decode_with(bars, &ok(35)), Err(DecodeError::TooManyCells { limit: 35 }));
        // Untyped rows count their cells only.
        let other = "0\x01success\x01query_other_data\x01anonymous\x011\x012000\x01{\"record\":[[\"a\",\"b\"],[\"c\",\"d\"]]}\x01sh.600000\x01code,roeAvg";
        assert!(decode_with(other, &ok(4)).is_ok());
        assert_eq!(decode_with(other, &ok(3)), Err(DecodeError::TooManyCells { limit: 3 }));
    }

    #[test]
    fn fields_are_capped_in_the_body_and_in_the_field_list() {
        let few = Limits {
            max_fields: 10,
            ..Limits::default()
        };
        assert!(decode_with(TRADE_DATES, &few).is_ok());
        let long_body = format!("{TRADE_DATES}{}", "\x01".repeat(10));
        assert_eq!(
            decode_with(&long_body, &few),
            Err(DecodeError::TooManyFields { limit: 10 })
        );
        let wide = TRADE_DATES.replace("calendar_date, is_trading_day", &",".repeat(10));
        assert_eq!(decode_with(&wide, &few), Err(DecodeError::TooManyFields { limit: 10 }));
    }
}
