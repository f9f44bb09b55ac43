//! The control port: one command a line, one JSON object a line back.
//!
//! | command | effect |
//! |---|---|
//! | `counters` | `{"ok":true,"counters":{...}}` (see [`crate::Counters::to_json`]) |
//! | `reset-counters` | zero the counters |
//! | `latency fast` / `latency realistic` | a latency profile |
//! | `latency base_ms=N jitter_ms=N per_byte_ns=N type.35=MS ...` | a custom latency model |
//! | `faults none` | no faults |
//! | `faults reset=PPM fin=PPM ... script=98:3:reset idle_ms=N error_code=C drip_chunk=N drip_ms=N` | fault settings (rates in parts per million, modes as in `--fault`) |
//! | `override CODE DATE FIELD VALUE` | replace one daily bar cell (`VALUE` may be `""` for empty) |
//! | `clear-overrides` | remove every override |
//! | `corporate-action CODE YYYY-MM-DD RATIO_PPM` | add a dividend or split at the open of that day (price ratio before / after in parts per million, e.g. `1025000`) |
//! | `clear-corporate-actions` | remove every corporate action added at run time |
//! | `publish official` / `publish always` | the publication schedule: the real server's hours and history floors, or every day from its start with no floors |
//! | `publish KIND HH:MM[:SS]` / `publish KIND none` | the China time `KIND` (`daily`, `factors`, `minute`, `weekly`, `monthly`, `constituents`, `reports`) is published at on its release day, or none: from the start of the day |
//! | `publish HH:MM[:SS]` / `publish none` | aliases of `publish daily HH:MM[:SS]` / `publish daily none` |
//! | `clock YYYY-MM-DDTHH:MM:SS[.fff]` / `clock none` | fix the emulator's China time (frozen) |
//! | `clock YYYY-MM-DDTHH:MM:SS[.fff] running` | set the China time and let it run on with real time |
//! | `all-market-from YYYY-MM-DD` / `all-market-from none` | first day 98/9A/9C have rows for (earlier days: no rows; 95 and 15 unaffected) |
//! | `sessions max=N|none blacklist_ms=N|none daily_limit=N|none` | session limit per IP, blacklist period, requests per IP per emulator day (beyond: `10001011` and blacklisted for the period, 24 h without one); settings left out are reset |
//! | `clear-blacklist` | lift every blacklisting (and forget the day's request counts) |
//! | `status` | current settings (the publication per kind, the floors, the last published day per kind), the clock's mode and the requests by IP today |
//! | `quit` | close this control connection |
//!
//! Errors answer `{"ok":false,"error":"..."}`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::controls::{json_escape, Controls, FaultConfig, LatencyConfig, SessionConfig};
use crate::publication::{Kind, Schedule};
use crate::Shared;

/// Longest command line accepted.
const MAX_LINE: usize = 4096;

pub(crate) async fn serve(shared: Arc<Shared>, listener: TcpListener, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let s = shared.clone();
                tokio::spawn(async move {
                    let (r, mut w) = stream.into_split();
                    let mut lines = BufReader::new(r);
                    let mut line = String::new();
                    loop {
                        line.clear();
                        match (&mut lines).take(MAX_LINE as u64).read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let cmd = line.trim();
                        if cmd == "quit" {
                            let _ = w.write_all(b"{\"ok\":true}\n").await;
                            return;
                        }
                        let mut answer = execute(&s.controls, cmd);
                        answer.push('\n');
                        if w.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        }
    }
}

fn ok() -> String {
    "{\"ok\":true}".to_owned()
}

fn err(msg: &str) -> String {
    format!("{{\"ok\":false,\"error\":\"{}\"}}", json_escape(msg))
}

fn ms(v: &str) -> Result<Duration, String> {
    v.parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| format!("not a number of milliseconds: {v:?}"))
}

/// Parses `key=value` latency settings (or a profile name).
pub fn parse_latency(args: &[&str]) -> Result<LatencyConfig, String> {
    if let [name] = args {
        if let Some(p) = LatencyConfig::profile(name) {
            return Ok(p);
        }
    }
    let mut l = LatencyConfig::fast();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {a:?}"))?;
        match k {
            "base_ms" => l.base = ms(v)?,
            "jitter_ms" => l.jitter = ms(v)?,
            "per_byte_ns" => l.per_byte_ns = v.parse().map_err(|_| format!("bad per_byte_ns {v:?}"))?,
            _ if k.starts_with("type.") => {
                l.per_type.insert(k[5..].to_owned(), ms(v)?);
            }
            _ => return Err(format!("unknown latency setting {k:?}")),
        }
    }
    Ok(l)
}

/// Parses `mode=ppm`, `script=T:N:MODE`, `idle_ms=`, `error_code=`, `drip_chunk=`, `drip_ms=`.
pub fn parse_faults(args: &[&str]) -> Result<FaultConfig, String> {
    let mut f = FaultConfig::default();
    if args == ["none"] {
        return Ok(f);
    }
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {a:?}"))?;
        match k {
            "script" => f.script.push(v.parse()?),
            "idle_ms" => f.idle_timeout = Some(ms(v)?),
            "error_code" => f.error_code = v.to_owned(),
            "drip_chunk" => f.drip_chunk = v.parse().map_err(|_| format!("bad drip_chunk {v:?}"))?,
            "drip_ms" => f.drip_interval = ms(v)?,
            _ => {
                let mode = k.parse()?;
                let ppm = v.parse().map_err(|_| format!("bad rate {v:?} (parts per million)"))?;
                f.rates.insert(mode, ppm);
            }
        }
    }
    Ok(f)
}

/// Parses `HH:MM` or `HH:MM:SS`.
pub fn parse_time(v: &str) -> Result<NaiveTime, String> {
    NaiveTime::parse_from_str(v, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(v, "%H:%M"))
        .map_err(|_| format!("not a time of day: {v:?}"))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(v: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| format!("not a date: {v:?}"))
}

/// Parses `YYYY-MM-DDTHH:MM:SS` (or with a space), with optional fractional seconds.
pub fn parse_datetime(v: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|_| format!("not a date and time: {v:?}"))
}

/// A `publish` command: a preset, or one kind's hour.
enum Publish {
    Preset(Schedule),
    Hour(Kind, Option<NaiveTime>),
}

/// An hour or `none`.
fn parse_hour(v: &str) -> Result<Option<NaiveTime>, String> {
    if v == "none" {
        Ok(None)
    } else {
        parse_time(v).map(Some)
    }
}

/// Parses the arguments of `publish`: `official`, `always`, `KIND HH:MM[:SS]|none`, or the
/// daily aliases `HH:MM[:SS]|none`.
fn parse_publish(args: &[&str]) -> Result<Publish, String> {
    const USAGE: &str = "usage: publish official|always|HH:MM[:SS]|none, or publish KIND HH:MM[:SS]|none \
                         (KIND: daily factors minute weekly monthly constituents reports)";
    match args {
        [v] => match Schedule::preset(v) {
            Some(schedule) => Ok(Publish::Preset(schedule)),
            None => parse_hour(v)
                .map(|h| Publish::Hour(Kind::Daily, h))
                .map_err(|e| format!("{e}; {USAGE}")),
        },
        [kind, v] => {
            let kind = Kind::from_name(kind).ok_or_else(|| format!("unknown kind {kind:?}; {USAGE}"))?;
            parse_hour(v).map(|h| Publish::Hour(kind, h))
        }
        _ => Err(USAGE.into()),
    }
}

/// `{"preset":"official"|"always"|null,"daily":"17:30:00"|null,…,"floors":true}`.
fn publication_json(schedule: &Schedule) -> String {
    let hours: Vec<String> = Kind::ALL
        .iter()
        .map(|k| {
            let hour = schedule
                .hour(*k)
                .map_or("null".to_owned(), |t| format!("\"{}\"", t.format("%H:%M:%S")));
            format!("\"{k}\":{hour}")
        })
        .collect();
    format!(
        "{{\"preset\":{},{},\"floors\":{}}}",
        schedule.preset_name().map_or("null".to_owned(), |n| format!("\"{n}\"")),
        hours.join(","),
        schedule.floors
    )
}

/// `{"daily":"YYYY-MM-DD",…}`: the last published day of every kind now.
fn last_published_json(c: &Controls) -> String {
    let publication = c.current_publication();
    let days: Vec<String> = Kind::ALL
        .iter()
        .map(|k| format!("\"{k}\":\"{}\"", publication.last_published(*k).format("%Y-%m-%d")))
        .collect();
    format!("{{{}}}", days.join(","))
}

fn parse_sessions(args: &[&str]) -> Result<SessionConfig, String> {
    let mut s = SessionConfig::default();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {a:?}"))?;
        match (k, v) {
            ("max", "none") => s.max_per_ip = None,
            ("max", n) => s.max_per_ip = Some(n.parse().map_err(|_| format!("bad max {n:?}"))?),
            ("blacklist_ms", "none") => s.blacklist_for = None,
            ("blacklist_ms", n) => s.blacklist_for = Some(ms(n)?),
            ("daily_limit", "none") => s.daily_limit = None,
            ("daily_limit", n) => s.daily_limit = Some(n.parse().map_err(|_| format!("bad daily_limit {n:?}"))?),
            _ => return Err(format!("unknown session setting {k:?}")),
        }
    }
    Ok(s)
}

/// Runs one control command and returns its JSON answer.
pub fn execute(c: &Controls, line: &str) -> String {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&cmd, args)) = words.split_first() else {
        return err("empty command");
    };
    let r: Result<String, String> = match cmd {
        "counters" => Ok(format!("{{\"ok\":true,\"counters\":{}}}", c.counters().to_json())),
        "reset-counters" => {
            c.reset_counters();
            Ok(ok())
        }
        "latency" => parse_latency(args).map(|l| {
            c.set_latency(l);
            ok()
        }),
        "faults" => parse_faults(args).map(|f| {
            c.set_faults(f);
            ok()
        }),
        "sessions" => parse_sessions(args).map(|s| {
            c.set_sessions(s);
            ok()
        }),
        "clear-blacklist" => {
            c.clear_blacklist();
            Ok(ok())
        }
        "override" => match args {
            [code, date, field, value] => NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| format!("not a date: {date:?}"))
                .and_then(|d| {
                    let value = if *value == "\"\"" { "" } else { value };
                    c.override_bar(code, d, field, value).map_err(|e| format!("{e:?}"))
                })
                .map(|_| ok()),
            _ => Err("usage: override CODE DATE FIELD VALUE".into()),
        },
        "clear-overrides" => {
            c.clear_overrides();
            Ok(ok())
        }
        "corporate-action" => match args {
            [code, date, ratio] => parse_date(date).and_then(|d| {
                let ratio = ratio
                    .parse::<i64>()
                    .map_err(|_| format!("not a ratio in parts per million: {ratio:?}"))?;
                c.add_corporate_action(code, d, ratio)
                    .map(|_| ok())
                    .map_err(|e| e.to_string())
            }),
            _ => Err("usage: corporate-action CODE YYYY-MM-DD RATIO_PPM".into()),
        },
        "clear-corporate-actions" => {
            c.clear_corporate_actions();
            Ok(ok())
        }
        "publish" => parse_publish(args).map(|p| {
            match p {
                Publish::Preset(schedule) => c.set_publication(schedule),
                Publish::Hour(kind, hour) => c.set_publish_kind(kind, hour),
            }
            ok()
        }),
        "clock" => match args {
            ["none"] => {
                c.set_clock(None);
                Ok(ok())
            }
            [t] => parse_datetime(t).map(|t| {
                c.set_clock(Some(t));
                ok()
            }),
            [t, "running"] => parse_datetime(t).map(|t| {
                c.set_clock_running(t);
                ok()
            }),
            _ => Err("usage: clock YYYY-MM-DDTHH:MM:SS[.fff] [running]|none".into()),
        },
        "all-market-from" => match args {
            ["none"] => {
                c.set_all_market_start(None);
                Ok(ok())
            }
            [v] => parse_date(v).map(|d| {
                c.set_all_market_start(Some(d));
                ok()
            }),
            _ => Err("usage: all-market-from YYYY-MM-DD|none".into()),
        },
        "status" => {
            let l = c.latency();
            let f = c.faults();
            let sessions = c.sessions();
            let today: Vec<String> = c
                .requests_today()
                .iter()
                .map(|(ip, n)| format!("\"{ip}\":{n}"))
                .collect();
            let actions: Vec<String> = c
                .corporate_actions()
                .iter()
                .map(|a| {
                    format!(
                        "{{\"code\":\"{}\",\"date\":\"{}\",\"ratio_ppm\":{}}}",
                        json_escape(&a.code),
                        a.date.format("%Y-%m-%d"),
                        a.ratio_ppm
                    )
                })
                .collect();
            Ok(format!(
                "{{\"ok\":true,\"now\":\"{}\",\"clock\":\"{}\",\"publication\":{},\"last_published\":{},\"publish_time\":{},\"all_market_start\":{},\"latency_base_ms\":{},\"fault_modes\":{},\"scripted_faults\":{},\"daily_limit\":{},\"requests_today\":{{{}}},\"corporate_actions\":[{}]}}",
                c.now().format("%Y-%m-%dT%H:%M:%S"),
                c.clock().mode(),
                publication_json(&c.publication()),
                last_published_json(c),
                c.publish_time()
                    .map_or("null".to_owned(), |t| format!("\"{}\"", t.format("%H:%M:%S"))),
                c.all_market_start()
                    .map_or("null".to_owned(), |d| format!("\"{}\"", d.format("%Y-%m-%d"))),
                l.base.as_millis(),
                f.rates.len(),
                f.script.len(),
                sessions.daily_limit.map_or("null".to_owned(), |n| n.to_string()),
                today.join(","),
                actions.join(",")
            ))
        }
        _ => Err(format!("unknown command {cmd:?}")),
    };
    r.unwrap_or_else(|e| err(&e))
}
