//! The store on a live cluster (`cargo pgrx test`): what COPY's binary format writes must be
//! what Postgres reads from the text line the digest is of.

#[pgrx::pg_schema]
mod tests {
    use baostock::reply::{DailyBar, MinuteBar, PeriodBar};
    use baostock::value::{AdjustFlag, Decimal, Frequency};
    use chrono::NaiveDate;
    use pgrx::prelude::*;

    use pg_baostock_core::bars::{MinuteRow, PeriodRow};
    use pg_baostock_core::copy::{line_of, CopyRow, Lines};

    use crate::store::bars;

    /// Decimals of every scale the server could send, signs, zeros with a scale, and
    /// mantissas beyond 64 bits.
    fn decimals() -> Vec<Option<Decimal>> {
        let mut out = vec![
            None,
            Some(Decimal::ZERO),
            Some(Decimal::new(0, 4)),
            Some(-Decimal::new(0, 2)),
        ];
        for scale in 0..=28 {
            // Zero digits inside, and a mantissa over 64 bits with zeros in its low part.
            out.push(Some(Decimal::from_i128_with_scale(100_000_000_000_000_000_001, scale)));
            for m in [
                1i64,
                7,
                10,
                100_000_001,
                105_000,
                -302_100,
                99_999_999,
                1_234_567_890_123_456,
                i64::MIN + 1,
            ] {
                out.push(Some(Decimal::new(m, scale)));
            }
            out.push(Some(Decimal::from_i128_with_scale(Decimal::MAX.mantissa(), scale)));
            out.push(Some(Decimal::from_i128_with_scale(-Decimal::MAX.mantissa() / 7, scale)));
        }
        out
    }

    /// How many of `rows`, written by the store into `table`, are stored with every column
    /// (`row_hash` too) as Postgres reads the row's text line (compared as text, so that a
    /// scale counts), and how many are stored at all.
    fn stored_as_their_text_reads<R: CopyRow>(table: &str, rows: &[R]) -> (i64, i64) {
        let refs: Vec<&R> = rows.iter().collect();
        let hashes = Lines::new(&refs).hashes;
        let lines: Vec<String> = rows
            .iter()
            .zip(hashes)
            .map(|(r, h)| format!("{}\t{h}", line_of(r)))
            .collect();
        let value = |i: usize, ty: &str| format!("nullif(x.v[{}], '\\N')::{ty}", i + 1);
        let keys: Vec<String> = R::COLUMNS[..R::KEY]
            .iter()
            .enumerate()
            .map(|(i, (c, ty))| format!("t.{c} = {}", value(i, ty)))
            .collect();
        let same: Vec<String> = R::COLUMNS
            .iter()
            .enumerate()
            .map(|(i, (c, ty))| format!("t.{c}::text IS NOT DISTINCT FROM {}::text", value(i, ty)))
            .collect();
        let sql = format!(
            "SELECT count(*) FILTER (WHERE {}), count(t.ctid)
             FROM unnest($1::text[]) l(line) CROSS JOIN LATERAL (SELECT string_to_array(l.line, E'\\t') AS v) x
             LEFT JOIN {table} t ON {}",
            same.join(" AND "),
            keys.join(" AND ")
        );
        Spi::connect(|c| {
            let row = c.select(&sql, Some(1), &[lines.into()])?.first();
            Ok::<_, pgrx::spi::SpiError>((row.get::<i64>(1)?.unwrap_or(-1), row.get::<i64>(2)?.unwrap_or(-1)))
        })
        .unwrap()
    }

    #[pg_test]
    fn binary_copy_stores_what_the_text_line_says() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let values = decimals();
        let n = values.len();
        let days = [d(1990, 12, 19), d(1999, 12, 31), d(2000, 1, 1), d(2024, 2, 29)];
        let mut daily = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let w = values[(i * 7 + 3) % n];
            daily.push(DailyBar {
                date: days[i % days.len()],
                code: format!("sz.{:06}", i),
                open: *v,
                high: w,
                low: values[(i + 1) % n],
                close: *v,
                preclose: w,
                volume: [None, Some(0), Some(-1), Some(i64::MAX), Some(123_456_789)][i % 5],
                amount: w,
                adjustflag: [
                    None,
                    Some(AdjustFlag::Back),
                    Some(AdjustFlag::Forward),
                    Some(AdjustFlag::None),
                ][i % 4],
                turn: *v,
                tradestatus: [None, Some(true), Some(false)][i % 3],
                pct_chg: w,
                pe_ttm: *v,
                pb_mrq: w,
                ps_ttm: *v,
                pcf_ncf_ttm: w,
                is_st: [Some(false), None, Some(true)][i % 3],
            });
        }
        let counts = crate::store::upsert_bars(&daily, 50).unwrap();
        assert_eq!(counts.inserted, n as i64);
        let all = (n as i64, n as i64);
        assert_eq!(stored_as_their_text_reads("baostock.daily_bars", &daily), all);

        let times = [
            d(1999, 12, 31).and_hms_milli_opt(23, 59, 59, 999).unwrap(),
            d(2000, 1, 1).and_hms_opt(0, 0, 0).unwrap(),
            d(2024, 1, 2).and_hms_milli_opt(9, 35, 0, 500).unwrap(),
        ];
        let minutes: Vec<MinuteRow> = values
            .iter()
            .enumerate()
            .map(|(i, v)| MinuteRow {
                frequency: [5, 15, 30, 60][i % 4],
                bar: MinuteBar {
                    date: times[i % 3].date(),
                    time: times[i % 3] + chrono::Duration::minutes(i as i64),
                    code: "sh.600000".into(),
                    open: *v,
                    high: values[(i + 5) % n],
                    low: None,
                    close: *v,
                    volume: Some(i as i64),
                    amount: *v,
                    adjustflag: Some(AdjustFlag::None),
                },
            })
            .collect();
        assert_eq!(bars::upsert_minutes(&minutes, 64).unwrap().inserted, n as i64);
        assert_eq!(stored_as_their_text_reads("baostock.minute_bars", &minutes), all);
        let mut minutes = minutes;
        minutes[7].bar.close = Some(Decimal::new(-1, 3));
        let again = bars::upsert_minutes(&minutes, 64).unwrap();
        assert_eq!((again.unchanged, again.updated, again.inserted), (n as i64 - 1, 1, 0));
        assert_eq!(stored_as_their_text_reads("baostock.minute_bars", &minutes), all);

        let weeks: Vec<PeriodRow> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let bar = PeriodBar {
                    date: d(2024, 1, 5) + chrono::Days::new(7 * i as u64),
                    code: "sh.600000".into(),
                    open: *v,
                    turn: values[(i + 9) % n],
                    pct_chg: *v,
                    ..PeriodBar::default()
                };
                PeriodRow::new(Frequency::Weekly, bar)
            })
            .collect();
        assert_eq!(
            bars::upsert_periods(Frequency::Weekly, &weeks, 100).unwrap().inserted,
            n as i64
        );
        assert_eq!(stored_as_their_text_reads("baostock.weekly_bars", &weeks), all);
        let mut weeks = weeks;
        weeks[11].bar.turn = None;
        let again = bars::upsert_periods(Frequency::Weekly, &weeks, 100).unwrap();
        assert_eq!((again.unchanged, again.updated, again.inserted), (n as i64 - 1, 1, 0));
        assert_eq!(stored_as_their_text_reads("baostock.weekly_bars", &weeks), all);

        // Written again: every row found unchanged by its digest; one value changed: updated.
        let again = crate::store::upsert_bars(&daily, 50).unwrap();
        assert_eq!((again.unchanged, again.updated, again.inserted), (n as i64, 0, 0));
        let mut changed = daily.clone();
        changed[3].close = Some(Decimal::new(42, 1));
        let once = crate::store::upsert_bars(&changed, 50).unwrap();
        assert_eq!((once.unchanged, once.updated), (n as i64 - 1, 1));
        assert_eq!(stored_as_their_text_reads("baostock.daily_bars", &changed), all);
    }

    #[pg_test]
    fn a_few_rows_in_a_long_stored_range_are_looked_up_by_key() {
        let day0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let bar = |i: u64, close: i64| DailyBar {
            date: day0 + chrono::Days::new(i),
            code: "sh.600000".into(),
            close: Some(Decimal::new(close, 2)),
            ..DailyBar::default()
        };
        let history: Vec<DailyBar> = (0..300).map(|i| bar(i, 1000 + i as i64)).collect();
        assert_eq!(crate::store::upsert_bars(&history, 1000).unwrap().inserted, 300);
        // The batch covers 302 days, 300 of them stored: far more than its 4 rows.
        let batch = vec![bar(0, 1000), bar(150, 1), bar(299, 1299), bar(301, 7)];
        let counts = crate::store::upsert_bars(&batch, 1000).unwrap();
        assert_eq!((counts.inserted, counts.updated, counts.unchanged), (1, 1, 2));
        assert_eq!(stored_as_their_text_reads("baostock.daily_bars", &batch), (4, 4));
        let n = Spi::get_one::<i64>("SELECT count(*) FROM baostock.daily_bars WHERE code = 'sh.600000'");
        assert_eq!(n, Ok(Some(301)));
    }

    /// Stored daily bars of `code` whose adjusted prices differ (as text: a scale counts) from
    /// 0.2.0's formula over the stored factors: price x the back factor in force (hfq), price
    /// x round(it / the latest back factor, 6) (qfq); 1.000000 before the first factor row.
    fn off_the_formula(code: &str) -> i64 {
        let mut differs = Vec::new();
        for c in ["open", "high", "low", "close", "preclose"] {
            differs.push(format!("b.qfq_{c}::text IS DISTINCT FROM (b.{c} * q.f)::text"));
            differs.push(format!(
                "b.hfq_{c}::text IS DISTINCT FROM (b.{c} * coalesce(f.back_factor, 1.000000))::text"
            ));
        }
        let sql = format!(
            "SELECT count(*) FROM baostock.daily_bars b
             LEFT JOIN LATERAL (SELECT a.back_factor FROM baostock.adjust_factors a
                                WHERE a.code = b.code AND a.operate_date <= b.date ORDER BY a.operate_date DESC LIMIT 1) f ON true
             LEFT JOIN LATERAL (SELECT a.back_factor FROM baostock.adjust_factors a
                                WHERE a.code = b.code ORDER BY a.operate_date DESC LIMIT 1) l ON true
             CROSS JOIN LATERAL (SELECT round(coalesce(f.back_factor, 1.000000)
                                              / coalesce(nullif(l.back_factor, 0), 1.000000), 6) AS f) q
             WHERE b.code = $1 AND ({})",
            differs.join(" OR ")
        );
        Spi::get_one_with_args::<i64>(&sql, &[code.into()])
            .unwrap()
            .unwrap_or(-1)
    }

    fn stored(sql: &str) -> String {
        Spi::get_one::<String>(sql).unwrap().unwrap_or_default()
    }

    #[pg_test]
    fn adjusted_prices_follow_factors_that_come_before_after_and_between_the_bars() {
        let d = |day| NaiveDate::from_ymd_opt(2024, 3, day).unwrap();
        let dec = |s: &str| baostock::value::parse_decimal(s).ok();
        let code = "sh.600001";
        let bar = |day: u32, close: &str| DailyBar {
            date: d(day),
            code: code.into(),
            open: dec("10.0000"),
            high: dec("12.5000"),
            low: dec("9.5000"),
            close: dec(close),
            preclose: dec("10.0000"),
            ..DailyBar::default()
        };
        let factor = |day: u32, back: &str| baostock::reply::AdjustFactor {
            code: code.into(),
            operate_date: d(day),
            fore: None,
            back: dec(back),
            factor: dec(back),
        };
        let bars: Vec<DailyBar> = (4..=8).map(|day| bar(day, "11.0000")).collect();
        crate::store::upsert_bars(&bars, 100).unwrap();
        // No factors: both adjustments are the price x 1.000000.
        assert_eq!(
            stored("SELECT qfq_close::text FROM baostock.daily_bars WHERE date = '2024-03-04'"),
            "11.0000000000"
        );
        assert_eq!(off_the_formula(code), 0);
        let digests = || {
            stored("SELECT string_agg(row_hash::text || updated_at::text, ',' ORDER BY date) FROM baostock.daily_bars")
        };

        // The history arrives after the bars: a split on the 6th doubles the back factor.
        let before = digests();
        crate::store::upsert_factors(&[factor(1, "1.000000"), factor(6, "2.000000")], 100).unwrap();
        assert_eq!(off_the_formula(code), 0);
        let day4 =
            "SELECT qfq_close::text || ' ' || hfq_close::text FROM baostock.daily_bars WHERE date = '2024-03-04'";
        assert_eq!(stored(day4), "5.5000000000 11.0000000000");
        // A new factor after every bar: the forward-adjusted prices before it all move, the
        // back-adjusted ones not; no digest and no updated_at changes.
        crate::store::upsert_factors(&[factor(11, "4.000000")], 100).unwrap();
        assert_eq!(off_the_formula(code), 0);
        assert_eq!(stored(day4), "2.7500000000 11.0000000000");
        assert_eq!(
            stored("SELECT qfq_open::text || ' ' || hfq_open::text FROM baostock.daily_bars WHERE date = '2024-03-07'"),
            "5.0000000000 20.0000000000"
        );
        assert_eq!(digests(), before);
        // Bars written after the factors get them at once, changed or new.
        let later = vec![bar(8, "12.0000"), bar(11, "13.0000")];
        let counts = crate::store::upsert_bars(&later, 100).unwrap();
        assert_eq!((counts.inserted, counts.updated), (1, 1));
        assert_eq!(off_the_formula(code), 0);
        assert_eq!(
            stored(
                "SELECT qfq_close::text || ' ' || hfq_close::text FROM baostock.daily_bars WHERE date = '2024-03-11'"
            ),
            "13.0000000000 52.0000000000"
        );
        // The views read the stored columns.
        assert_eq!(
            stored("SELECT close::text FROM baostock.daily_bars_qfq WHERE code = 'sh.600001' AND date = '2024-03-08'"),
            "6.0000000000"
        );
        assert_eq!(
            stored("SELECT close::text FROM baostock.daily_bars_hfq WHERE code = 'sh.600001' AND date = '2024-03-08'"),
            "24.0000000000"
        );
    }

    /// The SQL enum types of jobs and units have the labels, in the order, of the Rust enums
    /// the store converts them with (crates/core/src/states.rs).
    #[pg_test]
    fn the_state_types_have_the_labels_of_the_rust_enums() {
        use pg_baostock_core::states::{JobKind, JobState, UnitKind, UnitState};
        let rust: [(&str, Vec<&str>); 4] = [
            (JobState::SQL_TYPE, JobState::ALL.iter().map(|s| s.label()).collect()),
            (JobKind::SQL_TYPE, JobKind::ALL.iter().map(|s| s.label()).collect()),
            (UnitState::SQL_TYPE, UnitState::ALL.iter().map(|s| s.label()).collect()),
            (UnitKind::SQL_TYPE, UnitKind::ALL.iter().map(|s| s.label()).collect()),
        ];
        for (ty, labels) in rust {
            let sql = Spi::get_one::<Vec<String>>(&format!("SELECT enum_range(NULL::{ty})::text[]"))
                .unwrap()
                .unwrap();
            assert_eq!(sql, labels, "{ty}");
        }
    }

    /// A label neither knows is refused by the column itself (it was a CHECK on text).
    #[pg_test(error = "invalid input value for enum baostock.job_state: \"sleeping\"")]
    fn an_unknown_job_state_is_refused_by_the_column() {
        Spi::run(
            "INSERT INTO baostock.sync_jobs (start_date, end_date, frequency, force, plan, est_requests, est_seconds, state)
             VALUES ('2024-01-02', '2024-01-02', 'd', false, '{}', 0, 0, 'sleeping')",
        )
        .unwrap();
    }

    /// Each report table has the columns, types and key of its kind in the codec (the store
    /// writes them by that list), plus `fetched_at`.
    #[pg_test]
    fn the_report_tables_have_the_codecs_columns_and_keys() {
        use crate::store::reports;
        use baostock::report::ReportKind;
        for kind in ReportKind::ALL {
            let table = reports::table(kind);
            let sql: Vec<String> = Spi::get_one::<Vec<String>>(&format!(
                "SELECT array_agg(attname || ' ' || format_type(atttypid, atttypmod) ORDER BY attnum)::text[]
                 FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped"
            ))
            .unwrap()
            .unwrap();
            let mut want: Vec<String> = reports::columns(kind).iter().map(|(c, t)| format!("{c} {t}")).collect();
            want.push("fetched_at timestamp with time zone".into());
            assert_eq!(sql, want, "{table}");
            let key = Spi::get_one::<Vec<String>>(&format!(
                "SELECT array_agg(a.attname ORDER BY k.n)::text[]
                 FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, n), pg_attribute a
                 WHERE i.indrelid = '{table}'::regclass AND i.indisprimary
                   AND a.attrelid = i.indrelid AND a.attnum = k.attnum"
            ))
            .unwrap()
            .unwrap();
            assert_eq!(key, reports::key(kind), "{table}");
            let comments = Spi::get_one::<i64>(&format!(
                "SELECT count(*) FROM pg_attribute WHERE attrelid = '{table}'::regclass AND attnum > 0
                   AND NOT attisdropped AND col_description(attrelid, attnum) IS NULL"
            ))
            .unwrap();
            assert_eq!(comments, Some(0), "{table}: a column without a comment");
        }
    }

    fn profit(pub_date: &str, roe: &str, margin: Option<&str>) -> baostock::report::Report {
        use baostock::report::{Cell, ReportKind};
        let kind = ReportKind::Profit;
        let mut cells = vec![None; kind.fields().len()];
        let mut set = |column: &str, ty: baostock::report::CellType, v: &str| {
            cells[kind.column(column).unwrap()] = Some(Cell::parse(ty, v).unwrap());
        };
        use baostock::report::CellType::{Date as D, Number as N, Text as T};
        set("code", T, "sh.600000");
        set("pub_date", D, pub_date);
        set("stat_date", D, "2023-06-30");
        set("roe_avg", N, roe);
        set("total_share", N, "29352175421.00");
        if let Some(m) = margin {
            set("np_margin", N, m);
        }
        baostock::report::Report { kind, cells }
    }

    /// A report written twice is stored once and unchanged the second time; a restatement (a
    /// later pub_date for the same period) is a row of its own; values keep their scale and an
    /// empty cell is NULL.
    #[pg_test]
    fn reports_are_upserted_by_period_and_publication() {
        use crate::store::reports::upsert_reports;
        use baostock::report::ReportKind;
        let first = profit("2023-08-31", "0.032797", None);
        let c = upsert_reports(ReportKind::Profit, std::slice::from_ref(&first)).unwrap();
        assert_eq!((c.inserted, c.updated, c.unchanged), (1, 0, 0));
        let c = upsert_reports(ReportKind::Profit, &[first.clone(), first]).unwrap();
        assert_eq!(
            (c.inserted, c.updated, c.unchanged),
            (0, 0, 1),
            "a repeated row counts once"
        );
        let changed = profit("2023-08-31", "0.032797", Some("0.258851"));
        let c = upsert_reports(ReportKind::Profit, &[changed]).unwrap();
        assert_eq!((c.inserted, c.updated, c.unchanged), (0, 1, 0));
        let restated = profit("2023-10-20", "0.031000", Some("0.250000"));
        let c = upsert_reports(ReportKind::Profit, &[restated]).unwrap();
        assert_eq!((c.inserted, c.updated, c.unchanged), (1, 0, 0));
        let stored = Spi::get_one::<String>(
            "SELECT string_agg(concat_ws(' ', pub_date, roe_avg::text, coalesce(np_margin::text, 'NULL'),
                                        total_share::text, coalesce(gp_margin::text, 'NULL')), '; ' ORDER BY pub_date)
             FROM baostock.report_profit WHERE code = 'sh.600000' AND stat_date = '2023-06-30'",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            stored,
            "2023-08-31 0.032797 0.258851 29352175421.00 NULL; 2023-10-20 0.031000 0.250000 29352175421.00 NULL"
        );
    }

    /// Units are numbered on across the store's insert chunks (10,000 a statement): a job of
    /// 25,000 units numbers them 0..24,999 (each chunk restarted at 0 before, and a job of more
    /// than 10,000 units failed on the key).
    #[pg_test]
    fn a_job_of_many_units_numbers_them_across_chunks() {
        use crate::store::jobs::{insert_job, insert_units, JobArgs};
        use pg_baostock_core::states::JobKind;
        use pg_baostock_core::Unit;
        let day = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        let units: Vec<Unit> = (0..25_000)
            .map(|i| Unit::Factors {
                code: format!("sh.{:06}", i),
                start: day,
                end: day,
            })
            .collect();
        let args = JobArgs {
            kind: JobKind::Backfill,
            start: day,
            end: day,
            codes: None,
            frequency: "d",
            force: false,
        };
        let job = insert_job(&args, &serde_json::json!({}), 0, 0.0, &units[..12_000]).unwrap();
        insert_units(job, 12_000, &units[12_000..]).unwrap();
        let numbers = Spi::get_one::<String>(&format!(
            "SELECT count(*) || ' ' || count(DISTINCT unit_no) || ' ' || min(unit_no) || ' ' || max(unit_no)
             FROM baostock.sync_units WHERE job_id = {job}"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(numbers, "25000 25000 0 24999");
        // The order is the units' order.
        let last = Spi::get_one::<String>(&format!(
            "SELECT code FROM baostock.sync_units WHERE job_id = {job} AND unit_no = 24999"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(last, "sh.024999");
    }
}
