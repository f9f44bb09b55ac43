//! COPY's formats, made in memory: rows in COPY's binary format (each value in its type's send
//! format: no numeric or date for Postgres to parse), with a digest of each row's values in
//! COPY's text format (`row_hash`). The extension's store hands the bytes to Postgres' COPY
//! machinery (src/store/copy.rs).

use baostock::value::Decimal;
use chrono::{Datelike, NaiveDate, NaiveDateTime};

use crate::clock::{pg_days, pg_micros};

/// A text value for COPY: backslash, tab, newline and carriage return escaped.
fn push_text(out: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b => out.push(b),
        }
    }
}

/// An integer as `Display` writes it, without the formatting machinery.
fn push_int(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    let mut digits = [0u16; 20];
    let len = digits_in::<10>(u128::from(v.unsigned_abs()), &mut digits).max(1);
    let mut text = [0u8; 20];
    for (t, d) in text.iter_mut().zip(digits[..len].iter().rev()) {
        *t = b'0' + *d as u8;
    }
    out.extend_from_slice(&text[..len]);
}

/// The digits of `m` in base `BASE` (10, or 10,000 for numeric's send format), least
/// significant first, into `digits`, which must be zeros; returns how many (none for 0). A
/// mantissa over 64 bits costs one 128-bit division.
fn digits_in<const BASE: u64>(m: u128, digits: &mut [u16]) -> usize {
    fn small<const BASE: u64>(mut n: u64, digits: &mut [u16]) -> usize {
        let mut len = 0;
        while n > 0 {
            digits[len] = (n % BASE) as u16;
            n /= BASE;
            len += 1;
        }
        len
    }
    const TEN16: u64 = 10_000_000_000_000_000;
    match u64::try_from(m) {
        Ok(n) => small::<BASE>(n, digits),
        Err(_) => {
            // The low part takes all its places, its leading zeros staying zeros.
            let low = TEN16.ilog(BASE) as usize;
            small::<BASE>((m % u128::from(TEN16)) as u64, digits);
            low + small::<BASE>((m / u128::from(TEN16)) as u64, &mut digits[low..])
        }
    }
}

/// A date as `%Y-%m-%d` writes it.
fn push_date(out: &mut Vec<u8>, d: NaiveDate) {
    let y = d.year();
    if !(0..=9999).contains(&y) {
        use std::io::Write;
        let _ = write!(out, "{}", d.format("%Y-%m-%d"));
        return;
    }
    let two = |v: u32| [b'0' + (v / 10) as u8, b'0' + (v % 10) as u8];
    let y = y as u32;
    out.extend_from_slice(&two(y / 100));
    out.extend_from_slice(&two(y % 100));
    out.push(b'-');
    out.extend_from_slice(&two(d.month()));
    out.push(b'-');
    out.extend_from_slice(&two(d.day()));
}

/// A decimal as its `Display` writes it (the scale kept, `-` for a negative sign), without
/// the formatting machinery: the store formats millions of them.
fn push_decimal(out: &mut Vec<u8>, d: &Decimal) {
    if d.is_sign_negative() {
        out.push(b'-');
    }
    let mut digits = [0u16; 40];
    let scale = d.scale() as usize;
    let len = digits_in::<10>(d.mantissa().unsigned_abs(), &mut digits).max(scale + 1);
    let mut text = [0u8; 48];
    let mut n = 0;
    for i in (0..len).rev() {
        text[n] = b'0' + digits[i] as u8;
        n += 1;
        if i == scale && scale > 0 {
            text[n] = b'.';
            n += 1;
        }
    }
    out.extend_from_slice(&text[..n]);
}

/// A decimal in numeric's send format: digit count, weight, sign and display scale, then the
/// base-10000 digits from the most significant, none of them zero at either end.
fn push_numeric(out: &mut Vec<u8>, d: &Decimal) {
    let scale = d.scale() as usize;
    // Shifted left so that the point falls between two base-10000 digits.
    let pad = (4 - scale % 4) % 4;
    let m = d.mantissa().unsigned_abs() * 10u128.pow(pad as u32);
    let mut groups = [0u16; 12];
    let len = digits_in::<10_000>(m, &mut groups);
    let low_zeros = groups[..len].iter().take_while(|g| **g == 0).count();
    let digits = &groups[low_zeros..len];
    let weight = len as i64 - ((scale + pad) / 4) as i64 - 1;
    let sign: u16 = if d.is_sign_negative() && !digits.is_empty() {
        0x4000
    } else {
        0
    };
    let words = [digits.len() as i16, if digits.is_empty() { 0 } else { weight as i16 }];
    for w in words {
        out.extend_from_slice(&w.to_be_bytes());
    }
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&(scale as u16).to_be_bytes());
    for g in digits.iter().rev() {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

/// A minute bar's time in COPY's text format (to the millisecond, as the server sends it).
fn push_time(out: &mut Vec<u8>, t: NaiveDateTime) {
    use std::io::Write;
    let _ = write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S%.3f"));
}

/// One value of a row as COPY takes it, in its column's type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Text(&'a str),
    Date(NaiveDate),
    /// To the millisecond.
    Timestamp(NaiveDateTime),
    Numeric(Option<Decimal>),
    Int8(Option<i64>),
    Int2(Option<i16>),
    Bool(Option<bool>),
}

impl Value<'_> {
    /// The SQL type of the column it goes into (as `CopyRow::COLUMNS` names them): what the
    /// tests check a row type's values against.
    pub fn sql_type(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Date(_) => "date",
            Value::Timestamp(_) => "timestamp",
            Value::Numeric(_) => "numeric",
            Value::Int8(_) => "int8",
            Value::Int2(_) => "int2",
            Value::Bool(_) => "bool",
        }
    }

    /// In COPY's text format (`\N` for NULL): what a row's digest is of.
    fn push_text(&self, out: &mut Vec<u8>) {
        match *self {
            Value::Text(s) => push_text(out, s),
            Value::Date(d) => push_date(out, d),
            Value::Timestamp(t) => push_time(out, t),
            Value::Numeric(Some(d)) => push_decimal(out, &d),
            Value::Int8(Some(v)) => push_int(out, v),
            Value::Int2(Some(v)) => push_int(out, i64::from(v)),
            Value::Bool(Some(v)) => out.push(if v { b't' } else { b'f' }),
            Value::Numeric(None) | Value::Int8(None) | Value::Int2(None) | Value::Bool(None) => {
                out.extend_from_slice(b"\\N")
            }
        }
    }

    /// In COPY's binary format: the length (-1 for NULL), then the type's send format.
    fn push_binary(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&0i32.to_be_bytes());
        match *self {
            Value::Text(s) => out.extend_from_slice(s.as_bytes()),
            Value::Date(d) => out.extend_from_slice(&pg_days(d).to_be_bytes()),
            Value::Timestamp(t) => out.extend_from_slice(&pg_micros(t).to_be_bytes()),
            Value::Numeric(Some(d)) => push_numeric(out, &d),
            Value::Int8(Some(v)) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Int2(Some(v)) => out.extend_from_slice(&v.to_be_bytes()),
            Value::Bool(Some(v)) => out.push(u8::from(v)),
            Value::Numeric(None) | Value::Int8(None) | Value::Int2(None) | Value::Bool(None) => {
                out.truncate(at);
                out.extend_from_slice(&(-1i32).to_be_bytes());
                return;
            }
        }
        let len = (out.len() - at - 4) as i32;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    }
}

/// FNV-1a, 64 bits: the digest of a row's values (stable across versions: it is stored).
fn fnv1a(bytes: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// A row the store writes through COPY into a table that has a unique key, a `row_hash` and
/// an `updated_at`.
pub trait CopyRow {
    /// The columns a row fills with their SQL types, in COPY order: the key first (`KEY` of
    /// them), then the digested values, `row_hash`, and last the `unhashed` ones.
    const COLUMNS: &'static [(&'static str, &'static str)];
    /// How many of `COLUMNS` make the key.
    const KEY: usize;
    /// The key, to order rows and keep the last of a key sent twice.
    type Key<'a>: Ord
    where
        Self: 'a;
    fn key(&self) -> Self::Key<'_>;
    /// The values the digest is of: the columns before `row_hash`, in `COLUMNS` order (the
    /// key's first).
    fn values<'a>(&'a self, out: &mut Vec<Value<'a>>);
    /// The values of the columns after `row_hash`: what the store derives from other tables
    /// and keeps in step itself (a daily bar's adjusted prices), so the digest leaves them out.
    fn unhashed<'a>(&'a self, _out: &mut Vec<Value<'a>>) {}
}

/// The names of a row type's columns.
pub fn names<R: CopyRow>() -> Vec<&'static str> {
    R::COLUMNS.iter().map(|(n, _)| *n).collect()
}

/// The values of a row (every column but `row_hash`) in COPY's text format, tab-separated:
/// what its digest is of.
pub fn text_line(values: &[Value<'_>], out: &mut Vec<u8>) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        v.push_text(out);
    }
}

/// A row's values (every column but `row_hash`) in COPY's text format: what its digest is of
/// (for tests).
pub fn line_of<R: CopyRow>(row: &R) -> String {
    let (mut values, mut out) = (Vec::new(), Vec::new());
    row.values(&mut values);
    text_line(&values, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The start of COPY's binary format: signature, flags, no header extension.
const BINARY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// Its end: a tuple of -1 fields.
const BINARY_TRAILER: &[u8] = &(-1i16).to_be_bytes();

/// Rows with their digests (`row_hash`) and keys, computed once; COPY's binary format of any
/// subset made on demand, so that rows found stored unchanged are never encoded (nor their
/// `unhashed` values, a daily bar's ten adjusted prices, computed).
pub struct Lines<'a, R: CopyRow> {
    rows: Vec<&'a R>,
    pub hashes: Vec<i64>,
    /// Each row's key values, `R::KEY` of them a row.
    keys: Vec<Value<'a>>,
}

impl<'a, R: CopyRow> Lines<'a, R> {
    pub fn new(rows: &[&'a R]) -> Lines<'a, R> {
        let mut hashes = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len() * R::KEY);
        let mut values: Vec<Value<'a>> = Vec::with_capacity(R::COLUMNS.len());
        let mut text = Vec::with_capacity(256);
        for r in rows {
            values.clear();
            r.values(&mut values);
            keys.extend_from_slice(&values[..R::KEY]);
            text.clear();
            text_line(&values, &mut text);
            hashes.push(fnv1a(&text));
        }
        Lines {
            rows: rows.to_vec(),
            hashes,
            keys,
        }
    }

    /// The key values of rows `rows`, a row's after another.
    pub fn keys(&self, rows: std::ops::Range<usize>) -> &[Value<'a>] {
        &self.keys[rows.start * R::KEY..rows.end * R::KEY]
    }

    /// Every row, as COPY's binary format.
    pub fn all(&self) -> Vec<u8> {
        self.picked(0..self.rows.len())
    }

    /// The rows `picked` (indexes) in that order, as COPY's binary format.
    pub fn picked(&self, picked: impl Iterator<Item = usize>) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.rows.len() * 200);
        out.extend_from_slice(BINARY_HEADER);
        let mut values: Vec<Value<'a>> = Vec::with_capacity(R::COLUMNS.len());
        for i in picked {
            values.clear();
            self.rows[i].values(&mut values);
            values.push(Value::Int8(Some(self.hashes[i])));
            self.rows[i].unhashed(&mut values);
            out.extend_from_slice(&(values.len() as i16).to_be_bytes());
            for v in &values {
                v.push_binary(&mut out);
            }
        }
        out.extend_from_slice(BINARY_TRAILER);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row that counts how often its `unhashed` values are asked for.
    struct Counted<'c>(i64, &'c std::cell::Cell<usize>);

    impl CopyRow for Counted<'_> {
        const COLUMNS: &'static [(&'static str, &'static str)] = &[("k", "int8"), ("row_hash", "int8"), ("u", "int8")];
        const KEY: usize = 1;
        type Key<'a>
            = i64
        where
            Self: 'a;
        fn key(&self) -> i64 {
            self.0
        }
        fn values<'a>(&'a self, out: &mut Vec<Value<'a>>) {
            out.push(Value::Int8(Some(self.0)));
        }
        fn unhashed<'a>(&'a self, out: &mut Vec<Value<'a>>) {
            self.1.set(self.1.get() + 1);
            out.push(Value::Int8(Some(-self.0)));
        }
    }

    #[test]
    fn rows_are_encoded_only_when_copied() {
        let asked = std::cell::Cell::new(0);
        let rows: Vec<Counted> = (0..5).map(|k| Counted(k, &asked)).collect();
        let refs: Vec<&Counted> = rows.iter().collect();
        let lines = Lines::new(&refs);
        // Digests and keys (all a batch stored unchanged needs) compute no unhashed value.
        assert_eq!(lines.hashes.len(), 5);
        assert_eq!(lines.keys(1..3), [Value::Int8(Some(1)), Value::Int8(Some(2))]);
        assert_eq!(asked.get(), 0);
        let two = lines.picked([3, 1].into_iter());
        assert_eq!(asked.get(), 2);
        // Header, then per row: 3 fields of 8 bytes with their lengths, the unhashed last.
        let row = |k: i64, h: i64| {
            let mut t = 3i16.to_be_bytes().to_vec();
            for v in [k, h, -k] {
                t.extend_from_slice(&8i32.to_be_bytes());
                t.extend_from_slice(&v.to_be_bytes());
            }
            t
        };
        let expected = [
            BINARY_HEADER.to_vec(),
            row(3, lines.hashes[3]),
            row(1, lines.hashes[1]),
            BINARY_TRAILER.to_vec(),
        ]
        .concat();
        assert_eq!(two, expected);
        assert_eq!(lines.all().len(), BINARY_HEADER.len() + 5 * row(0, 0).len() + 2);
        assert_eq!(asked.get(), 7);
    }

    #[test]
    fn text_values_are_escaped_and_nulls_are_backslash_n() {
        let mut out = Vec::new();
        push_text(&mut out, "a\tb\\c\nd");
        assert_eq!(out, b"a\\tb\\\\c\\nd");
        let mut out = Vec::new();
        text_line(
            &[Value::Int8(None), Value::Bool(Some(false)), Value::Int2(Some(-3))],
            &mut out,
        );
        assert_eq!(out, b"\\N\tf\t-3");
    }

    fn numeric(d: Decimal) -> Vec<i16> {
        let mut out = Vec::new();
        push_numeric(&mut out, &d);
        out.chunks(2).map(|w| i16::from_be_bytes([w[0], w[1]])).collect()
    }

    #[test]
    fn decimals_go_in_numeric_send_format() {
        // ndigits, weight, sign, dscale, then base-10000 digits (numeric.c's numeric_send).
        assert_eq!(numeric(Decimal::new(10_5000, 4)), [2, 0, 0, 4, 10, 5000]);
        assert_eq!(numeric(Decimal::new(1, 4)), [1, -1, 0, 4, 1]);
        assert_eq!(numeric(Decimal::new(1, 8)), [1, -2, 0, 8, 1]);
        assert_eq!(
            numeric(Decimal::new(1_234_567_890_123, 4)),
            [4, 2, 0, 4, 1, 2345, 6789, 123]
        );
        assert_eq!(numeric(Decimal::new(-321, 2)), [2, 0, 0x4000, 2, 3, 2100]);
        assert_eq!(numeric(Decimal::new(10_000, 0)), [1, 1, 0, 0, 1]);
        assert_eq!(numeric(Decimal::new(5, 1)), [1, -1, 0, 1, 5000]);
        assert_eq!(numeric(Decimal::new(0, 4)), [0, 0, 0, 4]);
        // Zero digits inside are kept, only those at the ends dropped.
        assert_eq!(numeric(Decimal::new(100_000_001, 4)), [3, 1, 0, 4, 1, 0, 1]);
        let e20 = 100_000_000_000_000_000_000i128;
        assert_eq!(numeric(Decimal::from_i128_with_scale(e20, 0)), [1, 5, 0, 0, 1]);
        assert_eq!(
            numeric(Decimal::from_i128_with_scale(e20 + 1, 0)),
            [6, 5, 0, 0, 1, 0, 0, 0, 0, 1]
        );
        assert_eq!(numeric(-Decimal::new(0, 2)), [0, 0, 0, 2]);
        // 79228162514264337593543950335 = 7 9228 1625 1426 4337 5935 4395 0335.
        assert_eq!(
            numeric(Decimal::MAX),
            [8, 7, 0, 0, 7, 9228, 1625, 1426, 4337, 5935, 4395, 335]
        );
        // The same digits with 28 after the point: 7.9228 1625 1426 4337 5935 4395 0335.
        assert_eq!(
            numeric(Decimal::from_i128_with_scale(Decimal::MAX.mantissa(), 28)),
            [8, 0, 0, 28, 7, 9228, 1625, 1426, 4337, 5935, 4395, 335]
        );
    }

    #[test]
    fn values_go_in_binary_with_their_length_and_null_as_minus_one() {
        let binary = |v: Value| {
            let mut out = Vec::new();
            v.push_binary(&mut out);
            out
        };
        let d = NaiveDate::from_ymd_opt(2000, 1, 3).unwrap();
        assert_eq!(binary(Value::Date(d)), [0, 0, 0, 4, 0, 0, 0, 2]);
        let before = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap();
        assert_eq!(binary(Value::Date(before)), [0, 0, 0, 4, 255, 255, 255, 255]);
        let t = d.and_hms_milli_opt(0, 0, 1, 5).unwrap();
        let micros = (2 * 86_400 + 1) * 1_000_000 + 5_000i64;
        assert_eq!(binary(Value::Timestamp(t))[4..], micros.to_be_bytes());
        // To the millisecond as the text form has it, before 2000 too: 23:59:59.999(5).
        let late = before.and_hms_micro_opt(23, 59, 59, 999_500).unwrap();
        assert_eq!(pg_micros(late), -1_000);
        let mut text = Vec::new();
        Value::Timestamp(late).push_text(&mut text);
        assert_eq!(text, b"1999-12-31 23:59:59.999");
        assert_eq!(binary(Value::Text("sh.6")), [0, 0, 0, 4, b's', b'h', b'.', b'6']);
        assert_eq!(binary(Value::Bool(Some(true))), [0, 0, 0, 1, 1]);
        assert_eq!(binary(Value::Int2(Some(3))), [0, 0, 0, 2, 0, 3]);
        assert_eq!(binary(Value::Int8(Some(-2)))[4..], (-2i64).to_be_bytes());
        for null in [
            Value::Numeric(None),
            Value::Int8(None),
            Value::Int2(None),
            Value::Bool(None),
        ] {
            assert_eq!(binary(null), [255, 255, 255, 255]);
        }
        assert_eq!(binary(Value::Numeric(Some(Decimal::new(5, 1))))[..4], [0, 0, 0, 10]);
    }

    #[test]
    fn decimals_are_written_as_display_writes_them() {
        let mut values = vec![
            Decimal::ZERO,
            Decimal::new(0, 4),
            -Decimal::new(0, 2),
            Decimal::MAX,
            Decimal::MIN,
        ];
        for scale in 0..=28 {
            for m in [
                1i64,
                7,
                10,
                105_000,
                -302_100,
                1_234_567_890_000,
                i64::MAX,
                i64::MIN + 1,
            ] {
                values.push(Decimal::new(m, scale));
            }
        }
        for d in values {
            let mut out = Vec::new();
            push_decimal(&mut out, &d);
            assert_eq!(String::from_utf8(out).unwrap(), d.to_string(), "{d:?}");
        }
    }

    #[test]
    fn integers_and_dates_are_written_as_display_and_format_write_them() {
        for v in [0i64, 1, -1, 9, 10, -10, 99, 1_000_000, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut out = Vec::new();
            push_int(&mut out, v);
            assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
        let mut d = chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap();
        let end = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap();
        let mut days = vec![chrono::NaiveDate::MIN, chrono::NaiveDate::MAX, end];
        while d < end {
            days.push(d);
            d = d + chrono::Days::new(97);
        }
        for d in days {
            let mut out = Vec::new();
            push_date(&mut out, d);
            assert_eq!(String::from_utf8(out).unwrap(), d.format("%Y-%m-%d").to_string());
        }
    }
}
