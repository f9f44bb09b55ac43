//! Reports over TCP, decoded by the codec (13, 17..31 odd, 47..55 odd): quarterly filings
//! appear at 01:30 the day after their pubDate and within the legal deadlines, a restatement
//! replaces the first revision once published, epsTTM agrees with the close and peTTM of 95,
//! the dupont identities hold, dividends are the factor events of 15 (run-time corporate
//! actions included) and fill in as their dates are announced, express and forecast reports
//! come before the report, the macro series are ordered (53 answered as 56), and the errors.

mod common;

use baostock::frame::{Frame, MsgType};
use baostock::report::{quarter_end, Cell, DividendYear, Published, Quarterly, Rates, ReserveDate, YearMonth};
use baostock::value::{AdjustFlag, Frequency};
use baostock::{Data, Limits, Page, Reply, Report, ReportKind, ReportQuery, Request};
use baostock_emulator::{Emulator, EmulatorConfig, Market, Schedule, SecType};
use chrono::{Datelike, Days, NaiveDate};
use common::{d, dec, error_of, raw_request, Control, Raw};
use rust_decimal::Decimal;

fn config(codes: usize, publication: Schedule) -> EmulatorConfig {
    common::with_control_port(EmulatorConfig {
        publication,
        ..common::config(codes)
    })
}

fn start(codes: usize, publication: Schedule) -> (Emulator, Control, Raw) {
    let emu = Emulator::start(config(codes, publication)).unwrap();
    let io = Control::connect(&emu);
    let mut c = Raw::connect(&emu);
    c.login();
    (emu, io, c)
}

fn request(query: ReportQuery) -> Request {
    Request::Report {
        user: "anonymous".into(),
        page: Page::first(2000),
        query,
    }
}

fn quarter(kind: Quarterly, code: &str, year: i32, q: u8) -> ReportQuery {
    ReportQuery::Quarter {
        kind,
        code: code.into(),
        year,
        quarter: q,
    }
}

fn dividend(code: &str, year: i32, year_type: DividendYear) -> ReportQuery {
    ReportQuery::Dividend {
        code: code.into(),
        year,
        year_type,
    }
}

fn published(kind: Published, code: &str, start: &str, end: &str) -> ReportQuery {
    ReportQuery::Published {
        kind,
        code: code.into(),
        start: d(start),
        end: d(end),
    }
}

/// The rows of a successful answer, decoded by the codec; checks the reply type, the echoed
/// parameters and the field list on the way.
fn ask(c: &mut Raw, query: ReportQuery) -> Vec<Report> {
    let kind = query.kind();
    let (f, _) = c.request(&request(query.clone()));
    assert_eq!(f.msg_type, kind.reply_type(), "{query:?}: {}", f.body);
    let Reply::Table(t) = Reply::from_frame(&f, &Limits::default()).unwrap() else {
        panic!("{query:?}: not a table: {}", f.body)
    };
    assert_eq!(t.params, query.params(), "{query:?}");
    let wire: Vec<&str> = kind.fields().iter().map(|f| f.wire).collect();
    assert_eq!(t.fields, wire, "{query:?}");
    match t.data {
        Data::Reports(rows) => rows,
        other => panic!("{query:?}: {}", other.kind()),
    }
}

/// The error of an answer.
fn ask_error(c: &mut Raw, query: ReportQuery) -> (String, String) {
    let (f, _) = c.request(&request(query));
    error_of(&f)
}

fn num(r: &Report, column: &str) -> Option<Decimal> {
    match r.get(column)? {
        Cell::Number(n) => Some(*n),
        other => panic!("{column}: {other:?}"),
    }
}

fn text(r: &Report, column: &str) -> Option<String> {
    match r.get(column)? {
        Cell::Text(t) => Some(t.clone()),
        other => panic!("{column}: {other:?}"),
    }
}

fn clock(io: &mut Control, at: String) {
    assert_eq!(io.command(&format!("clock {at}"))["ok"], true, "{at}");
}

fn next_day(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap()
}

/// The legal deadline of a period's report.
fn deadline(stat: NaiveDate) -> NaiveDate {
    let y = stat.year();
    match stat.month() {
        3 => d(&format!("{y}-04-30")),
        6 => d(&format!("{y}-08-31")),
        9 => d(&format!("{y}-10-31")),
        _ => d(&format!("{}-04-30", y + 1)),
    }
}

fn quarter_of(stat: NaiveDate) -> u8 {
    (stat.month() / 3) as u8
}

/// Stocks of the market, listed before 2010 and still listed at the end.
fn old_stocks(m: &Market) -> Vec<String> {
    m.securities()
        .iter()
        .filter(|s| s.sec_type == SecType::Stock && s.ipo < d("2010-01-01") && s.out.is_none())
        .map(|s| s.code.clone())
        .collect()
}

#[test]
fn a_quarterly_report_appears_at_01_30_the_day_after_its_pub_date() {
    let (emu, mut io, mut c) = start(300, Schedule::official());
    let m = emu.market();
    let (code, f) = old_stocks(m)
        .into_iter()
        .find_map(|code| {
            let f = m
                .filings(&code)
                .into_iter()
                .find(|f| f.stat.year() == 2024 && f.pubs.len() == 1)?;
            Some((code, f))
        })
        .expect("a stock with a 2024 filing");
    let p = f.pubs[0];
    let (y, q) = (f.stat.year(), quarter_of(f.stat));
    for kind in [
        Quarterly::Profit,
        Quarterly::Operation,
        Quarterly::Growth,
        Quarterly::Dupont,
        Quarterly::Balance,
        Quarterly::CashFlow,
    ] {
        // The quarter has not ended; then it has, but the report is not out.
        for at in [
            format!("{}T12:00:00", f.stat),
            format!("{}T23:59:59", p),
            format!("{}T01:29:59", next_day(p)),
        ] {
            clock(&mut io, at.clone());
            assert!(ask(&mut c, quarter(kind, &code, y, q)).is_empty(), "{kind:?} at {at}");
        }
        clock(&mut io, format!("{}T01:30:00", next_day(p)));
        let rows = ask(&mut c, quarter(kind, &code, y, q));
        assert_eq!(rows.len(), 1, "{kind:?}");
        assert_eq!(rows[0].kind, ReportKind::from(kind));
        assert_eq!(rows[0].code(), Some(code.as_str()));
        assert_eq!(rows[0].date("pub_date"), Some(p));
        assert_eq!(rows[0].stat_date(), Some(f.stat));
    }
    // The next quarter of the same stock, asked at the same instant, is not out yet.
    let next = f.stat.checked_add_days(Days::new(92)).unwrap();
    let rows = ask(
        &mut c,
        quarter(Quarterly::Profit, &code, next.year(), quarter_of(quarter_end_of(next))),
    );
    assert!(rows.is_empty(), "{rows:?}");

    // Under `publish reports none` a report is there from the start of its pubDate.
    assert_eq!(io.command("publish reports none")["ok"], true);
    clock(&mut io, format!("{p}T00:00:00"));
    assert_eq!(ask(&mut c, quarter(Quarterly::Profit, &code, y, q)).len(), 1);
    clock(&mut io, format!("{}T23:59:59", p.pred_opt().unwrap()));
    assert!(ask(&mut c, quarter(Quarterly::Profit, &code, y, q)).is_empty());
}

/// The quarter end on or after `d`.
fn quarter_end_of(d: NaiveDate) -> NaiveDate {
    quarter_end(d.year(), ((d.month() - 1) / 3 + 1) as u8).unwrap()
}

#[test]
fn every_report_is_published_within_its_legal_deadline() {
    let (emu, _io, mut c) = start(200, Schedule::official());
    let m = emu.market();
    let codes = old_stocks(m);
    let mut asked = 0;
    for code in codes.iter().take(4) {
        for year in 2001..=2024 {
            for q in 1..=4 {
                let rows = ask(&mut c, quarter(Quarterly::Profit, code, year, q));
                asked += 1;
                assert_eq!(
                    rows.len(),
                    1,
                    "{code} {year}Q{q}: every period of an old stock is out by 2025-06-30"
                );
                let stat = rows[0].stat_date().unwrap();
                let p = rows[0].date("pub_date").unwrap();
                assert_eq!(stat, quarter_end(year, q).unwrap());
                let first = m.filings(code).into_iter().find(|f| f.stat == stat).unwrap().pubs[0];
                assert!(
                    stat + Days::new(20) <= first && first <= deadline(stat),
                    "{code} {stat}: {first}"
                );
                assert!(p >= first, "{code} {stat}");
            }
        }
    }
    assert_eq!(asked, 4 * 24 * 4);
    // And in the library, every filing of every stock.
    let mut n = 0;
    for s in m.securities() {
        for f in m.filings(&s.code) {
            assert_eq!(s.sec_type, SecType::Stock);
            assert!(f.stat >= s.ipo.max(m.calendar().start()) - Days::new(92));
            let first = f.pubs[0];
            assert!(
                f.stat + Days::new(20) <= first && first <= deadline(f.stat),
                "{} {f:?}",
                s.code
            );
            assert!(f.pubs.iter().all(|p| s.listed_on(*p) && *p <= m.calendar().end()));
            if let [a, b] = f.pubs[..] {
                assert!(a + Days::new(30) <= b && b <= a + Days::new(180), "{} {f:?}", s.code);
            }
            n += 1;
        }
    }
    assert!(n > 3_000, "{n}");
}

#[test]
fn a_restated_report_answers_its_latest_revision() {
    let (emu, mut io, mut c) = start(300, Schedule::official());
    let m = emu.market();
    let (code, f) = old_stocks(m)
        .into_iter()
        .find_map(|code| {
            let f = m
                .filings(&code)
                .into_iter()
                .find(|f| f.pubs.len() == 2 && f.stat.year() >= 2015)?;
            Some((code, f))
        })
        .expect("a restated filing");
    let (y, q) = (f.stat.year(), quarter_of(f.stat));
    let (first, second) = (f.pubs[0], f.pubs[1]);
    clock(&mut io, format!("{}T01:29:59", next_day(first)));
    assert!(ask(&mut c, quarter(Quarterly::Dupont, &code, y, q)).is_empty());
    clock(&mut io, format!("{}T01:29:59", next_day(second)));
    let before = ask(&mut c, quarter(Quarterly::Dupont, &code, y, q));
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].date("pub_date"), Some(first));
    clock(&mut io, format!("{}T01:30:00", next_day(second)));
    let after = ask(&mut c, quarter(Quarterly::Dupont, &code, y, q));
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].date("pub_date"), Some(second));
    assert_eq!(after[0].stat_date(), Some(f.stat));
    assert_ne!(
        num(&before[0], "dupont_assets_to_equity"),
        num(&after[0], "dupont_assets_to_equity"),
        "a restatement changes the figures"
    );
    // About 1 in 15 filings is restated.
    let filings: Vec<_> = m.securities().iter().flat_map(|s| m.filings(&s.code)).collect();
    let restated = filings.iter().filter(|f| f.pubs.len() == 2).count();
    let share = restated * 1000 / filings.len();
    assert!((45..=90).contains(&share), "{restated} of {}", filings.len());
}

#[test]
fn eps_agrees_with_the_close_and_pe_and_the_dupont_identities_hold() {
    let (emu, _io, mut c) = start(200, Schedule::official());
    let m = emu.market();
    let mut checked = 0;
    for code in old_stocks(m).iter().take(6) {
        for year in [2008, 2016, 2023] {
            for q in 1..=4u8 {
                let stat = quarter_end(year, q).unwrap();
                let profit = ask(&mut c, quarter(Quarterly::Profit, code, year, q)).remove(0);
                let dupont = ask(&mut c, quarter(Quarterly::Dupont, code, year, q)).remove(0);
                let operation = ask(&mut c, quarter(Quarterly::Operation, code, year, q)).remove(0);
                let balance = ask(&mut c, quarter(Quarterly::Balance, code, year, q)).remove(0);
                let cash = ask(&mut c, quarter(Quarterly::CashFlow, code, year, q)).remove(0);
                // The close and peTTM of the last bar on or before statDate, as 95 gives them.
                let start = (stat - Days::new(20)).to_string();
                let (f, _) = c.request(&common::history(
                    code,
                    "date,code,close,peTTM",
                    &start,
                    &stat.to_string(),
                    Frequency::Daily,
                    AdjustFlag::None,
                ));
                let Reply::Table(t) = Reply::from_frame(&f, &Limits::default()).unwrap() else {
                    panic!("{}", f.body)
                };
                let Data::DailyBars(bars) = t.data else { panic!() };
                let bar = bars.last().expect("a bar before the period end");
                let (close, pe) = (bar.close.unwrap(), bar.pe_ttm.unwrap());
                let eps = num(&profit, "eps_ttm").expect("epsTTM");
                assert_eq!(eps.scale(), 6);
                let err = (eps * pe - close).abs();
                assert!(
                    err <= pe.abs() * dec("0.0000005") + dec("0.000001"),
                    "{code} {stat}: {eps} × {pe} vs {close}"
                );
                // netProfit = epsTTM × totalShare × quarter / 4.
                let total = num(&profit, "total_share").unwrap();
                assert_eq!(total.scale(), 2);
                assert!(total >= num(&profit, "liqa_share").unwrap());
                let np = num(&profit, "net_profit").unwrap();
                let want = eps * total * Decimal::from(q) / Decimal::from(4);
                assert!((np - want).abs() < dec("0.000001"), "{code} {stat}: {np} vs {want}");
                // The dupont identities.
                assert_eq!(num(&dupont, "dupont_roe"), num(&profit, "roe_avg"));
                assert_eq!(num(&dupont, "dupont_ni_to_gr"), num(&profit, "np_margin"));
                assert_eq!(num(&dupont, "dupont_asset_turn"), num(&operation, "asset_turn_ratio"));
                let product = num(&dupont, "dupont_assets_to_equity").unwrap()
                    * num(&dupont, "dupont_asset_turn").unwrap()
                    * num(&dupont, "dupont_pni_to_ni").unwrap()
                    * num(&dupont, "dupont_ni_to_gr").unwrap();
                let roe = num(&profit, "roe_avg").unwrap();
                assert!(
                    (roe - product).abs() <= dec("0.000003"),
                    "{code} {stat}: {roe} vs {product}"
                );
                // The balance and cash-flow identities.
                let ate = num(&balance, "asset_to_equity").unwrap();
                let lta = num(&balance, "liability_to_asset").unwrap();
                assert!((lta - (Decimal::ONE - Decimal::ONE / ate)).abs() <= dec("0.000001"));
                if let (Some(or), Some(np_), Some(margin)) = (
                    num(&cash, "cfo_to_or"),
                    num(&cash, "cfo_to_np"),
                    num(&profit, "np_margin"),
                ) {
                    assert!((np_ * margin - or).abs() <= margin.abs() * dec("0.000001"));
                }
                if profit.get("gp_margin").is_none() {
                    assert!(operation.get("nr_turn_ratio").is_none());
                    assert!(balance.get("current_ratio").is_none());
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * 3 * 4);
    // sh.600000 is a bank: its ratios are as empty as in the capture.
    let bank = ask(&mut c, quarter(Quarterly::Profit, "sh.600000", 2023, 2)).remove(0);
    assert!(bank.get("gp_margin").is_none() && bank.get("roe_avg").is_some());
}

/// The factor rows of 15 for `code`: (operate date, back factor).
fn factor_rows(c: &mut Raw, code: &str) -> Vec<(NaiveDate, Decimal)> {
    let (f, _) = c.request(&Request::AdjustFactor {
        user: "anonymous".into(),
        page: Page::first(10000),
        code: code.into(),
        start: d("1990-12-19"),
        end: d("2099-12-31"),
    });
    let Reply::Table(t) = Reply::from_frame(&f, &Limits::default()).unwrap() else {
        panic!("{}", f.body)
    };
    let Data::AdjustFactors(rows) = t.data else { panic!() };
    rows.into_iter().map(|r| (r.operate_date, r.back.unwrap())).collect()
}

/// The raw preclose of `code` on `day` (95).
fn preclose(c: &mut Raw, code: &str, day: NaiveDate) -> Decimal {
    let (f, _) = c.request(&common::history(
        code,
        "date,code,preclose",
        &day.to_string(),
        &day.to_string(),
        Frequency::Daily,
        AdjustFlag::None,
    ));
    let Reply::Table(t) = Reply::from_frame(&f, &Limits::default()).unwrap() else {
        panic!("{}", f.body)
    };
    let Data::DailyBars(bars) = t.data else { panic!() };
    bars[0].preclose.unwrap()
}

/// Checks the dividends of `code` against its factor rows; returns how many were checked.
fn check_dividends(c: &mut Raw, code: &str) -> usize {
    let factors = factor_rows(c, code);
    let mut dividends = Vec::new();
    for year in 2000..=2025 {
        dividends.extend(ask(c, dividend(code, year, DividendYear::Operate)));
    }
    let operate: Vec<NaiveDate> = dividends.iter().map(|r| r.date("operate_date").unwrap()).collect();
    let days: Vec<NaiveDate> = factors.iter().map(|f| f.0).collect();
    assert_eq!(operate, days, "{code}: one dividend per factor row");
    for (i, r) in dividends.iter().enumerate() {
        let prev = if i == 0 { Decimal::ONE } else { factors[i - 1].1 };
        let ratio = factors[i].1 / prev;
        let dates: Vec<NaiveDate> = [
            "plan_announce_date",
            "agm_pum_date",
            "plan_date",
            "regist_date",
            "operate_date",
        ]
        .iter()
        .map(|c| r.date(c).unwrap())
        .collect();
        assert!(dates.windows(2).all(|w| w[0] < w[1]), "{code}: {dates:?}");
        assert_eq!(r.date("pay_date"), r.date("operate_date"));
        assert!(r.get("pre_notice_date").is_none() && r.get("reserve_to_stock_ps").is_none());
        match num(r, "cash_ps_before_tax") {
            Some(cash) => {
                assert!(ratio < dec("1.3"), "{code}: {ratio}");
                let want = preclose(c, code, days[i]) * (Decimal::ONE - Decimal::ONE / ratio);
                assert!(
                    (cash - want).abs() <= dec("0.0051"),
                    "{code} {}: {cash} vs {want}",
                    days[i]
                );
                assert_eq!(cash.scale(), 2);
                assert_eq!(num(r, "stocks_ps"), Some(dec("0.000000")));
                let after = text(r, "cash_ps_after_tax").unwrap();
                let (taxed, gross) = after.split_once('或').unwrap();
                assert_eq!(dec(gross), cash);
                assert_eq!(dec(taxed), cash * dec("0.9"));
                assert!(text(r, "cash_stock").unwrap().starts_with("10派"));
                assert!(r.get("stock_market_date").is_none());
            }
            None => {
                assert!(ratio >= dec("1.29"), "{code}: {ratio}");
                let stocks = num(r, "stocks_ps").unwrap();
                assert!(
                    (stocks - (ratio - Decimal::ONE)).abs() <= dec("0.00001"),
                    "{stocks} vs {ratio}"
                );
                assert!(text(r, "cash_stock").unwrap().starts_with("10送"));
                assert_eq!(r.date("stock_market_date"), r.date("operate_date"));
            }
        }
    }
    dividends.len()
}

#[test]
fn dividends_are_the_factor_events() {
    let (emu, _io, mut c) = start(200, Schedule::official());
    let m = emu.market();
    let mut n = 0;
    let mut stock_dividends = 0;
    for code in old_stocks(m).iter().take(12) {
        n += check_dividends(&mut c, code);
        stock_dividends += m.dividends(code).iter().filter(|x| x.stocks_ps.is_some()).count();
    }
    assert!(n > 50, "{n}");
    assert!(stock_dividends > 0);
    // By the year of the announcement, every dividend once.
    let code = &old_stocks(m)[0];
    let mut by_report = Vec::new();
    for year in 1999..=2025 {
        let rows = ask(&mut c, dividend(code, year, DividendYear::Report));
        assert!(rows
            .iter()
            .all(|r| r.date("plan_announce_date").unwrap().year() == year));
        by_report.extend(rows.iter().map(|r| r.date("operate_date").unwrap()));
    }
    let all: Vec<NaiveDate> = factor_rows(&mut c, code).into_iter().map(|f| f.0).collect();
    assert_eq!(by_report, all);
}

#[test]
fn a_dividend_fills_in_as_its_dates_are_announced_and_a_new_action_is_one() {
    let (emu, mut io, mut c) = start(200, Schedule::official());
    let m = emu.market();
    let code = old_stocks(m)[1].clone();
    // A run-time corporate action: a 5% cash dividend.
    let day = d("2025-03-12");
    assert!(m.calendar().index_of(day).is_some());
    let before = ask(&mut c, dividend(&code, 2025, DividendYear::Operate));
    assert_eq!(
        io.command(&format!("corporate-action {code} {day} 1050000"))["ok"],
        true
    );
    let after = ask(&mut c, dividend(&code, 2025, DividendYear::Operate));
    assert_eq!(after.len(), before.len() + 1);
    let row = after.iter().find(|r| r.date("operate_date") == Some(day)).unwrap();
    let cash = num(row, "cash_ps_before_tax").unwrap();
    let want = preclose(&mut c, &code, day) * (Decimal::ONE - Decimal::ONE / dec("1.05"));
    assert!((cash - want).abs() <= dec("0.005"), "{cash} vs {want}");
    check_dividends(&mut c, &code);

    // The same dividend over time.
    let x = m.dividends(&code).into_iter().find(|x| x.operate == day).unwrap();
    let at = |io: &mut Control, c: &mut Raw, t: String| {
        clock(io, t);
        ask(c, dividend(&code, x.plan_announce.year(), DividendYear::Report))
            .into_iter()
            .find(|r| r.date("plan_announce_date") == Some(x.plan_announce))
    };
    assert!(at(&mut io, &mut c, format!("{}T01:29:00", next_day(x.plan_announce))).is_none());
    let announced = at(&mut io, &mut c, format!("{}T01:30:00", next_day(x.plan_announce))).unwrap();
    assert!(announced.get("agm_pum_date").is_none() && announced.get("operate_date").is_none());
    assert!(announced.get("cash_ps_before_tax").is_some());
    let agm = at(&mut io, &mut c, format!("{}T09:00:00", x.agm)).unwrap();
    assert_eq!(agm.date("agm_pum_date"), Some(x.agm));
    assert!(agm.get("plan_date").is_none() && agm.get("regist_date").is_none());
    let planned = at(&mut io, &mut c, format!("{}T01:30:00", next_day(x.plan))).unwrap();
    assert_eq!(planned.date("plan_date"), Some(x.plan));
    assert_eq!(planned.date("regist_date"), Some(x.regist));
    assert_eq!(planned.date("operate_date"), Some(day));
    // Selected by the operate year only once the operate date is announced.
    clock(&mut io, format!("{}T01:29:00", next_day(x.plan)));
    assert!(ask(&mut c, dividend(&code, 2025, DividendYear::Operate))
        .iter()
        .all(|r| r.date("operate_date") != Some(day) && r.get("operate_date").is_some()));
}

#[test]
fn express_and_forecast_reports_come_before_the_report() {
    let (emu, _io, mut c) = start(300, Schedule::official());
    let m = emu.market();
    let (mut express, mut forecast) = (0, 0);
    let mut types = std::collections::BTreeSet::new();
    for code in old_stocks(m).iter().take(40) {
        let filings = m.filings(code);
        let report = |stat: NaiveDate| filings.iter().find(|f| f.stat == stat).unwrap().pubs[0];
        for r in ask(&mut c, published(Published::Express, code, "2015-01-01", "2024-12-31")) {
            let (p, stat) = (r.date("pub_date").unwrap(), r.stat_date().unwrap());
            assert!(d("2015-01-01") <= p && p <= d("2024-12-31"));
            assert!(matches!(stat.month(), 6 | 12), "{stat}");
            assert!(stat + Days::new(10) <= p && p < report(stat), "{code} {stat} {p}");
            assert_eq!(r.date("update_date"), Some(p));
            express += 1;
        }
        for r in ask(&mut c, published(Published::Forecast, code, "2015-01-01", "2024-12-31")) {
            let (p, stat) = (r.date("pub_date").unwrap(), r.stat_date().unwrap());
            assert_eq!((stat.month(), stat.day()), (12, 31));
            assert!(
                p.year() == stat.year() + 1 && p.month() == 1 && p < report(stat),
                "{code} {p}"
            );
            let (up, down) = (num(&r, "chg_pct_up").unwrap(), num(&r, "chg_pct_down").unwrap());
            assert!(up > down && up.scale() == 6);
            let abstract_ = text(&r, "forecast_abstract").unwrap();
            assert!(!abstract_.contains(char::is_whitespace));
            assert!(
                abstract_.starts_with(&format!("预计{}年1-12月", stat.year())),
                "{abstract_}"
            );
            types.insert(text(&r, "forecast_type").unwrap());
            forecast += 1;
        }
    }
    assert!(express > 20 && forecast > 20, "{express} {forecast}");
    assert!(types.len() >= 4, "{types:?}");
    // A range selects by publication: an H1 express published in August of 2024 only.
    let (code, p) = old_stocks(m)
        .iter()
        .find_map(|code| {
            let s = m.security(code)?;
            Some((code.clone(), m.express_date(s, d("2023-12-31"))?))
        })
        .unwrap();
    let day = p.to_string();
    let rows = ask(&mut c, published(Published::Express, &code, &day, &day));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].stat_date(), Some(d("2023-12-31")));
    let before = p.pred_opt().unwrap().to_string();
    assert!(ask(&mut c, published(Published::Express, &code, "2023-12-31", &before))
        .iter()
        .all(|r| r.stat_date() != Some(d("2023-12-31"))));
}

#[test]
fn macro_series_are_ordered_and_money_supply_by_month_answers_56() {
    let (emu, mut io, mut c) = start(60, Schedule::official());
    let _ = emu;
    for kind in [Rates::Deposit, Rates::Loan] {
        let all = ask(
            &mut c,
            ReportQuery::Rates {
                kind,
                start: None,
                end: None,
            },
        );
        assert!(all.len() > 15, "{kind:?}: {}", all.len());
        let days: Vec<NaiveDate> = all.iter().map(|r| r.date("pub_date").unwrap()).collect();
        assert!(days.windows(2).all(|w| w[0] < w[1]));
        assert!(*days.last().unwrap() <= common::end_date());
        assert!(days[0] >= d("1990-01-01"));
        let some = ask(
            &mut c,
            ReportQuery::Rates {
                kind,
                start: Some(d("2010-01-01")),
                end: Some(d("2015-12-31")),
            },
        );
        let want: Vec<_> = all
            .iter()
            .filter(|r| (d("2010-01-01")..=d("2015-12-31")).contains(&r.date("pub_date").unwrap()))
            .cloned()
            .collect();
        assert_eq!(some, want);
        if kind == Rates::Deposit {
            for r in &all {
                let late = r.date("pub_date").unwrap() >= d("2014-11-22");
                assert_eq!(r.get("fixed_deposit_rate_5y").is_none(), late);
                assert_eq!(r.get("installment_fixed_deposit_rate_5y").is_none(), late);
                assert_eq!(num(r, "demand_deposit_rate").unwrap().scale(), 6);
            }
        }
    }
    let rrr = ask(
        &mut c,
        ReportQuery::ReserveRatio {
            start: None,
            end: None,
            by: ReserveDate::Announced,
        },
    );
    assert!(rrr.len() > 15);
    for w in rrr.windows(2) {
        assert!(w[0].date("pub_date") < w[1].date("pub_date"));
        assert_eq!(
            num(&w[1], "big_institutions_ratio_pre"),
            num(&w[0], "big_institutions_ratio_after")
        );
        assert_eq!(
            num(&w[1], "medium_institutions_ratio_pre"),
            num(&w[0], "medium_institutions_ratio_after")
        );
    }
    for r in &rrr {
        assert!(r.date("effective_date") > r.date("pub_date"));
        assert_eq!(num(r, "big_institutions_ratio_after").unwrap().scale(), 1);
    }
    // By effective date: the events whose effective date is in the range.
    let by_effective = ask(
        &mut c,
        ReportQuery::ReserveRatio {
            start: Some(d("2012-01-01")),
            end: Some(d("2020-12-31")),
            by: ReserveDate::Effective,
        },
    );
    let want: Vec<_> = rrr
        .iter()
        .filter(|r| (d("2012-01-01")..=d("2020-12-31")).contains(&r.date("effective_date").unwrap()))
        .cloned()
        .collect();
    assert_eq!(by_effective, want);

    // Money supply by month: 12 months of 2023, answered with type 56.
    let ym = |y, m| Some(YearMonth { year: y, month: m });
    let (f, _) = c.request(&request(ReportQuery::MoneySupplyMonth {
        start: ym(2023, 1),
        end: ym(2023, 12),
    }));
    assert_eq!(f.msg_type.as_str(), "56");
    let months = ask(
        &mut c,
        ReportQuery::MoneySupplyMonth {
            start: ym(2023, 1),
            end: ym(2023, 12),
        },
    );
    assert_eq!(months.len(), 12);
    for (i, r) in months.iter().enumerate() {
        assert_eq!(r.get("stat_year"), Some(&Cell::Integer(2023)));
        assert_eq!(r.get("stat_month"), Some(&Cell::Integer(i as i64 + 1)));
        for col in ["m0", "m1", "m2"] {
            assert!(num(r, col).unwrap() > Decimal::ZERO);
        }
    }
    // Chain-relative is the change on the month before.
    let (a, b) = (&months[4], &months[5]);
    let chain = (num(b, "m2").unwrap() / num(a, "m2").unwrap() - Decimal::ONE) * Decimal::from(100);
    assert!((chain - num(b, "m2_mom").unwrap()).abs() < dec("0.00001"));
    // A month is out on the 15th of the next.
    clock(&mut io, "2024-02-14T23:00:00".into());
    let open = ask(
        &mut c,
        ReportQuery::MoneySupplyMonth {
            start: ym(2024, 1),
            end: None,
        },
    );
    assert!(open.is_empty(), "{open:?}");
    clock(&mut io, "2024-02-15T00:00:00".into());
    assert_eq!(
        ask(
            &mut c,
            ReportQuery::MoneySupplyMonth {
                start: ym(2024, 1),
                end: None
            }
        )
        .len(),
        1
    );
    let years = ask(
        &mut c,
        ReportQuery::MoneySupplyYear {
            start: Some(2020),
            end: Some(2023),
        },
    );
    assert_eq!(years.len(), 4);
    // The year's level is December's.
    let december = ask(
        &mut c,
        ReportQuery::MoneySupplyMonth {
            start: ym(2023, 12),
            end: ym(2023, 12),
        },
    );
    assert_eq!(num(&years[3], "m1"), num(&december[0], "m1"));
    let (f, _) = c.request(&request(ReportQuery::MoneySupplyYear { start: None, end: None }));
    assert_eq!(f.msg_type.as_str(), "56");
}

#[test]
fn report_errors_follow_the_servers_choices() {
    let (emu, _io, mut c) = start(60, Schedule::official());
    let _ = emu;
    // A malformed code.
    for bad in ["600000", "sh600000", "xx.600000", ""] {
        let (code, _) = ask_error(&mut c, quarter(Quarterly::Profit, bad, 2023, 2));
        assert_eq!(code, "10004011", "{bad}");
        let (code, _) = ask_error(&mut c, dividend(bad, 2023, DividendYear::Report));
        assert_eq!(code, "10004011", "{bad}");
        let (code, _) = ask_error(&mut c, published(Published::Forecast, bad, "2023-01-01", "2023-12-31"));
        assert_eq!(code, "10004011", "{bad}");
    }
    // A well-formed code not in the market, or not a stock: no rows.
    assert!(ask(&mut c, quarter(Quarterly::Profit, "sh.699999", 2023, 2)).is_empty());
    assert!(ask(&mut c, quarter(Quarterly::Profit, "sh.000001", 2023, 2)).is_empty());
    assert!(ask(&mut c, dividend("sz.999999", 2023, DividendYear::Operate)).is_empty());
    // Years and dates out of range, start after end.
    for q in [
        quarter(Quarterly::Growth, "sh.600000", 1989, 4),
        dividend("sh.600000", 2100, DividendYear::Report),
        published(Published::Express, "sh.600000", "2023-12-31", "2023-01-01"),
        published(Published::Express, "sh.600000", "1990-01-01", "2023-01-01"),
        ReportQuery::Rates {
            kind: Rates::Loan,
            start: Some(d("2020-01-01")),
            end: Some(d("2019-01-01")),
        },
        ReportQuery::MoneySupplyYear {
            start: Some(1980),
            end: None,
        },
        ReportQuery::MoneySupplyMonth {
            start: Some(YearMonth { year: 2023, month: 5 }),
            end: Some(YearMonth { year: 2023, month: 4 }),
        },
    ] {
        let (code, msg) = ask_error(&mut c, q.clone());
        assert_eq!((code.as_str(), msg.as_str()), ("10004013", "超出日期支持范围"), "{q:?}");
    }
    // Bad parameters and counts.
    let (f, _) = c.request_raw(&raw_request(
        "17",
        &["query_profit_data", "anonymous", "1", "2000", "sh.600000", "2023", "5"],
    ));
    assert_eq!(error_of(&f), ("10004006".into(), "参数错误".into()));
    let (f, _) = c.request_raw(&raw_request(
        "47",
        &["query_deposit_rate_data", "anonymous", "1", "2000", "", "", ""],
    ));
    assert_eq!(error_of(&f), ("10004006".into(), "请求参数个数不正确".into()));
    assert_eq!(
        baostock_emulator::handler::arity(MsgType::new(*b"51").unwrap()),
        Some(7)
    );
}

trait RawExt {
    fn request_raw(&mut self, bytes: &[u8]) -> (Frame, Vec<u8>);
}

impl RawExt for Raw {
    fn request_raw(&mut self, bytes: &[u8]) -> (Frame, Vec<u8>) {
        self.send_bytes(bytes);
        self.read_frame()
    }
}
