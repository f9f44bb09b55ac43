//! The `data` element of a response: `{"record":[["s","s",...],...]}`, every cell a string,
//! or the empty string for no rows. A small strict parser, bounded in rows and cells, and its
//! writer.
//!
//! Rows are read in two passes over the text: the first checks the syntax, the arity of every
//! row and the bounds while allocating nothing (it fails as soon as a count passes its
//! bound); the second builds the rows, with exact capacities. Cells without escapes are
//! borrowed from the text.

use std::borrow::Cow;

use crate::error::DecodeError;

/// Parses a `data` element into rows of cells, checking every row against `arity` and the
/// row count against `max_rows`. The empty string means no rows. Allocates exactly
/// `rows × arity` cells (after a first pass that allocates nothing), so `max_rows × arity`
/// bounds its memory.
pub fn parse_records(data: &str, arity: usize, max_rows: usize) -> Result<Vec<Vec<String>>, DecodeError> {
    let bounds = Bounds {
        max_rows,
        max_cells: usize::MAX,
        cells_per_row: 0,
    };
    let n = count_records(data, arity, bounds)?;
    let mut rows = Vec::with_capacity(n);
    for_each_record(data, arity, bounds, |_, cells| {
        rows.push(cells.iter().map(|c| c.as_ref().to_owned()).collect());
        Ok(())
    })?;
    Ok(rows)
}

/// Bounds on one data element.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// Most rows.
    pub max_rows: usize,
    /// Most cells, counted one by one as they are parsed.
    pub max_cells: usize,
    /// A row counts for at least this many cells (typed rows: the fields of their type).
    pub cells_per_row: usize,
}

/// Checks a data element (syntax, arity, bounds) and returns its number of rows, allocating
/// nothing.
pub(crate) fn count_records(data: &str, arity: usize, bounds: Bounds) -> Result<usize, DecodeError> {
    walk(data, arity, bounds, false, |_, _| Ok(()))
}

/// Calls `row(index, cells)` for every row of a data element, in order; cells without
/// escapes are borrowed from `data`. Performs the same checks as [`count_records`] (call that
/// first to size the output: a failure here may come after some rows were delivered).
pub(crate) fn for_each_record<'a>(
    data: &'a str,
    arity: usize,
    bounds: Bounds,
    row: impl FnMut(usize, &[Cow<'a, str>]) -> Result<(), DecodeError>,
) -> Result<usize, DecodeError> {
    walk(data, arity, bounds, true, row)
}

fn walk<'a>(
    data: &'a str,
    arity: usize,
    bounds: Bounds,
    build: bool,
    mut on_row: impl FnMut(usize, &[Cow<'a, str>]) -> Result<(), DecodeError>,
) -> Result<usize, DecodeError> {
    let mut p = Parser {
        text: data,
        s: data.as_bytes(),
        i: 0,
    };
    p.ws();
    if p.i == p.s.len() {
        return Ok(0);
    }
    p.expect(b'{')?;
    let key = p.string()?;
    if p.cell(key)? != "record" {
        return Err(p.err("expected the key \"record\""));
    }
    p.expect(b':')?;
    p.expect(b'[')?;
    let too_many_cells = DecodeError::TooManyCells {
        limit: bounds.max_cells,
    };
    let row_extra = bounds.cells_per_row.saturating_sub(arity);
    let mut cells_seen = 0usize;
    let mut rows = 0usize;
    let mut cells: Vec<Cow<'a, str>> = if build { Vec::with_capacity(arity) } else { Vec::new() };
    if !p.eat(b']') {
        loop {
            if rows == bounds.max_rows {
                return Err(DecodeError::TooManyRows { limit: bounds.max_rows });
            }
            p.expect(b'[')?;
            cells.clear();
            let mut got = 0usize;
            if !p.eat(b']') {
                loop {
                    let raw = p.string()?;
                    got += 1;
                    cells_seen += 1;
                    if cells_seen > bounds.max_cells {
                        return Err(too_many_cells);
                    }
                    if build && got <= arity {
                        cells.push(p.cell(raw)?);
                    }
                    if p.eat(b']') {
                        break;
                    }
                    p.expect(b',')?;
                }
            }
            if got != arity {
                return Err(DecodeError::RowArity {
                    row: rows,
                    expected: arity,
                    got,
                });
            }
            cells_seen = cells_seen.saturating_add(row_extra);
            if cells_seen > bounds.max_cells {
                return Err(too_many_cells);
            }
            on_row(rows, &cells)?;
            rows += 1;
            if p.eat(b']') {
                break;
            }
            p.expect(b',')?;
        }
    }
    p.expect(b'}')?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(rows)
}

/// Writes rows as the server does: compact JSON, raw UTF-8, the empty string for no rows.
pub fn write_records<R, C>(rows: R) -> String
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = C>,
    C: AsRef<str>,
{
    let mut out = String::new();
    for (i, row) in rows.into_iter().enumerate() {
        out.push_str(if i == 0 { "{\"record\":[[" } else { ",[" });
        for (j, cell) in row.into_iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_string(&mut out, cell.as_ref());
        }
        out.push(']');
    }
    if !out.is_empty() {
        out.push_str("]}");
    }
    out
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
}

/// A string token: the bytes between its quotes, and whether it holds escapes.
#[derive(Clone, Copy)]
struct RawString {
    start: usize,
    end: usize,
    escaped: bool,
}

impl<'a> Parser<'a> {
    fn err(&self, reason: &'static str) -> DecodeError {
        DecodeError::Json { offset: self.i, reason }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), DecodeError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(match c {
                b'{' => "expected '{'",
                b'}' => "expected '}'",
                b'[' => "expected '['",
                b']' => "expected ']'",
                b':' => "expected ':'",
                _ => "expected ','",
            }))
        }
    }

    /// Scans and checks a string (escapes included) without allocating.
    fn string(&mut self) -> Result<RawString, DecodeError> {
        self.ws();
        if self.s.get(self.i) != Some(&b'"') {
            return Err(self.err("expected a string"));
        }
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            match b {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Ok(RawString { start, end, escaped });
                }
                b'\\' => {
                    self.i += 1;
                    self.escape()?;
                    escaped = true;
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => self.i += 1,
            }
        }
    }

    /// The text of a scanned string: borrowed when it has no escapes.
    fn cell(&self, raw: RawString) -> Result<Cow<'a, str>, DecodeError> {
        // Both ends sit next to an ASCII quote, so they are character boundaries.
        let text = &self.text[raw.start..raw.end];
        if !raw.escaped {
            return Ok(Cow::Borrowed(text));
        }
        // Escapes only shrink the text: the capacity is at most the raw length.
        let mut out = String::with_capacity(text.len());
        let mut sub = Parser {
            text,
            s: text.as_bytes(),
            i: 0,
        };
        while sub.i < sub.s.len() {
            let rest = &text[sub.i..];
            let plain = rest.find('\\').unwrap_or(rest.len());
            out.push_str(&rest[..plain]);
            sub.i += plain;
            if sub.i < sub.s.len() {
                sub.i += 1;
                out.push(sub.escape()?);
            }
        }
        Ok(Cow::Owned(out))
    }

    /// Reads the escape after a backslash.
    fn escape(&mut self) -> Result<char, DecodeError> {
        let Some(&e) = self.s.get(self.i) else {
            return Err(self.err("unterminated escape"));
        };
        self.i += 1;
        Ok(match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return Err(self.err("unknown escape")),
        })
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(self.err("bad \\u escape"));
        }
        let n = digits
            .iter()
            .fold(0u32, |n, &d| n * 16 + char::from(d).to_digit(16).unwrap_or(0));
        self.i += 4;
        Ok(n)
    }

    fn unicode_escape(&mut self) -> Result<char, DecodeError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(self.i..self.i + 2) != Some(b"\\u") {
                return Err(self.err("lone surrogate"));
            }
            self.i += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err("lone surrogate"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err("lone surrogate"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_the_server_form() {
        let text = r#"{"record":[["sh.600000","浦发银行","1999-11-10","","1","1"]]}"#;
        let rows = parse_records(text, 6, 10).unwrap();
        assert_eq!(rows[0][1], "浦发银行");
        assert_eq!(rows[0][3], "");
        assert_eq!(write_records(&rows), text);
    }

    #[test]
    fn empty_string_is_no_rows_and_writes_back_empty() {
        assert!(parse_records("", 3, 10).unwrap().is_empty());
        assert_eq!(write_records(Vec::<Vec<String>>::new()), "");
    }

    #[test]
    fn escapes_round_trip() {
        let rows = vec![vec!["a\"b\\c\nd\u{1}é😀".to_string()]];
        let text = write_records(&rows);
        assert_eq!(parse_records(&text, 1, 1).unwrap(), rows);
        assert_eq!(
            parse_records(r#"{"record":[["\ud83d\ude00\/"]]}"#, 1, 1).unwrap()[0][0],
            "😀/"
        );
    }

    #[test]
    fn each_defect_has_its_own_error() {
        assert!(matches!(
            parse_records(r#"{"record":[["a"],["b","c"]]}"#, 1, 9),
            Err(DecodeError::RowArity {
                row: 1,
                expected: 1,
                got: 2
            })
        ));
        assert_eq!(
            parse_records(r#"{"record":[["a"],["b"]]}"#, 1, 1),
            Err(DecodeError::TooManyRows { limit: 1 })
        );
        assert!(matches!(
            parse_records(r#"{"record":[[1]]}"#, 1, 9),
            Err(DecodeError::Json { .. })
        ));
        assert!(matches!(
            parse_records(r#"{"rows":[]}"#, 1, 9),
            Err(DecodeError::Json { .. })
        ));
        assert!(matches!(
            parse_records(r#"{"record":[["a"]]}x"#, 1, 9),
            Err(DecodeError::Json { .. })
        ));
        assert!(matches!(
            parse_records(r#"{"record":[["\ud800"]]}"#, 1, 9),
            Err(DecodeError::Json { .. })
        ));
    }
}
