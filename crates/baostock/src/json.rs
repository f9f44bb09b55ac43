//! The `data` element of a response: `{"record":[["s","s",...],...]}`, every cell a string,
//! or the empty string for no rows. A small strict parser, bounded in rows, and its writer.

use crate::error::DecodeError;

/// Parses a `data` element into rows of cells, checking every row against `arity` and the
/// row count against `max_rows`. The empty string means no rows.
pub fn parse_records(data: &str, arity: usize, max_rows: usize) -> Result<Vec<Vec<String>>, DecodeError> {
    let mut p = Parser {
        s: data.as_bytes(),
        i: 0,
    };
    p.ws();
    if p.i == p.s.len() {
        return Ok(Vec::new());
    }
    p.expect(b'{')?;
    let key = p.string()?;
    if key != "record" {
        return Err(p.err("expected the key \"record\""));
    }
    p.expect(b':')?;
    p.expect(b'[')?;
    let mut rows = Vec::new();
    if !p.eat(b']') {
        loop {
            if rows.len() == max_rows {
                return Err(DecodeError::TooManyRows { limit: max_rows });
            }
            p.expect(b'[')?;
            let mut row = Vec::with_capacity(arity);
            if !p.eat(b']') {
                loop {
                    row.push(p.string()?);
                    if p.eat(b']') {
                        break;
                    }
                    p.expect(b',')?;
                }
            }
            if row.len() != arity {
                return Err(DecodeError::RowArity {
                    row: rows.len(),
                    expected: arity,
                    got: row.len(),
                });
            }
            rows.push(row);
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
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
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

    fn string(&mut self) -> Result<String, DecodeError> {
        self.ws();
        if self.s.get(self.i) != Some(&b'"') {
            return Err(self.err("expected a string"));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.i += 1;
                    let c = match e {
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
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0x00..=0x1f => return Err(self.err("control character in string")),
                _ => out.push(b),
            }
        }
        // The input is a &str and escapes produce whole chars, so this cannot fail.
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8 in string"))
    }

    fn hex4(&mut self) -> Result<u32, DecodeError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let text = std::str::from_utf8(digits).map_err(|_| self.err("bad \\u escape"))?;
        let n = u32::from_str_radix(text, 16).map_err(|_| self.err("bad \\u escape"))?;
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
