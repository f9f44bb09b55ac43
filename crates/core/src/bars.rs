//! The bars as rows of their tables: the values each kind of bar gives COPY (in its table's
//! column order, the key first), and so what its digest is of; a daily bar's adjusted prices
//! beside it. The extension's store writes them (src/store/bars.rs, src/store/writer.rs).

use baostock::reply::{DailyBar, MinuteBar, PeriodBar};
use baostock::value::{AdjustFlag, Decimal, Frequency};
use chrono::{NaiveDate, NaiveDateTime};

use crate::copy::{CopyRow, Value};
use crate::period::period_start;

/// The columns every bar table has in this order: the prices, then volume, amount and adjust
/// flag.
fn trading<'a>(
    out: &mut Vec<Value<'a>>,
    prices: &[Option<Decimal>],
    volume: Option<i64>,
    amount: Option<Decimal>,
    adjustflag: Option<AdjustFlag>,
) {
    out.extend(prices.iter().map(|p| Value::Numeric(*p)));
    out.push(Value::Int8(volume));
    out.push(Value::Numeric(amount));
    out.push(Value::Int2(adjustflag.map(AdjustFlag::number)));
}

/// The columns of `daily_bars` a daily bar fills, to `row_hash`, then those given.
macro_rules! daily_columns {
    ($($extra:expr),* $(,)?) => {
        &[
            ("code", "text"),
            ("date", "date"),
            ("open", "numeric"),
            ("high", "numeric"),
            ("low", "numeric"),
            ("close", "numeric"),
            ("preclose", "numeric"),
            ("volume", "int8"),
            ("amount", "numeric"),
            ("adjustflag", "int2"),
            ("turn", "numeric"),
            ("trade_status", "bool"),
            ("pct_chg", "numeric"),
            ("pe_ttm", "numeric"),
            ("pb_mrq", "numeric"),
            ("ps_ttm", "numeric"),
            ("pcf_ncf_ttm", "numeric"),
            ("is_st", "bool"),
            ("row_hash", "int8"),
            $($extra),*
        ]
    };
}

impl CopyRow for DailyBar {
    const COLUMNS: &'static [(&'static str, &'static str)] = daily_columns!();
    const KEY: usize = 2;
    type Key<'a> = (&'a str, NaiveDate);

    fn key(&self) -> Self::Key<'_> {
        (self.code.as_str(), self.date)
    }

    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        out.extend([Value::Text(&self.code), Value::Date(self.date)]);
        let prices = [self.open, self.high, self.low, self.close, self.preclose];
        trading(out, &prices, self.volume, self.amount, self.adjustflag);
        out.extend([Value::Numeric(self.turn), Value::Bool(self.tradestatus)]);
        for v in [self.pct_chg, self.pe_ttm, self.pb_mrq, self.ps_ttm, self.pcf_ncf_ttm] {
            out.push(Value::Numeric(v));
        }
        out.push(Value::Bool(self.is_st));
    }
}

/// A daily bar with the factors in force on its day (`factor_spans`' back and fore), which the
/// store writes beside its raw prices as its adjusted ones (`qfq_*`, `hfq_*`): the digest is of
/// the bar alone, so a new factor changes no digest.
pub struct AdjustedDay<'b> {
    pub bar: &'b DailyBar,
    pub back: Decimal,
    pub fore: Decimal,
}

/// A price times a factor, exactly as numeric's `*` gives it (the scales added: 4 and 6
/// decimals make 10); NULL when either is.
/// NULL too when the exact product has more than the 28 decimals a `Decimal` holds (never
/// a price's: the server sends 4), rather than a rounded one; the next write of the code's
/// factors computes it in SQL.
pub fn adjusted(price: Option<Decimal>, factor: Decimal) -> Option<Decimal> {
    price
        .and_then(|p| p.checked_mul(factor).map(|a| (p, a)))
        .filter(|(p, a)| a.scale() == p.scale() + factor.scale())
        .map(|(_, a)| a)
}

impl CopyRow for AdjustedDay<'_> {
    const COLUMNS: &'static [(&'static str, &'static str)] = daily_columns!(
        ("qfq_open", "numeric"),
        ("qfq_high", "numeric"),
        ("qfq_low", "numeric"),
        ("qfq_close", "numeric"),
        ("qfq_preclose", "numeric"),
        ("hfq_open", "numeric"),
        ("hfq_high", "numeric"),
        ("hfq_low", "numeric"),
        ("hfq_close", "numeric"),
        ("hfq_preclose", "numeric"),
    );
    const KEY: usize = 2;
    type Key<'a>
        = (&'a str, NaiveDate)
    where
        Self: 'a;

    fn key(&self) -> Self::Key<'_> {
        self.bar.key()
    }

    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        self.bar.values(out);
    }

    fn unhashed<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        let b = self.bar;
        for factor in [self.fore, self.back] {
            for price in [b.open, b.high, b.low, b.close, b.preclose] {
                out.push(Value::Numeric(adjusted(price, factor)));
            }
        }
    }
}

/// A weekly or monthly bar with the first day of its period (the table's key: a period has
/// one bar, which a later fetch of the period replaces).
pub struct PeriodRow {
    pub period_start: NaiveDate,
    pub bar: PeriodBar,
}

impl PeriodRow {
    /// The row of a bar of `frequency` (w or m).
    pub fn new(frequency: Frequency, bar: PeriodBar) -> PeriodRow {
        PeriodRow {
            period_start: period_start(frequency, bar.date),
            bar,
        }
    }
}

impl CopyRow for PeriodRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("code", "text"),
        ("period_start", "date"),
        ("date", "date"),
        ("open", "numeric"),
        ("high", "numeric"),
        ("low", "numeric"),
        ("close", "numeric"),
        ("volume", "int8"),
        ("amount", "numeric"),
        ("adjustflag", "int2"),
        ("turn", "numeric"),
        ("pct_chg", "numeric"),
        ("row_hash", "int8"),
    ];
    const KEY: usize = 2;
    type Key<'a> = (&'a str, NaiveDate);

    fn key(&self) -> Self::Key<'_> {
        (self.bar.code.as_str(), self.period_start)
    }

    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        let b = &self.bar;
        out.extend([
            Value::Text(&b.code),
            Value::Date(self.period_start),
            Value::Date(b.date),
        ]);
        trading(out, &[b.open, b.high, b.low, b.close], b.volume, b.amount, b.adjustflag);
        out.extend([Value::Numeric(b.turn), Value::Numeric(b.pct_chg)]);
    }
}

/// A 5, 15, 30 or 60-minute bar with its frequency (part of the table's key).
pub struct MinuteRow {
    pub frequency: i16,
    pub bar: MinuteBar,
}

impl CopyRow for MinuteRow {
    const COLUMNS: &'static [(&'static str, &'static str)] = &[
        ("code", "text"),
        ("frequency", "int2"),
        ("time", "timestamp"),
        ("date", "date"),
        ("open", "numeric"),
        ("high", "numeric"),
        ("low", "numeric"),
        ("close", "numeric"),
        ("volume", "int8"),
        ("amount", "numeric"),
        ("adjustflag", "int2"),
        ("row_hash", "int8"),
    ];
    const KEY: usize = 3;
    type Key<'a> = (&'a str, i16, NaiveDateTime);

    fn key(&self) -> Self::Key<'_> {
        (self.bar.code.as_str(), self.frequency, self.bar.time)
    }

    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
        let b = &self.bar;
        out.extend([
            Value::Text(&b.code),
            Value::Int2(Some(self.frequency)),
            Value::Timestamp(b.time),
            Value::Date(b.date),
        ]);
        trading(out, &[b.open, b.high, b.low, b.close], b.volume, b.amount, b.adjustflag);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::{line_of as line, Lines};

    fn digest(bar: &DailyBar) -> i64 {
        Lines::new(&[bar]).hashes[0]
    }

    /// The SQL types of a row's values, and those its table's columns are declared with.
    fn types<R: CopyRow>(row: &R) -> (Vec<&'static str>, Vec<&'static str>) {
        let mut values = Vec::new();
        row.values(&mut values);
        let declared = R::COLUMNS[..R::COLUMNS.len() - 1].iter().map(|c| c.1).collect();
        (values.iter().map(|v| v.sql_type()).collect(), declared)
    }

    #[test]
    fn every_bar_row_gives_a_value_of_its_columns_type_to_each_column() {
        let t = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_opt(9, 35, 0)
            .unwrap();
        let minute = MinuteRow {
            frequency: 5,
            bar: MinuteBar {
                date: t.date(),
                time: t,
                code: "sz.000001".into(),
                open: Some(Decimal::new(91_100, 4)),
                high: None,
                low: None,
                close: None,
                volume: Some(3),
                amount: None,
                adjustflag: None,
            },
        };
        let text = line(&minute);
        assert_eq!(text.matches('\t').count(), MinuteRow::COLUMNS.len() - 2, "{text}");
        assert!(
            text.starts_with("sz.000001\t5\t2024-01-02 09:35:00.000\t2024-01-02\t9.1100\t"),
            "{text}"
        );
        let week = PeriodRow::new(
            Frequency::Weekly,
            PeriodBar {
                date: t.date(),
                code: "sz.000001".into(),
                ..PeriodBar::default()
            },
        );
        let text = line(&week);
        assert_eq!(text.matches('\t').count(), PeriodRow::COLUMNS.len() - 2, "{text}");
        assert!(text.starts_with("sz.000001\t2024-01-01\t2024-01-02\t"), "{text}");
        for cols in [MinuteRow::COLUMNS, PeriodRow::COLUMNS, DailyBar::COLUMNS] {
            assert_eq!(cols.last(), Some(&("row_hash", "int8")));
        }
        let (given, declared) = types(&minute);
        assert_eq!(given, declared);
        let (given, declared) = types(&week);
        assert_eq!(given, declared);
        let (given, declared) = types(&DailyBar::default());
        assert_eq!(given, declared);
    }

    #[test]
    fn an_adjusted_price_keeps_both_scales_as_numerics_product_does() {
        // numeric: 12.3400 * 0.876543 = 10.8165406200 (scale 4 + 6); 8.9 * 1.000000 = 8.9000000.
        let p = |s: &str| baostock::value::parse_decimal(s).unwrap();
        let cases = [
            ("12.3400", "0.876543", "10.8165406200"),
            ("8.9", "1.000000", "8.9000000"),
            ("0.0100", "12.345678", "0.1234567800"),
            ("1999.9900", "987.654321", "1975298.7654567900"),
        ];
        for (price, factor, product) in cases {
            assert_eq!(
                adjusted(Some(p(price)), p(factor)).map(|d| d.to_string()).as_deref(),
                Some(product)
            );
        }
        assert_eq!(adjusted(None, p("1.5")), None);
        // 30 decimals cannot be held exactly: no rounded product.
        assert_eq!(adjusted(Some(p("1.0000000000000000000000001")), p("1.000001")), None);
        let bar = DailyBar {
            code: "sh.600000".into(),
            open: Some(p("10.0000")),
            close: Some(p("11.0000")),
            ..DailyBar::default()
        };
        let day = AdjustedDay {
            bar: &bar,
            back: p("2.000000"),
            fore: p("0.500000"),
        };
        // The digest is the bar's alone: factors never change it.
        assert_eq!(Lines::new(&[&day]).hashes[0], digest(&bar));
        let mut extra = Vec::new();
        day.unhashed(&mut extra);
        let text: Vec<String> = extra
            .iter()
            .map(|v| match v {
                Value::Numeric(d) => d.map(|d| d.to_string()).unwrap_or_default(),
                _ => "?".into(),
            })
            .collect();
        assert_eq!(
            text,
            [
                "5.0000000000",
                "",
                "",
                "5.5000000000",
                "",
                "20.0000000000",
                "",
                "",
                "22.0000000000",
                ""
            ]
        );
        let mut values = Vec::new();
        day.values(&mut values);
        day.unhashed(&mut values);
        let named: Vec<&str> = AdjustedDay::COLUMNS
            .iter()
            .filter(|c| c.0 != "row_hash")
            .map(|c| c.1)
            .collect();
        assert_eq!(values.iter().map(|v| v.sql_type()).collect::<Vec<_>>(), named);
        assert_eq!(AdjustedDay::COLUMNS[..DailyBar::COLUMNS.len()], *DailyBar::COLUMNS);
    }

    #[test]
    fn the_digest_changes_with_any_value() {
        let bar = DailyBar {
            date: NaiveDate::from_ymd_opt(2024, 6, 3).unwrap(),
            code: "sh.600000".into(),
            open: Some(Decimal::new(10_5000, 4)),
            close: Some(Decimal::new(10_6000, 4)),
            volume: Some(100),
            tradestatus: Some(true),
            is_st: Some(false),
            ..DailyBar::default()
        };
        let h = digest(&bar);
        assert_eq!(h, digest(&bar.clone()));
        // 10.5000 and 10.50 are one number but not one text: a changed scale is a change.
        for other in [
            DailyBar {
                open: Some(Decimal::new(1050, 2)),
                ..bar.clone()
            },
            DailyBar {
                volume: None,
                ..bar.clone()
            },
            DailyBar {
                is_st: Some(true),
                ..bar.clone()
            },
            DailyBar {
                high: Some(Decimal::ZERO),
                ..bar.clone()
            },
        ] {
            assert_ne!(digest(&other), h);
        }
        // The digest is stored: it is FNV-1a of exactly this line (0.2.0's), whatever COPY gets.
        let expected =
            "sh.600000\t2024-06-03\t10.5000\t\\N\t\\N\t10.6000\t\\N\t100\t\\N\t\\N\t\\N\tt\t\\N\t\\N\t\\N\t\\N\t\\N\tf";
        assert_eq!(line(&bar), expected);
        let fnv = expected.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        assert_eq!(h, fnv as i64);
        let lines = Lines::new(&[&bar, &bar]);
        let one = lines.picked([1].into_iter());
        assert!(one.starts_with(b"PGCOPY\n\xff\r\n\0"));
        assert!(one.ends_with(&(-1i16).to_be_bytes()));
        assert_eq!(one[19..21], (DailyBar::COLUMNS.len() as i16).to_be_bytes());
        assert_eq!(lines.all().len(), 2 * one.len() - 21);
    }
}
