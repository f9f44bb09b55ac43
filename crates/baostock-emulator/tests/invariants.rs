//! Invariants of the synthetic market, checked on the strings the emulator emits.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use baostock::value::{AdjustFlag, Frequency, DAILY_FIELDS, MINUTE_FIELDS, PERIOD_FIELDS};
use baostock_emulator::calendar::is_trading_day;
use baostock_emulator::{Market, MarketConfig, SecType};
use chrono::{Datelike, NaiveDate};
use common::{col, d, dec, market};
use rust_decimal::{Decimal, RoundingStrategy};

/// Codes of each type, a few of each.
fn sample(m: &Market, ty: SecType, n: usize) -> Vec<String> {
    let all: Vec<_> = m.securities().iter().filter(|s| s.sec_type == ty).collect();
    let step = (all.len() / n).max(1);
    all.iter().step_by(step).take(n).map(|s| s.code.clone()).collect()
}

fn daily(m: &Market, code: &str, from: &str, to: &str, adj: AdjustFlag) -> Vec<Vec<String>> {
    m.history(code, DAILY_FIELDS, d(from), d(to), Frequency::Daily, adj)
        .unwrap()
}

#[test]
fn preclose_is_the_previous_trading_days_close() {
    let m = market(400);
    let mut checked = 0;
    for ty in [SecType::Stock, SecType::Etf, SecType::Index] {
        for code in sample(&m, ty, 12) {
            let rows = daily(&m, &code, "2000-01-01", "2025-06-30", AdjustFlag::None);
            for w in rows.windows(2) {
                assert_eq!(w[1][6], w[0][5], "{code} {}: preclose vs previous close", w[1][0]);
                checked += 1;
            }
            // Consecutive rows are consecutive trading days (no gaps while listed).
            let cal = m.calendar();
            for w in rows.windows(2) {
                let a = cal.index_of(d(&w[0][0])).unwrap();
                assert_eq!(
                    cal.index_of(d(&w[1][0])).unwrap(),
                    a + 1,
                    "{code}: gap after {}",
                    w[0][0]
                );
            }
        }
    }
    assert!(checked > 50_000, "{checked}");
}

#[test]
fn weekly_and_monthly_bars_aggregate_the_daily_bars() {
    let m = market(400);
    let period_cols: Vec<&str> = PERIOD_FIELDS.split(',').collect();
    for ty in [SecType::Stock, SecType::Etf, SecType::Index] {
        for code in sample(&m, ty, 4) {
            for adj in AdjustFlag::ALL {
                for freq in [Frequency::Weekly, Frequency::Monthly] {
                    let days = daily(&m, &code, "2019-01-01", "2025-06-30", adj);
                    let periods = m
                        .history(&code, PERIOD_FIELDS, d("2019-01-01"), d("2025-06-30"), freq, adj)
                        .unwrap();
                    let key = |s: &str| {
                        let x = d(s);
                        if freq == Frequency::Weekly {
                            (x.iso_week().year(), x.iso_week().week())
                        } else {
                            (x.year(), x.month())
                        }
                    };
                    let mut groups: BTreeMap<(i32, u32), Vec<&Vec<String>>> = BTreeMap::new();
                    for r in &days {
                        groups.entry(key(&r[0])).or_default().push(r);
                    }
                    assert_eq!(groups.len(), periods.len(), "{code} {freq:?} {adj:?}");
                    for (g, p) in groups.values().zip(&periods) {
                        let first = g[0];
                        let last = g[g.len() - 1];
                        let c = |n: &str| period_cols.iter().position(|f| *f == n).unwrap();
                        let dc = |n: &str| col(DAILY_FIELDS, n);
                        assert_eq!(p[c("date")], last[0]);
                        assert_eq!(p[c("open")], first[dc("open")]);
                        assert_eq!(p[c("close")], last[dc("close")]);
                        let hi = g.iter().map(|r| dec(&r[dc("high")])).max().unwrap();
                        let lo = g.iter().map(|r| dec(&r[dc("low")])).min().unwrap();
                        assert_eq!(dec(&p[c("high")]), hi, "{code} {}", p[0]);
                        assert_eq!(dec(&p[c("low")]), lo, "{code} {}", p[0]);
                        let vol: i64 = g.iter().map(|r| r[dc("volume")].parse::<i64>().unwrap()).sum();
                        assert_eq!(p[c("volume")].parse::<i64>().unwrap(), vol);
                        let amt: Decimal = g.iter().map(|r| dec(&r[dc("amount")])).sum();
                        assert_eq!(dec(&p[c("amount")]), amt);
                        assert_eq!(p[c("adjustflag")], adj.code());
                        if adj == AdjustFlag::None {
                            let pre = dec(&first[dc("preclose")]);
                            let pct = ((dec(&last[dc("close")]) - pre) * Decimal::from(100) / pre)
                                .round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero);
                            assert_eq!(dec(&p[c("pctChg")]), pct, "{code} {}", p[0]);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn minute_bars_aggregate_to_the_daily_bar() {
    let m = market(400);
    let ends = |minutes: u32| -> Vec<String> {
        let mut v = Vec::new();
        let mut t = 9 * 60 + 30;
        for _ in 0..(120 / minutes) {
            t += minutes;
            v.push(format!("{:02}{:02}00000", t / 60, t % 60));
        }
        t = 13 * 60;
        for _ in 0..(120 / minutes) {
            t += minutes;
            v.push(format!("{:02}{:02}00000", t / 60, t % 60));
        }
        v
    };
    let mc = |n: &str| col(MINUTE_FIELDS, n);
    let dc = |n: &str| col(DAILY_FIELDS, n);
    let mut days_checked = 0;
    let mut codes = sample(&m, SecType::Stock, 6);
    codes.extend(sample(&m, SecType::Etf, 2));
    for code in codes {
        for adj in AdjustFlag::ALL {
            let days = daily(&m, &code, "2024-03-01", "2024-03-31", adj);
            for freq in [Frequency::Min5, Frequency::Min15, Frequency::Min30, Frequency::Min60] {
                let minutes = freq.minutes().unwrap();
                let bars = m
                    .history(&code, MINUTE_FIELDS, d("2024-03-01"), d("2024-03-31"), freq, adj)
                    .unwrap();
                let mut by_day: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
                for b in bars {
                    by_day.entry(b[0].clone()).or_default().push(b);
                }
                for day in &days {
                    let trading = day[dc("tradestatus")] == "1";
                    let Some(g) = by_day.get(&day[0]) else {
                        assert!(!trading, "{code} {}: no minute bars on a trading day", day[0]);
                        continue;
                    };
                    assert!(trading, "{code} {}: minute bars on a suspended day", day[0]);
                    let compact = day[0].replace('-', "");
                    let want: Vec<String> = ends(minutes).iter().map(|t| format!("{compact}{t}")).collect();
                    let got: Vec<String> = g.iter().map(|b| b[mc("time")].clone()).collect();
                    assert_eq!(got, want, "{code} {freq:?} times");
                    assert_eq!(g[0][mc("open")], day[dc("open")]);
                    assert_eq!(g[g.len() - 1][mc("close")], day[dc("close")]);
                    let hi = g.iter().map(|b| dec(&b[mc("high")])).max().unwrap();
                    let lo = g.iter().map(|b| dec(&b[mc("low")])).min().unwrap();
                    assert_eq!(hi, dec(&day[dc("high")]), "{code} {} {freq:?}", day[0]);
                    assert_eq!(lo, dec(&day[dc("low")]), "{code} {} {freq:?}", day[0]);
                    let vol: i64 = g.iter().map(|b| b[mc("volume")].parse::<i64>().unwrap()).sum();
                    assert_eq!(vol, day[dc("volume")].parse::<i64>().unwrap());
                    let amt: Decimal = g.iter().map(|b| dec(&b[mc("amount")])).sum();
                    assert_eq!(amt, dec(&day[dc("amount")]));
                    for b in g {
                        assert!(
                            dec(&b[mc("low")]) <= dec(&b[mc("open")]) && dec(&b[mc("open")]) <= dec(&b[mc("high")])
                        );
                        assert!(
                            dec(&b[mc("low")]) <= dec(&b[mc("close")]) && dec(&b[mc("close")]) <= dec(&b[mc("high")])
                        );
                        assert_eq!(b[mc("adjustflag")], adj.code());
                    }
                    days_checked += 1;
                }
                assert!(by_day.keys().all(|k| days.iter().any(|r| &r[0] == k)));
            }
        }
    }
    assert!(days_checked > 500, "{days_checked}");
}

#[test]
fn five_minute_bars_have_the_real_bar_ends_and_indices_have_none() {
    let m = market(200);
    let bars = m
        .history(
            "sh.600000",
            "time",
            d("2024-01-02"),
            d("2024-01-02"),
            Frequency::Min5,
            AdjustFlag::None,
        )
        .unwrap();
    let times: Vec<&str> = bars.iter().map(|b| &b[0][8..12]).collect();
    assert_eq!(times.len(), 48);
    assert_eq!(
        (times[0], times[23], times[24], times[47]),
        ("0935", "1130", "1305", "1500")
    );
    let hours = m
        .history(
            "sh.600000",
            "time",
            d("2024-01-02"),
            d("2024-01-02"),
            Frequency::Min60,
            AdjustFlag::None,
        )
        .unwrap();
    let hours: Vec<&str> = hours.iter().map(|b| &b[0][8..12]).collect();
    assert_eq!(hours, ["1030", "1130", "1400", "1500"]);
    for freq in [Frequency::Min5, Frequency::Min60] {
        let rows = m
            .history(
                "sh.000001",
                MINUTE_FIELDS,
                d("2024-01-02"),
                d("2024-01-31"),
                freq,
                AdjustFlag::None,
            )
            .unwrap();
        assert!(rows.is_empty(), "index minute bars");
    }
}

#[test]
fn adjusted_prices_are_raw_times_the_factor_in_force() {
    let m = market(400);
    let price_cols = ["open", "high", "low", "close", "preclose"];
    let mut with_events = 0;
    for code in sample(&m, SecType::Stock, 30) {
        let factors = m.adjust_factors(&code, d("1990-12-19"), d("2099-12-31")).unwrap();
        if factors.is_empty() {
            continue;
        }
        with_events += 1;
        let latest_back = dec(&factors[factors.len() - 1][3]);
        for f in &factors {
            let back = dec(&f[3]);
            assert_eq!(f[4], f[3], "adjustFactor is the back factor");
            let fore = (back / latest_back).round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero);
            assert_eq!(dec(&f[2]), fore, "{code} {}: fore = back / latest back", f[1]);
        }
        let raw = daily(&m, &code, "2000-01-01", "2025-06-30", AdjustFlag::None);
        let back_rows = daily(&m, &code, "2000-01-01", "2025-06-30", AdjustFlag::Back);
        let fore_rows = daily(&m, &code, "2000-01-01", "2025-06-30", AdjustFlag::Forward);
        assert_eq!(raw.len(), back_rows.len());
        for ((r, b), f) in raw.iter().zip(&back_rows).zip(&fore_rows) {
            let in_force = factors.iter().rev().find(|x| x[1] <= r[0]);
            let (fb, ff) = match in_force {
                Some(x) => (dec(&x[3]), dec(&x[2])),
                None => (
                    Decimal::ONE,
                    (Decimal::ONE / latest_back).round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero),
                ),
            };
            for name in price_cols {
                let j = col(DAILY_FIELDS, name);
                assert_eq!(b[j].split('.').nth(1).unwrap().len(), 10, "10 decimals");
                assert_eq!(dec(&b[j]), dec(&r[j]) * fb, "{code} {} {name} back", r[0]);
                assert_eq!(dec(&f[j]), dec(&r[j]) * ff, "{code} {} {name} fore", r[0]);
            }
            for name in ["volume", "amount", "turn", "tradestatus", "pctChg", "isST"] {
                let j = col(DAILY_FIELDS, name);
                assert_eq!(b[j], r[j]);
                assert_eq!(f[j], r[j]);
            }
            assert_eq!((r[9].as_str(), b[9].as_str(), f[9].as_str()), ("3", "1", "2"));
        }
    }
    assert!(with_events >= 10, "{with_events}");
}

fn listed_codes(m: &Market, day: NaiveDate, ty: Option<&str>) -> BTreeSet<String> {
    m.stock_basic("", "")
        .into_iter()
        .filter(|r| {
            let ipo = d(&r[2]);
            let out = (!r[3].is_empty()).then(|| d(&r[3]));
            ipo <= day && out.is_none_or(|o| day < o) && ty.is_none_or(|t| r[4] == t)
        })
        .map(|r| r[0].clone())
        .collect()
}

#[test]
fn all_market_answers_agree_row_for_row_with_per_code_answers() {
    let m = market(300);
    // A day with factor events, a plain day, an early day.
    let event_day = m
        .securities()
        .iter()
        .flat_map(|s| s.events.iter().map(|e| e.date))
        .find(|x| x.year() == 2024)
        .unwrap();
    for day in [event_day, d("2024-01-02"), d("2010-03-15"), d("2025-06-30")] {
        assert!(is_trading_day(day));
        let all = m.daily_astock(day);
        let codes: BTreeSet<String> = all.iter().map(|r| r[1].clone()).collect();
        assert_eq!(
            codes,
            listed_codes(&m, day, Some("1")),
            "98 on {day}: every listed stock"
        );
        assert_eq!(codes.len(), all.len());
        for r in &all {
            let one = daily(&m, &r[1], &r[0], &r[0], AdjustFlag::None);
            assert_eq!(one, vec![r.clone()], "98 vs 95 for {} on {day}", r[1]);
        }
        let etf = m.daily_etf(day);
        let codes: BTreeSet<String> = etf.iter().map(|r| r[1].clone()).collect();
        assert_eq!(codes, listed_codes(&m, day, Some("5")), "9A on {day}");
        for r in &etf {
            assert_eq!(daily(&m, &r[1], &r[0], &r[0], AdjustFlag::None), vec![r.clone()]);
        }
        let factors = m.daily_adjust_factors(day);
        let mut per_code = Vec::new();
        for s in m.securities() {
            per_code.extend(m.adjust_factors(&s.code, day, day).unwrap());
        }
        assert_eq!(factors, per_code, "9C vs 15 on {day}");
        if day == event_day {
            assert!(!factors.is_empty());
        }
    }
    for day in [d("2024-01-06"), d("2024-10-03"), d("2030-01-02"), d("1999-06-01")] {
        assert!(m.daily_astock(day).is_empty(), "{day}");
        assert!(m.daily_etf(day).is_empty(), "{day}");
        assert!(m.all_stock(day).is_empty(), "{day}");
    }
}

#[test]
fn query_all_stock_lists_exactly_the_listed_codes() {
    let m = market(500);
    let delisted = m.securities().iter().filter(|s| s.out.is_some()).count();
    assert!(delisted > 0, "some codes are delisted");
    let mut st_names = 0;
    for day in m.trade_dates().iter().step_by(97) {
        let rows = m.all_stock(*day);
        let codes: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(codes.len(), rows.len());
        assert_eq!(codes, listed_codes(&m, *day, None), "{day}");
        for r in &rows {
            let bar = m.daily_bar(&r[0], *day).unwrap();
            assert_eq!(r[1], if bar.trading { "1" } else { "0" });
            let base = &m.security(&r[0]).unwrap().name;
            let want = if bar.is_st { format!("ST{base}") } else { base.clone() };
            assert_eq!(&r[2], &want);
            st_names += usize::from(bar.is_st);
        }
    }
    assert!(st_names > 0, "no ST name seen");
}

#[test]
fn suspensions_limits_and_st_periods_look_right() {
    let m = market(400);
    let (mut suspended, mut limit_up, mut limit_down, mut st_days) = (0, 0, 0, 0);
    let dc = |n: &str| col(DAILY_FIELDS, n);
    for s in m.securities().iter().filter(|s| s.sec_type == SecType::Stock).take(150) {
        let rows = daily(&m, &s.code, "2000-01-01", "2025-06-30", AdjustFlag::None);
        let ex: BTreeSet<String> = s.events.iter().map(|e| e.date.to_string()).collect();
        for r in rows.iter().skip(1) {
            let pre = dec(&r[dc("preclose")]);
            if r[dc("tradestatus")] == "0" {
                suspended += 1;
                for p in ["open", "high", "low", "close"] {
                    assert_eq!(dec(&r[dc(p)]), pre, "{} {} suspended {p}", s.code, r[0]);
                }
                assert_eq!((r[dc("volume")].as_str(), r[dc("amount")].as_str()), ("0", "0.0000"));
                assert_eq!(r[dc("turn")], "");
                continue;
            }
            let (o, h, l, c) = (
                dec(&r[dc("open")]),
                dec(&r[dc("high")]),
                dec(&r[dc("low")]),
                dec(&r[dc("close")]),
            );
            assert!(
                l <= o.min(c) && h >= o.max(c) && l > Decimal::ZERO,
                "{} {}",
                s.code,
                r[0]
            );
            if ex.contains(&r[0]) {
                continue;
            }
            let limit = if r[dc("isST")] == "1" {
                st_days += 1;
                5
            } else {
                s.limit_pct
            };
            let pct = dec(&r[dc("pctChg")]).abs();
            // A limit price is rounded to the tick, so it may pass the limit by half a tick.
            let slack = Decimal::new(5, 3) * Decimal::from(100) / pre + Decimal::new(1, 6);
            assert!(
                pct <= Decimal::from(limit) + slack,
                "{} {}: {pct}% > {limit}%",
                s.code,
                r[0]
            );
            if pct + slack >= Decimal::from(limit) {
                if c > pre {
                    limit_up += 1;
                } else {
                    limit_down += 1;
                }
            }
        }
    }
    assert!(suspended > 100, "{suspended}");
    assert!(limit_up > 100 && limit_down > 100, "{limit_up} {limit_down}");
    assert!(st_days > 100, "{st_days}");
}

fn is_fixed(s: &str, decimals: usize) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    match t.split_once('.') {
        Some((i, f)) => {
            !i.is_empty()
                && i.bytes().all(|b| b.is_ascii_digit())
                && f.len() == decimals
                && f.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

#[test]
fn number_formats_follow_the_protocol() {
    let m = market(300);
    let dc = |n: &str| col(DAILY_FIELDS, n);
    let day = d("2024-06-20");
    let mut rows = m.daily_astock(day);
    rows.extend(m.daily_etf(day));
    rows.extend(daily(&m, "sh.000001", "2024-06-01", "2024-06-30", AdjustFlag::None));
    assert!(rows.len() > 200);
    for r in &rows {
        assert_eq!(r.len(), 18);
        for p in ["open", "high", "low", "close", "preclose", "amount"] {
            assert!(is_fixed(&r[dc(p)], 4), "{p} {:?}", r[dc(p)]);
        }
        assert!(r[dc("volume")].bytes().all(|b| b.is_ascii_digit()));
        assert!(is_fixed(&r[dc("pctChg")], 6));
        for p in ["turn", "peTTM", "pbMRQ", "psTTM", "pcfNcfTTM"] {
            assert!(r[dc(p)].is_empty() || is_fixed(&r[dc(p)], 6), "{p} {:?}", r[dc(p)]);
        }
        assert!(matches!(r[dc("isST")].as_str(), "0" | "1"));
        assert!(matches!(r[dc("tradestatus")].as_str(), "0" | "1"));
        assert_eq!(r[1].len(), 9);
    }
    for f in m.daily_adjust_factors(day) {
        for c in &f[2..] {
            assert!(is_fixed(c, 6), "{c}");
        }
    }
    let fore = daily(&m, "sh.600000", "2024-06-01", "2024-06-30", AdjustFlag::Forward);
    assert!(fore.iter().all(|r| is_fixed(&r[dc("close")], 10)));
}

#[test]
fn the_default_market_has_the_real_mix_and_clean_names() {
    let m = Market::new(MarketConfig {
        end: Some(common::end_date()),
        ..MarketConfig::default()
    });
    let n = m.securities().len();
    assert!((5_400..=5_500).contains(&n), "{n}");
    let count = |t: SecType| m.securities().iter().filter(|s| s.sec_type == t).count();
    assert!(count(SecType::Stock) > 4_500);
    assert!(count(SecType::Index) > 250);
    assert!(count(SecType::Etf) > 400);
    for prefix in ["sh.", "sz.", "bj."] {
        assert!(m
            .securities()
            .iter()
            .any(|s| s.code.starts_with(prefix) && s.sec_type == SecType::Stock));
    }
    for s in m.securities() {
        assert!(
            !s.name.is_empty() && !s.name.chars().any(char::is_whitespace),
            "{:?}",
            s.name
        );
        assert_eq!(s.code.len(), 9);
    }
    assert_eq!(m.security("sh.000001").unwrap().name, "上证综合指数");
    assert_eq!(m.security("sh.000001").unwrap().sec_type, SecType::Index);
    assert_eq!(m.trade_dates()[0], d("2000-01-04"));
    assert_eq!(*m.trade_dates().last().unwrap(), d("2025-06-30"));
}

#[test]
fn the_market_is_deterministic_from_its_seed() {
    let a = market(150);
    let b = market(150);
    let c = Market::new(MarketConfig {
        seed: 7,
        codes: 150,
        end: Some(common::end_date()),
        ..MarketConfig::default()
    });
    let day = d("2023-05-10");
    assert_eq!(a.daily_astock(day), b.daily_astock(day));
    assert_eq!(a.stock_basic("", ""), b.stock_basic("", ""));
    assert_ne!(a.daily_astock(day), c.daily_astock(day));
}

#[test]
fn a_page_window_equals_the_slice_of_the_whole_answer() {
    let m = market(200);
    for code in ["sh.600000", "sh.000001"] {
        for freq in Frequency::ALL {
            let fields = freq.fields();
            let (from, to) = if freq.minutes().is_some() {
                (d("2024-01-01"), d("2024-03-31"))
            } else {
                (d("2015-01-01"), d("2024-12-31"))
            };
            let all = m.history(code, fields, from, to, freq, AdjustFlag::Forward).unwrap();
            for (skip, take) in [
                (0, 7),
                (5, 100),
                (47, 48),
                (1000, 2000),
                (2000, 2000),
                (all.len(), 10),
                (0, usize::MAX),
            ] {
                let w = m
                    .history_window(
                        code,
                        fields,
                        from,
                        to,
                        freq,
                        AdjustFlag::Forward,
                        NaiveDate::MIN..=NaiveDate::MAX,
                        skip,
                        take,
                    )
                    .unwrap();
                let want: Vec<_> = all.iter().skip(skip).take(take).cloned().collect();
                assert_eq!(w, want, "{code} {freq:?} {skip}+{take}");
            }
        }
    }
}

#[test]
fn code_numbers_stay_valid_at_the_largest_size() {
    let m = Market::new(MarketConfig {
        codes: 50_000,
        end: Some(common::end_date()),
        ..MarketConfig::default()
    });
    assert!(m.securities().len() <= baostock_emulator::market::MAX_CODES);
    assert!(m.securities().len() > 19_000);
    for s in m.securities() {
        assert_eq!(s.code.len(), 9, "{}", s.code);
        assert!(baostock_emulator::handler::valid_code_shape(&s.code));
    }
    let tiny = market(1);
    assert!(tiny.security("sh.600000").is_some());
    assert!(tiny.security("sh.000001").is_some());
}
