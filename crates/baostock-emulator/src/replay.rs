//! Replay mode: answer the captured requests with the captured response bytes, verbatim.
//!
//! A request matches a capture when its bytes equal the captured request's bytes with the
//! 7-character client version and the crc left out (the crc covers the version, which differs
//! between clients). Every logout (type `02`) gets the captured logout answer. A request with
//! no capture gets `04` `10004020`. Captures at the top of the directory win over those under
//! `_candidates/` when two share a request.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

/// One captured exchange.
#[derive(Clone, Debug)]
pub struct Capture {
    /// Directory of the capture, relative to the replay root (`login`, `_candidates/x/round1`).
    pub name: String,
    /// The request bytes as captured.
    pub request: Vec<u8>,
    /// The response bytes as captured.
    pub response: Vec<u8>,
}

/// The loaded captures.
#[derive(Clone, Debug)]
pub struct Replay {
    captures: Vec<Capture>,
    by_key: HashMap<Vec<u8>, usize>,
    logout: Option<usize>,
}

/// The part of a request that identifies it: everything after the version, up to the last
/// `\x01` (the crc and the newline left out).
pub fn request_key(request: &[u8]) -> Vec<u8> {
    let rest = request.get(7..).unwrap_or_default();
    let end = rest.iter().rposition(|&b| b == 0x01).unwrap_or(rest.len());
    rest[..end].to_vec()
}

fn collect(dir: &Path, root: &Path, out: &mut Vec<Capture>) -> io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let req = dir.join("request.bin");
    let resp = dir.join("response.bin");
    if req.is_file() && resp.is_file() {
        let name = dir.strip_prefix(root).unwrap_or(dir).to_string_lossy().into_owned();
        out.push(Capture {
            name,
            request: std::fs::read(req)?,
            response: std::fs::read(resp)?,
        });
    }
    for e in entries {
        if e.is_dir() {
            collect(&e, root, out)?;
        }
    }
    Ok(())
}

impl Replay {
    /// Loads every `request.bin`/`response.bin` pair under `dir`.
    pub fn load(dir: &Path) -> io::Result<Replay> {
        let mut captures = Vec::new();
        collect(dir, dir, &mut captures)?;
        if captures.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("no captures under {}", dir.display()),
            ));
        }
        // Top-level captures first, so they win over `_candidates/`.
        captures.sort_by_key(|c| (c.name.matches('/').count(), c.name.clone()));
        let mut by_key = HashMap::new();
        let mut logout = None;
        for (i, c) in captures.iter().enumerate() {
            by_key.entry(request_key(&c.request)).or_insert(i);
            if c.request.get(8..10) == Some(b"02") && logout.is_none() {
                logout = Some(i);
            }
        }
        Ok(Replay {
            captures,
            by_key,
            logout,
        })
    }

    /// Every capture loaded.
    pub fn captures(&self) -> &[Capture] {
        &self.captures
    }

    /// The capture answering a request, if any.
    pub fn find(&self, request: &[u8]) -> Option<&Capture> {
        if request.get(8..10) == Some(b"02") {
            return self.logout.map(|i| &self.captures[i]);
        }
        self.by_key.get(&request_key(request)).map(|&i| &self.captures[i])
    }
}
