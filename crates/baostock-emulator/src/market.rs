//! The synthetic market: securities, their price paths, adjust factors, and every answer the
//! emulator gives, computed on demand from integers.
//!
//! Units: prices are integers in 1e-4 yuan (printed with 4 decimals), factors in 1e-6
//! (6 decimals), so an adjusted price is the exact integer product price × factor in 1e-10
//! (10 decimals, no rounding at all). Turn and pctChg are in 1e-6 percent, valuation ratios in
//! 1e-6, amounts in 1e-4 yuan. Divisions round half away from zero. No float is ever used.
//!
//! Only a compact close path per security (one `u32` a trading day, generated on first use) is
//! kept; open/high/low, volume, amount and the minute bars are derived from a hash of
//! (security, day) each time they are asked for.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};

use baostock::value::{AdjustFlag, Frequency, ADJUST_FACTOR_FIELDS, DAILY_FIELDS, MINUTE_FIELDS, PERIOD_FIELDS};
use baostock::StockIndex;

use crate::calendar::{is_trading_day, Calendar};
use crate::rng::{below, h2, h3, Rng};

/// Price units a yuan (prices carry 4 decimals).
pub const PRICE_SCALE: i64 = 10_000;
/// Factor units (factors carry 6 decimals).
pub const FACTOR_SCALE: i64 = 1_000_000;
/// Bit of a path word marking a suspended day.
const SUSPENDED: u32 = 1 << 31;

/// Most codes a market can have (code numbers stay six digits on every board).
pub const MAX_CODES: usize = 20_000;

/// What a market is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketConfig {
    /// Seed of everything random.
    pub seed: u64,
    /// Number of codes (stocks, indices and ETFs together); the default is 5,500, at least
    /// 10 and at most [`MAX_CODES`].
    pub codes: usize,
    /// First day of history (2000-01-01).
    pub start: NaiveDate,
    /// Last day of history; `None` is today in China (UTC+8).
    pub end: Option<NaiveDate>,
}

impl Default for MarketConfig {
    fn default() -> Self {
        MarketConfig {
            seed: 2024,
            codes: 5_500,
            start: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(NaiveDate::MIN),
            end: None,
        }
    }
}

/// Today's date in China (UTC+8).
pub fn china_today() -> NaiveDate {
    china_now().date()
}

/// The current time in China (UTC+8).
pub fn china_now() -> chrono::NaiveDateTime {
    (chrono::Utc::now() + chrono::Duration::hours(8)).naive_utc()
}

/// Security type, as `query_stock_basic` numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecType {
    /// 1: an A-share stock.
    Stock,
    /// 2: an index.
    Index,
    /// 5: an exchange-traded fund.
    Etf,
}

impl SecType {
    /// The protocol's number for the type.
    pub fn code(self) -> &'static str {
        match self {
            SecType::Stock => "1",
            SecType::Index => "2",
            SecType::Etf => "5",
        }
    }
}

/// A dividend or split taking effect at the open of a trading day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactorEvent {
    /// Trading-day index of the operate (ex) date.
    pub day: usize,
    /// The operate date.
    pub date: NaiveDate,
    /// Price ratio before / after, in parts per million (≥ 1,000,000).
    pub ratio_ppm: i64,
    /// Back-adjust factor from this day on, in 1e-6.
    pub back: i64,
}

/// A dividend or split added at run time ([`Market::add_corporate_action`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorporateAction {
    /// The security.
    pub code: String,
    /// The operate (ex) date, a trading day on which the security has a bar.
    pub date: NaiveDate,
    /// Price ratio before / after, in parts per million (> 1,000,000).
    pub ratio_ppm: i64,
}

/// Why a corporate action cannot be added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// The code is not in the market.
    UnknownCode,
    /// Indices have no dividends or splits.
    Index,
    /// The date is not a trading day on which the security has a bar after its first one.
    NoBar,
    /// The ratio is not above 1,000,000 ppm and at most [`MAX_ACTION_RATIO_PPM`].
    BadRatio,
    /// With it, a back factor would pass [`MAX_BACK_FACTOR`].
    FactorTooLarge,
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ActionError::UnknownCode => "the code is not in the market",
            ActionError::Index => "an index has no dividends or splits",
            ActionError::NoBar => "the date is not a trading day with a bar after the security's first one",
            ActionError::BadRatio => "the ratio must be above 1000000 ppm and at most 10000000 ppm",
            ActionError::FactorTooLarge => "a back factor would pass 1000000000",
        })
    }
}

impl std::error::Error for ActionError {}

/// Largest price ratio of a corporate action added at run time (a 10-for-1 split).
pub const MAX_ACTION_RATIO_PPM: i64 = 10 * FACTOR_SCALE;

/// Largest back factor run-time actions may lead to, in 1e-6 (a factor of 1e9).
pub const MAX_BACK_FACTOR: i64 = 1_000_000_000 * FACTOR_SCALE;

/// A security's corporate actions added at run time, with the events they give merged into
/// the built ones and the close path those events give.
#[derive(Debug)]
struct Amended {
    /// The actions as added: (operate date, ratio in ppm), ascending by date.
    added: Vec<(NaiveDate, i64)>,
    events: Vec<FactorEvent>,
    path: Box<[u32]>,
}

/// A security's events and close path as they are now (built, or amended at run time).
struct View<'a> {
    sec: &'a Security,
    amended: Option<Arc<Amended>>,
}

impl View<'_> {
    fn events(&self) -> &[FactorEvent] {
        self.amended.as_ref().map_or(&self.sec.events, |a| &a.events)
    }

    fn path(&self) -> &[u32] {
        match &self.amended {
            Some(a) => &a.path,
            None => self.sec.path(),
        }
    }
}

/// The dividends and splits in force for a security: the built ones merged with those added
/// at run time (derefs to the events, ascending).
pub struct Events<'a>(View<'a>);

impl std::ops::Deref for Events<'_> {
    type Target = [FactorEvent];
    fn deref(&self) -> &[FactorEvent] {
        self.0.events()
    }
}

/// One security and everything needed to compute its bars.
#[derive(Debug)]
pub struct Security {
    /// `sh.600000` etc.
    pub code: String,
    /// Name without whitespace.
    pub name: String,
    /// Stock, index or ETF.
    pub sec_type: SecType,
    /// Listing date.
    pub ipo: NaiveDate,
    /// Delisting date (the first day it is no longer listed), if delisted.
    pub out: Option<NaiveDate>,
    /// Trading-day indices that carry bars: `first..end`.
    pub first: usize,
    /// One past the last trading-day index with a bar.
    pub end: usize,
    /// Daily price limit in percent (10, 20 or 30; 5 during ST periods).
    pub limit_pct: i64,
    /// Price tick in 1e-4 yuan.
    pub tick: i64,
    /// ST periods as trading-day index ranges.
    pub st: Vec<(usize, usize)>,
    /// Dividends and splits the market was built with, ascending; [`Security::factor_events`]
    /// adds those added at run time.
    pub events: Vec<FactorEvent>,
    pub(crate) seed: u64,
    issue_price: i64,
    sigma_ppm: i64,
    base_volume: i64,
    pub(crate) float_shares: i64,
    suspend_ppm: u64,
    path: OnceLock<Box<[u32]>>,
    /// Set while `amended` holds run-time actions (a cheap check on every bar).
    is_amended: AtomicBool,
    amended: RwLock<Option<Arc<Amended>>>,
}

impl Security {
    /// Whether the security is listed on `d` (listed from its IPO day, up to its delisting).
    pub fn listed_on(&self, d: NaiveDate) -> bool {
        self.ipo <= d && self.out.is_none_or(|o| d < o)
    }

    fn view(&self) -> View<'_> {
        let amended = if self.is_amended.load(Ordering::Acquire) {
            self.amended.read().unwrap_or_else(|e| e.into_inner()).clone()
        } else {
            None
        };
        View { sec: self, amended }
    }

    /// The dividends and splits in force: the built ones and those added at run time.
    pub fn factor_events(&self) -> Events<'_> {
        Events(self.view())
    }

    /// The corporate actions added at run time, ascending by date.
    pub fn added_actions(&self) -> Vec<CorporateAction> {
        self.view().amended.map_or_else(Vec::new, |a| {
            a.added
                .iter()
                .map(|&(date, ratio_ppm)| CorporateAction {
                    code: self.code.clone(),
                    date,
                    ratio_ppm,
                })
                .collect()
        })
    }

    /// Replaces the run-time actions (empty: back to the built market), merging them with the
    /// built events (ratios of one day multiply) and regenerating the close path. Changes
    /// nothing when a back factor would pass [`MAX_BACK_FACTOR`].
    fn amend(&self, cal: &Calendar, mut added: Vec<(NaiveDate, i64)>) -> Result<(), ActionError> {
        added.sort();
        let amended = if added.is_empty() {
            None
        } else {
            let scale = i128::from(FACTOR_SCALE);
            let mut ratios: BTreeMap<usize, i128> =
                self.events.iter().map(|e| (e.day, i128::from(e.ratio_ppm))).collect();
            for &(date, ratio) in &added {
                let r = ratios.entry(cal.count_before(date)).or_insert(scale);
                *r = div_round(*r * i128::from(ratio), scale);
            }
            let mut back = scale;
            let mut events = Vec::with_capacity(ratios.len());
            for (day, ratio) in ratios {
                back = div_round(back * ratio, scale);
                if back > i128::from(MAX_BACK_FACTOR) || ratio > i128::from(MAX_BACK_FACTOR) {
                    return Err(ActionError::FactorTooLarge);
                }
                events.push(FactorEvent {
                    day,
                    date: cal.day(day),
                    ratio_ppm: ratio as i64,
                    back: back as i64,
                });
            }
            let path = self.generate_path(&events);
            Some(Arc::new(Amended { added, events, path }))
        };
        let mut slot = self.amended.write().unwrap_or_else(|e| e.into_inner());
        self.is_amended.store(amended.is_some(), Ordering::Release);
        *slot = amended;
        Ok(())
    }

    /// Back-adjust factor in force on trading day `i` (1e-6 units).
    pub fn back_factor(&self, i: usize) -> i64 {
        back_in(self.view().events(), i)
    }

    /// The latest back factor (the reference of forward adjustment).
    pub fn latest_back(&self) -> i64 {
        latest_in(self.view().events())
    }

    /// Forward factor of a back factor: back / latest back, 6 decimals, half away from zero.
    pub fn fore_of(&self, back: i64) -> i64 {
        fore_in(self.view().events(), back)
    }

    /// The factor applied to prices for an adjust flag on trading day `i`.
    pub fn factor(&self, i: usize, adjust: AdjustFlag) -> i64 {
        let v = self.view();
        let events = v.events();
        match adjust {
            AdjustFlag::None => FACTOR_SCALE,
            AdjustFlag::Back => back_in(events, i),
            AdjustFlag::Forward => fore_in(events, back_in(events, i)),
        }
    }

    /// Whether trading day `i` lies in an ST period.
    pub fn is_st(&self, i: usize) -> bool {
        self.st.iter().any(|&(a, b)| a <= i && i < b)
    }

    /// The name on trading day `i`: with an `ST` prefix on the days of an ST period.
    pub fn name_on(&self, i: usize) -> String {
        if self.is_st(i) {
            format!("ST{}", self.name)
        } else {
            self.name.clone()
        }
    }

    fn limit_on(&self, i: usize) -> i64 {
        if self.is_st(i) {
            5
        } else {
            self.limit_pct
        }
    }

    /// Whether the security traded (was not suspended) on trading-day index `i`.
    pub fn trading_on(&self, i: usize) -> bool {
        i >= self.first && i < self.end && self.view().path()[i - self.first + 1] & SUSPENDED == 0
    }

    /// The close path of the built market (run-time actions aside).
    fn path(&self) -> &[u32] {
        self.path.get_or_init(|| self.generate_path(&self.events))
    }

    /// Whether the close path has been generated.
    pub fn is_warm(&self) -> bool {
        self.path.get().is_some()
    }

    fn reference(&self, events: &[FactorEvent], prev_close: i64, i: usize) -> i64 {
        match events.iter().find(|e| e.day == i) {
            Some(e) => round_to(
                i128::from(prev_close) * i128::from(FACTOR_SCALE),
                i128::from(e.ratio_ppm),
                self.tick,
            )
            .max(self.tick),
            None => prev_close,
        }
    }

    fn limits(&self, reference: i64, i: usize) -> (i64, i64) {
        let l = self.limit_on(i);
        let up = round_to64(reference * (100 + l), 100, self.tick);
        let down = round_to64(reference * (100 - l), 100, self.tick).max(self.tick);
        (down, up)
    }

    /// The close path the events give: the same draws every day, so a path only departs from
    /// another from the first day their events differ.
    fn generate_path(&self, events: &[FactorEvent]) -> Box<[u32]> {
        let n = self.end.saturating_sub(self.first);
        let mut out = Vec::with_capacity(n + 1);
        let mut rng = Rng::new(h2(self.seed, 0x7A7B));
        let mut close = self.issue_price;
        out.push(close as u32);
        let anchor = self.issue_price;
        let mut suspended_left = 0u32;
        let mut next_event = 0usize;
        // True with probability `ppm` per million from 20 random bits.
        let chance = |bits: u64, ppm: u64| (bits & 0xF_FFFF) * 1_000_000 < ppm << 20;
        for k in 0..n {
            let i = self.first + k;
            while next_event < events.len() && events[next_event].day < i {
                next_event += 1;
            }
            let event = events.get(next_event).filter(|e| e.day == i);
            let reference = match event {
                Some(e) => round_to64(close * FACTOR_SCALE, e.ratio_ppm, self.tick).max(self.tick),
                None => close,
            };
            let draws = rng.next_u64();
            let shape = rng.next_u64();
            if event.is_some() {
                suspended_left = 0;
            } else if suspended_left == 0 && k > 0 && chance(draws, self.suspend_ppm) {
                suspended_left = if chance(draws >> 20, 100_000) {
                    10 + (draws >> 40) as u32 % 51
                } else {
                    1 + (draws >> 40) as u32 % 8
                };
            }
            if suspended_left > 0 {
                suspended_left -= 1;
                out.push(close as u32 | SUSPENDED);
                continue;
            }
            // A sum of four 16-bit uniforms: roughly normal, standard deviation 37,837.
            let sum: i64 = (0..4).map(|j| ((shape >> (16 * j)) & 0xFFFF) as i64).sum::<i64>() - 131_070;
            // Volatility drag compensated (σ²/2) plus ~4% a year of growth, pulled back
            // softly beyond 3× or 1/3 of the issue price and firmly beyond 6× or 1/5.
            let mut r = sum * self.sigma_ppm / 37_837 + self.sigma_ppm * self.sigma_ppm / 2_000_000 + 150;
            let too_dear = self.sec_type != SecType::Index && reference > 1_500 * PRICE_SCALE;
            if reference > anchor * 6 || too_dear {
                r -= 3_000;
            } else if reference > anchor * 3 {
                r -= 800;
            } else if reference < anchor / 5 {
                r += 3_000;
            } else if reference < anchor / 3 {
                r += 800;
            }
            if self.sec_type == SecType::Stock {
                if chance(draws >> 20, 6_000) {
                    r = 400_000;
                } else if chance(draws >> 40, 4_000) {
                    r = -400_000;
                }
            }
            let (down, up) = self.limits(reference, i);
            let next = round_to64(reference * (1_000_000 + r), 1_000_000, self.tick);
            close = next.clamp(down, up).clamp(self.tick, i64::from(u32::MAX >> 1));
            out.push(close as u32);
        }
        out.into_boxed_slice()
    }

    /// The unadjusted daily bar on trading-day index `i` (`first <= i < end`).
    pub fn raw_bar(&self, cal: &Calendar, i: usize) -> RawBar {
        let view = self.view();
        let path = view.path();
        let k = i - self.first;
        let preclose = i64::from(path[k] & !SUSPENDED);
        let word = path[k + 1];
        let close = i64::from(word & !SUSPENDED);
        let trading = word & SUSPENDED == 0;
        let date = cal.day(i);
        let mut rng = Rng::new(h3(self.seed, i as u64, 0xBA5));
        let (open, high, low, volume, amount) = if trading {
            let reference = self.reference(view.events(), preclose, i);
            let (down, up) = self.limits(reference, i);
            let wiggle = |r: &mut Rng, lo: i64, hi: i64| {
                round_to(
                    i128::from(reference) * i128::from(r.range(lo, hi)),
                    1_000_000,
                    self.tick,
                )
            };
            let open = (reference + wiggle(&mut rng, -10_000, 10_000)).clamp(down, up);
            let high = (open.max(close) + wiggle(&mut rng, 0, 15_000)).min(up);
            let low = (open.min(close) - wiggle(&mut rng, 0, 15_000)).max(down).max(self.tick);
            let lot = if self.sec_type == SecType::Index { 1 } else { 100 };
            let v = self.base_volume * rng.range(300_000, 2_000_000) / 1_000_000;
            let volume = (v / lot).max(1) * lot;
            let vwap = (open + high + low + close + 2) / 4;
            (open, high, low, volume, volume * vwap)
        } else {
            (preclose, preclose, preclose, 0, 0)
        };
        let turn = match self.sec_type {
            SecType::Index => None,
            _ if !trading => None,
            _ => Some(div_round(i128::from(volume) * 100_000_000, i128::from(self.float_shares)) as i64),
        };
        let pct_chg = if preclose > 0 {
            div_round(i128::from(close - preclose) * 100_000_000, i128::from(preclose)) as i64
        } else {
            0
        };
        let (pe, pb, ps, pcf) = if self.sec_type == SecType::Stock {
            let y = date.year() as u64;
            let ratio = |salt: u64, lo: i64, hi: i64| {
                let v = lo + below(h3(self.seed, y, salt), (hi - lo + 1) as u64) as i64;
                (v != 0).then(|| div_round(i128::from(close) * 1_000_000, i128::from(v)) as i64)
            };
            let pcf = if below(h2(self.seed, 0x9CF), 5) == 0 {
                None
            } else {
                ratio(4, -5_000, 30_000)
            };
            (
                ratio(1, -2_000, 30_000),
                ratio(2, 5_000, 100_000),
                ratio(3, 5_000, 200_000),
                pcf,
            )
        } else {
            (None, None, None, None)
        };
        RawBar {
            index: i,
            date,
            open,
            high,
            low,
            close,
            preclose,
            volume,
            amount,
            turn,
            trading,
            pct_chg,
            pe_ttm: pe,
            pb_mrq: pb,
            ps_ttm: ps,
            pcf_ncf_ttm: pcf,
            is_st: self.is_st(i),
        }
    }

    /// The 48 five-minute bars of trading-day index `i` (none when suspended or for indices).
    pub fn five_minute_bars(&self, cal: &Calendar, i: usize) -> Vec<MinuteBarRaw> {
        let d = self.raw_bar(cal, i);
        if !d.trading || self.sec_type == SecType::Index {
            return Vec::new();
        }
        let mut rng = Rng::new(h3(self.seed, i as u64, 0x5317));
        let n = 48usize;
        // Closes of bars 0..47: a walk from open to close inside [low, high].
        let mut x = Vec::with_capacity(n + 1);
        x.push(d.open);
        for j in 1..n {
            let lin = d.open + (d.close - d.open) * j as i64 / n as i64;
            let span = (d.high - d.low) / 2;
            let noise = if span > 0 { rng.range(-span, span) } else { 0 };
            let v = round_to(i128::from(lin + noise), 1, self.tick);
            x.push(v.clamp(d.low, d.high));
        }
        x.push(d.close);
        let hi_bar = rng.below(n as u64) as usize;
        let lo_bar = rng.below(n as u64) as usize;
        let weights: Vec<i64> = (0..n)
            .map(|j| {
                let edge = if j < 6 || j >= n - 6 { 3 } else { 1 };
                rng.range(200, 1000) * edge
            })
            .collect();
        let total: i64 = weights.iter().sum();
        let lots = d.volume / 100;
        let mut vol_left = d.volume;
        let mut amt_left = d.amount;
        let mut bars = Vec::with_capacity(n);
        for j in 0..n {
            let open = x[j];
            let close = x[j + 1];
            let mut high = open.max(close);
            let mut low = open.min(close);
            if j == hi_bar {
                high = d.high;
            }
            if j == lo_bar {
                low = d.low;
            }
            let (volume, amount) = if j + 1 == n {
                (vol_left, amt_left)
            } else {
                let v = lots * weights[j] / total * 100;
                let a = (i128::from(d.amount) * i128::from(weights[j]) / i128::from(total)) as i64;
                (v, a)
            };
            vol_left -= volume;
            amt_left -= amount;
            let minutes = 5 * (j as u32 + 1);
            let end = if j < 24 {
                NaiveTime::from_hms_opt(9 + (30 + minutes) / 60, (30 + minutes) % 60, 0)
            } else {
                let m = minutes - 120;
                NaiveTime::from_hms_opt(13 + m / 60, m % 60, 0)
            }
            .unwrap_or(NaiveTime::MIN);
            bars.push(MinuteBarRaw {
                date: d.date,
                end,
                open,
                high,
                low,
                close,
                volume,
                amount,
            });
        }
        bars
    }

    /// Minute bars of a frequency (5, 15, 30, 60) on trading-day index `i`, aggregated from the
    /// five-minute bars.
    pub fn minute_bars(&self, cal: &Calendar, i: usize, minutes: u32) -> Vec<MinuteBarRaw> {
        let five = self.five_minute_bars(cal, i);
        let group = (minutes / 5).max(1) as usize;
        five.chunks(group)
            .map(|c| MinuteBarRaw {
                date: c[0].date,
                end: c[c.len() - 1].end,
                open: c[0].open,
                high: c.iter().map(|b| b.high).max().unwrap_or(0),
                low: c.iter().map(|b| b.low).min().unwrap_or(0),
                close: c[c.len() - 1].close,
                volume: c.iter().map(|b| b.volume).sum(),
                amount: c.iter().map(|b| b.amount).sum(),
            })
            .collect()
    }
}

/// An unadjusted daily bar in integer units (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawBar {
    /// Trading-day index.
    pub index: usize,
    /// The trading day.
    pub date: NaiveDate,
    /// Opening price (1e-4 yuan).
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Closing price.
    pub close: i64,
    /// The previous trading day's close (the issue price on the first day).
    pub preclose: i64,
    /// Shares traded.
    pub volume: i64,
    /// Turnover in 1e-4 yuan.
    pub amount: i64,
    /// Turnover rate in 1e-6 percent; empty for indices and suspended days.
    pub turn: Option<i64>,
    /// `false` when suspended.
    pub trading: bool,
    /// Change against preclose in 1e-6 percent.
    pub pct_chg: i64,
    /// Price/earnings (TTM) in 1e-6; stocks only.
    pub pe_ttm: Option<i64>,
    /// Price/book (MRQ) in 1e-6; stocks only.
    pub pb_mrq: Option<i64>,
    /// Price/sales (TTM) in 1e-6; stocks only.
    pub ps_ttm: Option<i64>,
    /// Price/cash flow (TTM) in 1e-6; stocks only, empty for some.
    pub pcf_ncf_ttm: Option<i64>,
    /// Whether the stock is under special treatment that day.
    pub is_st: bool,
}

/// A minute bar in integer units; `end` is the end time of the bar.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinuteBarRaw {
    /// The trading day.
    pub date: NaiveDate,
    /// End time of the bar.
    pub end: NaiveTime,
    /// Opening price (1e-4 yuan).
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Closing price.
    pub close: i64,
    /// Shares traded.
    pub volume: i64,
    /// Turnover in 1e-4 yuan.
    pub amount: i64,
}

/// Why a query cannot be answered; each maps to a server error code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// 10004011: the code is malformed or not in the market.
    InvalidCode,
    /// 10004012: a requested field does not exist for the frequency.
    InvalidField(String),
    /// 10004013: a date outside 1990-12-19..=2099-12-31, or start after end.
    DateOutOfRange,
}

/// Earliest date the server accepts in a query.
pub fn min_query_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 12, 19).unwrap_or(NaiveDate::MIN)
}

/// Latest date the server accepts in a query.
pub fn max_query_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2099, 12, 31).unwrap_or(NaiveDate::MAX)
}

pub(crate) fn check_dates(start: NaiveDate, end: NaiveDate) -> Result<(), QueryError> {
    let ok = |d: NaiveDate| (min_query_date()..=max_query_date()).contains(&d);
    if ok(start) && ok(end) && start <= end {
        Ok(())
    } else {
        Err(QueryError::DateOutOfRange)
    }
}

/// Key of a bar override: code, date, field.
type OverrideKey = (String, NaiveDate, String);

/// The whole synthetic market.
#[derive(Debug)]
pub struct Market {
    config: MarketConfig,
    calendar: Calendar,
    securities: Vec<Security>,
    by_code: HashMap<String, usize>,
    overrides: RwLock<HashMap<OverrideKey, String>>,
    /// Serialises run-time corporate action changes.
    actions: Mutex<()>,
}

const NAME_HEADS: &[&str] = &[
    "华", "中", "国", "东", "方", "新", "大", "金", "海", "天", "长", "恒", "信", "安", "泰", "宏", "科", "创", "兴",
    "通", "民", "广", "南", "北", "明", "光", "瑞", "鑫", "永", "鸿", "联", "远", "汇", "正", "德", "富", "江", "山",
];
const NAME_TAILS: &[&str] = &[
    "科技", "银行", "股份", "电子", "医药", "能源", "控股", "实业", "电气", "材料", "传媒", "汽车", "证券", "建设",
    "化工", "农业", "食品", "环境", "智能", "物流", "软件", "通信", "钢铁", "矿业", "地产", "航空", "生物", "机械",
];

fn gen_name(seed: u64) -> String {
    let a = NAME_HEADS[below(h2(seed, 1), NAME_HEADS.len() as u64) as usize];
    let b = NAME_HEADS[below(h2(seed, 2), NAME_HEADS.len() as u64) as usize];
    let t = NAME_TAILS[below(h2(seed, 3), NAME_TAILS.len() as u64) as usize];
    format!("{a}{b}{t}")
}

/// One block of codes to allocate.
struct Board {
    prefix: &'static str,
    first_number: u32,
    share: u32,
    sec_type: SecType,
    opened: (i32, u32, u32),
    limit_pct: i64,
}

const STOCK_BOARDS: &[Board] = &[
    Board {
        prefix: "sh",
        first_number: 600000,
        share: 26,
        sec_type: SecType::Stock,
        opened: (1990, 12, 19),
        limit_pct: 10,
    },
    Board {
        prefix: "sh",
        first_number: 688001,
        share: 11,
        sec_type: SecType::Stock,
        opened: (2019, 7, 22),
        limit_pct: 20,
    },
    Board {
        prefix: "sz",
        first_number: 1,
        share: 10,
        sec_type: SecType::Stock,
        opened: (1991, 4, 3),
        limit_pct: 10,
    },
    Board {
        prefix: "sz",
        first_number: 2001,
        share: 19,
        sec_type: SecType::Stock,
        opened: (2004, 6, 25),
        limit_pct: 10,
    },
    Board {
        prefix: "sz",
        first_number: 300001,
        share: 27,
        sec_type: SecType::Stock,
        opened: (2009, 10, 30),
        limit_pct: 20,
    },
    Board {
        prefix: "bj",
        first_number: 830799,
        share: 7,
        sec_type: SecType::Stock,
        opened: (2021, 11, 15),
        limit_pct: 30,
    },
];

impl Market {
    /// Builds the market: the calendar, the securities, their ST periods and factor events.
    /// Price paths are generated lazily, on first use of each security.
    pub fn new(config: MarketConfig) -> Market {
        let end = config.end.unwrap_or_else(china_today).max(config.start);
        let calendar = Calendar::new(config.start, end);
        let n = config.codes.clamp(10, MAX_CODES);
        let n_index = (n * 6 / 100).max(2);
        let n_etf = (n * 9 / 100).max(1);
        let n_stock = n - n_index - n_etf;
        let seed = config.seed;
        let mut secs: Vec<Security> = Vec::with_capacity(n);
        let total_share: u32 = STOCK_BOARDS.iter().map(|b| b.share).sum();
        let mut allocated = 0usize;
        for (bi, board) in STOCK_BOARDS.iter().enumerate() {
            let count = if bi + 1 == STOCK_BOARDS.len() {
                n_stock - allocated
            } else {
                n_stock * board.share as usize / total_share as usize
            };
            allocated += count;
            let opened = ymd(board.opened);
            let mut number = board.first_number;
            for k in 0..count {
                let code = format!("{}.{:06}", board.prefix, number);
                number += 1 + below(h3(seed, bi as u64, k as u64), 3) as u32;
                secs.push(Self::make_security(
                    seed,
                    &calendar,
                    code,
                    board.sec_type,
                    opened,
                    k,
                    count,
                    board.limit_pct,
                ));
            }
        }
        for k in 0..n_index {
            let (prefix, number) = if k % 2 == 0 {
                ("sh", 1 + k / 2)
            } else {
                ("sz", 399001 + k / 2)
            };
            let code = format!("{prefix}.{number:06}");
            secs.push(Self::make_security(
                seed,
                &calendar,
                code,
                SecType::Index,
                ymd((1991, 7, 15)),
                k,
                n_index,
                10,
            ));
        }
        for k in 0..n_etf {
            let (prefix, number) = if k % 2 == 0 {
                ("sh", 510010 + 2 * (k / 2))
            } else {
                ("sz", 159901 + k / 2)
            };
            let code = format!("{prefix}.{number:06}");
            secs.push(Self::make_security(
                seed,
                &calendar,
                code,
                SecType::Etf,
                ymd((2005, 2, 23)),
                k,
                n_etf,
                10,
            ));
        }
        secs.sort_by(|a, b| a.code.cmp(&b.code));
        secs.dedup_by(|a, b| a.code == b.code);
        let by_code = secs.iter().enumerate().map(|(i, s)| (s.code.clone(), i)).collect();
        Market {
            config,
            calendar,
            securities: secs,
            by_code,
            overrides: RwLock::new(HashMap::new()),
            actions: Mutex::new(()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn make_security(
        seed: u64,
        cal: &Calendar,
        code: String,
        sec_type: SecType,
        opened: NaiveDate,
        k: usize,
        count: usize,
        limit_pct: i64,
    ) -> Security {
        let sseed = h2(seed, fnv(&code));
        let mut rng = Rng::new(sseed);
        let last_ipo = cal.end() - chrono::Duration::days(20);
        let span = (last_ipo - opened).num_days().max(1);
        // Earlier numbers list earlier, with noise.
        let pos = ((k as i64 * 1_000 / count.max(1) as i64) + rng.range(-150, 150)).clamp(0, 999);
        let mut ipo = opened + chrono::Duration::days(span * pos / 1_000);
        while !is_trading_day(ipo) {
            ipo = ipo.succ_opt().unwrap_or(ipo);
        }
        let mut name = match sec_type {
            SecType::Stock => gen_name(sseed),
            SecType::Etf => format!("{}ETF", gen_name(sseed)),
            SecType::Index => format!("{}指数", gen_name(sseed)),
        };
        match code.as_str() {
            "sh.600000" => {
                name = "浦发银行".into();
                ipo = ymd((1999, 11, 10));
            }
            "sh.000001" => name = "上证综合指数".into(),
            "sz.399001" => name = "深证成份指数".into(),
            _ => {}
        }
        if sec_type == SecType::Index {
            ipo = ymd((1991, 7, 15)) + chrono::Duration::days(rng.range(0, 8_000));
            if code == "sh.000001" || code == "sz.399001" {
                ipo = ymd((1991, 7, 15));
            }
        }
        let delist_ppm = match sec_type {
            SecType::Stock => 50_000,
            SecType::Etf => 30_000,
            SecType::Index => 0,
        };
        let mut out = None;
        let famous = matches!(code.as_str(), "sh.600000" | "sh.000001" | "sz.399001");
        if rng.chance_ppm(delist_ppm) && !famous {
            let lo = (ipo - cal.start()).num_days().max(0) + 700;
            let hi = (cal.end() - cal.start()).num_days() - 30;
            if lo < hi {
                let mut o = cal.start() + chrono::Duration::days(rng.range(lo, hi));
                while !is_trading_day(o) {
                    o = o.succ_opt().unwrap_or(o);
                }
                out = Some(o);
            }
        }
        let first = cal.count_before(ipo);
        let end = out.map_or(cal.len(), |o| cal.count_before(o));
        let (tick, issue_price, sigma_ppm, base_volume, float_shares, suspend_ppm) = match sec_type {
            SecType::Stock => {
                let shares = rng.range(50, 5_000) * 1_000_000;
                (
                    100,
                    rng.range(30_000, 400_000) / 100 * 100,
                    rng.range(15_000, 30_000),
                    shares / rng.range(50, 400),
                    shares,
                    1_500,
                )
            }
            SecType::Index => (
                1,
                rng.range(8_000_000, 50_000_000),
                rng.range(9_000, 15_000),
                rng.range(100_000, 3_000_000) * 100,
                1,
                0,
            ),
            SecType::Etf => {
                let shares = rng.range(100, 20_000) * 1_000_000;
                (
                    10,
                    rng.range(5_000, 50_000) / 10 * 10,
                    rng.range(9_000, 16_000),
                    shares / rng.range(20, 300),
                    shares,
                    0,
                )
            }
        };
        let mut st = Vec::new();
        if sec_type == SecType::Stock && end > first + 600 && rng.chance_ppm(80_000) {
            let a = first + 250 + rng.below((end - first - 500) as u64) as usize;
            let b = (a + rng.range(100, 500) as usize).min(end);
            st.push((a, b));
        }
        let mut events = Vec::new();
        if sec_type != SecType::Index && end > first {
            let mut back = FACTOR_SCALE;
            let first_year = cal.day(first).year() + 1;
            let last_year = cal.day(end - 1).year();
            let chance = if sec_type == SecType::Stock { 650_000 } else { 150_000 };
            for y in first_year..=last_year {
                if !rng.chance_ppm(chance) {
                    continue;
                }
                let target = ymd((y, 6, 10)) + chrono::Duration::days(rng.range(0, 50));
                let day = cal.count_before(target);
                if day <= first || day >= end {
                    continue;
                }
                let mut ratio = 1_000_000 + rng.range(3_000, 40_000);
                if sec_type == SecType::Stock && rng.chance_ppm(120_000) {
                    ratio = ratio * (10 + rng.range(2, 10)) / 10;
                }
                back = div_round(i128::from(back) * i128::from(ratio), 1_000_000) as i64;
                events.push(FactorEvent {
                    day,
                    date: cal.day(day),
                    ratio_ppm: ratio,
                    back,
                });
            }
        }
        Security {
            code,
            name,
            sec_type,
            ipo,
            out,
            first,
            end: end.max(first),
            limit_pct,
            tick,
            st,
            events,
            seed: sseed,
            issue_price,
            sigma_ppm,
            base_volume,
            float_shares,
            suspend_ppm,
            path: OnceLock::new(),
            is_amended: AtomicBool::new(false),
            amended: RwLock::new(None),
        }
    }

    /// The configuration the market was built from.
    pub fn config(&self) -> &MarketConfig {
        &self.config
    }

    /// The trading calendar of the history.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// Every trading day of the history.
    pub fn trade_dates(&self) -> &[NaiveDate] {
        self.calendar.trading_days()
    }

    /// Every security, sorted by code.
    pub fn securities(&self) -> &[Security] {
        &self.securities
    }

    /// A security by code.
    pub fn security(&self, code: &str) -> Option<&Security> {
        self.by_code.get(code).map(|&i| &self.securities[i])
    }

    /// Generates every close path now (otherwise each is made on first use).
    pub fn warm(&self) {
        for s in &self.securities {
            let _ = s.path();
        }
    }

    /// Replaces one cell of one daily bar (any adjust flag) in every answer that carries it.
    /// `field` must be one of the daily fields.
    pub fn override_bar(&self, code: &str, date: NaiveDate, field: &str, value: &str) -> Result<(), QueryError> {
        if self.security(code).is_none() {
            return Err(QueryError::InvalidCode);
        }
        if !DAILY_FIELDS.split(',').any(|f| f == field) {
            return Err(QueryError::InvalidField(field.to_owned()));
        }
        self.overrides
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert((code.to_owned(), date, field.to_owned()), value.to_owned());
        Ok(())
    }

    /// Removes every override.
    pub fn clear_overrides(&self) {
        self.overrides.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Adds a dividend or split to a stock or ETF at the open of `date`, as if it had always
    /// been in the market: 15 and 9C carry its factor row, the close path departs from the
    /// old one from `date` on (the ex-date drop shows in close against preclose), back factors
    /// from `date` on and every forward factor change. Bars before `date` stay as they were,
    /// raw and back-adjusted. An action on a day that already has one multiplies its ratio.
    pub fn add_corporate_action(&self, code: &str, date: NaiveDate, ratio_ppm: i64) -> Result<(), ActionError> {
        let s = self.security(code).ok_or(ActionError::UnknownCode)?;
        if s.sec_type == SecType::Index {
            return Err(ActionError::Index);
        }
        if ratio_ppm <= FACTOR_SCALE || ratio_ppm > MAX_ACTION_RATIO_PPM {
            return Err(ActionError::BadRatio);
        }
        match self.calendar.index_of(date) {
            Some(i) if s.first < i && i < s.end => {}
            _ => return Err(ActionError::NoBar),
        }
        let _serial = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        let mut added: Vec<(NaiveDate, i64)> = s.added_actions().iter().map(|a| (a.date, a.ratio_ppm)).collect();
        added.push((date, ratio_ppm));
        s.amend(&self.calendar, added)
    }

    /// Removes every corporate action added at run time: the market is as built again.
    pub fn clear_corporate_actions(&self) {
        let _serial = self.actions.lock().unwrap_or_else(|e| e.into_inner());
        for s in &self.securities {
            if s.is_amended.load(Ordering::Acquire) {
                // Going back to the built events cannot fail.
                let _ = s.amend(&self.calendar, Vec::new());
            }
        }
    }

    /// The corporate actions added at run time, by code and date.
    pub fn corporate_actions(&self) -> Vec<CorporateAction> {
        self.securities.iter().flat_map(Security::added_actions).collect()
    }

    /// The unadjusted daily bar of a code on a date, if it has one.
    pub fn daily_bar(&self, code: &str, date: NaiveDate) -> Option<RawBar> {
        let s = self.security(code)?;
        let i = self.calendar.index_of(date)?;
        (s.first <= i && i < s.end).then(|| s.raw_bar(&self.calendar, i))
    }

    /// The 18 daily fields (DAILY_FIELDS order) of a bar, overrides applied.
    pub fn daily_row(&self, s: &Security, i: usize, adjust: AdjustFlag) -> Vec<String> {
        let b = s.raw_bar(&self.calendar, i);
        let f = s.factor(i, adjust);
        let px = |p: i64| price(p, f, adjust);
        let mut row = vec![
            self.calendar.label(i).to_owned(),
            s.code.clone(),
            px(b.open),
            px(b.high),
            px(b.low),
            px(b.close),
            px(b.preclose),
            b.volume.to_string(),
            fixed(i128::from(b.amount), 4),
            adjust.code().to_owned(),
            opt6(b.turn),
            if b.trading { "1" } else { "0" }.to_owned(),
            fixed(i128::from(b.pct_chg), 6),
            opt6(b.pe_ttm),
            opt6(b.pb_mrq),
            opt6(b.ps_ttm),
            opt6(b.pcf_ncf_ttm),
            if b.is_st { "1" } else { "0" }.to_owned(),
        ];
        let overrides = self.overrides.read().unwrap_or_else(|e| e.into_inner());
        if !overrides.is_empty() {
            for (j, name) in DAILY_FIELDS.split(',').enumerate() {
                if let Some(v) = overrides.get(&(s.code.clone(), b.date, name.to_owned())) {
                    row[j] = v.clone();
                }
            }
        }
        row
    }

    fn bar_range(&self, s: &Security, start: NaiveDate, end: NaiveDate) -> std::ops::Range<usize> {
        let r = self.calendar.range(start, end);
        r.start.max(s.first)..r.end.min(s.end).max(r.start.max(s.first))
    }

    /// Rows of `query_history_k_data_plus`, columns in the order of `fields` (names trimmed).
    pub fn history(
        &self,
        code: &str,
        fields: &str,
        start: NaiveDate,
        end: NaiveDate,
        frequency: Frequency,
        adjust: AdjustFlag,
    ) -> Result<Vec<Vec<String>>, QueryError> {
        self.history_window(
            code,
            fields,
            start,
            end,
            frequency,
            adjust,
            NaiveDate::MIN..=NaiveDate::MAX,
            0,
            usize::MAX,
        )
    }

    /// As [`Market::history`], with the bars of the days outside `days` left out (days not
    /// published or under a floor: weekly and monthly bars then aggregate only the days in
    /// it), and only rows `skip..skip + take` (one page), computing the bars of no other day
    /// (for the daily and minute frequencies).
    #[allow(clippy::too_many_arguments)]
    pub fn history_window(
        &self,
        code: &str,
        fields: &str,
        start: NaiveDate,
        end: NaiveDate,
        frequency: Frequency,
        adjust: AdjustFlag,
        days: std::ops::RangeInclusive<NaiveDate>,
        skip: usize,
        take: usize,
    ) -> Result<Vec<Vec<String>>, QueryError> {
        let s = self.security(code).ok_or(QueryError::InvalidCode)?;
        let all: Vec<&str> = frequency.fields().split(',').collect();
        let mut cols = Vec::new();
        for name in fields.split(',') {
            let name = name.trim();
            match all.iter().position(|f| *f == name) {
                Some(j) => cols.push(j),
                None => return Err(QueryError::InvalidField(name.to_owned())),
            }
        }
        check_dates(start, end)?;
        let (start, end) = (start.max(*days.start()), end.min(*days.end()));
        let range = if end < start {
            0..0
        } else {
            self.bar_range(s, start, end)
        };
        let full: Vec<Vec<String>> = match frequency {
            Frequency::Daily => range
                .skip(skip)
                .take(take)
                .map(|i| self.daily_row(s, i, adjust))
                .collect(),
            Frequency::Weekly | Frequency::Monthly => self
                .period_rows(s, range, frequency, adjust)
                .into_iter()
                .skip(skip)
                .take(take)
                .collect(),
            _ => {
                let minutes = frequency.minutes().unwrap_or(5);
                let per_day = if s.sec_type == SecType::Index {
                    0
                } else {
                    (240 / minutes.max(5)) as usize
                };
                let stop = skip.saturating_add(take);
                let mut rows = Vec::new();
                let mut seen = 0usize;
                for i in range {
                    if seen >= stop {
                        break;
                    }
                    let n = if s.trading_on(i) { per_day } else { 0 };
                    let before = seen;
                    seen += n;
                    if seen <= skip || n == 0 {
                        continue;
                    }
                    let f = s.factor(i, adjust);
                    let label = self.calendar.label(i);
                    let compact: String = label.chars().filter(|c| *c != '-').collect();
                    let bars = s.minute_bars(&self.calendar, i, minutes);
                    let from = skip.saturating_sub(before);
                    let to = (stop - before).min(bars.len());
                    for m in &bars[from.min(to)..to] {
                        rows.push(vec![
                            label.to_owned(),
                            format!("{compact}{:02}{:02}00000", m.end.hour(), m.end.minute()),
                            s.code.clone(),
                            price(m.open, f, adjust),
                            price(m.high, f, adjust),
                            price(m.low, f, adjust),
                            price(m.close, f, adjust),
                            m.volume.to_string(),
                            fixed(i128::from(m.amount), 4),
                            adjust.code().to_owned(),
                        ]);
                    }
                }
                rows
            }
        };
        let distinct = cols.iter().collect::<std::collections::BTreeSet<_>>().len() == cols.len();
        Ok(full
            .into_iter()
            .map(|mut r| {
                if distinct {
                    cols.iter().map(|&j| std::mem::take(&mut r[j])).collect()
                } else {
                    cols.iter().map(|&j| r[j].clone()).collect()
                }
            })
            .collect())
    }

    fn period_rows(
        &self,
        s: &Security,
        range: std::ops::Range<usize>,
        frequency: Frequency,
        adjust: AdjustFlag,
    ) -> Vec<Vec<String>> {
        let key = |d: NaiveDate| {
            if frequency == Frequency::Weekly {
                let w = d.iso_week();
                (w.year(), w.week())
            } else {
                (d.year(), d.month())
            }
        };
        let mut rows = Vec::new();
        let mut i = range.start;
        while i < range.end {
            let k = key(self.calendar.day(i));
            let mut j = i;
            while j < range.end && key(self.calendar.day(j)) == k {
                j += 1;
            }
            let bars: Vec<(RawBar, i64)> = (i..j)
                .map(|x| (s.raw_bar(&self.calendar, x), s.factor(x, adjust)))
                .collect();
            let adj = |p: i64, f: i64| i128::from(p) * i128::from(f);
            let first = &bars[0];
            let last = &bars[bars.len() - 1];
            let open = adj(first.0.open, first.1);
            let close = adj(last.0.close, last.1);
            let high = bars.iter().map(|(b, f)| adj(b.high, *f)).max().unwrap_or(0);
            let low = bars.iter().map(|(b, f)| adj(b.low, *f)).min().unwrap_or(0);
            let volume: i64 = bars.iter().map(|(b, _)| b.volume).sum();
            let amount: i128 = bars.iter().map(|(b, _)| i128::from(b.amount)).sum();
            let turn: i64 = bars.iter().filter_map(|(b, _)| b.turn).sum();
            let pre = first.0.preclose;
            let pct = if pre > 0 {
                div_round(i128::from(last.0.close - pre) * 100_000_000, i128::from(pre))
            } else {
                0
            };
            let scaled = |v: i128| match adjust {
                AdjustFlag::None => fixed(v / i128::from(FACTOR_SCALE), 4),
                _ => fixed(v, 10),
            };
            rows.push(vec![
                self.calendar.label(last.0.index).to_owned(),
                s.code.clone(),
                scaled(open),
                scaled(high),
                scaled(low),
                scaled(close),
                volume.to_string(),
                fixed(amount, 4),
                adjust.code().to_owned(),
                if s.sec_type == SecType::Index {
                    String::new()
                } else {
                    fixed(i128::from(turn), 6)
                },
                fixed(pct, 6),
            ]);
            i = j;
        }
        debug_assert!(rows.iter().all(|r| r.len() == PERIOD_FIELDS.split(',').count()));
        rows
    }

    fn daily_all(&self, date: NaiveDate, ty: SecType) -> Vec<Vec<String>> {
        let Some(i) = self.calendar.index_of(date) else {
            return Vec::new();
        };
        self.securities
            .iter()
            .filter(|s| s.sec_type == ty && s.first <= i && i < s.end)
            .map(|s| self.daily_row(s, i, AdjustFlag::None))
            .collect()
    }

    /// `query_daily_history_k_AStock` (98): every stock (type 1) listed on `date`, one
    /// unadjusted daily bar each with all 18 fields, suspended ones included. Empty on a
    /// non-trading day or outside the history.
    pub fn daily_astock(&self, date: NaiveDate) -> Vec<Vec<String>> {
        self.daily_all(date, SecType::Stock)
    }

    /// `query_daily_history_k_ETF` (9A): every ETF (type 5) listed on `date`, as for 98.
    pub fn daily_etf(&self, date: NaiveDate) -> Vec<Vec<String>> {
        self.daily_all(date, SecType::Etf)
    }

    fn factor_row(s: &Security, events: &[FactorEvent], e: &FactorEvent) -> Vec<String> {
        vec![
            s.code.clone(),
            e.date.format("%Y-%m-%d").to_string(),
            fixed(i128::from(fore_in(events, e.back)), 6),
            fixed(i128::from(e.back), 6),
            fixed(i128::from(e.back), 6),
        ]
    }

    /// `query_daily_adjust_factor` (9C): the factor rows of every code whose
    /// dividOperateDate is `date` (ADJUST_FACTOR_FIELDS).
    pub fn daily_adjust_factors(&self, date: NaiveDate) -> Vec<Vec<String>> {
        self.securities
            .iter()
            .flat_map(|s| {
                let events = s.factor_events();
                events
                    .iter()
                    .filter(|e| e.date == date)
                    .map(|e| Self::factor_row(s, &events, e))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// `query_adjust_factor` (15): factor rows of one code with operate dates in the range.
    pub fn adjust_factors(&self, code: &str, start: NaiveDate, end: NaiveDate) -> Result<Vec<Vec<String>>, QueryError> {
        let s = self.security(code).ok_or(QueryError::InvalidCode)?;
        check_dates(start, end)?;
        let events = s.factor_events();
        Ok(events
            .iter()
            .filter(|e| start <= e.date && e.date <= end)
            .map(|e| Self::factor_row(s, &events, e))
            .collect())
    }

    /// `query_trade_dates` (33): every calendar day of the range with 1 for trading days.
    pub fn trade_dates_between(&self, start: NaiveDate, end: NaiveDate) -> Result<Vec<Vec<String>>, QueryError> {
        check_dates(start, end)?;
        let mut rows = Vec::new();
        let mut d = start;
        while d <= end {
            rows.push(vec![
                d.format("%Y-%m-%d").to_string(),
                if is_trading_day(d) { "1" } else { "0" }.to_owned(),
            ]);
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        Ok(rows)
    }

    /// `query_all_stock` (35): every code listed on `day` with its trade status and its name
    /// that day (`ST` + name during ST periods); empty on a non-trading day or outside the
    /// history.
    pub fn all_stock(&self, day: NaiveDate) -> Vec<Vec<String>> {
        let Some(i) = self.calendar.index_of(day) else {
            return Vec::new();
        };
        self.securities
            .iter()
            .filter(|s| s.first <= i && i < s.end)
            .map(|s| {
                let trading = s.trading_on(i);
                vec![s.code.clone(), if trading { "1" } else { "0" }.to_owned(), s.name_on(i)]
            })
            .collect()
    }

    /// The trading-day index of the last trading day on or before `d`, within the history.
    pub(crate) fn last_trading_index(&self, d: NaiveDate) -> Option<usize> {
        if d < self.calendar.start() {
            return None;
        }
        self.calendar.count_before(d.succ_opt()?).checked_sub(1)
    }

    /// Whether a reference query (59, 61, 63, 65) for `d` has an answer: `d` in the history.
    fn in_history(&self, d: NaiveDate) -> bool {
        self.calendar.start() <= d && d <= self.calendar.end()
    }

    /// The name a security carries in reference lists of the update `u` (`ST` prefix during an
    /// ST period, as in 35).
    fn name_at(&self, s: &Security, u: NaiveDate) -> String {
        match self.last_trading_index(u) {
            Some(i) => s.name_on(i),
            None => s.name.clone(),
        }
    }

    /// The codes of an index on `date`, ranked and cut, ascending by code. The list is the one
    /// of the weekly update on [`update_date`]`(date)`: the review of the rebalancing day in
    /// force then ranks the sh/sz stocks (sh only for the SSE 50) listed on that day and not
    /// in an ST period by size (float shares times a draw of the review within ±3%), and only stocks
    /// still listed on `date` count. CSI 300: the first 300; SSE 50: the first 50 Shanghai
    /// stocks of the CSI 300; CSI 500: the next 500 after the CSI 300 (with fewer than 800
    /// stocks, the last 500, or all of them).
    pub fn index_members(&self, index: StockIndex, date: NaiveDate) -> Vec<&Security> {
        if !self.in_history(date) {
            return Vec::new();
        }
        let Some(review) = rebalancing_in_force(index, update_date(date)) else {
            return Vec::new();
        };
        let review_day = self.last_trading_index(review);
        let key = review.num_days_from_ce() as u64;
        let mut ranked: Vec<(i128, &Security)> = self
            .securities
            .iter()
            .filter(|s| {
                s.sec_type == SecType::Stock
                    && (s.code.starts_with("sh.") || s.code.starts_with("sz."))
                    && s.listed_on(review)
                    && s.listed_on(date)
                    && !review_day.is_some_and(|i| s.is_st(i))
            })
            .map(|s| {
                let draw = 970_000 + below(h3(s.seed, key, 0x1DE), 60_001) as i128;
                (i128::from(s.float_shares) * draw, s)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.code.cmp(&b.1.code)));
        let n = ranked.len();
        let mut members: Vec<&Security> = match index {
            StockIndex::Hs300 => ranked.iter().take(300).map(|r| r.1).collect(),
            StockIndex::Sz50 => ranked
                .iter()
                .take(300)
                .filter(|r| r.1.code.starts_with("sh."))
                .take(50)
                .map(|r| r.1)
                .collect(),
            StockIndex::Zz500 => {
                let from = 300.min(n.saturating_sub(500));
                ranked.iter().skip(from).take(500).map(|r| r.1).collect()
            }
        };
        members.sort_by(|a, b| a.code.cmp(&b.code));
        members
    }

    /// `query_hs300_stocks` (61), `query_sz50_stocks` (63), `query_zz500_stocks` (65): the
    /// constituents of [`Market::index_members`], `updateDate, code, code_name` with the
    /// update's date; no rows for a day outside the history or before the index's launch.
    pub fn index_constituents(&self, index: StockIndex, date: NaiveDate) -> Vec<Vec<String>> {
        let u = update_date(date);
        let label = u.format("%Y-%m-%d").to_string();
        self.index_members(index, date)
            .into_iter()
            .map(|s| vec![label.clone(), s.code.clone(), self.name_at(s, u)])
            .collect()
    }

    /// `query_stock_industry` (59): every stock listed on `date` (or the one `code`, when it is
    /// a stock listed then), `updateDate, code, code_name, industry, industryClassification`:
    /// its fixed CSRC industry, dated by the weekly update; a stock listed after the update's
    /// Monday is not classified yet (empty industry and classification). No rows for a day
    /// outside the history or a code that is not a stock.
    pub fn stock_industry(&self, code: &str, date: NaiveDate) -> Vec<Vec<String>> {
        if !self.in_history(date) {
            return Vec::new();
        }
        let u = update_date(date);
        let label = u.format("%Y-%m-%d").to_string();
        let candidates: &[Security] = if code.is_empty() {
            &self.securities
        } else {
            self.by_code
                .get(code)
                .map_or(&[], |&i| std::slice::from_ref(&self.securities[i]))
        };
        candidates
            .iter()
            .filter(|s| s.sec_type == SecType::Stock && s.listed_on(date))
            .map(|s| {
                let classified = s.ipo <= u;
                vec![
                    label.clone(),
                    s.code.clone(),
                    self.name_at(s, u),
                    if classified { industry_of(s) } else { "" }.to_owned(),
                    if classified { INDUSTRY_CLASSIFICATION } else { "" }.to_owned(),
                ]
            })
            .collect()
    }

    /// `query_stock_basic` (45): one code, the codes whose name contains `code_name`, or all
    /// codes when both are empty. An unknown code gives no rows.
    pub fn stock_basic(&self, code: &str, code_name: &str) -> Vec<Vec<String>> {
        self.securities
            .iter()
            .filter(|s| (code.is_empty() || s.code == code) && (code_name.is_empty() || s.name.contains(code_name)))
            .map(|s| {
                vec![
                    s.code.clone(),
                    s.name.clone(),
                    s.ipo.format("%Y-%m-%d").to_string(),
                    s.out.map(|o| o.format("%Y-%m-%d").to_string()).unwrap_or_default(),
                    s.sec_type.code().to_owned(),
                    if s.out.is_some() { "0" } else { "1" }.to_owned(),
                ]
            })
            .collect()
    }
}

/// The date of the server's weekly reference-data update in force on `d`: the Monday of its
/// week, a holiday or not (the captures: 2026-04-20 for a query on Wednesday 2026-04-22, and
/// 2024-01-01, New Year's Day, for 2024-01-02).
pub fn update_date(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(chrono::Days::new(u64::from(d.weekday().num_days_from_monday())))
        .unwrap_or(d)
}

/// The first day an index's constituent list exists (its launch).
pub fn index_launch(index: StockIndex) -> NaiveDate {
    match index {
        StockIndex::Hs300 => ymd((2005, 4, 8)),
        StockIndex::Sz50 => ymd((2004, 1, 2)),
        StockIndex::Zz500 => ymd((2007, 1, 15)),
    }
}

/// Number of constituents of an index.
pub fn index_size(index: StockIndex) -> usize {
    match index {
        StockIndex::Hs300 => 300,
        StockIndex::Sz50 => 50,
        StockIndex::Zz500 => 500,
    }
}

/// The semi-annual rebalancing days of `year`: the first trading day after the second Friday
/// of June and of December (the real CSI and SSE reviews).
pub fn rebalancing_days(year: i32) -> [NaiveDate; 2] {
    [6, 12].map(|month| {
        let first = ymd((year, month, 1));
        let to_friday = (4 + 7 - i64::from(first.weekday().num_days_from_monday())) % 7;
        let mut d = first + chrono::Duration::days(to_friday + 8);
        while !is_trading_day(d) {
            d = d.succ_opt().unwrap_or(d);
        }
        d
    })
}

/// The day whose review decides an index's list on `d`: the latest rebalancing day on or
/// before `d`, or the launch; `None` before the launch.
pub fn rebalancing_in_force(index: StockIndex, d: NaiveDate) -> Option<NaiveDate> {
    let launch = index_launch(index);
    if d < launch {
        return None;
    }
    let mut best = launch;
    for y in [d.year() - 1, d.year()] {
        for r in rebalancing_days(y) {
            if launch < r && r <= d && r > best {
                best = r;
            }
        }
    }
    Some(best)
}

/// The field value of `industryClassification` (as in the capture).
pub const INDUSTRY_CLASSIFICATION: &str = "证监会行业分类";

/// Industries of the CSRC classification (2012), code and name as the server writes them.
pub const INDUSTRIES: &[&str] = &[
    "A01农业",
    "A03畜牧业",
    "B06煤炭开采和洗选业",
    "B07石油和天然气开采业",
    "B09有色金属矿采选业",
    "C13农副食品加工业",
    "C14食品制造业",
    "C15酒、饮料和精制茶制造业",
    "C17纺织业",
    "C26化学原料和化学制品制造业",
    "C27医药制造业",
    "C29橡胶和塑料制品业",
    "C30非金属矿物制品业",
    "C31黑色金属冶炼和压延加工业",
    "C32有色金属冶炼和压延加工业",
    "C33金属制品业",
    "C34通用设备制造业",
    "C35专用设备制造业",
    "C36汽车制造业",
    "C38电气机械和器材制造业",
    "C39计算机、通信和其他电子设备制造业",
    "C40仪器仪表制造业",
    "D44电力、热力生产和供应业",
    "E48土木工程建筑业",
    "F51批发业",
    "F52零售业",
    "G54道路运输业",
    "G56航空运输业",
    "G58装卸搬运和运输代理业",
    "I63电信、广播电视和卫星传输服务",
    "I64互联网和相关服务",
    "I65软件和信息技术服务业",
    "J66货币金融服务",
    "J67资本市场服务",
    "K70房地产业",
    "L72商务服务业",
    "N77生态保护和环境治理业",
    "R86广播、电视、电影和影视录音制作业",
];

/// Industries that fit a name ending, by the ending.
const INDUSTRY_BY_TAIL: &[(&str, &[&str])] = &[
    ("银行", &["J66货币金融服务"]),
    ("证券", &["J67资本市场服务"]),
    ("医药", &["C27医药制造业"]),
    ("生物", &["C27医药制造业"]),
    ("电子", &["C39计算机、通信和其他电子设备制造业"]),
    (
        "科技",
        &[
            "C39计算机、通信和其他电子设备制造业",
            "I65软件和信息技术服务业",
            "C40仪器仪表制造业",
        ],
    ),
    ("软件", &["I65软件和信息技术服务业"]),
    (
        "通信",
        &["I63电信、广播电视和卫星传输服务", "C39计算机、通信和其他电子设备制造业"],
    ),
    (
        "能源",
        &[
            "D44电力、热力生产和供应业",
            "B06煤炭开采和洗选业",
            "B07石油和天然气开采业",
        ],
    ),
    ("电气", &["C38电气机械和器材制造业"]),
    (
        "材料",
        &[
            "C26化学原料和化学制品制造业",
            "C30非金属矿物制品业",
            "C32有色金属冶炼和压延加工业",
        ],
    ),
    ("化工", &["C26化学原料和化学制品制造业", "C29橡胶和塑料制品业"]),
    ("传媒", &["R86广播、电视、电影和影视录音制作业", "I64互联网和相关服务"]),
    ("汽车", &["C36汽车制造业"]),
    ("建设", &["E48土木工程建筑业"]),
    ("农业", &["A01农业", "A03畜牧业"]),
    (
        "食品",
        &["C14食品制造业", "C13农副食品加工业", "C15酒、饮料和精制茶制造业"],
    ),
    ("环境", &["N77生态保护和环境治理业"]),
    ("智能", &["C35专用设备制造业", "I65软件和信息技术服务业"]),
    ("物流", &["G58装卸搬运和运输代理业", "G54道路运输业"]),
    ("钢铁", &["C31黑色金属冶炼和压延加工业"]),
    ("矿业", &["B09有色金属矿采选业", "B06煤炭开采和洗选业"]),
    ("地产", &["K70房地产业"]),
    ("航空", &["G56航空运输业"]),
    ("机械", &["C34通用设备制造业", "C35专用设备制造业"]),
];

/// The industry of a stock: one that fits its name's ending, else any, chosen from its seed.
pub(crate) fn industry_of(s: &Security) -> &'static str {
    let fits = INDUSTRY_BY_TAIL
        .iter()
        .find(|(tail, _)| s.name.ends_with(tail))
        .map_or(INDUSTRIES, |(_, list)| *list);
    fits[below(h2(s.seed, 0x1D57), fits.len() as u64) as usize]
}

/// Fields of the minute frequencies and of the others, re-exported for callers.
pub const ALL_FIELD_LISTS: [&str; 4] = [DAILY_FIELDS, PERIOD_FIELDS, MINUTE_FIELDS, ADJUST_FACTOR_FIELDS];

fn ymd((y, m, d): (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Back factor in force on trading day `i` under `events`.
fn back_in(events: &[FactorEvent], i: usize) -> i64 {
    events
        .iter()
        .rev()
        .find(|e| e.day <= i)
        .map_or(FACTOR_SCALE, |e| e.back)
}

/// The latest back factor under `events`.
fn latest_in(events: &[FactorEvent]) -> i64 {
    events.last().map_or(FACTOR_SCALE, |e| e.back)
}

/// Forward factor of a back factor under `events`: back / latest back, half away from zero.
fn fore_in(events: &[FactorEvent], back: i64) -> i64 {
    div_round(
        i128::from(back) * i128::from(FACTOR_SCALE),
        i128::from(latest_in(events)),
    ) as i64
}

/// `n / d` rounded half away from zero (`d > 0`).
pub fn div_round(n: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d.abs() {
        q + n.signum() * d.signum()
    } else {
        q
    }
}

/// `n / d` rounded half up to a multiple of `tick`, for non-negative values, in i64.
fn round_to64(n: i64, d: i64, tick: i64) -> i64 {
    let q = d * tick;
    (n + q / 2) / q * tick
}

/// `n / d` rounded half up to a multiple of `tick`, for non-negative values.
fn round_to(n: i128, d: i128, tick: i64) -> i64 {
    div_round(n, d * i128::from(tick)) as i64 * tick
}

/// Formats a scaled integer with exactly `scale` decimals.
pub fn fixed(v: i128, scale: u32) -> String {
    let digits = match u64::try_from(v.unsigned_abs()) {
        Ok(small) => small.to_string(),
        Err(_) => v.unsigned_abs().to_string(),
    };
    let scale = scale as usize;
    let mut out = String::with_capacity(digits.len() + scale + 3);
    if v < 0 {
        out.push('-');
    }
    if scale == 0 {
        out.push_str(&digits);
    } else if digits.len() <= scale {
        out.push_str("0.");
        for _ in digits.len()..scale {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let (int, frac) = digits.split_at(digits.len() - scale);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    }
    out
}

fn opt6(v: Option<i64>) -> String {
    v.map(|x| fixed(i128::from(x), 6)).unwrap_or_default()
}

/// A price for an adjust flag: 4 decimals unadjusted, else the exact product with the
/// factor, 10 decimals.
fn price(p: i64, factor: i64, adjust: AdjustFlag) -> String {
    match adjust {
        AdjustFlag::None => fixed(i128::from(p), 4),
        _ => fixed(i128::from(p) * i128::from(factor), 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_formats_exactly() {
        assert_eq!(fixed(89_400, 4), "8.9400");
        assert_eq!(fixed(-302_100, 6), "-0.302100");
        assert_eq!(fixed(66_000 * 936_211, 10), "6.1789926000");
        assert_eq!(fixed(0, 4), "0.0000");
        assert_eq!(fixed(5, 6), "0.000005");
        assert_eq!(fixed(-5, 2), "-0.05");
        assert_eq!(fixed(123, 0), "123");
        assert_eq!(fixed(i128::from(i64::MAX) * 100, 2), format!("{}.00", i64::MAX));
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(7, 3), 2);
    }
}
