//! Reports: the quarterly fundamentals, performance express and forecast reports and dividends
//! of one code, and the macro series: what each kind is asked with, its fields (wire name,
//! column name, cell type) and its typed rows. FUNDAMENTALS.md is the wire research behind it.

use chrono::{Datelike, NaiveDate};

use crate::frame::MsgType;
use crate::value::{format_date, parse_date, parse_decimal, parse_integer, CellError, Decimal};

/// Every kind of report the server answers, one message type each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReportKind {
    Profit,
    Operation,
    Growth,
    Balance,
    CashFlow,
    Dupont,
    Express,
    Forecast,
    Dividend,
    DepositRate,
    LoanRate,
    ReserveRatio,
    MoneySupplyMonth,
    MoneySupplyYear,
}

/// The six kinds asked for one code, year and quarter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quarterly {
    Profit,
    Operation,
    Growth,
    Balance,
    CashFlow,
    Dupont,
}

/// The two kinds asked for one code and a range of publication dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Published {
    Express,
    Forecast,
}

/// The two rate series asked for a range of announcement dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rates {
    Deposit,
    Loan,
}

/// Which year a dividend query selects by (`yearType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DividendYear {
    /// `report`: the year the plan was announced (the client's default).
    Report,
    /// `operate`: the year of the ex-dividend date.
    Operate,
}

/// Which date a reserve-ratio query selects by (`yearType` `0` or `1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReserveDate {
    /// `0`: the announcement date (the client's default).
    Announced,
    /// `1`: the effective date.
    Effective,
}

/// A month, as money-supply queries send it (`YYYY-MM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: i32,
    pub month: u32,
}

/// What a report request asks for, after paging; each shape sends its own parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportQuery {
    /// 17..27: `code, year, quarter`.
    Quarter {
        kind: Quarterly,
        code: String,
        year: i32,
        quarter: u8,
    },
    /// 29, 31: `code, start, end`; rows whose publication falls in the range.
    Published {
        kind: Published,
        code: String,
        start: NaiveDate,
        end: NaiveDate,
    },
    /// 13: `code, year, yearType`.
    Dividend {
        code: String,
        year: i32,
        year_type: DividendYear,
    },
    /// 47, 49: `start, end` (either may be empty: unbounded).
    Rates {
        kind: Rates,
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
    },
    /// 51: `start, end, yearType`.
    ReserveRatio {
        start: Option<NaiveDate>,
        end: Option<NaiveDate>,
        by: ReserveDate,
    },
    /// 53: `start, end` as `YYYY-MM`.
    MoneySupplyMonth {
        start: Option<YearMonth>,
        end: Option<YearMonth>,
    },
    /// 55: `start, end` as `YYYY`.
    MoneySupplyYear { start: Option<i32>, end: Option<i32> },
}

/// The type of a report cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CellType {
    /// `YYYY-MM-DD`.
    Date,
    /// A decimal written as the server wrote it (scale kept).
    Number,
    /// A whole number (`statYear`, `statMonth` `"01"`).
    Integer,
    /// Free text (`dividCashPsAfterTax` "0.288或0.32", Chinese plan texts).
    Text,
}

/// A field of a report: its name on the wire, the column it is stored in, its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    pub wire: &'static str,
    pub column: &'static str,
    pub ty: CellType,
}

/// A typed cell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Date(NaiveDate),
    Number(Decimal),
    Integer(i64),
    Text(String),
}

/// One report row: its cells in the order of [`ReportKind::fields`], empty cells `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportKind,
    pub cells: Vec<Option<Cell>>,
}

const fn f(wire: &'static str, column: &'static str, ty: CellType) -> Field {
    Field { wire, column, ty }
}

use CellType::{Date as D, Integer as I, Number as N, Text as T};

const CODE: Field = f("code", "code", T);
const PUB: Field = f("pubDate", "pub_date", D);
const STAT: Field = f("statDate", "stat_date", D);

const PROFIT: &[Field] = &[
    CODE,
    PUB,
    STAT,
    f("roeAvg", "roe_avg", N),
    f("npMargin", "np_margin", N),
    f("gpMargin", "gp_margin", N),
    f("netProfit", "net_profit", N),
    f("epsTTM", "eps_ttm", N),
    f("MBRevenue", "mb_revenue", N),
    f("totalShare", "total_share", N),
    f("liqaShare", "liqa_share", N),
];
const OPERATION: &[Field] = &[
    CODE,
    PUB,
    STAT,
    f("NRTurnRatio", "nr_turn_ratio", N),
    f("NRTurnDays", "nr_turn_days", N),
    f("INVTurnRatio", "inv_turn_ratio", N),
    f("INVTurnDays", "inv_turn_days", N),
    f("CATurnRatio", "ca_turn_ratio", N),
    f("AssetTurnRatio", "asset_turn_ratio", N),
];
const GROWTH: &[Field] = &[
    CODE,
    PUB,
    STAT,
    f("YOYEquity", "yoy_equity", N),
    f("YOYAsset", "yoy_asset", N),
    f("YOYNI", "yoy_ni", N),
    f("YOYEPSBasic", "yoy_eps_basic", N),
    f("YOYPNI", "yoy_pni", N),
];
const DUPONT: &[Field] = &[
    CODE,
    PUB,
    STAT,
    f("dupontROE", "dupont_roe", N),
    f("dupontAssetStoEquity", "dupont_assets_to_equity", N),
    f("dupontAssetTurn", "dupont_asset_turn", N),
    f("dupontPnitoni", "dupont_pni_to_ni", N),
    f("dupontNitogr", "dupont_ni_to_gr", N),
    f("dupontTaxBurden", "dupont_tax_burden", N),
    f("dupontIntburden", "dupont_int_burden", N),
    f("dupontEbittogr", "dupont_ebit_to_gr", N),
];
const BALANCE: &[Field] = &[
    CODE,
    PUB,
    STAT,
    f("currentRatio", "current_ratio", N),
    f("quickRatio", "quick_ratio", N),
    f("cashRatio", "cash_ratio", N),
    f("YOYLiability", "yoy_liability", N),
    f("liabilityToAsset", "liability_to_asset", N),
    f("assetToEquity", "asset_to_equity", N),
];
const CASH_FLOW: &[Field] = &[
    CODE,
    PUB,
    STAT,
    f("CAToAsset", "ca_to_asset", N),
    f("NCAToAsset", "nca_to_asset", N),
    f("tangibleAssetToAsset", "tangible_asset_to_asset", N),
    f("ebitToInterest", "ebit_to_interest", N),
    f("CFOToOR", "cfo_to_or", N),
    f("CFOToNP", "cfo_to_np", N),
    f("CFOToGr", "cfo_to_gr", N),
];
const EXPRESS: &[Field] = &[
    CODE,
    f("performanceExpPubDate", "pub_date", D),
    f("performanceExpStatDate", "stat_date", D),
    f("performanceExpUpdateDate", "update_date", D),
    f("performanceExpressTotalAsset", "total_asset", N),
    f("performanceExpressNetAsset", "net_asset", N),
    f("performanceExpressEPSChgPct", "eps_chg_pct", N),
    f("performanceExpressROEWa", "roe_wa", N),
    f("performanceExpressEPSDiluted", "eps_diluted", N),
    f("performanceExpressGRYOY", "gr_yoy", N),
    f("performanceExpressOPYOY", "op_yoy", N),
];
const FORECAST: &[Field] = &[
    CODE,
    f("profitForcastExpPubDate", "pub_date", D),
    f("profitForcastExpStatDate", "stat_date", D),
    f("profitForcastType", "forecast_type", T),
    f("profitForcastAbstract", "forecast_abstract", T),
    f("profitForcastChgPctUp", "chg_pct_up", N),
    f("profitForcastChgPctDwn", "chg_pct_down", N),
];
const DIVIDEND: &[Field] = &[
    CODE,
    f("dividPreNoticeDate", "pre_notice_date", D),
    f("dividAgmPumDate", "agm_pum_date", D),
    f("dividPlanAnnounceDate", "plan_announce_date", D),
    f("dividPlanDate", "plan_date", D),
    f("dividRegistDate", "regist_date", D),
    f("dividOperateDate", "operate_date", D),
    f("dividPayDate", "pay_date", D),
    f("dividStockMarketDate", "stock_market_date", D),
    f("dividCashPsBeforeTax", "cash_ps_before_tax", N),
    f("dividCashPsAfterTax", "cash_ps_after_tax", T),
    f("dividStocksPs", "stocks_ps", N),
    f("dividCashStock", "cash_stock", T),
    f("dividReserveToStockPs", "reserve_to_stock_ps", N),
];
const DEPOSIT_RATE: &[Field] = &[
    PUB,
    f("demandDepositRate", "demand_deposit_rate", N),
    f("fixedDepositRate3Month", "fixed_deposit_rate_3m", N),
    f("fixedDepositRate6Month", "fixed_deposit_rate_6m", N),
    f("fixedDepositRate1Year", "fixed_deposit_rate_1y", N),
    f("fixedDepositRate2Year", "fixed_deposit_rate_2y", N),
    f("fixedDepositRate3Year", "fixed_deposit_rate_3y", N),
    f("fixedDepositRate5Year", "fixed_deposit_rate_5y", N),
    f(
        "installmentFixedDepositRate1Year",
        "installment_fixed_deposit_rate_1y",
        N,
    ),
    f(
        "installmentFixedDepositRate3Year",
        "installment_fixed_deposit_rate_3y",
        N,
    ),
    f(
        "installmentFixedDepositRate5Year",
        "installment_fixed_deposit_rate_5y",
        N,
    ),
];
const LOAN_RATE: &[Field] = &[
    PUB,
    f("loanRate6Month", "loan_rate_6m", N),
    f("loanRate6MonthTo1Year", "loan_rate_6m_to_1y", N),
    f("loanRate1YearTo3Year", "loan_rate_1y_to_3y", N),
    f("loanRate3YearTo5Year", "loan_rate_3y_to_5y", N),
    f("loanRateAbove5Year", "loan_rate_above_5y", N),
    f("mortgateRateBelow5Year", "mortgage_rate_below_5y", N),
    f("mortgateRateAbove5Year", "mortgage_rate_above_5y", N),
];
const RESERVE_RATIO: &[Field] = &[
    PUB,
    f("effectiveDate", "effective_date", D),
    f("bigInstitutionsRatioPre", "big_institutions_ratio_pre", N),
    f("bigInstitutionsRatioAfter", "big_institutions_ratio_after", N),
    f("mediumInstitutionsRatioPre", "medium_institutions_ratio_pre", N),
    f("mediumInstitutionsRatioAfter", "medium_institutions_ratio_after", N),
];
const MONEY_SUPPLY_MONTH: &[Field] = &[
    f("statYear", "stat_year", I),
    f("statMonth", "stat_month", I),
    f("m0Month", "m0", N),
    f("m0YOY", "m0_yoy", N),
    f("m0ChainRelative", "m0_mom", N),
    f("m1Month", "m1", N),
    f("m1YOY", "m1_yoy", N),
    f("m1ChainRelative", "m1_mom", N),
    f("m2Month", "m2", N),
    f("m2YOY", "m2_yoy", N),
    f("m2ChainRelative", "m2_mom", N),
];
const MONEY_SUPPLY_YEAR: &[Field] = &[
    f("statYear", "stat_year", I),
    f("m0Year", "m0", N),
    f("m0YearYOY", "m0_yoy", N),
    f("m1Year", "m1", N),
    f("m1YearYOY", "m1_yoy", N),
    f("m2Year", "m2", N),
    f("m2YearYOY", "m2_yoy", N),
];

impl ReportKind {
    /// Every kind, in the order of their message types within each group.
    pub const ALL: [ReportKind; 14] = [
        ReportKind::Profit,
        ReportKind::Operation,
        ReportKind::Growth,
        ReportKind::Balance,
        ReportKind::CashFlow,
        ReportKind::Dupont,
        ReportKind::Express,
        ReportKind::Forecast,
        ReportKind::Dividend,
        ReportKind::DepositRate,
        ReportKind::LoanRate,
        ReportKind::ReserveRatio,
        ReportKind::MoneySupplyMonth,
        ReportKind::MoneySupplyYear,
    ];

    /// The kinds reported per code (the fundamentals jobs' `kinds`).
    pub const PER_CODE: [ReportKind; 9] = [
        ReportKind::Profit,
        ReportKind::Operation,
        ReportKind::Growth,
        ReportKind::Balance,
        ReportKind::CashFlow,
        ReportKind::Dupont,
        ReportKind::Express,
        ReportKind::Forecast,
        ReportKind::Dividend,
    ];

    /// The kind's name in SQL (`kinds` arguments, table suffixes).
    pub fn name(self) -> &'static str {
        match self {
            ReportKind::Profit => "profit",
            ReportKind::Operation => "operation",
            ReportKind::Growth => "growth",
            ReportKind::Balance => "balance",
            ReportKind::CashFlow => "cash_flow",
            ReportKind::Dupont => "dupont",
            ReportKind::Express => "express",
            ReportKind::Forecast => "forecast",
            ReportKind::Dividend => "dividend",
            ReportKind::DepositRate => "deposit_rate",
            ReportKind::LoanRate => "loan_rate",
            ReportKind::ReserveRatio => "reserve_ratio",
            ReportKind::MoneySupplyMonth => "money_supply_month",
            ReportKind::MoneySupplyYear => "money_supply_year",
        }
    }

    /// The kind of a SQL name.
    pub fn from_name(name: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The method name of its query.
    pub fn method(self) -> &'static str {
        match self {
            ReportKind::Profit => "query_profit_data",
            ReportKind::Operation => "query_operation_data",
            ReportKind::Growth => "query_growth_data",
            ReportKind::Balance => "query_balance_data",
            ReportKind::CashFlow => "query_cash_flow_data",
            ReportKind::Dupont => "query_dupont_data",
            ReportKind::Express => "query_performance_express_report",
            ReportKind::Forecast => "query_forecast_report",
            ReportKind::Dividend => "query_dividend_data",
            ReportKind::DepositRate => "query_deposit_rate_data",
            ReportKind::LoanRate => "query_loan_rate_data",
            ReportKind::ReserveRatio => "query_required_reserve_ratio_data",
            ReportKind::MoneySupplyMonth => "query_money_supply_data_month",
            ReportKind::MoneySupplyYear => "query_money_supply_data_year",
        }
    }

    /// The kind a method name asks for.
    pub fn from_method(method: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.method() == method)
    }

    /// The message type its query is sent as.
    pub fn msg_type(self) -> MsgType {
        match self {
            ReportKind::Profit => MsgType::PROFIT_DATA,
            ReportKind::Operation => MsgType::OPERATION_DATA,
            ReportKind::Growth => MsgType::GROWTH_DATA,
            ReportKind::Balance => MsgType::BALANCE_DATA,
            ReportKind::CashFlow => MsgType::CASH_FLOW_DATA,
            ReportKind::Dupont => MsgType::DUPONT_DATA,
            ReportKind::Express => MsgType::EXPRESS_REPORT,
            ReportKind::Forecast => MsgType::FORECAST_REPORT,
            ReportKind::Dividend => MsgType::DIVIDEND_DATA,
            ReportKind::DepositRate => MsgType::DEPOSIT_RATE,
            ReportKind::LoanRate => MsgType::LOAN_RATE,
            ReportKind::ReserveRatio => MsgType::RESERVE_RATIO,
            ReportKind::MoneySupplyMonth => MsgType::MONEY_SUPPLY_MONTH,
            ReportKind::MoneySupplyYear => MsgType::MONEY_SUPPLY_YEAR,
        }
    }

    /// The kind a message type asks for.
    pub fn from_msg_type(t: MsgType) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.msg_type() == t)
    }

    /// The type the real server answers with: the next one, except money supply by month
    /// (53), answered as 56 like money supply by year.
    pub fn reply_type(self) -> MsgType {
        match self {
            ReportKind::MoneySupplyMonth => MsgType::MONEY_SUPPLY_REPLY,
            k => k.msg_type().reply_type(),
        }
    }

    /// Its fields, in the server's order.
    pub fn fields(self) -> &'static [Field] {
        match self {
            ReportKind::Profit => PROFIT,
            ReportKind::Operation => OPERATION,
            ReportKind::Growth => GROWTH,
            ReportKind::Balance => BALANCE,
            ReportKind::CashFlow => CASH_FLOW,
            ReportKind::Dupont => DUPONT,
            ReportKind::Express => EXPRESS,
            ReportKind::Forecast => FORECAST,
            ReportKind::Dividend => DIVIDEND,
            ReportKind::DepositRate => DEPOSIT_RATE,
            ReportKind::LoanRate => LOAN_RATE,
            ReportKind::ReserveRatio => RESERVE_RATIO,
            ReportKind::MoneySupplyMonth => MONEY_SUPPLY_MONTH,
            ReportKind::MoneySupplyYear => MONEY_SUPPLY_YEAR,
        }
    }

    /// The field list as the server sends it (comma-separated).
    pub fn field_list(self) -> String {
        self.fields().iter().map(|f| f.wire).collect::<Vec<_>>().join(",")
    }

    /// Whether the server reports it per code (the rest are market-wide series).
    pub fn is_per_code(self) -> bool {
        ReportKind::PER_CODE.contains(&self)
    }

    /// Whether it is asked per code, year and quarter.
    pub fn quarterly(self) -> Option<Quarterly> {
        Some(match self {
            ReportKind::Profit => Quarterly::Profit,
            ReportKind::Operation => Quarterly::Operation,
            ReportKind::Growth => Quarterly::Growth,
            ReportKind::Balance => Quarterly::Balance,
            ReportKind::CashFlow => Quarterly::CashFlow,
            ReportKind::Dupont => Quarterly::Dupont,
            _ => return None,
        })
    }

    /// Index of a column in [`fields`](Self::fields).
    pub fn column(self, name: &str) -> Option<usize> {
        self.fields().iter().position(|f| f.column == name)
    }
}

impl From<Quarterly> for ReportKind {
    fn from(q: Quarterly) -> ReportKind {
        match q {
            Quarterly::Profit => ReportKind::Profit,
            Quarterly::Operation => ReportKind::Operation,
            Quarterly::Growth => ReportKind::Growth,
            Quarterly::Balance => ReportKind::Balance,
            Quarterly::CashFlow => ReportKind::CashFlow,
            Quarterly::Dupont => ReportKind::Dupont,
        }
    }
}

impl From<Published> for ReportKind {
    fn from(p: Published) -> ReportKind {
        match p {
            Published::Express => ReportKind::Express,
            Published::Forecast => ReportKind::Forecast,
        }
    }
}

impl From<Rates> for ReportKind {
    fn from(r: Rates) -> ReportKind {
        match r {
            Rates::Deposit => ReportKind::DepositRate,
            Rates::Loan => ReportKind::LoanRate,
        }
    }
}

impl DividendYear {
    pub fn code(self) -> &'static str {
        match self {
            DividendYear::Report => "report",
            DividendYear::Operate => "operate",
        }
    }

    pub fn from_code(s: &str) -> Option<DividendYear> {
        [DividendYear::Report, DividendYear::Operate]
            .into_iter()
            .find(|y| y.code() == s)
    }
}

impl ReserveDate {
    pub fn code(self) -> &'static str {
        match self {
            ReserveDate::Announced => "0",
            ReserveDate::Effective => "1",
        }
    }

    pub fn from_code(s: &str) -> Option<ReserveDate> {
        [ReserveDate::Announced, ReserveDate::Effective]
            .into_iter()
            .find(|y| y.code() == s)
    }
}

impl YearMonth {
    /// Parses `YYYY-MM` exactly.
    pub fn parse(s: &str) -> Result<YearMonth, CellError> {
        let b = s.as_bytes();
        let shape = b.len() == 7 && b[4] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit());
        if !shape {
            return Err("not a YYYY-MM month");
        }
        let year = s[..4].parse().map_err(|_| "not a YYYY-MM month")?;
        let month = s[5..].parse().map_err(|_| "not a YYYY-MM month")?;
        if !(1..=12).contains(&month) {
            return Err("no such month");
        }
        Ok(YearMonth { year, month })
    }

    /// The month of a day.
    pub fn of(day: NaiveDate) -> YearMonth {
        YearMonth {
            year: day.year(),
            month: day.month(),
        }
    }
}

impl std::fmt::Display for YearMonth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Parses a four-digit year.
pub fn parse_year(s: &str) -> Result<i32, CellError> {
    if s.len() != 4 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err("not a four-digit year");
    }
    s.parse().map_err(|_| "not a four-digit year")
}

/// Parses a quarter `1`..`4`.
pub fn parse_quarter(s: &str) -> Result<u8, CellError> {
    match s {
        "1" => Ok(1),
        "2" => Ok(2),
        "3" => Ok(3),
        "4" => Ok(4),
        _ => Err("not a quarter 1-4"),
    }
}

/// The last day of a quarter (a report's `statDate`).
pub fn quarter_end(year: i32, quarter: u8) -> Option<NaiveDate> {
    let (month, day) = match quarter {
        1 => (3, 31),
        2 => (6, 30),
        3 => (9, 30),
        4 => (12, 31),
        _ => return None,
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The year and quarter a period end falls in.
pub fn quarter_of(day: NaiveDate) -> (i32, u8) {
    (day.year(), ((day.month() - 1) / 3 + 1) as u8)
}

impl ReportQuery {
    /// The kind it asks for.
    pub fn kind(&self) -> ReportKind {
        match self {
            ReportQuery::Quarter { kind, .. } => (*kind).into(),
            ReportQuery::Published { kind, .. } => (*kind).into(),
            ReportQuery::Dividend { .. } => ReportKind::Dividend,
            ReportQuery::Rates { kind, .. } => (*kind).into(),
            ReportQuery::ReserveRatio { .. } => ReportKind::ReserveRatio,
            ReportQuery::MoneySupplyMonth { .. } => ReportKind::MoneySupplyMonth,
            ReportQuery::MoneySupplyYear { .. } => ReportKind::MoneySupplyYear,
        }
    }

    /// The parameters after paging, in wire order.
    pub fn params(&self) -> Vec<String> {
        let day = |d: &Option<NaiveDate>| d.map(format_date).unwrap_or_default();
        match self {
            ReportQuery::Quarter {
                code, year, quarter, ..
            } => vec![code.clone(), year.to_string(), quarter.to_string()],
            ReportQuery::Published { code, start, end, .. } => {
                vec![code.clone(), format_date(*start), format_date(*end)]
            }
            ReportQuery::Dividend { code, year, year_type } => {
                vec![code.clone(), year.to_string(), year_type.code().to_owned()]
            }
            ReportQuery::Rates { start, end, .. } => vec![day(start), day(end)],
            ReportQuery::ReserveRatio { start, end, by } => vec![day(start), day(end), by.code().to_owned()],
            ReportQuery::MoneySupplyMonth { start, end } => {
                let m = |m: &Option<YearMonth>| m.map(|m| m.to_string()).unwrap_or_default();
                vec![m(start), m(end)]
            }
            ReportQuery::MoneySupplyYear { start, end } => {
                let y = |y: &Option<i32>| y.map(|y| format!("{y:04}")).unwrap_or_default();
                vec![y(start), y(end)]
            }
        }
    }

    /// Reads the parameters of a `kind` request (the server side).
    pub fn parse(kind: ReportKind, p: &[&str]) -> Result<ReportQuery, String> {
        let want = match kind {
            ReportKind::DepositRate
            | ReportKind::LoanRate
            | ReportKind::MoneySupplyMonth
            | ReportKind::MoneySupplyYear => 2,
            _ => 3,
        };
        if p.len() != want {
            return Err(format!("{} expects {want} parameters, got {}", kind.method(), p.len()));
        }
        let bad = |what: &str, v: &str, e: &str| format!("{}: {what} {v:?}: {e}", kind.method());
        let date = |v: &str| parse_date(v).map_err(|e| bad("date", v, e));
        let opt_date = |v: &str| if v.is_empty() { Ok(None) } else { date(v).map(Some) };
        let year = |v: &str| parse_year(v).map_err(|e| bad("year", v, e));
        Ok(match kind {
            ReportKind::Express | ReportKind::Forecast => ReportQuery::Published {
                kind: if kind == ReportKind::Express {
                    Published::Express
                } else {
                    Published::Forecast
                },
                code: p[0].to_owned(),
                start: date(p[1])?,
                end: date(p[2])?,
            },
            ReportKind::Dividend => ReportQuery::Dividend {
                code: p[0].to_owned(),
                year: year(p[1])?,
                year_type: DividendYear::from_code(p[2]).ok_or_else(|| bad("yearType", p[2], "not report|operate"))?,
            },
            ReportKind::DepositRate | ReportKind::LoanRate => ReportQuery::Rates {
                kind: if kind == ReportKind::DepositRate {
                    Rates::Deposit
                } else {
                    Rates::Loan
                },
                start: opt_date(p[0])?,
                end: opt_date(p[1])?,
            },
            ReportKind::ReserveRatio => ReportQuery::ReserveRatio {
                start: opt_date(p[0])?,
                end: opt_date(p[1])?,
                by: ReserveDate::from_code(p[2]).ok_or_else(|| bad("yearType", p[2], "not 0|1"))?,
            },
            ReportKind::MoneySupplyMonth => {
                let m = |v: &str| {
                    if v.is_empty() {
                        Ok(None)
                    } else {
                        YearMonth::parse(v).map(Some).map_err(|e| bad("month", v, e))
                    }
                };
                ReportQuery::MoneySupplyMonth {
                    start: m(p[0])?,
                    end: m(p[1])?,
                }
            }
            ReportKind::MoneySupplyYear => {
                let y = |v: &str| if v.is_empty() { Ok(None) } else { year(v).map(Some) };
                ReportQuery::MoneySupplyYear {
                    start: y(p[0])?,
                    end: y(p[1])?,
                }
            }
            quarterly => ReportQuery::Quarter {
                kind: quarterly.quarterly().expect("every other kind is quarterly"),
                code: p[0].to_owned(),
                year: year(p[1])?,
                quarter: parse_quarter(p[2]).map_err(|e| bad("quarter", p[2], e))?,
            },
        })
    }
}

impl Cell {
    /// Parses a non-empty cell of type `ty`.
    pub fn parse(ty: CellType, s: &str) -> Result<Cell, CellError> {
        Ok(match ty {
            CellType::Date => Cell::Date(parse_date(s)?),
            CellType::Number => Cell::Number(parse_decimal(s)?),
            CellType::Integer => Cell::Integer(parse_integer(s)?),
            CellType::Text => Cell::Text(s.to_owned()),
        })
    }

    /// The cell as the server writes it (numbers keep their scale; integers are not padded).
    pub fn to_wire(&self) -> String {
        match self {
            Cell::Date(d) => format_date(*d),
            Cell::Number(n) => n.to_string(),
            Cell::Integer(i) => i.to_string(),
            Cell::Text(t) => t.clone(),
        }
    }
}

impl Report {
    /// The cell of a column, if the kind has it and it is not empty.
    pub fn get(&self, column: &str) -> Option<&Cell> {
        self.cells.get(self.kind.column(column)?)?.as_ref()
    }

    /// A date column.
    pub fn date(&self, column: &str) -> Option<NaiveDate> {
        match self.get(column)? {
            Cell::Date(d) => Some(*d),
            _ => None,
        }
    }

    /// The code, for kinds reported per code.
    pub fn code(&self) -> Option<&str> {
        match self.get("code")? {
            Cell::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The period the report covers (`statDate`; express and forecast: their stat date).
    pub fn stat_date(&self) -> Option<NaiveDate> {
        self.date("stat_date")
    }

    /// The day it became known: its publication date; for dividends the earliest date the row
    /// carries (announcements come before the dates they announce); for rates the
    /// announcement; money supply carries none.
    pub fn known_date(&self) -> Option<NaiveDate> {
        match self.kind {
            ReportKind::Dividend => self
                .cells
                .iter()
                .filter_map(|c| match c {
                    Some(Cell::Date(d)) => Some(*d),
                    _ => None,
                })
                .min(),
            _ => self.date("pub_date"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_their_names_methods_and_types() {
        for k in ReportKind::ALL {
            assert_eq!(ReportKind::from_name(k.name()), Some(k));
            assert_eq!(ReportKind::from_method(k.method()), Some(k));
            assert_eq!(ReportKind::from_msg_type(k.msg_type()), Some(k));
            let columns: Vec<_> = k.fields().iter().map(|f| f.column).collect();
            let mut unique = columns.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), columns.len(), "{}: a column named twice", k.name());
            assert_eq!(k.is_per_code(), k.fields()[0].wire == "code", "{}", k.name());
            // Every per-code kind but dividends (known from their earliest date) is published
            // on a pub_date, and keyed by a stat_date.
            if k.is_per_code() && k != ReportKind::Dividend {
                assert!(k.column("pub_date").is_some(), "{}: no pub date", k.name());
                assert!(k.column("stat_date").is_some(), "{}: no stat date", k.name());
            }
        }
        assert_eq!(ReportKind::MoneySupplyMonth.reply_type().as_str(), "56");
        assert_eq!(ReportKind::MoneySupplyYear.reply_type().as_str(), "56");
        assert_eq!(ReportKind::Profit.reply_type().as_str(), "18");
        assert_eq!(ReportKind::Dividend.reply_type().as_str(), "14");
    }

    #[test]
    fn columns_are_snake_case() {
        for k in ReportKind::ALL {
            for f in k.fields() {
                let ok = f
                    .column
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
                    && !f.column.starts_with('_')
                    && !f.column.contains("__");
                assert!(ok, "{}: {}", k.name(), f.column);
            }
        }
    }

    #[test]
    fn parameters_parse_strictly() {
        let q = ReportQuery::parse(ReportKind::Growth, &["sh.600000", "2023", "2"]).unwrap();
        assert_eq!(q.params(), ["sh.600000", "2023", "2"]);
        assert_eq!(q.kind(), ReportKind::Growth);
        for bad in [
            ["sh.600000", "23", "2"],
            ["sh.600000", "2023", "5"],
            ["sh.600000", "2023", "02"],
        ] {
            assert!(ReportQuery::parse(ReportKind::Profit, &bad).is_err(), "{bad:?}");
        }
        assert!(ReportQuery::parse(ReportKind::Dividend, &["sh.600000", "2023", "plan"]).is_err());
        assert!(ReportQuery::parse(ReportKind::ReserveRatio, &["", "", "2"]).is_err());
        let m = ReportQuery::parse(ReportKind::MoneySupplyMonth, &["2023-01", ""]).unwrap();
        assert_eq!(m.params(), ["2023-01", ""]);
        assert!(ReportQuery::parse(ReportKind::MoneySupplyMonth, &["2023-13", ""]).is_err());
        assert!(ReportQuery::parse(ReportKind::MoneySupplyYear, &["2020", "2023", "x"]).is_err());
        assert_eq!(quarter_end(2023, 2), NaiveDate::from_ymd_opt(2023, 6, 30));
        assert_eq!(quarter_of(NaiveDate::from_ymd_opt(2023, 12, 31).unwrap()), (2023, 4));
    }

    #[test]
    fn a_dividend_is_known_from_its_earliest_date() {
        let d = |s| Some(Cell::Date(parse_date(s).unwrap()));
        let mut cells = vec![None; DIVIDEND.len()];
        cells[0] = Some(Cell::Text("sh.600000".into()));
        cells[2] = d("2023-06-29");
        cells[3] = d("2023-04-19");
        cells[6] = d("2023-07-21");
        let r = Report {
            kind: ReportKind::Dividend,
            cells,
        };
        assert_eq!(r.known_date(), parse_date("2023-04-19").ok());
        assert_eq!(r.code(), Some("sh.600000"));
        assert_eq!(r.stat_date(), None);
    }

    #[test]
    fn a_report_cell_stays_small() {
        // Reports count two cells a field against Limits::max_cells (48 bytes a counted cell).
        assert!(std::mem::size_of::<Option<Cell>>() <= 32);
        assert!(std::mem::size_of::<Report>() <= 32);
    }
}
