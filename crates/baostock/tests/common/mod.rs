//! Loads the real server captures from `../shared/baostock-captures` (never copied here).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One captured exchange.
pub struct Capture {
    /// Path below the captures folder, e.g. `query_all_stock` or `_candidates/query_st_stocks/round2`.
    pub name: String,
    pub request: Vec<u8>,
    pub response: Vec<u8>,
    pub meta: BTreeMap<String, String>,
}

impl Capture {
    /// `fields=['a', 'b']` from meta.txt as a list.
    pub fn meta_fields(&self) -> Option<Vec<String>> {
        let raw = self.meta.get("fields")?;
        let inner = raw.trim().strip_prefix('[')?.strip_suffix(']')?;
        if inner.trim().is_empty() {
            return Some(Vec::new());
        }
        Some(inner.split(", ").map(|s| s.trim_matches('\'').to_string()).collect())
    }

    /// `first_row=[...]` from meta.txt as a list.
    pub fn meta_first_row(&self) -> Option<Vec<String>> {
        let raw = self.meta.get("first_row")?;
        let inner = raw.trim().strip_prefix('[')?.strip_suffix(']')?;
        Some(inner.split(", ").map(|s| s.trim_matches('\'').to_string()).collect())
    }

    /// Error code and full message: meta.txt cuts `error_msg` mid-character, so the
    /// message is taken from `body_preview` (`code|message|crc...`) when present.
    pub fn meta_error(&self) -> (String, Option<String>) {
        let code = self.meta.get("error_code").cloned().unwrap_or_default();
        let msg = match self.meta.get("body_preview") {
            Some(p) if code != "0" => p.split('|').nth(1).map(str::to_string),
            _ => self.meta.get("error_msg").cloned(),
        };
        (code, msg)
    }
}

/// The captures folder: `$BAOSTOCK_CAPTURES`, or `shared/baostock-captures` beside the repo.
pub fn captures_dir() -> PathBuf {
    if let Ok(p) = std::env::var("BAOSTOCK_CAPTURES") {
        return PathBuf::from(p);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/baostock-captures")
}

/// Every capture, sorted by name. Panics when the folder is missing: a run without the
/// ground truth must not pass silently.
pub fn all() -> Vec<Capture> {
    let root = captures_dir();
    assert!(
        root.is_dir(),
        "captures not found at {} (set BAOSTOCK_CAPTURES)",
        root.display()
    );
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(out.len() >= 40, "expected the 40+ captures, found {}", out.len());
    out
}

/// The capture with this name.
pub fn get(name: &str) -> Capture {
    all()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no capture {name}"))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<Capture>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read captures dir").flatten().collect();
    entries.sort_by_key(|e| e.path());
    if dir.join("response.bin").is_file() {
        let meta = std::fs::read_to_string(dir.join("meta.txt")).unwrap_or_default();
        let meta = meta
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        out.push(Capture {
            name: dir.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
            request: std::fs::read(dir.join("request.bin")).expect("request.bin"),
            response: std::fs::read(dir.join("response.bin")).expect("response.bin"),
            meta,
        });
    }
    for e in entries {
        if e.path().is_dir() {
            walk(root, &e.path(), out);
        }
    }
}
