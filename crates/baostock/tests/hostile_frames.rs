//! Hostile and broken frames against `decode_reply`, with a counting global allocator: no
//! input panics, and the bytes allocated at once during one decode never pass
//! `Limits::decode_memory_bound()` (about 82 MB with the defaults, see `limits.rs`).
//!
//! The allocator counts per thread, and only while a decode is being measured, so the other
//! tests of this binary running on other threads do not disturb the figures. A `realloc`
//! counts its new size before it releases the old one (the worst case of a moving realloc).
//!
//! That the cell cap is what holds the bound was checked twice: the control test below
//! decodes the same bomb with `max_cells: usize::MAX` and asserts the peak then passes the
//! default bound; and with the two `cells_seen > bounds.max_cells` checks in `json.rs`
//! disabled (`if false && …`), `a_zlib_bomb_of_empty_cells_stays_under_the_bound`,
//! `huge_row_counts_stay_under_the_bound` and `typed_rows_count_the_width_of_their_type`
//! fail (the bomb then decodes to 5.4 million cells with a peak of 153 MB against the
//! bound's 82 MB).

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;

use baostock::frame::{encode_response, MsgType, SERVER_VERSION};
use baostock::value::DAILY_FIELDS;
use baostock::{decode_reply, Data, DecodeError, Limits, Reply};

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static CURRENT: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn grow(n: usize) {
    let _ = MEASURING.try_with(|m| {
        if m.get() {
            let now = CURRENT.get() + n as isize;
            CURRENT.set(now);
            if now > PEAK.get() {
                PEAK.set(now);
            }
        }
    });
}

fn shrink(n: usize) {
    let _ = MEASURING.try_with(|m| {
        if m.get() {
            CURRENT.set(CURRENT.get() - n as isize);
        }
    });
}

// SAFETY: every call is forwarded to `System` unchanged; the bookkeeping only touches
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grow(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrink(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grow(new_size);
            shrink(layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result and the most bytes it had allocated at once (its result
/// included).
fn measure<R>(f: impl FnOnce() -> R) -> (R, usize) {
    CURRENT.set(0);
    PEAK.set(0);
    MEASURING.set(true);
    let r = f();
    MEASURING.set(false);
    (r, PEAK.get().max(0) as usize)
}

type Decoded = Result<Option<(Reply, usize)>, DecodeError>;

/// Decodes `bytes` under `limits`, asserts the peak stays within the bound, returns both.
fn decode_bounded(what: &str, bytes: &[u8], limits: &Limits) -> (Decoded, usize) {
    let (r, peak) = measure(|| decode_reply(bytes, limits));
    let bound = limits.decode_memory_bound();
    assert!(
        peak <= bound,
        "{what}: peak {peak} bytes over the bound {bound} ({} input bytes)",
        bytes.len()
    );
    (r, peak)
}

/// A decode's error, or a short word on its success: never the rows, which would flood a
/// failure message.
fn outcome(r: &Decoded) -> Result<String, DecodeError> {
    match r {
        Ok(None) => Ok("pending".into()),
        Ok(Some((Reply::Table(t), _))) => Ok(format!("a table of {} rows", t.len())),
        Ok(Some((reply, _))) => Ok(format!("{reply:?}").chars().take(200).collect()),
        Err(e) => Err(e.clone()),
    }
}

const MB: f64 = 1e6;

/// A paged body of an untyped query (fields last) with `rows` rows of `cell` × `arity`.
fn untyped_body(rows: usize, arity: usize, cell: &str) -> String {
    let row = format!("[{}]", vec![format!("\"{cell}\""); arity].join(","));
    let mut data = String::with_capacity(12 + rows * (row.len() + 1));
    data.push_str("{\"record\":[");
    for i in 0..rows {
        if i > 0 {
            data.push(',');
        }
        data.push_str(&row);
    }
    data.push_str("]}");
    let fields: Vec<String> = (0..arity).map(|i| format!("f{i}")).collect();
    format!(
        "0\x01success\x01query_untyped_data\x01anonymous\x011\x0110000\x01{data}\x01sh.600000\x01{}",
        fields.join(",")
    )
}

/// Rows needed for a body of about `bytes` bytes.
fn rows_for(bytes: usize, arity: usize, cell: &str) -> usize {
    bytes / (arity * (cell.len() + 3) + 2)
}

fn compressed(body: &str) -> Vec<u8> {
    encode_response(SERVER_VERSION, MsgType::HISTORY_K_REPLY, body)
}

fn plain(body: &str) -> Vec<u8> {
    encode_response(SERVER_VERSION, MsgType::new(*b"18").unwrap(), body)
}

#[test]
fn a_zlib_bomb_of_empty_cells_stays_under_the_bound() {
    let limits = Limits::default();
    // ~16 MB of `["","",…]` (18 empty cells a row): 5.5 million cells from ~180 kB of zlib.
    let rows = rows_for(limits.max_inflated_bytes - 1000, 18, "");
    let body = untyped_body(rows, 18, "");
    assert!(body.len() <= limits.max_inflated_bytes);
    let bomb = compressed(&body);
    assert!(bomb.len() < body.len() / 50, "{} zlib bytes", bomb.len());
    drop(body);
    let (r, peak) = decode_bounded("zlib bomb", &bomb, &limits);
    assert_eq!(
        outcome(&r),
        Err(DecodeError::TooManyCells {
            limit: limits.max_cells
        })
    );
    eprintln!(
        "zlib bomb, {} cells in {} bytes: peak {:.1} MB (bound {:.1} MB)",
        rows * 18,
        bomb.len(),
        peak as f64 / MB,
        limits.decode_memory_bound() as f64 / MB
    );
    // The same cells past the inflate limit stop while inflating.
    let bigger = compressed(&untyped_body(rows * 2, 18, ""));
    let (r, _) = decode_bounded("bigger zlib bomb", &bigger, &limits);
    assert_eq!(
        outcome(&r),
        Err(DecodeError::InflatedTooLarge {
            limit: limits.max_inflated_bytes
        })
    );
}

/// The control experiment: the cell cap is what keeps the bomb under the bound.
#[test]
fn without_the_cell_cap_the_same_bomb_passes_the_bound() {
    let limits = Limits::default();
    let rows = rows_for(limits.max_inflated_bytes - 1000, 18, "");
    let bomb = compressed(&untyped_body(rows, 18, ""));
    let uncapped = Limits {
        max_cells: usize::MAX,
        ..Limits::default()
    };
    let (r, peak) = measure(|| decode_reply(&bomb, &uncapped));
    let Ok(Some((Reply::Table(t), _))) = &r else {
        panic!("{:?}", outcome(&r))
    };
    assert_eq!(t.len(), rows);
    assert!(
        peak > limits.decode_memory_bound(),
        "uncapped peak {peak} not over the bound"
    );
    eprintln!("the bomb without the cell cap: peak {:.1} MB", peak as f64 / MB);
}

#[test]
fn huge_row_counts_stay_under_the_bound() {
    let limits = Limits::default();
    // One-cell rows: the most expensive untyped shape (48 bytes a cell). At the cap it
    // decodes, one more row is refused; both plain and compressed.
    for (arity, cell) in [(1, ""), (1, "7"), (18, "")] {
        let at_cap = limits.max_cells / arity;
        for (rows, ok) in [(at_cap, true), (at_cap + 1, false)] {
            let body = untyped_body(rows, arity, cell);
            for (kind, bytes) in [("plain", plain(&body)), ("compressed", compressed(&body))] {
                let what = format!("{rows} rows of {arity} {cell:?} cells, {kind}");
                let (r, peak) = decode_bounded(&what, &bytes, &limits);
                if ok {
                    let Ok(Some((Reply::Table(t), _))) = &r else {
                        panic!("{what}: {:?}", outcome(&r))
                    };
                    assert_eq!(t.len(), rows, "{what}");
                    eprintln!("{what}: peak {:.1} MB", peak as f64 / MB);
                } else if rows > limits.max_rows {
                    assert_eq!(
                        outcome(&r),
                        Err(DecodeError::TooManyRows { limit: limits.max_rows }),
                        "{what}"
                    );
                } else {
                    assert_eq!(
                        outcome(&r),
                        Err(DecodeError::TooManyCells {
                            limit: limits.max_cells
                        }),
                        "{what}"
                    );
                }
            }
        }
    }
    // Past max_rows with fewer cells than max_cells (the row cap bites first).
    let few_rows = Limits {
        max_rows: 1000,
        ..Limits::default()
    };
    let (r, _) = decode_bounded("1001 rows", &plain(&untyped_body(1001, 1, "")), &few_rows);
    assert_eq!(outcome(&r), Err(DecodeError::TooManyRows { limit: 1000 }));
}

/// A realistic daily bar row (18 fields).
const DAILY_ROW: &str = r#"["2024-01-02","sh.600000","6.6000","6.6500","6.5300","6.5900","6.6100","22066700","146066303.7200","3","0.075200","1","-0.302100","5.123456","0.412345","1.234567","-3.456789","0"]"#;

fn daily_body(rows: usize, row: &str, fields: &str) -> String {
    let data = if rows == 0 {
        String::new()
    } else {
        format!("{{\"record\":[{}]}}", vec![row; rows].join(","))
    };
    format!("0\x01success\x01query_daily_history_k_AStock\x01anonymous\x01{data}\x01{fields}")
}

#[test]
fn typed_rows_count_the_width_of_their_type() {
    let limits = Limits::default();
    let at_cap = limits.max_cells / 18;
    // Full daily bars at the cap decode into typed bars within the bound.
    let bytes = encode_response(
        SERVER_VERSION,
        MsgType::DAILY_ASTOCK_REPLY,
        &daily_body(at_cap, DAILY_ROW, DAILY_FIELDS),
    );
    let (r, peak) = decode_bounded("daily bars at the cap", &bytes, &limits);
    let Ok(Some((Reply::Table(t), _))) = &r else {
        panic!("{:?}", outcome(&r))
    };
    assert!(matches!(&t.data, Data::DailyBars(b) if b.len() == at_cap));
    eprintln!("{at_cap} typed daily bars: peak {:.1} MB", peak as f64 / MB);
    // Bars of two fields weigh 18 cells each: 288-byte bars from 26-byte rows would
    // otherwise pass the bound.
    let narrow = daily_body(at_cap + 1, r#"["2024-01-02","sh.600000"]"#, "date,code");
    let bytes = encode_response(SERVER_VERSION, MsgType::DAILY_ASTOCK_REPLY, &narrow);
    let (r, _) = decode_bounded("narrow daily bars", &bytes, &limits);
    assert_eq!(
        outcome(&r),
        Err(DecodeError::TooManyCells {
            limit: limits.max_cells
        })
    );
}

#[test]
fn huge_declared_lengths_fail_on_the_header_without_buffering() {
    let limits = Limits::default();
    for ty in ["04", "34", "96", "99"] {
        for len in [limits.max_frame_bytes, 1 << 30, 9_999_999_999] {
            let mut bytes = format!("00.9.00\x01{ty}\x01{len:010}").into_bytes();
            bytes.extend_from_slice(b"0\x01success");
            let (r, peak) = decode_bounded("huge length", &bytes, &limits);
            assert_eq!(
                outcome(&r),
                Err(DecodeError::FrameTooLarge {
                    limit: limits.max_frame_bytes
                }),
                "{ty} {len}"
            );
            // The header's version string only.
            assert!(peak <= 64, "{ty} {len}: {peak}");
        }
        // A length that fits, with the body still to come: waits, allocating nothing.
        let bytes = format!("00.9.00\x01{ty}\x01{:010}tiny", 1 << 20).into_bytes();
        let (r, peak) = decode_bounded("pending", &bytes, &limits);
        assert_eq!(outcome(&r), Ok("pending".into()), "{ty}");
        assert!(peak <= 64, "{ty}: {peak}");
    }
    // A plain frame whose body keeps coming without its end: refused once it cannot fit
    // its declared length, still without allocating.
    let mut bytes = format!("00.9.00\x0134\x01{:010}", 1000).into_bytes();
    bytes.resize(21 + 4 * 1000 + 24, b'x');
    let (r, peak) = decode_bounded("endless plain", &bytes, &limits);
    assert_eq!(outcome(&r), Err(DecodeError::BadLength { declared: 1000 }));
    assert!(peak <= 64, "{peak}");
}

#[test]
fn deep_and_odd_json_stays_under_the_bound() {
    let limits = Limits {
        max_inflated_bytes: 4 << 20,
        max_frame_bytes: 4 << 20,
        max_cells: 100_000,
        ..Limits::default()
    };
    let n = 200_000;
    let wrap = |data: String| {
        format!("0\x01success\x01query_untyped_data\x01anonymous\x011\x0110000\x01{data}\x01sh.600000\x01a")
    };
    let cases: Vec<(&str, String)> = vec![
        ("deep arrays", format!("{{\"record\":{}", "[".repeat(n))),
        ("deep objects", "{\"record\":".repeat(n)),
        ("unterminated string", format!("{{\"record\":[[\"{}", "x".repeat(n))),
        ("numbers", format!("{{\"record\":[[{}]]}}", vec!["1"; n].join(","))),
        ("nulls", format!("{{\"record\":[{}]}}", vec!["[null]"; n].join(","))),
        (
            "escaped cells",
            format!(
                "{{\"record\":[{}]}}",
                vec![r#"["\ud83d\ude00\n\u00e9"]"#; 60_000].join(",")
            ),
        ),
        (
            "lone surrogates",
            format!("{{\"record\":[{}]}}", vec![r#"["\ud800"]"#; n].join(",")),
        ),
        (
            "whitespace",
            format!("{{ \"record\" : [ {} ] }}", vec!["[ \"a\" ]"; 60_000].join(" ,\r\t")),
        ),
        (
            "one huge cell",
            format!("{{\"record\":[[\"{}\"]]}}", "é".repeat(900_000)),
        ),
        ("escaped key", "{\"\\u0072ecord\":[[\"a\"]]}".to_string()),
        ("empty record", "{\"record\":[]}".to_string()),
        ("empty rows", format!("{{\"record\":[{}]}}", vec!["[]"; n].join(","))),
        ("trailing junk", format!("{{\"record\":[[\"a\"]]}}{}", "}".repeat(n))),
        ("too many separators", "\x01".repeat(n)),
        ("too many columns", ",".repeat(n)),
    ];
    for (what, data) in cases {
        let body = if what.starts_with("too many") {
            format!("0\x01success\x01query_untyped_data\x01anonymous\x011\x0110000\x01\x01sh.600000\x01{data}")
        } else {
            wrap(data)
        };
        for bytes in [plain(&body), compressed(&body)] {
            let (r, _) = decode_bounded(what, &bytes, &limits);
            match (what, &r) {
                ("escaped cells" | "whitespace" | "one huge cell" | "escaped key" | "empty record", Ok(Some(_))) => {}
                ("too many separators" | "too many columns", Err(DecodeError::TooManyFields { .. })) => {}
                ("empty rows", Err(DecodeError::RowArity { row: 0, got: 0, .. })) => {}
                (_, Err(DecodeError::Json { .. })) => {}
                _ => panic!("{what}: {:?}", outcome(&r)),
            }
        }
    }
}

/// xorshift64*: a small seeded generator, so every run sees the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        let at = rng.below(len);
        match rng.below(8) {
            0 => bytes[at] = rng.next() as u8,
            1 => bytes[at] ^= 1 << rng.below(8),
            2 => bytes.insert(at, rng.next() as u8),
            3 => {
                let n = rng.below(64).min(len - at);
                bytes.drain(at..at + n);
            }
            4 => {
                let n = rng.below(256).min(len - at);
                let copy = bytes[at..at + n].to_vec();
                bytes.splice(at..at, copy);
            }
            5 => {
                // A random length field, now and then a huge one.
                let n = if rng.below(4) == 0 {
                    rng.next() % 10_000_000_000
                } else {
                    rng.next() % (2 * len as u64 + 10)
                };
                if len >= 21 {
                    bytes[11..21].copy_from_slice(format!("{n:010}").as_bytes());
                }
            }
            6 => {
                // Separators, quotes and brackets where they do not belong.
                bytes[at] = *b"\x01\",[]{}\\\n".get(rng.below(9)).unwrap_or(&b'x');
            }
            _ => bytes.truncate(at.max(1)),
        }
        if bytes.is_empty() {
            bytes.push(b'0');
        }
    }
}

#[test]
fn random_mutations_of_the_captures_stay_under_the_bound() {
    let captures = common::all();
    let limits = Limits::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let started = Instant::now();
    let (mut max_peak, mut errors, mut replies, mut pending) = (0usize, 0, 0, 0);
    for case in 0..3000 {
        let c = &captures[rng.below(captures.len())];
        let mut bytes = c.response.clone();
        mutate(&mut rng, &mut bytes);
        let (r, peak) = decode_bounded(&format!("case {case} from {}", c.name), &bytes, &limits);
        // Small inputs keep small peaks: a mutation cannot make a small frame costly (zlib
        // expands at most ~1000 times, then the inflate limit applies).
        assert!(
            peak <= 1100 * bytes.len() + (1 << 20),
            "case {case} from {}: {peak}",
            c.name
        );
        max_peak = max_peak.max(peak);
        match r {
            Ok(Some(_)) => replies += 1,
            Ok(None) => pending += 1,
            Err(_) => errors += 1,
        }
    }
    assert!(
        errors > 1000 && replies > 50,
        "{errors} errors, {replies} replies, {pending} pending"
    );
    eprintln!(
        "3000 mutations: {errors} errors, {replies} replies, {pending} pending, peak {:.2} MB, {:?}",
        max_peak as f64 / MB,
        started.elapsed()
    );
}

#[test]
fn truncations_and_cuts_of_a_capture_stay_under_the_bound() {
    let limits = Limits::default();
    let all = common::all();
    for name in ["query_history_k_data_plus_5min", "query_trade_dates", "_candidates"] {
        let Some(c) = all.iter().find(|c| c.name.starts_with(name)) else {
            panic!("no capture {name}")
        };
        let whole = &c.response;
        let (full, whole_peak) = decode_bounded(&c.name, whole, &limits);
        assert!(
            matches!(full, Ok(Some((_, n))) if n == whole.len()),
            "{}: {:?}",
            c.name,
            outcome(&full)
        );
        for k in 0..whole.len() {
            // Every prefix waits for the rest.
            let (r, peak) = decode_bounded(&format!("{} cut at {k}", c.name), &whole[..k], &limits);
            assert_eq!(outcome(&r), Ok("pending".into()), "{} cut at {k}", c.name);
            assert!(peak <= whole_peak, "{} cut at {k}: {peak} > {whole_peak}", c.name);
            // One byte cut out: an error or, at most, a different reply; never a panic.
            let mut cut = whole.clone();
            cut.remove(k);
            let _ = decode_bounded(&format!("{} without byte {k}", c.name), &cut, &limits);
        }
    }
}

#[test]
fn report_rows_at_the_cell_cap_stay_under_the_bound() {
    use baostock::report::ReportKind;
    let limits = Limits::default();
    // Profit rows count two cells a field: at the cap they decode under the bound, one more
    // row is refused before any is built.
    let kind = ReportKind::Profit;
    let arity = kind.fields().len();
    let at_cap = limits.max_cells / (2 * arity);
    let row = format!(
        "[\"sh.600000\",\"2023-08-31\",\"2023-06-30\"{}]",
        ",\"12345678901234.123456\"".repeat(arity - 3)
    );
    for (rows, ok) in [(at_cap, true), (at_cap + 1, false)] {
        let data = format!("{{\"record\":[{}]}}", vec![row.as_str(); rows].join(","));
        let body = format!(
            "0\x01success\x01{}\x01anonymous\x011\x0110000\x01{data}\x01sh.600000\x012023\x012\x01{}",
            kind.method(),
            kind.field_list()
        );
        let what = format!("{rows} profit rows");
        let (r, peak) = decode_bounded(&what, &compressed(&body), &limits);
        if ok {
            let Ok(Some((Reply::Table(t), _))) = &r else {
                panic!("{what}: {:?}", outcome(&r))
            };
            assert_eq!(t.len(), rows);
            eprintln!("{what}: peak {:.1} MB", peak as f64 / MB);
        } else {
            assert_eq!(
                outcome(&r),
                Err(DecodeError::TooManyCells {
                    limit: limits.max_cells
                })
            );
        }
    }
}
