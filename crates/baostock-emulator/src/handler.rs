//! Answers to query frames, without I/O: the body layouts of PROTOCOL.md §3 filled from the
//! market, under a [`Publication`] (what is published at the query's instant). Sessions,
//! faults and latency live in the server; this module only maps a request to an answer.
//!
//! Publication, per request: 98 (daily bars), 9A (daily bars, ETF floor) and 9C (factors)
//! answer no rows for a day not published or before the all-market start; 95 leaves out the
//! days its frequency's kind has not published or that are under a floor (weekly and monthly
//! bars whole once their period is out, when the kind has an hour); 15 leaves out the factor
//! rows whose dividOperateDate is not published; 61/63/65 answer no rows for a day whose
//! Monday list is not out. An empty date in 59/61/63/65 means the last day the constituents
//! are published for (at most the history's end). Reports (13, 17..31 odd) follow
//! `Kind::Reports` (a report dated `d` appears at its hour of `d + 1`): 17..27 answer the
//! latest revision published, 29/31 the published rows in the range, 13 the dividends whose
//! announcement is published, with the later dates filled in as they are published
//! ([`crate::reports`]); 47..55 serve what is released by the clock's date. 33, 35, 45 and 59
//! with a date are not gated. Report answers echo their parameters as received; 53 is
//! answered with type 56.
//!
//! Error choices (all sent as `04` frames, `code \x01 message`):
//! * unknown or retired message type: `10004020 错误的消息类型`;
//! * a known type with the wrong number of body fields: `10004006 请求参数个数不正确`;
//! * a malformed parameter (page, date format, frequency, adjust flag, method name):
//!   `10004006 参数错误`;
//! * a code not in the market (95, 15), or a malformed one (45, 59, 13, 17..31; a well-formed
//!   code not in the market gives no rows there): `10004011 无效的证券代码`;
//! * a field that does not exist for the frequency (95): `10004012 无效的指标`;
//! * a date before 1990-12-19 or after 2099-12-31 (59, 61, 63, 65 and the reports too; a
//!   report year outside 1990..=2099), or start after end: `10004013 超出日期支持范围`.

use chrono::NaiveDate;

use baostock::frame::{encode_response, Frame, MsgType, SERVER_VERSION};
use baostock::json::write_records;
use baostock::reply::codes;
use baostock::report::ReportKind;
use baostock::value::{ADJUST_FACTOR_FIELDS, DAILY_FIELDS};
use baostock::{Page, Request};

use crate::market::{max_query_date, min_query_date, Market, QueryError, SecType};
use crate::publication::{Kind, Publication};

/// Field list of the 33 answer, as the real server writes it.
pub const TRADE_DATES_FIELDS: &str = "calendar_date, is_trading_day";
/// Field list of the 35 answer.
pub const ALL_STOCK_FIELDS: &str = "code,tradeStatus,code_name";
/// Field list of the 45 answer.
pub const STOCK_BASIC_FIELDS: &str = "code, code_name, ipoDate, outDate, type, status";
/// Field list of the 61, 63 and 65 answers, as the real server writes it.
pub const INDEX_CONSTITUENT_FIELDS: &str = "updateDate, code, code_name";
/// Field list of the 59 answer, as the real server writes it.
pub const STOCK_INDUSTRY_FIELDS: &str = "updateDate, code, code_name, industry, industryClassification";

/// One answer: its message type and body (encoded on the way out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// Response type (`04` for errors).
    pub msg_type: MsgType,
    /// The body, without crc and trailer.
    pub body: String,
}

impl Answer {
    /// An `04` error frame.
    pub fn error(code: &str, message: &str) -> Answer {
        Answer {
            msg_type: MsgType::ERROR,
            body: format!("{code}\x01{message}"),
        }
    }

    /// The frame bytes, exactly as the real server encodes them.
    pub fn encode(&self) -> Vec<u8> {
        encode_response(SERVER_VERSION, self.msg_type, &self.body)
    }

    /// Whether this is an error frame.
    pub fn is_error(&self) -> bool {
        self.msg_type == MsgType::ERROR
    }
}

/// The error frame for a query error.
pub fn query_error(e: &QueryError) -> Answer {
    match e {
        QueryError::InvalidCode => Answer::error(codes::INVALID_CODE, "无效的证券代码"),
        QueryError::InvalidField(_) => Answer::error(codes::INVALID_INDICATOR, "无效的指标"),
        QueryError::DateOutOfRange => Answer::error(codes::DATE_OUT_OF_RANGE, "超出日期支持范围"),
    }
}

/// Number of body fields of each emulated request type; `None` for other types.
pub fn arity(t: MsgType) -> Option<usize> {
    Some(match t {
        MsgType::LOGIN => 4,
        MsgType::LOGOUT => 3,
        MsgType::HISTORY_K => 10,
        MsgType::DAILY_ASTOCK | MsgType::DAILY_ETF | MsgType::DAILY_ADJUST_FACTOR => 3,
        MsgType::TRADE_DATES => 6,
        MsgType::ALL_STOCK => 5,
        MsgType::STOCK_BASIC => 6,
        MsgType::ADJUST_FACTOR => 7,
        MsgType::STOCK_INDUSTRY => 6,
        MsgType::HS300_STOCKS | MsgType::SZ50_STOCKS | MsgType::ZZ500_STOCKS => 5,
        t => match ReportKind::from_msg_type(t)? {
            ReportKind::DepositRate
            | ReportKind::LoanRate
            | ReportKind::MoneySupplyMonth
            | ReportKind::MoneySupplyYear => 6,
            _ => 7,
        },
    })
}

/// The answer to an unknown or retired message type.
pub fn wrong_type() -> Answer {
    Answer::error(codes::WRONG_MSG_TYPE, "错误的消息类型")
}

/// The answer to a known type with the wrong number of fields.
pub fn wrong_count() -> Answer {
    Answer::error(codes::PARAM_ERROR, "请求参数个数不正确")
}

/// Login and logout replies: `0, success, method, user, <17-digit time>`.
pub fn session_reply(msg_type: MsgType, method: &str, user: &str, time: chrono::NaiveDateTime) -> Answer {
    Answer {
        msg_type: msg_type.reply_type(),
        body: format!(
            "0\x01success\x01{method}\x01{user}\x01{}",
            time.format("%Y%m%d%H%M%S%3f")
        ),
    }
}

fn page_slice(rows: &[Vec<String>], page: Page) -> &[Vec<String>] {
    let per = page.per_page as usize;
    let from = (page.page as usize - 1).saturating_mul(per).min(rows.len());
    let to = from.saturating_add(per).min(rows.len());
    &rows[from..to]
}

fn paged(t: MsgType, method: &str, user: &str, page: Page, rows: &[Vec<String>], tail: &[&str]) -> Answer {
    page_answer(t, method, user, page, page_slice(rows, page), tail)
}

/// A paged answer whose rows are already the page.
fn page_answer(t: MsgType, method: &str, user: &str, page: Page, rows: &[Vec<String>], tail: &[&str]) -> Answer {
    let data = write_records(rows);
    let mut body = format!(
        "0\x01success\x01{method}\x01{user}\x01{}\x01{}\x01{data}",
        page.page, page.per_page
    );
    for t in tail {
        body.push('\x01');
        body.push_str(t);
    }
    Answer {
        msg_type: t.reply_type(),
        body,
    }
}

fn unpaged(t: MsgType, method: &str, user: &str, rows: &[Vec<String>], fields: &str) -> Answer {
    Answer {
        msg_type: t.reply_type(),
        body: format!(
            "0\x01success\x01{method}\x01{user}\x01{}\x01{fields}",
            write_records(rows)
        ),
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// The day a reference query asks about: its date, or for an empty one the latest day (the
/// last day the constituents are published for, at most the history's end). A date the
/// server does not support is an error.
fn reference_day(market: &Market, asked: Option<NaiveDate>, publication: Publication) -> Result<NaiveDate, QueryError> {
    match asked {
        Some(d) if d < min_query_date() || d > max_query_date() => Err(QueryError::DateOutOfRange),
        Some(d) => Ok(d),
        None => Ok(publication
            .last_published(Kind::Constituents)
            .min(market.calendar().end())),
    }
}

/// Answers a query frame of a known type (not login or logout) for a logged-in session.
pub fn answer_query(market: &Market, frame: &Frame, publication: Publication) -> Answer {
    let t = frame.msg_type;
    let Some(n) = arity(t) else {
        return wrong_type();
    };
    if frame.fields().len() != n {
        return wrong_count();
    }
    let req = match Request::decode(frame) {
        Ok(r) => r,
        Err(_) => return Answer::error(codes::PARAM_ERROR, "参数错误"),
    };
    let method = req.method().to_owned();
    let result = match &req {
        Request::HistoryK { user, page, query: q } => market
            .history_window(
                &q.code,
                &q.fields,
                q.start,
                q.end,
                q.frequency,
                q.adjust,
                market.security(&q.code).map_or(NaiveDate::MIN..=NaiveDate::MAX, |s| {
                    publication.days(Kind::of_frequency(q.frequency), s.sec_type)
                }),
                (page.page as usize - 1).saturating_mul(page.per_page as usize),
                page.per_page as usize,
            )
            .map(|rows| {
                let (s, e) = (date(q.start), date(q.end));
                let tail = [
                    q.code.as_str(),
                    q.fields.as_str(),
                    &s,
                    &e,
                    q.frequency.code(),
                    q.adjust.code(),
                ];
                page_answer(t, &method, user, *page, &rows, &tail)
            }),
        Request::DailyAStock { user, date: d } | Request::DailyEtf { user, date: d } => {
            let sec_type = if t == MsgType::DAILY_ASTOCK {
                SecType::Stock
            } else {
                SecType::Etf
            };
            let rows = if !publication.days(Kind::Daily, sec_type).contains(d) || !publication.in_all_market_history(*d)
            {
                Vec::new()
            } else if sec_type == SecType::Stock {
                market.daily_astock(*d)
            } else {
                market.daily_etf(*d)
            };
            Ok(unpaged(t, &method, user, &rows, DAILY_FIELDS))
        }
        Request::DailyAdjustFactor { user, date: d } => {
            let rows = if publication.is_published(Kind::Factors, *d) && publication.in_all_market_history(*d) {
                market.daily_adjust_factors(*d)
            } else {
                Vec::new()
            };
            Ok(unpaged(t, &method, user, &rows, ADJUST_FACTOR_FIELDS))
        }
        Request::TradeDates { user, page, start, end } => market.trade_dates_between(*start, *end).map(|rows| {
            let (s, e) = (date(*start), date(*end));
            paged(t, &method, user, *page, &rows, &[&s, &e, TRADE_DATES_FIELDS])
        }),
        Request::AllStock { user, page, day } => {
            let rows = market.all_stock(*day);
            let d = date(*day);
            Ok(paged(t, &method, user, *page, &rows, &[&d, ALL_STOCK_FIELDS]))
        }
        Request::StockBasic {
            user,
            page,
            code,
            code_name,
        } => {
            if !code.is_empty() && !valid_code_shape(code) {
                Err(QueryError::InvalidCode)
            } else {
                let rows = market.stock_basic(code, code_name);
                Ok(paged(
                    t,
                    &method,
                    user,
                    *page,
                    &rows,
                    &[code, code_name, STOCK_BASIC_FIELDS],
                ))
            }
        }
        Request::AdjustFactor {
            user,
            page,
            code,
            start,
            end,
        } => market.adjust_factors(code, *start, *end).map(|mut rows| {
            let last = date(publication.last_published(Kind::Factors));
            // Column 1 is the dividOperateDate; ISO dates order as strings.
            rows.retain(|r| r[1] <= last);
            let (s, e) = (date(*start), date(*end));
            paged(t, &method, user, *page, &rows, &[code, &s, &e, ADJUST_FACTOR_FIELDS])
        }),
        Request::IndexConstituents {
            user,
            page,
            index,
            date: asked,
        } => reference_day(market, *asked, publication).map(|day| {
            let rows = if publication.is_published(Kind::Constituents, day) {
                market.index_constituents(*index, day)
            } else {
                Vec::new()
            };
            let echo = asked.map(date).unwrap_or_default();
            paged(t, &method, user, *page, &rows, &[&echo, INDEX_CONSTITUENT_FIELDS])
        }),
        Request::StockIndustry {
            user,
            page,
            code,
            date: asked,
        } => {
            if !code.is_empty() && !valid_code_shape(code) {
                Err(QueryError::InvalidCode)
            } else {
                reference_day(market, *asked, publication).map(|day| {
                    let rows = market.stock_industry(code, day);
                    let echo = asked.map(date).unwrap_or_default();
                    paged(t, &method, user, *page, &rows, &[code, &echo, STOCK_INDUSTRY_FIELDS])
                })
            }
        }
        Request::Report { user, page, query } => market.report(query, &publication).map(|rows| {
            let kind = query.kind();
            // The parameters echoed exactly as received, then the field list.
            let mut tail: Vec<String> = frame.fields()[4..].iter().map(|p| (*p).to_owned()).collect();
            tail.push(kind.field_list());
            let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
            Answer {
                msg_type: kind.reply_type(),
                ..paged(t, &method, user, *page, &rows, &tail)
            }
        }),
        Request::Login { .. } | Request::Logout { .. } | Request::Other { .. } => return wrong_type(),
    };
    result.unwrap_or_else(|e| query_error(&e))
}

/// `sh.`/`sz.`/`bj.` and six digits.
pub fn valid_code_shape(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 9 && matches!(&b[..3], b"sh." | b"sz." | b"bj.") && b[3..].iter().all(u8::is_ascii_digit)
}
