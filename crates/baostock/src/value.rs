//! Strict parsers for the cell formats of PROTOCOL.md §4, and the small enums of the API.

use std::fmt;
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
pub use rust_decimal::Decimal;

/// Why a cell did not parse; the caller adds the row and field.
pub type CellError = &'static str;

/// Parses `YYYY-MM-DD` exactly: ten characters, zero-padded, a real calendar day.
pub fn parse_date(s: &str) -> Result<NaiveDate, CellError> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return Err("not a YYYY-MM-DD date");
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let year = i32::try_from(n(0..4)).map_err(|_| "year out of range")?;
    NaiveDate::from_ymd_opt(year, n(5..7), n(8..10)).ok_or("no such calendar day")
}

/// Formats a date as the protocol does.
pub fn format_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses the 17-digit bar end time `YYYYMMDDHHMMSSmmm`.
pub fn parse_minute_time(s: &str) -> Result<NaiveDateTime, CellError> {
    if s.len() != 17 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err("not a 17-digit YYYYMMDDHHMMSSmmm time");
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
    let year = i32::try_from(n(0..4)).map_err(|_| "year out of range")?;
    let date = NaiveDate::from_ymd_opt(year, n(4..6), n(6..8)).ok_or("no such calendar day")?;
    let time = NaiveTime::from_hms_milli_opt(n(8..10), n(10..12), n(12..14), n(14..17)).ok_or("no such time of day")?;
    Ok(date.and_time(time))
}

/// Formats a bar end time as 17 digits.
pub fn format_minute_time(t: NaiveDateTime) -> String {
    t.format("%Y%m%d%H%M%S%3f").to_string()
}

/// Parses a decimal number exactly as written (`-?digits(.digits)?`), keeping its scale, so
/// `"8.9400"` stays 8.9400. No exponents, signs other than a leading `-`, or spaces.
pub fn parse_decimal(s: &str) -> Result<Decimal, CellError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let ok = !int.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()));
    if !ok {
        return Err("not a decimal number");
    }
    Decimal::from_str_exact(s).map_err(|_| "decimal out of range")
}

/// Parses a whole number (volumes): `-?digits`, fitting in i64.
pub fn parse_integer(s: &str) -> Result<i64, CellError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err("not an integer");
    }
    s.parse().map_err(|_| "integer out of range")
}

/// Parses a `0`/`1` flag.
pub fn parse_flag(s: &str) -> Result<bool, CellError> {
    match s {
        "0" => Ok(false),
        "1" => Ok(true),
        _ => Err("not a 0/1 flag"),
    }
}

/// Parses a small code such as a security type or status.
pub fn parse_small(s: &str) -> Result<i16, CellError> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err("not a small whole number");
    }
    s.parse().map_err(|_| "not a small whole number")
}

/// Bar frequency of `query_history_k_data_plus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Frequency {
    Daily,
    Weekly,
    Monthly,
    Min5,
    Min15,
    Min30,
    Min60,
}

impl Frequency {
    pub const ALL: [Frequency; 7] = [
        Frequency::Daily,
        Frequency::Weekly,
        Frequency::Monthly,
        Frequency::Min5,
        Frequency::Min15,
        Frequency::Min30,
        Frequency::Min60,
    ];

    /// The protocol's code: `d w m 5 15 30 60`.
    pub fn code(self) -> &'static str {
        match self {
            Frequency::Daily => "d",
            Frequency::Weekly => "w",
            Frequency::Monthly => "m",
            Frequency::Min5 => "5",
            Frequency::Min15 => "15",
            Frequency::Min30 => "30",
            Frequency::Min60 => "60",
        }
    }

    /// Minutes in one bar, for the intraday frequencies.
    pub fn minutes(self) -> Option<u32> {
        match self {
            Frequency::Min5 => Some(5),
            Frequency::Min15 => Some(15),
            Frequency::Min30 => Some(30),
            Frequency::Min60 => Some(60),
            _ => None,
        }
    }

    /// The full field list the server accepts for this frequency (PROTOCOL.md §4).
    pub fn fields(self) -> &'static str {
        match self {
            Frequency::Daily => DAILY_FIELDS,
            Frequency::Weekly | Frequency::Monthly => PERIOD_FIELDS,
            _ => MINUTE_FIELDS,
        }
    }
}

/// Every field of a daily bar, in the server's order.
pub const DAILY_FIELDS: &str = "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,peTTM,pbMRQ,psTTM,pcfNcfTTM,isST";
/// Every field of a weekly or monthly bar.
pub const PERIOD_FIELDS: &str = "date,code,open,high,low,close,volume,amount,adjustflag,turn,pctChg";
/// Every field of a minute bar.
pub const MINUTE_FIELDS: &str = "date,time,code,open,high,low,close,volume,amount,adjustflag";
/// Fields of an adjust factor row (15 and 9C).
pub const ADJUST_FACTOR_FIELDS: &str = "code,dividOperateDate,foreAdjustFactor,backAdjustFactor,adjustFactor";

impl FromStr for Frequency {
    type Err = CellError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Frequency::ALL
            .into_iter()
            .find(|f| f.code() == s)
            .ok_or("not a frequency (d w m 5 15 30 60)")
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Price adjustment of bars.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdjustFlag {
    /// `1`: back-adjusted (hfq).
    Back,
    /// `2`: forward-adjusted (qfq).
    Forward,
    /// `3`: unadjusted, the server's default.
    None,
}

impl AdjustFlag {
    pub const ALL: [AdjustFlag; 3] = [AdjustFlag::Back, AdjustFlag::Forward, AdjustFlag::None];

    pub fn code(self) -> &'static str {
        match self {
            AdjustFlag::Back => "1",
            AdjustFlag::Forward => "2",
            AdjustFlag::None => "3",
        }
    }

    /// The code as a number (what a smallint column holds).
    pub fn number(self) -> i16 {
        match self {
            AdjustFlag::Back => 1,
            AdjustFlag::Forward => 2,
            AdjustFlag::None => 3,
        }
    }
}

impl FromStr for AdjustFlag {
    type Err = CellError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AdjustFlag::ALL
            .into_iter()
            .find(|a| a.code() == s)
            .ok_or("not an adjust flag (1 2 3)")
    }
}

impl fmt::Display for AdjustFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjust_flag_is_its_code_as_a_number() {
        for a in AdjustFlag::ALL {
            assert_eq!(a.number().to_string(), a.code());
        }
    }

    #[test]
    fn dates_are_strict() {
        assert_eq!(
            parse_date("2024-01-02").unwrap(),
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()
        );
        for bad in [
            "2024-1-02",
            "2024-02-30",
            "2024/01/02",
            " 2024-01-02",
            "20240102",
            "2024-01-0a",
            "",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn minute_times_are_strict() {
        let t = parse_minute_time("20240102093500000").unwrap();
        assert_eq!(format_minute_time(t), "20240102093500000");
        for bad in [
            "2024010209350000",
            "20240102253500000",
            "2024010209350000x",
            "20240230093500000",
        ] {
            assert!(parse_minute_time(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn decimals_keep_their_exact_text() {
        for s in ["8.9400", "6.2070789300", "-0.302100", "146066303.7200", "0", "22066700"] {
            assert_eq!(parse_decimal(s).unwrap().to_string(), s);
        }
        for bad in ["", "1e5", "+1", "1.", ".5", "1,0", " 1", "1_000", "NaN", "--1"] {
            assert!(parse_decimal(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn enums_round_trip_their_codes() {
        for f in Frequency::ALL {
            assert_eq!(f.code().parse::<Frequency>(), Ok(f));
        }
        for a in AdjustFlag::ALL {
            assert_eq!(a.code().parse::<AdjustFlag>(), Ok(a));
        }
        assert!("4".parse::<AdjustFlag>().is_err());
        assert!("1".parse::<Frequency>().is_err());
    }
}
