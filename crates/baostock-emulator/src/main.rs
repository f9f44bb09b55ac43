//! `baostock-emulator`: runs the emulator until interrupted.

use std::path::PathBuf;
use std::process::ExitCode;

use baostock_emulator::control_port::{parse_datetime, parse_faults, parse_latency, parse_time};
use baostock_emulator::{Emulator, EmulatorConfig, LatencyConfig, Schedule};

const HELP: &str = "\
baostock-emulator: a Baostock protocol server with a deterministic synthetic A-share market

USAGE: baostock-emulator [FLAGS]

Server
  --listen ADDR            protocol address (default 127.0.0.1:10030; port 0 picks one)
  --control ADDR           control port address (line commands, JSON answers; off by default)
  --replay DIR             answer captured requests with the captured bytes from DIR
                           (e.g. ../shared/baostock-captures) instead of the synthetic market
Market
  --seed N                 seed of the market, jitter and random faults (default 2024)
  --codes N                number of codes: stocks, indices, ETFs (default 5500)
  --start YYYY-MM-DD       first day of history (default 2000-01-01)
  --end YYYY-MM-DD         last day of history (default today, China time)
  --lazy                   generate price paths on first use only (default: all of them in
                           the background right after start)
  --publication official|always
                           official (default): the real server's schedule, China time:
                           daily bars (98, 9A, 95 d) at 17:30 of the day, adjust factors
                           (9C, 15) at 18:00, minute bars at 20:00, a week's bar whole on
                           its Saturday 17:30, a month's bar on the 1st of the next month
                           17:30, index constituents (61/63/65) on Monday 15:30, reports
                           (13, 17..31) dated d at 01:30 of d+1; no minute bars before
                           2020-01-03, no ETF bars before 2026-01-05.
                           always: every day from its start, no floors. Either way never a
                           day after the clock's date
  --publish-time HH:MM     alias of the daily kind's hour: a trading day's 98/9A rows and
                           95 daily bars appear at this China time of that day (replaces
                           the publication's 17:30 or none)
  --clock YYYY-MM-DDTHH:MM:SS
                           fix the emulator's China time (default: the real clock)
  --clock-running          let the --clock time run on with real time from the start
                           (default: frozen)
  --all-market-from YYYY-MM-DD
                           98/9A/9C for a day before this answer no rows (no all-market
                           history yet); 95 and 15 still answer (default: every day)
Latency
  --profile fast|realistic fast: no delay (default); realistic: ~200 ms a request,
                           ~2 s for query_all_stock, 20 ns a byte
  --latency-base-ms N      delay of every request
  --latency-jitter-ms N    extra random delay, uniform in 0..=N
  --latency-per-byte-ns N  transfer time a response byte
  --latency-type TYPE=MS   base delay for one request type (repeatable), e.g. 35=2000
Sessions
  --max-sessions N         concurrent logged-in sessions per client IP; beyond: 10001005
  --blacklist-secs N       instead of 10001005, blacklist the IP for N seconds (10001011)
  --daily-limit N          requests (every type, logins included) per client IP per
                           emulator China day; the one beyond and every later one answer
                           10001011 and blacklist the IP (--blacklist-secs, default 24 h)
Faults (random ones are drawn from the seed; logins and logouts are spared)
  --fault MODE=PPM         probability per request in parts per million (repeatable);
                           MODE: reset fin silence truncated corrupt-zlib error-frame slow-drip
  --fault-script T:N:MODE  fault the Nth request of type T, e.g. 98:3:reset (repeatable)
  --idle-timeout SECS      drop connections idle for SECS seconds
  --error-code CODE        code of error-frame faults (default 10001001)
  --drip-chunk BYTES       bytes a chunk for slow-drip (default 64)
  --drip-interval-ms MS    pause between chunks for slow-drip (default 5)
  -h, --help               this text
";

fn parse(args: &[String]) -> Result<EmulatorConfig, String> {
    let mut cfg = EmulatorConfig {
        listen: "127.0.0.1:10030".parse().map_err(|_| "bad default address")?,
        warm: true,
        ..EmulatorConfig::default()
    };
    let mut latency: Vec<String> = Vec::new();
    let mut faults: Vec<String> = Vec::new();
    let mut i = 0;
    let num = |v: &str| v.parse::<u64>().map_err(|_| format!("not a number: {v:?}"));
    let date = |v: &str| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| format!("not a date: {v:?}"));
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        if flag == "--lazy" || flag == "--clock-running" {
            if flag == "--lazy" {
                cfg.warm = false;
            } else {
                cfg.clock_running = true;
            }
            i += 1;
            continue;
        }
        let v = args.get(i + 1).ok_or_else(|| format!("{flag} needs a value"))?.as_str();
        i += 2;
        match flag {
            "--listen" => cfg.listen = v.parse().map_err(|_| format!("bad address {v:?}"))?,
            "--control" => cfg.control = Some(v.parse().map_err(|_| format!("bad address {v:?}"))?),
            "--replay" => cfg.replay = Some(PathBuf::from(v)),
            "--seed" => cfg.seed = num(v)?,
            "--codes" => cfg.codes = num(v)? as usize,
            "--start" => cfg.start = date(v)?,
            "--end" => cfg.end = Some(date(v)?),
            "--publication" => {
                cfg.publication = Schedule::preset(v).ok_or_else(|| format!("unknown publication {v:?}"))?;
            }
            "--publish-time" => cfg.publish_time = Some(parse_time(v)?),
            "--clock" => cfg.clock = Some(parse_datetime(v)?),
            "--all-market-from" => cfg.all_market_start = Some(date(v)?),
            "--profile" => {
                cfg.latency = LatencyConfig::profile(v).ok_or_else(|| format!("unknown profile {v:?}"))?;
            }
            "--latency-base-ms" => latency.push(format!("base_ms={v}")),
            "--latency-jitter-ms" => latency.push(format!("jitter_ms={v}")),
            "--latency-per-byte-ns" => latency.push(format!("per_byte_ns={v}")),
            "--latency-type" => {
                let (t, ms) = v
                    .split_once('=')
                    .ok_or_else(|| format!("expected TYPE=MS, got {v:?}"))?;
                latency.push(format!("type.{t}={ms}"));
            }
            "--max-sessions" => cfg.sessions.max_per_ip = Some(num(v)? as usize),
            "--daily-limit" => cfg.sessions.daily_limit = Some(num(v)?),
            "--blacklist-secs" => cfg.sessions.blacklist_for = Some(std::time::Duration::from_secs(num(v)?)),
            "--fault" => faults.push(v.to_owned()),
            "--fault-script" => faults.push(format!("script={v}")),
            "--idle-timeout" => faults.push(format!("idle_ms={}", num(v)? * 1000)),
            "--error-code" => faults.push(format!("error_code={v}")),
            "--drip-chunk" => faults.push(format!("drip_chunk={v}")),
            "--drip-interval-ms" => faults.push(format!("drip_ms={v}")),
            _ => return Err(format!("unknown flag {flag:?}")),
        }
    }
    if cfg.clock_running && cfg.clock.is_none() {
        return Err("--clock-running needs --clock".into());
    }
    if !latency.is_empty() {
        let mut l = parse_latency(&latency.iter().map(String::as_str).collect::<Vec<_>>())?;
        // Flags refine the chosen profile's per-type table.
        for (k, v) in cfg.latency.per_type.clone() {
            l.per_type.entry(k).or_insert(v);
        }
        cfg.latency = l;
    }
    if !faults.is_empty() {
        cfg.faults = parse_faults(&faults.iter().map(String::as_str).collect::<Vec<_>>())?;
    }
    Ok(cfg)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match parse(&args) {
        Ok(c) => c,
        Err(e) if e.is_empty() => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("baostock-emulator: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let emu = match Emulator::start(cfg) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("baostock-emulator: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("baostock-emulator listening on {}", emu.addr());
    if let Some(c) = emu.control_addr() {
        println!("control port on {c}");
    }
    println!(
        "market: {} codes, {} trading days",
        emu.market().securities().len(),
        emu.market().trade_dates().len()
    );
    println!("publication: {}", emu.controls().publication());
    loop {
        std::thread::park();
    }
}
