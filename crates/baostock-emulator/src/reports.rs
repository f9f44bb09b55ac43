//! The synthetic market's filings: quarterly fundamentals (profit, operation, growth, dupont,
//! balance, cash flow: 17..27), express (29) and forecast (31) reports, dividends (13) from
//! the factor events, and the macro series (deposit and loan rates 47/49, reserve ratios 51,
//! money supply by month 53 and by year 55). Everything is drawn from the security's seed (the
//! macro series from a fixed seed) and computed in integers: ratios in 1e-6, money in 1e-6 yuan,
//! rates in basis points or tenths of a percent, printed with the scales of the captures
//! (FUNDAMENTALS.md).
//!
//! Rules:
//! * Only stocks file. Periods are the quarter ends from the later of the listing and the
//!   history's start; a filing exists only while the stock is listed on its pubDate and up to
//!   the history's end. The first pubDate is drawn between statDate+20 and the legal deadline
//!   (Q1 Apr 30, H1 Aug 31, Q3 Oct 31, annual Apr 30 of the next year); about 1 in 15
//!   (security, statDate) is restated 30..180 days later with other drawn values. A query
//!   answers the latest revision published by then (one row), nothing before the first.
//! * epsTTM is the close of the last bar on or before statDate divided by that bar's peTTM;
//!   netProfit = epsTTM × totalShare × quarter/4 (year to date); liqaShare is the float;
//!   dupontROE = roeAvg = assets/equity × asset turn × parent share × net margin, dupontNitogr =
//!   npMargin, dupontAssetTurn = AssetTurnRatio, CFOToNP = CFOToOR / npMargin,
//!   liabilityToAsset = 1 − 1/assetToEquity, NCAToAsset = 1 − CAToAsset; YOYNI compares
//!   epsTTM with the same period a year before. Banks (J66) leave the ratios empty that the
//!   captured bank leaves empty.
//! * Express: about 1 in 4 stocks, annual and H1, 5..40 days before the report (at least
//!   statDate+10). Forecast: about 1 in 3 stocks, annual, Jan 10..31 and before the report.
//! * Dividends: one row per factor event (run-time corporate actions included): operate and
//!   pay on the event day, registration the trading day before, the plan 3..6 days before
//!   that, the AGM 10..30 days before the plan, its announcement 20..60 days before the AGM.
//!   A ratio below 1.3 is a cash dividend of preclose × (1 − 1/ratio), rounded to the fen;
//!   otherwise a stock dividend of ratio − 1 shares a share. The row appears once its
//!   announcement is published; the AGM date once it has come; the plan and the dates after it
//!   once the plan is published.
//! * Macro: rate and reserve-ratio change events every 150..700 days from 1990; money supply
//!   monthly from 1989, a month released on the 15th of the next, a year's end on Jan 15.
//!   Only what is released by the clock's date and within the history is served.

use std::sync::OnceLock;

use baostock::report::{quarter_end, DividendYear, Published, Quarterly, Rates, ReportQuery, ReserveDate, YearMonth};
use chrono::{Datelike, Days, NaiveDate};

use crate::handler::valid_code_shape;
use crate::market::{check_dates, div_round, fixed, industry_of, Market, QueryError, SecType, Security};
use crate::publication::{Kind, Publication};
use crate::rng::{below, h2, h3};

/// Ratio units (6 decimals).
const ONE: i64 = 1_000_000;

/// The day 5-year deposit rates stop being quoted (empty cells from then on, as captured).
const NO_5Y_DEPOSITS: NaiveDate = match NaiveDate::from_ymd_opt(2014, 11, 22) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// How a published report's row is made: (market, security, statDate, pubDate).
type RowOf = fn(&Market, &Security, NaiveDate, NaiveDate) -> Vec<String>;

/// A filing of one period: its end and the days its revisions were published (one or two,
/// ascending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filing {
    /// The period end (statDate).
    pub stat: NaiveDate,
    /// The pubDate of each revision.
    pub pubs: Vec<NaiveDate>,
}

/// A dividend as the server knows it at full publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dividend {
    /// Announcement of the plan.
    pub plan_announce: NaiveDate,
    /// The shareholders' meeting (its announcement).
    pub agm: NaiveDate,
    /// The implementation announcement.
    pub plan: NaiveDate,
    /// Record date: the trading day before the operate date.
    pub regist: NaiveDate,
    /// Ex date: the factor event's day.
    pub operate: NaiveDate,
    /// Cash per share before tax in fen (cash dividends).
    pub cash_fen: Option<i64>,
    /// Bonus shares per share in 1e-6 (stock dividends).
    pub stocks_ps: Option<i64>,
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn plus(d: NaiveDate, n: i64) -> NaiveDate {
    if n >= 0 {
        d.checked_add_days(Days::new(n as u64)).unwrap_or(NaiveDate::MAX)
    } else {
        d.checked_sub_days(Days::new(n.unsigned_abs()))
            .unwrap_or(NaiveDate::MIN)
    }
}

fn day_key(d: NaiveDate) -> u64 {
    d.num_days_from_ce() as u64
}

/// Uniform in `lo..=hi` from a hash.
fn pick(h: u64, lo: i64, hi: i64) -> i64 {
    lo + below(h, (hi - lo + 1).max(1) as u64) as i64
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn opt(v: Option<i64>, scale: u32) -> String {
    v.map(|x| fixed(i128::from(x), scale)).unwrap_or_default()
}

fn opt128(v: Option<i128>, scale: u32) -> String {
    v.map(|x| fixed(x, scale)).unwrap_or_default()
}

/// A ratio product `a × b / 1e6`.
fn mul(a: i64, b: i64) -> i64 {
    div_round(i128::from(a) * i128::from(b), i128::from(ONE)) as i64
}

/// A ratio quotient `a / b` in 1e-6.
fn quot(a: i64, b: i64) -> Option<i64> {
    (b != 0).then(|| div_round(i128::from(a) * i128::from(ONE), i128::from(b)) as i64)
}

/// A decimal with trailing zeros (and a trailing point) removed: `0.2880` → `0.288`.
fn trimmed(v: i128, scale: u32) -> String {
    let s = fixed(v, scale);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// The legal deadline of a period's report.
fn deadline(stat: NaiveDate) -> NaiveDate {
    match stat.month() {
        3 => ymd(stat.year(), 4, 30),
        6 => ymd(stat.year(), 8, 31),
        9 => ymd(stat.year(), 10, 31),
        _ => ymd(stat.year() + 1, 4, 30),
    }
}

/// The quarter (1..4) a period end closes.
fn quarter(stat: NaiveDate) -> i64 {
    i64::from(stat.month() / 3)
}

/// The first quarter end on or after `d`.
fn quarter_end_from(d: NaiveDate) -> NaiveDate {
    let q = (d.month() - 1) / 3 + 1;
    quarter_end(d.year(), q as u8).unwrap_or(d)
}

/// The quarter end after `stat`.
fn next_quarter_end(stat: NaiveDate) -> NaiveDate {
    quarter_end_from(stat.succ_opt().unwrap_or(stat))
}

/// Everything the six quarterly kinds print for one revision, ratios in 1e-6, money in 1e-6
/// yuan, shares whole.
#[derive(Clone, Debug, Default)]
struct Values {
    eps_ttm: Option<i64>,
    total_share: i64,
    liqa_share: i64,
    net_profit: Option<i128>,
    mb_revenue: Option<i128>,
    np_margin: Option<i64>,
    gp_margin: Option<i64>,
    roe_avg: Option<i64>,
    nr_turn_ratio: Option<i64>,
    nr_turn_days: Option<i64>,
    inv_turn_ratio: Option<i64>,
    inv_turn_days: Option<i64>,
    ca_turn_ratio: Option<i64>,
    asset_turn_ratio: Option<i64>,
    yoy_equity: Option<i64>,
    yoy_asset: Option<i64>,
    yoy_ni: Option<i64>,
    yoy_eps_basic: Option<i64>,
    yoy_pni: Option<i64>,
    assets_to_equity_avg: Option<i64>,
    pni_to_ni: Option<i64>,
    tax_burden: Option<i64>,
    int_burden: Option<i64>,
    ebit_to_gr: Option<i64>,
    current_ratio: Option<i64>,
    quick_ratio: Option<i64>,
    cash_ratio: Option<i64>,
    yoy_liability: Option<i64>,
    liability_to_asset: Option<i64>,
    asset_to_equity: Option<i64>,
    ca_to_asset: Option<i64>,
    nca_to_asset: Option<i64>,
    tangible_asset_to_asset: Option<i64>,
    ebit_to_interest: Option<i64>,
    cfo_to_or: Option<i64>,
    cfo_to_np: Option<i64>,
    cfo_to_gr: Option<i64>,
}

/// Whether a stock is a bank (its industry is J66), whose capture leaves many ratios empty.
fn is_bank(s: &Security) -> bool {
    industry_of(s).starts_with("J66")
}

/// The total shares of a stock: the float, or more (restricted shares) for about 3 in 5.
fn total_share(s: &Security) -> i64 {
    let h = h2(s.seed, 0x7074);
    if below(h, 5) < 2 {
        s.float_shares
    } else {
        s.float_shares + s.float_shares * pick(h2(s.seed, 0x7075), 5, 150) / 100
    }
}

impl Market {
    /// The close (1e-4 yuan) and the bar of the last trading day on or before `d` on which
    /// `s` has a bar.
    fn bar_on_or_before(&self, s: &Security, d: NaiveDate) -> Option<crate::market::RawBar> {
        let i = self.last_trading_index(d)?;
        (s.first <= i && i < s.end).then(|| s.raw_bar(self.calendar(), i))
    }

    /// epsTTM at a period end in 1e-6 yuan: close ÷ peTTM of the last bar on or before it,
    /// `None` without a bar or a peTTM (or a zero one).
    pub fn eps_ttm(&self, s: &Security, stat: NaiveDate) -> Option<i64> {
        let b = self.bar_on_or_before(s, stat)?;
        let pe = b.pe_ttm.filter(|&p| p != 0)?;
        Some(div_round(i128::from(b.close) * 100_000_000, i128::from(pe)) as i64)
    }

    /// The first period end a stock reports, if it files at all.
    fn first_period(&self, s: &Security) -> Option<NaiveDate> {
        (s.sec_type == SecType::Stock).then(|| quarter_end_from(s.ipo.max(self.calendar().start())))
    }

    /// Whether a filing dated `pub_date` can exist: the stock listed then, within the history.
    fn can_publish(&self, s: &Security, pub_date: NaiveDate) -> bool {
        pub_date <= self.calendar().end() && s.out.is_none_or(|o| pub_date < o)
    }

    /// The filing of a stock for the period ending `stat`, if it has one (see the module
    /// rules), whether published yet or not.
    pub fn filing(&self, s: &Security, stat: NaiveDate) -> Option<Filing> {
        let first = self.first_period(s)?;
        if stat < first || quarter_end_from(stat) != stat {
            return None;
        }
        let key = day_key(stat);
        let earliest = plus(stat, 20);
        let span = (deadline(stat) - earliest).num_days();
        let first_pub = plus(earliest, pick(h3(s.seed, key, 0x9B1), 0, span));
        if !self.can_publish(s, first_pub) {
            return None;
        }
        let mut pubs = vec![first_pub];
        if below(h3(s.seed, key, 0x4E57), 15) == 0 {
            let second = plus(first_pub, pick(h3(s.seed, key, 0x4E58), 30, 180));
            if self.can_publish(s, second) {
                pubs.push(second);
            }
        }
        Some(Filing { stat, pubs })
    }

    /// Every filing of a security (none for indices and ETFs), by period.
    pub fn filings(&self, code: &str) -> Vec<Filing> {
        let Some(s) = self.security(code) else {
            return Vec::new();
        };
        let Some(mut stat) = self.first_period(s) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        while stat <= self.calendar().end() {
            out.extend(self.filing(s, stat));
            stat = next_quarter_end(stat);
        }
        out
    }

    /// The values of revision `rev` (0 the first) of a stock's report for `stat`.
    fn values(&self, s: &Security, stat: NaiveDate, rev: u64) -> Values {
        let q = quarter(stat);
        let key = day_key(stat) * 4 + rev;
        let r = |salt: u64, lo: i64, hi: i64| pick(h3(s.seed, key, salt), lo, hi);
        let per_stock = |salt: u64, n: u64| below(h2(s.seed, salt), n) == 0;
        let bank = is_bank(s);
        let total = total_share(s);
        let mut v = Values {
            total_share: total,
            liqa_share: s.float_shares,
            ..Values::default()
        };
        v.eps_ttm = self.eps_ttm(s, stat).filter(|&e| e != 0);
        if let Some(eps) = v.eps_ttm {
            let np = i128::from(eps) * i128::from(total) * i128::from(q) / 4;
            let margin = r(1, 20_000, 350_000) * eps.signum();
            v.net_profit = Some(np);
            v.np_margin = Some(margin);
            v.mb_revenue = Some(div_round(np * i128::from(ONE), i128::from(margin)));
            if !bank {
                v.gp_margin = Some(margin.abs() + r(2, 50_000, 400_000));
            }
        }
        // Year-to-date turnover: the annual rate × quarter / 4.
        let ytd = |annual: i64| annual * q / 4;
        let asset_turn = if bank {
            ytd(r(3, 15_000, 30_000))
        } else {
            ytd(r(3, 300_000, 1_500_000))
        };
        v.asset_turn_ratio = Some(asset_turn);
        let assets_to_equity = if bank {
            r(4, 10_000_000, 15_000_000)
        } else {
            r(4, 1_200_000, 4_000_000)
        };
        v.assets_to_equity_avg = Some(assets_to_equity);
        v.asset_to_equity = Some(mul(assets_to_equity, r(5, 970_000, 1_030_000)));
        v.liability_to_asset = v.asset_to_equity.and_then(|a| quot(a - ONE, a));
        v.pni_to_ni = Some(r(6, 900_000, 1_000_000));
        v.tax_burden = Some(r(7, 750_000, 900_000));
        if let (Some(margin), Some(pni)) = (v.np_margin, v.pni_to_ni) {
            v.roe_avg = Some(mul(mul(mul(assets_to_equity, asset_turn), pni), margin));
            if !bank {
                let int = r(8, 800_000, 1_000_000);
                v.int_burden = Some(int);
                v.ebit_to_gr = v.tax_burden.and_then(|t| quot(margin, mul(t, int)));
            }
        }
        if !bank {
            let days = |ratio: i64| quot(90 * q * ONE, ratio);
            let nr = ytd(r(9, 2_000_000, 30_000_000));
            v.nr_turn_ratio = Some(nr);
            v.nr_turn_days = days(nr);
            if !per_stock(0x1A7, 8) {
                let inv = ytd(r(10, 1_000_000, 12_000_000));
                v.inv_turn_ratio = Some(inv);
                v.inv_turn_days = days(inv);
            }
            v.ca_turn_ratio = Some(ytd(r(11, 500_000, 3_000_000)));
            let current = r(12, 800_000, 3_000_000);
            v.current_ratio = Some(current);
            v.quick_ratio = Some(mul(current, r(13, 500_000, 950_000)));
            v.cash_ratio = v.quick_ratio.map(|x| mul(x, r(14, 200_000, 800_000)));
            let ca = r(15, 200_000, 800_000);
            v.ca_to_asset = Some(ca);
            v.nca_to_asset = Some(ONE - ca);
            v.tangible_asset_to_asset = Some(r(16, 300_000, 950_000));
            if !per_stock(0x1B7, 5) {
                v.ebit_to_interest = Some(r(17, 1_000_000, 50_000_000));
            }
        }
        v.yoy_equity = Some(r(18, -50_000, 250_000));
        v.yoy_asset = v.yoy_equity.map(|e| e + r(19, -50_000, 50_000));
        v.yoy_liability = v.yoy_asset.map(|a| a + r(20, -50_000, 50_000));
        if let Some(eps) = v.eps_ttm {
            let prev = quarter_end(stat.year() - 1, q as u8).and_then(|p| self.eps_ttm(s, p));
            if let Some(prev) = prev.filter(|&p| p != 0) {
                let yoy = quot(eps - prev, prev.abs()).unwrap_or(0);
                v.yoy_ni = Some(yoy);
                v.yoy_eps_basic = Some(div_round(i128::from(yoy), 10_000) as i64 * 10_000);
                v.yoy_pni = Some(yoy + r(21, -20_000, 20_000));
            }
        }
        let cfo = r(22, -200_000, 500_000);
        v.cfo_to_or = Some(cfo);
        v.cfo_to_gr = Some(cfo);
        v.cfo_to_np = v.np_margin.and_then(|m| quot(cfo, m));
        v
    }

    /// The row of a quarterly kind.
    fn quarter_row(
        &self,
        kind: Quarterly,
        s: &Security,
        stat: NaiveDate,
        pub_date: NaiveDate,
        rev: u64,
    ) -> Vec<String> {
        let v = self.values(s, stat, rev);
        let o = |x: Option<i64>| opt(x, 6);
        let mut row = vec![s.code.clone(), date(pub_date), date(stat)];
        match kind {
            Quarterly::Profit => row.extend([
                o(v.roe_avg),
                o(v.np_margin),
                o(v.gp_margin),
                opt128(v.net_profit, 6),
                o(v.eps_ttm),
                opt128(v.mb_revenue, 6),
                fixed(i128::from(v.total_share) * 100, 2),
                fixed(i128::from(v.liqa_share) * 100, 2),
            ]),
            Quarterly::Operation => row.extend([
                o(v.nr_turn_ratio),
                o(v.nr_turn_days),
                o(v.inv_turn_ratio),
                o(v.inv_turn_days),
                o(v.ca_turn_ratio),
                o(v.asset_turn_ratio),
            ]),
            Quarterly::Growth => row.extend([
                o(v.yoy_equity),
                o(v.yoy_asset),
                o(v.yoy_ni),
                o(v.yoy_eps_basic),
                o(v.yoy_pni),
            ]),
            Quarterly::Dupont => row.extend([
                o(v.roe_avg),
                o(v.assets_to_equity_avg),
                o(v.asset_turn_ratio),
                o(v.pni_to_ni),
                o(v.np_margin),
                o(v.tax_burden),
                o(v.int_burden),
                o(v.ebit_to_gr),
            ]),
            Quarterly::Balance => row.extend([
                o(v.current_ratio),
                o(v.quick_ratio),
                o(v.cash_ratio),
                o(v.yoy_liability),
                o(v.liability_to_asset),
                o(v.asset_to_equity),
            ]),
            Quarterly::CashFlow => row.extend([
                o(v.ca_to_asset),
                o(v.nca_to_asset),
                o(v.tangible_asset_to_asset),
                o(v.ebit_to_interest),
                o(v.cfo_to_or),
                o(v.cfo_to_np),
                o(v.cfo_to_gr),
            ]),
        }
        row
    }

    /// The express report of a stock for `stat` (annual or H1), if it files one: its pubDate.
    pub fn express_date(&self, s: &Security, stat: NaiveDate) -> Option<NaiveDate> {
        if below(h2(s.seed, 0xE4B), 4) != 0 || !matches!(stat.month(), 6 | 12) {
            return None;
        }
        let report = *self.filing(s, stat)?.pubs.first()?;
        let pub_date = plus(report, -pick(h3(s.seed, day_key(stat), 0xE4C), 5, 40)).max(plus(stat, 10));
        self.can_publish(s, pub_date).then_some(pub_date)
    }

    fn express_row(&self, s: &Security, stat: NaiveDate, pub_date: NaiveDate) -> Vec<String> {
        let v = self.values(s, stat, 0);
        let r = |salt: u64, lo: i64, hi: i64| pick(h3(s.seed, day_key(stat), salt), lo, hi);
        let net_asset = self.bar_on_or_before(s, stat).and_then(|b| {
            let pb = b.pb_mrq.filter(|&p| p != 0)?;
            // Book value a share in 1e-4 yuan, then the equity in 1e-6 yuan.
            let bps = div_round(i128::from(b.close) * i128::from(ONE), i128::from(pb));
            Some(bps * 100 * i128::from(v.total_share))
        });
        let total_asset = net_asset
            .zip(v.asset_to_equity)
            .map(|(n, a)| n * i128::from(a) / i128::from(ONE));
        let two = |x: i64| div_round(i128::from(x), 10_000) as i64 * 10_000;
        vec![
            s.code.clone(),
            date(pub_date),
            date(stat),
            date(pub_date),
            opt128(total_asset, 6),
            opt128(net_asset, 6),
            opt(v.yoy_eps_basic, 6),
            opt(v.roe_avg.map(|x| two(x * 100)), 6),
            opt(v.eps_ttm.map(|e| two(e * quarter(stat) / 4)), 6),
            fixed(i128::from(r(0xE4D, -200_000, 400_000)), 6),
            opt(v.yoy_ni.map(|y| y + r(0xE4E, -30_000, 30_000)), 6),
        ]
    }

    /// The forecast of a stock for an annual `stat`, if it files one: its pubDate.
    pub fn forecast_date(&self, s: &Security, stat: NaiveDate) -> Option<NaiveDate> {
        if below(h2(s.seed, 0xF0C), 3) != 0 || stat.month() != 12 {
            return None;
        }
        self.values(s, stat, 0).yoy_ni?;
        let report = *self.filing(s, stat)?.pubs.first()?;
        let drawn = ymd(
            stat.year() + 1,
            1,
            10 + pick(h3(s.seed, day_key(stat), 0xF0D), 0, 21) as u32,
        );
        let pub_date = if drawn < report { drawn } else { plus(report, -1) };
        self.can_publish(s, pub_date).then_some(pub_date)
    }

    fn forecast_row(&self, s: &Security, stat: NaiveDate, pub_date: NaiveDate) -> Vec<String> {
        let v = self.values(s, stat, 0);
        let yoy = v.yoy_ni.unwrap_or(0);
        let eps = v.eps_ttm.unwrap_or(0);
        let prev_negative = quarter_end(stat.year() - 1, 4)
            .and_then(|p| self.eps_ttm(s, p))
            .is_some_and(|p| p < 0);
        let kind = match (prev_negative, eps < 0) {
            (true, false) => "扭亏",
            (false, true) => "首亏",
            _ if yoy >= 500_000 => "预增",
            _ if yoy >= 100_000 => "略增",
            _ if yoy >= -100_000 => "续盈",
            _ if yoy >= -500_000 => "略减",
            _ => "预减",
        };
        // The percent change, bracketed by 20 points around it on a 10-point grid.
        let pct = div_round(i128::from(yoy), 10_000) as i64;
        let down = pct.div_euclid(10) * 10;
        let up = down + 20;
        let change = if down >= 0 {
            format!("同比增长{down}%-{up}%")
        } else if up <= 0 {
            format!("同比下降{}%-{}%", -up, -down)
        } else {
            format!("同比变动{down}%-{up}%")
        };
        vec![
            s.code.clone(),
            date(pub_date),
            date(stat),
            kind.to_owned(),
            format!("预计{}年1-12月归属于上市公司股东的净利润{change}", stat.year()),
            fixed(i128::from(up) * i128::from(ONE), 6),
            fixed(i128::from(down) * i128::from(ONE), 6),
        ]
    }

    /// The dividends of a security, one per factor event in force (run-time corporate
    /// actions included), ascending by operate date, with every date (publication aside).
    pub fn dividends(&self, code: &str) -> Vec<Dividend> {
        let Some(s) = self.security(code) else {
            return Vec::new();
        };
        let cal = self.calendar();
        let events = s.factor_events();
        events
            .iter()
            .filter(|e| e.day > 0 && e.day > s.first && e.day < s.end)
            .map(|e| {
                let key = day_key(e.date);
                let r = |salt: u64, lo: i64, hi: i64| pick(h3(s.seed, key, salt), lo, hi);
                let regist = cal.day(e.day - 1);
                let plan = plus(regist, -r(0xD1, 3, 6));
                let agm = plus(plan, -r(0xD2, 10, 30));
                let plan_announce = plus(agm, -r(0xD3, 20, 60));
                let (cash_fen, stocks_ps) = if e.ratio_ppm < 1_300_000 {
                    let preclose = s.raw_bar(cal, e.day).preclose;
                    // preclose × (1 − 1/ratio) in fen (preclose in 1e-4 yuan).
                    let cash = div_round(
                        i128::from(preclose) * i128::from(e.ratio_ppm - ONE),
                        i128::from(e.ratio_ppm) * 100,
                    ) as i64;
                    (Some(cash.max(1)), None)
                } else {
                    (None, Some(e.ratio_ppm - ONE))
                };
                Dividend {
                    plan_announce,
                    agm,
                    plan,
                    regist,
                    operate: e.date,
                    cash_fen,
                    stocks_ps,
                }
            })
            .collect()
    }

    fn dividend_row(code: &str, d: &Dividend, publication: &Publication) -> Vec<String> {
        let planned = publication.is_published(Kind::Reports, d.plan);
        let shown = |x: NaiveDate| if planned { date(x) } else { String::new() };
        let agm = if d.agm <= publication.now.date() {
            date(d.agm)
        } else {
            String::new()
        };
        let (before, after, stocks, text, market) = match (d.cash_fen, d.stocks_ps) {
            (Some(fen), _) => {
                let per10 = trimmed(i128::from(fen) * 10, 2);
                let per10_after = trimmed(i128::from(fen) * 90, 3);
                (
                    fixed(i128::from(fen), 2),
                    format!("{}或{}", trimmed(i128::from(fen) * 9, 3), trimmed(i128::from(fen), 2)),
                    fixed(0, 6),
                    format!("10派{per10}元（含税，扣税后{per10_after}或{per10}元）"),
                    String::new(),
                )
            }
            (None, stocks) => {
                let s = stocks.unwrap_or(0);
                (
                    String::new(),
                    String::new(),
                    fixed(i128::from(s), 6),
                    format!("10送{}股", trimmed(i128::from(s) * 10, 6)),
                    shown(d.operate),
                )
            }
        };
        vec![
            code.to_owned(),
            String::new(),
            agm,
            date(d.plan_announce),
            shown(d.plan),
            shown(d.regist),
            shown(d.operate),
            shown(d.operate),
            market,
            before,
            after,
            stocks,
            text,
            String::new(),
        ]
    }

    /// The rows a report query answers under `publication` (the report layouts of
    /// FUNDAMENTALS.md, in the kind's field order).
    pub fn report(&self, query: &ReportQuery, publication: &Publication) -> Result<Vec<Vec<String>>, QueryError> {
        let published = |d: NaiveDate| publication.is_published(Kind::Reports, d);
        match query {
            ReportQuery::Quarter {
                kind,
                code,
                year,
                quarter: q,
            } => {
                let s = self.code_security(code)?;
                check_year(*year)?;
                let Some((s, stat)) = s.zip(quarter_end(*year, *q)) else {
                    return Ok(Vec::new());
                };
                let Some(f) = self.filing(s, stat) else {
                    return Ok(Vec::new());
                };
                Ok(f.pubs
                    .iter()
                    .enumerate()
                    .rev()
                    .find(|(_, p)| published(**p))
                    .map(|(rev, p)| vec![self.quarter_row(*kind, s, stat, *p, rev as u64)])
                    .unwrap_or_default())
            }
            ReportQuery::Published { kind, code, start, end } => {
                let s = self.code_security(code)?;
                check_dates(*start, *end)?;
                let Some(s) = s else {
                    return Ok(Vec::new());
                };
                let Some(mut stat) = self.first_period(s) else {
                    return Ok(Vec::new());
                };
                let mut rows = Vec::new();
                while stat <= self.calendar().end() && stat <= *end {
                    let (at, row): (Option<NaiveDate>, RowOf) = match kind {
                        Published::Express => (self.express_date(s, stat), Market::express_row),
                        Published::Forecast => (self.forecast_date(s, stat), Market::forecast_row),
                    };
                    if let Some(p) = at.filter(|p| *start <= *p && *p <= *end && published(*p)) {
                        rows.push((p, row(self, s, stat, p)));
                    }
                    stat = next_quarter_end(stat);
                }
                rows.sort_by_key(|r| r.0);
                Ok(rows.into_iter().map(|r| r.1).collect())
            }
            ReportQuery::Dividend { code, year, year_type } => {
                let s = self.code_security(code)?;
                check_year(*year)?;
                let Some(s) = s else {
                    return Ok(Vec::new());
                };
                Ok(self
                    .dividends(&s.code)
                    .iter()
                    .filter(|d| published(d.plan_announce))
                    .filter(|d| match year_type {
                        DividendYear::Report => d.plan_announce.year() == *year,
                        DividendYear::Operate => published(d.plan) && d.operate.year() == *year,
                    })
                    .map(|d| Self::dividend_row(&s.code, d, publication))
                    .collect())
            }
            ReportQuery::Rates { kind, start, end } => {
                check_range(*start, *end)?;
                let known = self.macro_known(publication);
                Ok(macros()
                    .rates
                    .iter()
                    .filter(|e| e.pub_date <= known && in_range(e.pub_date, *start, *end))
                    .map(|e| e.row(*kind))
                    .collect())
            }
            ReportQuery::ReserveRatio { start, end, by } => {
                check_range(*start, *end)?;
                let known = self.macro_known(publication);
                Ok(macros()
                    .reserve
                    .iter()
                    .filter(|e| {
                        let key = match by {
                            ReserveDate::Announced => e.pub_date,
                            ReserveDate::Effective => e.effective,
                        };
                        e.pub_date <= known && in_range(key, *start, *end)
                    })
                    .map(ReserveEvent::row)
                    .collect())
            }
            ReportQuery::MoneySupplyMonth { start, end } => {
                for m in [start, end].into_iter().flatten() {
                    check_year(m.year)?;
                }
                if start.zip(*end).is_some_and(|(a, b)| a > b) {
                    return Err(QueryError::DateOutOfRange);
                }
                let known = self.macro_known(publication);
                let series = &macros().money;
                Ok((12..series.len())
                    .filter(|&i| {
                        let m = series[i].month;
                        start.is_none_or(|s| s <= m) && end.is_none_or(|e| m <= e) && release_of(m) <= known
                    })
                    .map(|i| month_row(series, i))
                    .collect())
            }
            ReportQuery::MoneySupplyYear { start, end } => {
                for y in [start, end].into_iter().flatten() {
                    check_year(*y)?;
                }
                if start.zip(*end).is_some_and(|(a, b)| a > b) {
                    return Err(QueryError::DateOutOfRange);
                }
                let known = self.macro_known(publication);
                let series = &macros().money;
                Ok(series
                    .iter()
                    .enumerate()
                    .filter(|(i, m)| *i >= 12 && m.month.month == 12)
                    .filter(|(_, m)| {
                        let y = m.month.year;
                        start.is_none_or(|s| s <= y) && end.is_none_or(|e| y <= e) && ymd(y + 1, 1, 15) <= known
                    })
                    .map(|(i, _)| year_row(series, i))
                    .collect())
            }
        }
    }

    /// The security of a per-code query: an error for a malformed code, `None` for one not in
    /// the market.
    fn code_security(&self, code: &str) -> Result<Option<&Security>, QueryError> {
        if !valid_code_shape(code) {
            return Err(QueryError::InvalidCode);
        }
        Ok(self.security(code))
    }

    /// The last day whose macro releases are known: the clock's date, within the history.
    fn macro_known(&self, publication: &Publication) -> NaiveDate {
        publication.now.date().min(self.calendar().end())
    }
}

fn check_year(year: i32) -> Result<(), QueryError> {
    if (1990..=2099).contains(&year) {
        Ok(())
    } else {
        Err(QueryError::DateOutOfRange)
    }
}

/// Optional bounds: each in the supported range, start not after end.
fn check_range(start: Option<NaiveDate>, end: Option<NaiveDate>) -> Result<(), QueryError> {
    let lo = crate::market::min_query_date();
    let hi = crate::market::max_query_date();
    check_dates(start.unwrap_or(lo), end.unwrap_or(hi))
}

fn in_range(d: NaiveDate, start: Option<NaiveDate>, end: Option<NaiveDate>) -> bool {
    start.is_none_or(|s| s <= d) && end.is_none_or(|e| d <= e)
}

/// The day a month's money supply is released: the 15th of the next month.
fn release_of(m: YearMonth) -> NaiveDate {
    if m.month == 12 {
        ymd(m.year + 1, 1, 15)
    } else {
        ymd(m.year, m.month + 1, 15)
    }
}

/// A change of the deposit and loan rates, in basis points (0.01%).
#[derive(Clone, Debug)]
struct RateEvent {
    pub_date: NaiveDate,
    /// The one-year deposit rate.
    level: i64,
}

impl RateEvent {
    fn row(&self, kind: Rates) -> Vec<String> {
        let bp = |x: i64| fixed(i128::from(x.max(1)) * 10_000, 6);
        let l = self.level;
        let mut row = vec![date(self.pub_date)];
        match kind {
            Rates::Deposit => {
                let five = |x: i64| {
                    if self.pub_date >= NO_5Y_DEPOSITS {
                        String::new()
                    } else {
                        bp(x)
                    }
                };
                row.extend([
                    bp((l / 7).max(10)),
                    bp(l - 60),
                    bp(l - 30),
                    bp(l),
                    bp(l + 60),
                    bp(l + 125),
                    five(l + 170),
                    bp(l - 60),
                    bp(l - 30),
                    five(l),
                ]);
            }
            Rates::Loan => {
                let lo = l + 306;
                row.extend([
                    bp(lo - 46),
                    bp(lo),
                    bp(lo + 4),
                    bp(lo + 40),
                    bp(lo + 58),
                    bp(l + 100),
                    bp(l + 155),
                ]);
            }
        }
        row
    }
}

/// A change of the reserve ratios, in tenths of a percent.
#[derive(Clone, Debug)]
struct ReserveEvent {
    pub_date: NaiveDate,
    effective: NaiveDate,
    big: (i64, i64),
    medium: (i64, i64),
}

impl ReserveEvent {
    fn row(&self) -> Vec<String> {
        let t = |x: i64| fixed(i128::from(x), 1);
        vec![
            date(self.pub_date),
            date(self.effective),
            t(self.big.0),
            t(self.big.1),
            t(self.medium.0),
            t(self.medium.1),
        ]
    }
}

/// One month of money supply, levels in 0.01 亿元.
#[derive(Clone, Debug)]
struct Money {
    month: YearMonth,
    m: [i64; 3],
}

/// The macro series, drawn once from a fixed seed through 2099.
struct Macros {
    rates: Vec<RateEvent>,
    reserve: Vec<ReserveEvent>,
    money: Vec<Money>,
}

const MACRO_SEED: u64 = 0x4D41_4352_4F31_3939;

fn macros() -> &'static Macros {
    static MACROS: OnceLock<Macros> = OnceLock::new();
    MACROS.get_or_init(build_macros)
}

/// Change days from 1990: the first within 150 days, then every 150..700 days, to 2099.
fn change_days(salt: u64) -> Vec<NaiveDate> {
    let last = ymd(2099, 12, 31);
    let mut d = plus(ymd(1990, 1, 1), pick(h2(MACRO_SEED, salt), 0, 150));
    let mut out = Vec::new();
    let mut k = 0u64;
    while d <= last {
        out.push(d);
        k += 1;
        d = plus(d, pick(h3(MACRO_SEED, salt, k), 150, 700));
    }
    out
}

fn build_macros() -> Macros {
    // Rates: the one-year deposit rate, drifting towards 3%, steps of 25..75 bp.
    let mut level = 1_008;
    let rates = change_days(1)
        .into_iter()
        .enumerate()
        .map(|(k, pub_date)| {
            if k > 0 {
                let h = h3(MACRO_SEED, 2, k as u64);
                let up = below(h, 1_000) < (800 - level).clamp(100, 900) as u64;
                let step = [25, 27, 50, 75][below(h2(h, 1), 4) as usize];
                level = (if up { level + step } else { level - step }).clamp(100, 1_200);
            }
            RateEvent { pub_date, level }
        })
        .collect();
    // Reserve ratios: the large banks' ratio drifting towards 10%, steps of 0.5 or 1 point;
    // the medium banks' 2 points lower (or unchanged now and then).
    let (mut big, mut medium) = (130, 110);
    let reserve = change_days(3)
        .into_iter()
        .enumerate()
        .map(|(k, pub_date)| {
            let h = h3(MACRO_SEED, 4, k as u64);
            let up = below(h, 1_000) < ((200 - big) * 5).clamp(100, 900) as u64;
            let step = if below(h2(h, 1), 3) == 0 { 10 } else { 5 };
            let after = (if up { big + step } else { big - step }).clamp(60, 215);
            let medium_after = if below(h2(h, 2), 5) == 0 {
                medium.min(after)
            } else {
                (after - 20).max(50)
            };
            let e = ReserveEvent {
                pub_date,
                effective: plus(pub_date, pick(h2(h, 3), 5, 14)),
                big: (big, after),
                medium: (medium, medium_after),
            };
            (big, medium) = (after, medium_after);
            e
        })
        .collect();
    // Money supply from 1989-01: monthly growth around 1.0% (M0, M1) and 1.2% (M2).
    let mut m = [200_000_i64, 600_000, 1_200_000];
    let mut money = Vec::new();
    let mut month = YearMonth { year: 1989, month: 1 };
    while month.year <= 2099 {
        money.push(Money { month, m });
        let k = money.len() as u64;
        let growth = [
            pick(h3(MACRO_SEED, 5, k), -40_000, 60_000),
            pick(h3(MACRO_SEED, 6, k), -15_000, 35_000),
            pick(h3(MACRO_SEED, 7, k), 0, 24_000),
        ];
        for (x, g) in m.iter_mut().zip(growth) {
            *x = (div_round(i128::from(*x) * i128::from(ONE + g), i128::from(ONE)) as i64).max(1);
        }
        month = if month.month == 12 {
            YearMonth {
                year: month.year + 1,
                month: 1,
            }
        } else {
            YearMonth {
                month: month.month + 1,
                ..month
            }
        };
    }
    Macros { rates, reserve, money }
}

/// A level in 0.01 亿元, printed with 6 decimals.
fn level(x: i64) -> String {
    fixed(i128::from(x) * 10_000, 6)
}

/// A percent change `now / before − 1`, with `decimals` decimals, printed with 6.
fn change(now: i64, before: i64, decimals: u32) -> String {
    let unit = 10_i128.pow(6 - decimals);
    let pct = div_round(i128::from(now - before) * 100_000_000, i128::from(before) * unit) * unit;
    fixed(pct, 6)
}

fn month_row(series: &[Money], i: usize) -> Vec<String> {
    let (now, year_ago, before) = (&series[i], &series[i - 12], &series[i - 1]);
    let mut row = vec![format!("{:04}", now.month.year), format!("{:02}", now.month.month)];
    for j in 0..3 {
        row.extend([
            level(now.m[j]),
            change(now.m[j], year_ago.m[j], 1),
            change(now.m[j], before.m[j], 6),
        ]);
    }
    row
}

fn year_row(series: &[Money], i: usize) -> Vec<String> {
    let (now, year_ago) = (&series[i], &series[i - 12]);
    let mut row = vec![format!("{:04}", now.month.year)];
    for j in 0..3 {
        row.extend([level(now.m[j]), change(now.m[j], year_ago.m[j], 1)]);
    }
    row
}
