//! Typed requests: what each message type carries, how it is encoded and decoded.

use chrono::NaiveDate;

use crate::error::DecodeError;
use crate::frame::{encode_request, Frame, MsgType};
use crate::report::{ReportKind, ReportQuery};
use crate::value::{format_date, parse_date, AdjustFlag, Frequency};

/// A credential (password or API key): compared and cloned like a string, never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// The value, for the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The paging parameters of a paged query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1-based page number.
    pub page: u32,
    /// Rows a page; the official client sends 2000.
    pub per_page: u32,
}

impl Page {
    /// The first page with `per_page` rows.
    pub fn first(per_page: u32) -> Page {
        Page { page: 1, per_page }
    }
}

/// `query_history_k_data_plus` (95): bars of one code over a date range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryKQuery {
    pub code: String,
    /// Comma-separated field names, sent verbatim.
    pub fields: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub frequency: Frequency,
    pub adjust: AdjustFlag,
}

/// An index whose constituents the server lists (61, 63, 65).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StockIndex {
    /// CSI 300 (沪深300): `query_hs300_stocks`, type 61.
    Hs300,
    /// SSE 50 (上证50): `query_sz50_stocks`, type 63.
    Sz50,
    /// CSI 500 (中证500): `query_zz500_stocks`, type 65.
    Zz500,
}

impl StockIndex {
    /// Every index, in the order of their message types.
    pub const ALL: [StockIndex; 3] = [StockIndex::Hs300, StockIndex::Sz50, StockIndex::Zz500];

    /// The message type its constituents are asked with.
    pub fn msg_type(self) -> MsgType {
        match self {
            StockIndex::Hs300 => MsgType::HS300_STOCKS,
            StockIndex::Sz50 => MsgType::SZ50_STOCKS,
            StockIndex::Zz500 => MsgType::ZZ500_STOCKS,
        }
    }

    /// The method name of its query.
    pub fn method(self) -> &'static str {
        match self {
            StockIndex::Hs300 => "query_hs300_stocks",
            StockIndex::Sz50 => "query_sz50_stocks",
            StockIndex::Zz500 => "query_zz500_stocks",
        }
    }

    /// The index a message type asks for, if it is one of the three.
    pub fn from_msg_type(t: MsgType) -> Option<StockIndex> {
        StockIndex::ALL.into_iter().find(|i| i.msg_type() == t)
    }

    /// The index a method name asks for, if it is one of the three.
    pub fn from_method(method: &str) -> Option<StockIndex> {
        StockIndex::ALL.into_iter().find(|i| i.method() == method)
    }
}

/// A request body. `user` is the logged-in user id, which every query repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// 00: `login, user, password, options` (options is `0` or the API key). Both secrets
    /// are redacted from `Debug`.
    Login {
        user: String,
        password: Secret,
        options: Secret,
    },
    /// 02: `logout, user, yyyyMMddHHmmss`.
    Logout { user: String, time: String },
    /// 95, paged.
    HistoryK {
        user: String,
        page: Page,
        query: HistoryKQuery,
    },
    /// 98: every A-share's daily bar on one day (unpaged).
    DailyAStock { user: String, date: NaiveDate },
    /// 9A: every ETF's daily bar on one day (unpaged).
    DailyEtf { user: String, date: NaiveDate },
    /// 9C: every adjust factor taking effect on one day (unpaged).
    DailyAdjustFactor { user: String, date: NaiveDate },
    /// 33: the calendar between two days.
    TradeDates {
        user: String,
        page: Page,
        start: NaiveDate,
        end: NaiveDate,
    },
    /// 35: every security and its trade status on one day.
    AllStock { user: String, page: Page, day: NaiveDate },
    /// 45: basic data of one code, or of all codes when both filters are empty.
    StockBasic {
        user: String,
        page: Page,
        code: String,
        code_name: String,
    },
    /// 15: adjust factors of one code whose operate date lies in a range.
    AdjustFactor {
        user: String,
        page: Page,
        code: String,
        start: NaiveDate,
        end: NaiveDate,
    },
    /// 61, 63, 65: the constituents of an index on a day; `None` sends an empty date (the
    /// latest list).
    IndexConstituents {
        user: String,
        page: Page,
        index: StockIndex,
        date: Option<NaiveDate>,
    },
    /// 59: the industry of one code, or of every stock when `code` is empty, on a day; `None`
    /// sends an empty date (the latest classification).
    StockIndustry {
        user: String,
        page: Page,
        code: String,
        date: Option<NaiveDate>,
    },
    /// 13, 17..31 odd, 47..55 odd: a report of one code, or a macro series.
    Report {
        user: String,
        page: Page,
        query: ReportQuery,
    },
    /// Any other type, kept as its raw parameters (after method and user).
    Other {
        msg_type: MsgType,
        method: String,
        user: String,
        params: Vec<String>,
    },
}

impl Request {
    /// The message type this request is sent as.
    pub fn msg_type(&self) -> MsgType {
        match self {
            Request::Login { .. } => MsgType::LOGIN,
            Request::Logout { .. } => MsgType::LOGOUT,
            Request::HistoryK { .. } => MsgType::HISTORY_K,
            Request::DailyAStock { .. } => MsgType::DAILY_ASTOCK,
            Request::DailyEtf { .. } => MsgType::DAILY_ETF,
            Request::DailyAdjustFactor { .. } => MsgType::DAILY_ADJUST_FACTOR,
            Request::TradeDates { .. } => MsgType::TRADE_DATES,
            Request::AllStock { .. } => MsgType::ALL_STOCK,
            Request::StockBasic { .. } => MsgType::STOCK_BASIC,
            Request::AdjustFactor { .. } => MsgType::ADJUST_FACTOR,
            Request::IndexConstituents { index, .. } => index.msg_type(),
            Request::StockIndustry { .. } => MsgType::STOCK_INDUSTRY,
            Request::Report { query, .. } => query.kind().msg_type(),
            Request::Other { msg_type, .. } => *msg_type,
        }
    }

    /// The method name the body starts with.
    pub fn method(&self) -> &str {
        match self {
            Request::Login { .. } => "login",
            Request::Logout { .. } => "logout",
            Request::HistoryK { .. } => "query_history_k_data_plus",
            Request::DailyAStock { .. } => "query_daily_history_k_AStock",
            Request::DailyEtf { .. } => "query_daily_history_k_ETF",
            Request::DailyAdjustFactor { .. } => "query_daily_adjust_factor",
            Request::TradeDates { .. } => "query_trade_dates",
            Request::AllStock { .. } => "query_all_stock",
            Request::StockBasic { .. } => "query_stock_basic",
            Request::AdjustFactor { .. } => "query_adjust_factor",
            Request::IndexConstituents { index, .. } => index.method(),
            Request::StockIndustry { .. } => "query_stock_industry",
            Request::Report { query, .. } => query.kind().method(),
            Request::Other { method, .. } => method,
        }
    }

    /// The paging parameters, for paged queries.
    pub fn page(&self) -> Option<Page> {
        match self {
            Request::HistoryK { page, .. }
            | Request::TradeDates { page, .. }
            | Request::AllStock { page, .. }
            | Request::StockBasic { page, .. }
            | Request::AdjustFactor { page, .. }
            | Request::IndexConstituents { page, .. }
            | Request::StockIndustry { page, .. }
            | Request::Report { page, .. } => Some(*page),
            _ => None,
        }
    }

    /// The same request for another page; unpaged requests are returned unchanged.
    pub fn with_page(&self, next: u32) -> Request {
        let mut r = self.clone();
        if let Request::HistoryK { page, .. }
        | Request::TradeDates { page, .. }
        | Request::AllStock { page, .. }
        | Request::StockBasic { page, .. }
        | Request::AdjustFactor { page, .. }
        | Request::IndexConstituents { page, .. }
        | Request::StockIndustry { page, .. }
        | Request::Report { page, .. } = &mut r
        {
            page.page = next;
        }
        r
    }

    /// Sets the user id a query carries (the client fills in the logged-in user).
    pub fn set_user(&mut self, id: &str) {
        match self {
            Request::Login { user, .. }
            | Request::Logout { user, .. }
            | Request::HistoryK { user, .. }
            | Request::DailyAStock { user, .. }
            | Request::DailyEtf { user, .. }
            | Request::DailyAdjustFactor { user, .. }
            | Request::TradeDates { user, .. }
            | Request::AllStock { user, .. }
            | Request::StockBasic { user, .. }
            | Request::AdjustFactor { user, .. }
            | Request::IndexConstituents { user, .. }
            | Request::StockIndustry { user, .. }
            | Request::Report { user, .. }
            | Request::Other { user, .. } => *user = id.to_owned(),
        }
    }

    /// The body fields in wire order.
    pub fn body_fields(&self) -> Vec<String> {
        let mut f = vec![self.method().to_owned()];
        let paged = |f: &mut Vec<String>, user: &str, p: &Page| {
            f.extend([user.to_owned(), p.page.to_string(), p.per_page.to_string()]);
        };
        match self {
            Request::Login {
                user,
                password,
                options,
            } => f.extend([user.clone(), password.expose().to_owned(), options.expose().to_owned()]),
            Request::Logout { user, time } => f.extend([user.clone(), time.clone()]),
            Request::HistoryK { user, page, query: q } => {
                paged(&mut f, user, page);
                f.extend([
                    q.code.clone(),
                    q.fields.clone(),
                    format_date(q.start),
                    format_date(q.end),
                    q.frequency.code().to_owned(),
                    q.adjust.code().to_owned(),
                ]);
            }
            Request::DailyAStock { user, date }
            | Request::DailyEtf { user, date }
            | Request::DailyAdjustFactor { user, date } => f.extend([user.clone(), format_date(*date)]),
            Request::TradeDates { user, page, start, end } => {
                paged(&mut f, user, page);
                f.extend([format_date(*start), format_date(*end)]);
            }
            Request::AllStock { user, page, day } => {
                paged(&mut f, user, page);
                f.push(format_date(*day));
            }
            Request::StockBasic {
                user,
                page,
                code,
                code_name,
            } => {
                paged(&mut f, user, page);
                f.extend([code.clone(), code_name.clone()]);
            }
            Request::AdjustFactor {
                user,
                page,
                code,
                start,
                end,
            } => {
                paged(&mut f, user, page);
                f.extend([code.clone(), format_date(*start), format_date(*end)]);
            }
            Request::IndexConstituents { user, page, date, .. } => {
                paged(&mut f, user, page);
                f.push(date.map(format_date).unwrap_or_default());
            }
            Request::StockIndustry { user, page, code, date } => {
                paged(&mut f, user, page);
                f.extend([code.clone(), date.map(format_date).unwrap_or_default()]);
            }
            Request::Report { user, page, query } => {
                paged(&mut f, user, page);
                f.extend(query.params());
            }
            Request::Other { user, params, .. } => {
                f.push(user.clone());
                f.extend(params.iter().cloned());
            }
        }
        f
    }

    /// Encodes the request as a whole frame with the given 7-character client version.
    pub fn encode(&self, client_version: &str) -> Vec<u8> {
        let fields = self.body_fields();
        let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
        encode_request(client_version, self.msg_type(), &refs)
    }

    /// Decodes a request body (the server side). A known type whose parameters are malformed
    /// gives `DecodeError::BadRequest`; an unknown type gives `Request::Other`.
    pub fn decode(frame: &Frame) -> Result<Request, DecodeError> {
        let f = frame.fields();
        let arity = |n: usize| {
            if f.len() == n {
                Ok(())
            } else {
                Err(DecodeError::BadRequest(format!(
                    "{} expects {} fields, got {}",
                    f[0],
                    n,
                    f.len()
                )))
            }
        };
        let s = |i: usize| f[i].to_owned();
        let date =
            |i: usize| parse_date(f[i]).map_err(|e| DecodeError::BadRequest(format!("{}: {:?}: {e}", f[0], f[i])));
        // An empty date asks for the latest data.
        let opt_date = |i: usize| if f[i].is_empty() { Ok(None) } else { date(i).map(Some) };
        let page = || -> Result<Page, DecodeError> {
            let n = |i: usize| {
                f[i].parse::<u32>()
                    .ok()
                    .filter(|&n| n > 0 && !f[i].starts_with('0'))
                    .ok_or_else(|| DecodeError::BadRequest(format!("bad paging value {:?}", f[i])))
            };
            Ok(Page {
                page: n(2)?,
                per_page: n(3)?,
            })
        };
        let t = frame.msg_type;
        let known = [
            MsgType::LOGIN,
            MsgType::LOGOUT,
            MsgType::HISTORY_K,
            MsgType::DAILY_ASTOCK,
            MsgType::DAILY_ETF,
            MsgType::DAILY_ADJUST_FACTOR,
            MsgType::TRADE_DATES,
            MsgType::ALL_STOCK,
            MsgType::STOCK_BASIC,
            MsgType::ADJUST_FACTOR,
            MsgType::STOCK_INDUSTRY,
            MsgType::HS300_STOCKS,
            MsgType::SZ50_STOCKS,
            MsgType::ZZ500_STOCKS,
        ];
        if let Some(kind) = ReportKind::from_msg_type(t) {
            if f.len() < 4 {
                return Err(DecodeError::BadRequest(format!("{} expects paging", f[0])));
            }
            let r = Request::Report {
                user: s(1),
                page: page()?,
                query: ReportQuery::parse(kind, &f[4..]).map_err(DecodeError::BadRequest)?,
            };
            if r.method() != f[0] {
                return Err(DecodeError::BadRequest(format!(
                    "type {t} does not carry method {:?}",
                    f[0]
                )));
            }
            return Ok(r);
        }
        if !known.contains(&t) {
            if f.len() < 2 {
                return Err(DecodeError::BadRequest("a request needs a method and a user".into()));
            }
            return Ok(Request::Other {
                msg_type: t,
                method: s(0),
                user: s(1),
                params: f[2..].iter().map(|p| (*p).to_owned()).collect(),
            });
        }
        let r = match t {
            MsgType::LOGIN => {
                arity(4)?;
                Request::Login {
                    user: s(1),
                    password: s(2).into(),
                    options: s(3).into(),
                }
            }
            MsgType::LOGOUT => {
                arity(3)?;
                Request::Logout { user: s(1), time: s(2) }
            }
            MsgType::HISTORY_K => {
                arity(10)?;
                let frequency = f[8]
                    .parse()
                    .map_err(|e: &str| DecodeError::BadRequest(format!("frequency {:?}: {e}", f[8])))?;
                let adjust = f[9]
                    .parse()
                    .map_err(|e: &str| DecodeError::BadRequest(format!("adjustflag {:?}: {e}", f[9])))?;
                Request::HistoryK {
                    user: s(1),
                    page: page()?,
                    query: HistoryKQuery {
                        code: s(4),
                        fields: s(5),
                        start: date(6)?,
                        end: date(7)?,
                        frequency,
                        adjust,
                    },
                }
            }
            MsgType::DAILY_ASTOCK => {
                arity(3)?;
                Request::DailyAStock {
                    user: s(1),
                    date: date(2)?,
                }
            }
            MsgType::DAILY_ETF => {
                arity(3)?;
                Request::DailyEtf {
                    user: s(1),
                    date: date(2)?,
                }
            }
            MsgType::DAILY_ADJUST_FACTOR => {
                arity(3)?;
                Request::DailyAdjustFactor {
                    user: s(1),
                    date: date(2)?,
                }
            }
            MsgType::TRADE_DATES => {
                arity(6)?;
                Request::TradeDates {
                    user: s(1),
                    page: page()?,
                    start: date(4)?,
                    end: date(5)?,
                }
            }
            MsgType::ALL_STOCK => {
                arity(5)?;
                Request::AllStock {
                    user: s(1),
                    page: page()?,
                    day: date(4)?,
                }
            }
            MsgType::STOCK_BASIC => {
                arity(6)?;
                Request::StockBasic {
                    user: s(1),
                    page: page()?,
                    code: s(4),
                    code_name: s(5),
                }
            }
            MsgType::STOCK_INDUSTRY => {
                arity(6)?;
                Request::StockIndustry {
                    user: s(1),
                    page: page()?,
                    code: s(4),
                    date: opt_date(5)?,
                }
            }
            MsgType::ADJUST_FACTOR => {
                arity(7)?;
                Request::AdjustFactor {
                    user: s(1),
                    page: page()?,
                    code: s(4),
                    start: date(5)?,
                    end: date(6)?,
                }
            }
            _ => {
                arity(5)?;
                let index = StockIndex::from_msg_type(t)
                    .ok_or_else(|| DecodeError::BadRequest(format!("type {t} is not a known request")))?;
                Request::IndexConstituents {
                    user: s(1),
                    page: page()?,
                    index,
                    date: opt_date(4)?,
                }
            }
        };
        if r.method() != f[0] {
            return Err(DecodeError::BadRequest(format!(
                "type {t} does not carry method {:?}",
                f[0]
            )));
        }
        Ok(r)
    }
}
