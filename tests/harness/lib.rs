//! Harness of the cluster tests: a running PostgreSQL 15 cluster with pg_baostock preloaded
//! (started by `scripts/test-cluster.sh`), driven from outside with `psql`, because a job
//! queued inside a `#[pg_test]` transaction never commits and the worker never sees it.
//!
//! * [`sql`], [`try_sql`], [`sql_with_notices`] run a script through `psql` (one statement a
//!   transaction, autocommit) and [`spawn_sql`] runs one in the background.
//! * [`TestEnv`] starts the emulator in-process, points the cluster at it and leaves the tables
//!   clean, with the calendar and the securities synced from that emulator.
//! * [`official_daily`] and [`official_history`] run the official Python client against the
//!   emulator; [`bar_mismatches`] and [`factor_mismatches`] compare what it got with the stored
//!   rows, field by field as numerics, empty cells as NULL.
//!
//! * [`Node`] is a cluster a test starts for itself (PostgreSQL 15 or 18, settings of its own,
//!   stopped when dropped); [`table_digests`] and [`Node::table_digests`] digest every table the
//!   same way (tests/sql/table_digests.sql); [`Citus`] is a coordinator with two workers, made
//!   by scripts/citus-cluster.sh; [`digest_of`] digests any query's rows.
//! * [`stages`] holds a test that runs on more than one cluster (the shared one and a Citus
//!   coordinator, through [`point_at`]).
//!
//! The shared cluster is found through `BAOSTOCK_CLUSTER_DIR` (socket directory),
//! `BAOSTOCK_CLUSTER_PORT` and `BAOSTOCK_CLUSTER_PGDATA`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use baostock_emulator::{Emulator, EmulatorConfig, SecType};
use chrono::NaiveDate;
use serde_json::Value;

pub mod citus;
pub mod jail;
pub mod node;
pub mod stages;
pub use citus::Citus;
pub use jail::Jail;
pub use node::{pg_config, LibraryAside, Node, Planted};

/// A path of this repository (`rel` from its root).
pub fn repo_path(rel: &str) -> String {
    format!("{}/../{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Where the cluster is.
#[derive(Debug)]
pub struct Cluster {
    /// Socket directory, also the directory of `postgres.log`.
    pub dir: String,
    /// Port.
    pub port: u16,
    /// Data directory.
    pub pgdata: String,
    /// Server log (`pg_ctl -l`).
    pub log: String,
    /// Directory of the PostgreSQL 15 binaries.
    pub pgbin: String,
}

impl Cluster {
    fn bin(&self, name: &str) -> String {
        format!("{}/{name}", self.pgbin)
    }
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

/// Points the functions of this module (and [`TestEnv`]) at `node` instead of the cluster of
/// `scripts/test-cluster.sh` (the Citus test runs the publication test on its coordinator).
/// Only before any of them ran.
pub fn point_at(node: &Node) {
    let set = CLUSTER.set(Cluster {
        dir: node.dir.clone(),
        port: node.port,
        pgdata: node.pgdata.clone(),
        log: node.log.clone(),
        pgbin: node.bin.clone(),
    });
    assert!(set.is_ok(), "point_at({}) after the cluster was in use", node.dir);
}

/// The cluster of `scripts/test-cluster.sh` (or of [`point_at`]).
pub fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: run these tests with `bash scripts/test-cluster.sh`, which starts the cluster"
                )
            })
        };
        let dir = var("BAOSTOCK_CLUSTER_DIR");
        let port = var("BAOSTOCK_CLUSTER_PORT")
            .parse()
            .expect("BAOSTOCK_CLUSTER_PORT is a port number");
        let pgdata = var("BAOSTOCK_CLUSTER_PGDATA");
        let log = std::env::var("BAOSTOCK_CLUSTER_LOG").unwrap_or_else(|_| format!("{dir}/postgres.log"));
        let pgbin = std::env::var("PGBIN").unwrap_or_else(|_| "/usr/lib/postgresql/15/bin".to_owned());
        Cluster {
            dir,
            port,
            pgdata,
            log,
            pgbin,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// psql

/// An error psql reported: the SQLSTATE (from `VERBOSITY=verbose`, empty when psql printed
/// none, as for a failed connection) and the message.
#[derive(Clone, PartialEq, Eq)]
pub struct SqlError {
    /// Five-character SQLSTATE, or empty.
    pub sqlstate: String,
    /// The primary message (the whole stderr when no ERROR/FATAL line was found).
    pub message: String,
    /// Everything psql wrote to stderr.
    pub stderr: String,
}

impl fmt::Debug for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.sqlstate, self.message)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}\n{}", self.sqlstate, self.message, self.stderr.trim_end())
    }
}

impl SqlError {
    fn from_stderr(stderr: &str) -> SqlError {
        let primary = stderr.lines().find_map(|l| {
            ["ERROR:", "FATAL:", "PANIC:"]
                .iter()
                .find_map(|tag| l.find(tag).map(|at| l[at + tag.len()..].trim()))
        });
        let (sqlstate, message) = match primary {
            Some(text) => match split_sqlstate(text) {
                Some((state, message)) => (state.to_owned(), message.to_owned()),
                None => (String::new(), text.to_owned()),
            },
            None => (String::new(), stderr.trim().to_owned()),
        };
        SqlError {
            sqlstate,
            message,
            stderr: stderr.to_owned(),
        }
    }
}

/// `22023: message` → (`22023`, `message`).
fn split_sqlstate(text: &str) -> Option<(&str, &str)> {
    let (state, rest) = text.split_once(": ")?;
    let is_state = state.len() == 5 && state.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    is_state.then_some((state, rest))
}

/// The result of a script and the NOTICE messages it raised (without the `NOTICE:` tag and
/// the SQLSTATE).
pub type Outcome = (Result<String, SqlError>, Vec<String>);

fn whoami() -> &'static str {
    static WHO: OnceLock<String> = OnceLock::new();
    WHO.get_or_init(|| {
        Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    })
}

fn next_app_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "cluster-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn psql_command(app: &str) -> Command {
    let c = cluster();
    psql_to(&c.pgbin, &c.dir, c.port, "postgres", app)
}

/// psql of `bin` on the cluster of socket directory `dir` and `port`, database `db`, as the
/// postgres role, reading a script from stdin (`-At`, stop at the first error, verbose
/// errors).
fn psql_to(bin: &str, dir: &str, port: u16, db: &str, app: &str) -> Command {
    let psql = format!("{bin}/psql");
    let mut cmd = Command::new(if std::path::Path::new(&psql).exists() {
        psql
    } else {
        "psql".to_owned()
    });
    cmd.args(["-U", "postgres", "-h", dir, "-p", &port.to_string(), "-d", db])
        .args([
            "-X",
            "-At",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
            "-f",
            "-",
        ])
        .env("PGAPPNAME", app)
        .env("PGCONNECT_TIMEOUT", "10")
        .env("LC_MESSAGES", "C")
        .env_remove("PGOPTIONS")
        .env_remove("PGDATABASE")
        .env_remove("PGUSER")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts psql on a script: the script goes to its stdin from a thread of its own, so that a
/// large script (JSON literals) and the output cannot block each other.
fn start_psql(script: &str, app: &str) -> (Child, std::thread::JoinHandle<()>) {
    start_psql_with(psql_command(app), script)
}

fn start_psql_with(mut cmd: Command, script: &str) -> (Child, std::thread::JoinHandle<()>) {
    let mut child = cmd.spawn().expect("run psql");
    let mut stdin = child.stdin.take().expect("psql stdin");
    let script = script.to_owned();
    let writer = std::thread::spawn(move || {
        // psql may exit early (ON_ERROR_STOP): a broken pipe is not our error.
        let _ = stdin.write_all(script.as_bytes());
        let _ = stdin.write_all(b"\n");
    });
    (child, writer)
}

/// The messages of one level (`NOTICE`, `WARNING`) psql wrote to stderr, without the tag and
/// the SQLSTATE.
fn messages(stderr: &str, level: &str) -> Vec<String> {
    let tag = format!("{level}:");
    stderr
        .lines()
        .filter_map(|l| {
            let at = l.find(&tag)?;
            let text = l[at + tag.len()..].trim();
            Some(split_sqlstate(text).map_or(text, |(_, m)| m).to_owned())
        })
        .collect()
}

fn outcome(out: Output) -> Outcome {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let notices = messages(&stderr, "NOTICE");
    if out.status.success() {
        let stdout = String::from_utf8_lossy(&out.stdout);
        (Ok(stdout.trim_end_matches('\n').to_owned()), notices)
    } else {
        (Err(SqlError::from_stderr(&stderr)), notices)
    }
}

/// Runs a script (statements separated by `;`, each in its own transaction) and returns
/// what psql printed (unaligned, tuples only: `|` between columns, a line a row, NULL as
/// the empty string) and the NOTICE messages.
pub fn sql_with_notices(script: &str) -> Outcome {
    let (child, writer) = start_psql(script, &next_app_name());
    let out = child.wait_with_output().expect("wait for psql");
    let _ = writer.join();
    outcome(out)
}

/// Runs a script as [`sql_with_notices`] does; its result and the WARNING messages it raised
/// (without the tag and the SQLSTATE).
pub fn sql_with_warnings(script: &str) -> Outcome {
    let (child, writer) = start_psql(script, &next_app_name());
    let out = child.wait_with_output().expect("wait for psql");
    let _ = writer.join();
    let warnings = messages(&String::from_utf8_lossy(&out.stderr), "WARNING");
    (outcome(out).0, warnings)
}

/// [`sql_with_notices`] without the notices.
pub fn try_sql(script: &str) -> Result<String, SqlError> {
    sql_with_notices(script).0
}

/// [`try_sql`], panicking with psql's stderr on error.
pub fn sql(script: &str) -> String {
    match try_sql(script) {
        Ok(out) => out,
        Err(e) => panic!("SQL failed:\n{script}\n{e}"),
    }
}

/// A query's single value, trimmed.
pub fn one(query: &str) -> String {
    sql(query).trim().to_owned()
}

/// Changes server-wide settings (`ALTER SYSTEM ...;` statements) and waits until new sessions
/// see `check` as `want`; the worker reads them at its next housekeeping tick (at most a quarter
/// of a second when idle).
pub fn settings(script: &str, check: &str, want: &str) {
    sql(&format!("{script} SELECT pg_reload_conf();"));
    poll(check, Duration::from_secs(10), || {
        (try_sql(&format!("SHOW {check}")).ok()?.trim() == want).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
}

/// `wait()` on a job, given at most `within`; the state it ended in.
pub fn wait_within(id: i64, within: Duration) -> String {
    let (res, _) = spawn_sql(&format!("SELECT baostock.wait({id})")).finish_within(within);
    res.unwrap_or_else(|e| panic!("wait({id}): {e}")).trim().to_owned()
}

/// The first column of a query's rows as a set (empty lines left out).
pub fn line_set(query: &str) -> std::collections::BTreeSet<String> {
    sql(query)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A query's single value as an integer.
pub fn int(query: &str) -> i64 {
    let out = sql(query);
    out.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not an integer: {out:?} from {query}"))
}

/// A script running in a psql of its own, in the background.
pub struct Background {
    child: Option<Child>,
    writer: Option<std::thread::JoinHandle<()>>,
    app: String,
}

/// Starts a script in the background; its session has a unique `application_name`.
pub fn spawn_sql(script: &str) -> Background {
    let app = next_app_name();
    let (child, writer) = start_psql(script, &app);
    Background {
        child: Some(child),
        writer: Some(writer),
        app,
    }
}

impl Background {
    /// The session's `application_name`.
    pub fn app_name(&self) -> &str {
        &self.app
    }

    /// The pid of the session's backend once it runs a statement (for `pg_cancel_backend`).
    pub fn backend_pid(&self, timeout: Duration) -> i32 {
        let q = format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = '{}' AND state = 'active'",
            self.app
        );
        poll(&format!("{} to run its statement", self.app), timeout, || {
            try_sql(&q).ok().and_then(|s| s.lines().next()?.trim().parse().ok())
        })
    }

    /// Whether psql is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Waits for psql to end; its result and notices.
    pub fn finish(mut self) -> Outcome {
        let child = self.child.take().expect("psql child");
        let out = child.wait_with_output().expect("wait for psql");
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
        outcome(out)
    }

    /// Waits at most `timeout` for psql to end.
    pub fn finish_within(mut self, timeout: Duration) -> Outcome {
        let what = format!("the background psql {} to end", self.app);
        poll(&what, timeout, || (!self.is_running()).then_some(()));
        self.finish()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // A test that failed early: do not leave the psql behind.
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Waiting

/// Calls `f` every 50 ms until it returns `Some`, panicking after `timeout`.
pub fn poll<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the cluster accepts connections and runs queries (after a crash restart).
pub fn wait_ready(timeout: Duration) {
    poll("the cluster to accept queries", timeout, || try_sql("SELECT 1").ok());
}

// ---------------------------------------------------------------------------------------------
// The cluster's processes

fn as_postgres(program: &str) -> Command {
    as_postgres_in(program, &cluster().dir)
}

/// `program` run as the postgres OS user (Postgres refuses root), from `dir` (the postgres user
/// may not be able to enter the checkout).
fn as_postgres_in(program: &str, dir: &str) -> Command {
    let mut cmd = if whoami() == "postgres" {
        Command::new(program)
    } else {
        let mut c = Command::new("sudo");
        c.args(["-u", "postgres", program]);
        c
    };
    cmd.current_dir(dir);
    cmd
}

/// Runs `pg_ctl -D <pgdata> <args>` as the postgres OS user.
pub fn pg_ctl(args: &[&str]) {
    let c = cluster();
    let status = as_postgres(&c.bin("pg_ctl"))
        .args(["-D", &c.pgdata])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .expect("run pg_ctl");
    assert!(status.success(), "pg_ctl {args:?} failed: {status}");
}

/// `pg_ctl stop -m immediate` (no shutdown checkpoint, like a power cut for the processes),
/// then `pg_ctl start`, and waits until queries run again.
pub fn restart_immediately() {
    pg_ctl(&["-m", "immediate", "-w", "stop"]);
    let log = cluster().log.clone();
    pg_ctl(&["-w", "-t", "60", "-l", &log, "start"]);
    wait_ready(Duration::from_secs(60));
}

/// `pg_ctl restart -m fast`: every backend, the worker too, gets SIGTERM and the server
/// stops cleanly; waits until queries run again.
pub fn restart_fast() {
    let log = cluster().log.clone();
    pg_ctl(&["-m", "fast", "-w", "-t", "60", "-l", &log, "restart"]);
    wait_ready(Duration::from_secs(60));
}

/// The pid of the pg_baostock worker, if one runs (errors, as during a crash restart, are
/// `None`).
pub fn worker_pid() -> Option<i32> {
    try_sql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'")
        .ok()
        .and_then(|s| s.lines().next()?.trim().parse().ok())
}

/// Sends signal `sig` (`9`, `STOP`, `CONT`) to a process of the cluster; whether `kill` did.
pub fn signal(pid: i32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// SIGSTOP to the worker (`pid`) at a moment it sleeps on its latch, as `wait_type` (its
/// `wait_event_type` in pg_stat_activity) shows once it is stopped: stopped anywhere else it
/// may hold a lock every writer needs (in the middle of a WAL flush, say) and stall the
/// cluster until SIGCONT. Otherwise SIGCONT, and again 50 ms later.
pub fn stop_asleep(pid: i32, wait_type: impl Fn() -> Option<String>) {
    poll(
        &format!("the worker {pid} stopped while asleep"),
        Duration::from_secs(30),
        || {
            assert!(signal(pid, "STOP"), "kill -STOP {pid}");
            if wait_type().as_deref().map(str::trim) == Some("Extension") {
                return Some(());
            }
            assert!(signal(pid, "CONT"), "kill -CONT {pid}");
            None
        },
    );
}

/// SIGKILL to a process of the cluster.
pub fn kill_9(pid: i32) {
    assert!(signal(pid, "9"), "kill -9 {pid} failed");
}

/// The newest released version before this one (sql/released/VERSIONS; this version left out
/// once it is released too): what an upgrade to this version starts from.
pub fn last_release() -> String {
    let versions = std::fs::read_to_string(repo_path("sql/released/VERSIONS")).expect("read sql/released/VERSIONS");
    let this = this_version();
    versions
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .rfind(|v| *v != this)
        .expect("a released version")
        .to_owned()
}

/// The version of the checkout (the extension's Cargo.toml).
pub fn this_version() -> String {
    let manifest = std::fs::read_to_string(repo_path("Cargo.toml")).expect("read Cargo.toml");
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \"")?.strip_suffix('"'))
        .expect("a version in Cargo.toml")
        .to_owned()
}

/// A date, for test literals.
pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// The calendar year before the current one (China time).
pub fn last_year() -> i32 {
    use chrono::Datelike;
    baostock_emulator::market::china_today().year() - 1
}

// ---------------------------------------------------------------------------------------------
// Test environment

/// The tables a test starts from empty (the calendar and securities are synced again from
/// the test's own emulator).
const TRUNCATE: &str = "TRUNCATE baostock.daily_bars, baostock.weekly_bars, baostock.monthly_bars,
    baostock.minute_bars, baostock.index_constituents, baostock.stock_industries,
    baostock.adjust_factors, baostock.synced_days, baostock.synced_ranges, baostock.sync_runs, baostock.sync_units, baostock.sync_jobs,
    baostock.trade_calendar, baostock.securities, baostock.alerts, baostock.worker_starts, baostock.tracking,
    baostock.report_profit, baostock.report_operation, baostock.report_growth, baostock.report_balance,
    baostock.report_cash_flow, baostock.report_dupont, baostock.report_express, baostock.report_forecast,
    baostock.report_dividend, baostock.report_checks CASCADE";

/// Settings a test may change, back to what every test starts from: no request budget (the
/// suite sends more than a day's worth to its emulators), no pause before a second pass.
const SETTINGS: &str = "ALTER SYSTEM SET baostock.daily_request_budget = 0;
    ALTER SYSTEM SET baostock.retry_pause = 0;
    ALTER SYSTEM RESET baostock.blacklist_pause;
    ALTER SYSTEM RESET baostock.alert_webhook;
    ALTER SYSTEM RESET baostock.read_timeout;
    ALTER SYSTEM RESET baostock.stale_after;
    ALTER SYSTEM RESET baostock.minute_history_start;";

/// One test's emulator, with the cluster pointed at it and clean tables. Holds a lock so that
/// tests of one binary never share the cluster at the same time.
pub struct TestEnv {
    /// The emulator (fast profile, 300 codes, a free port).
    pub emu: Emulator,
    _serial: MutexGuard<'static, ()>,
}

impl TestEnv {
    /// The emulator with the fast profile and 300 codes.
    pub fn start() -> TestEnv {
        TestEnv::start_with(EmulatorConfig::default())
    }

    /// An emulator from `cfg` (with 300 codes and a free port), the cluster pointed at it,
    /// every earlier job stopped, the tables empty, the calendar and securities synced and
    /// the counters zeroed.
    pub fn start_with(cfg: EmulatorConfig) -> TestEnv {
        static SERIAL: Mutex<()> = Mutex::new(());
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        wait_ready(Duration::from_secs(60));
        stop_leftover_jobs();

        let emu = Emulator::start(EmulatorConfig {
            codes: 300,
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            ..cfg
        })
        .expect("start the emulator");
        let port = emu.addr().port();
        sql(&format!(
            "ALTER SYSTEM SET baostock.host = '127.0.0.1';
             ALTER SYSTEM SET baostock.port = {port};
             ALTER SYSTEM SET baostock.retries = 1;
             ALTER SYSTEM RESET baostock.max_sessions;
             {SETTINGS}
             SELECT pg_reload_conf();"
        ));
        // New sessions see the reloaded settings once the postmaster has read them; the worker
        // reads them at its next loop, which nothing outside can observe: give it 300 ms.
        poll("the reloaded baostock.port", Duration::from_secs(10), || {
            (try_sql("SHOW baostock.port").ok()?.trim() == port.to_string()).then_some(())
        });
        std::thread::sleep(Duration::from_millis(300));

        sql(TRUNCATE);
        // A blacklist an earlier test left is lifted, in shared memory and on disk.
        sql("SELECT baostock.resume()");
        let calendar = sql("SELECT status FROM baostock.sync_calendar()");
        let securities = sql("SELECT status FROM baostock.sync_securities()");
        assert_eq!(
            (calendar.as_str(), securities.as_str()),
            ("ok", "ok"),
            "calendar and securities from the test's emulator"
        );
        emu.reset_counters();
        wait_worker_idle();
        TestEnv { emu, _serial: serial }
    }

    /// Sends a control-port command to the emulator; it must succeed.
    pub fn control(&self, line: &str) {
        let out = baostock_emulator::control_port::execute(self.emu.controls(), line);
        assert!(out.contains("\"ok\":true"), "{line}: {out}");
    }

    /// The emulator's port.
    pub fn port(&self) -> u16 {
        self.emu.addr().port()
    }

    /// The stocks and ETFs of the market listed on one of `days` at least.
    pub fn listed_codes(&self, days: &[NaiveDate]) -> Vec<String> {
        self.emu
            .market()
            .securities()
            .iter()
            .filter(|s| matches!(s.sec_type, SecType::Stock | SecType::Etf))
            .filter(|s| days.iter().any(|d| s.listed_on(*d)))
            .map(|s| s.code.clone())
            .collect()
    }

    /// A stock of the market listed from `first` through `last`.
    pub fn stock_listed(&self, first: NaiveDate, last: NaiveDate) -> String {
        self.emu
            .market()
            .securities()
            .iter()
            .find(|s| s.sec_type == SecType::Stock && s.listed_on(first) && s.listed_on(last))
            .unwrap_or_else(|| panic!("a stock listed from {first} through {last}"))
            .code
            .clone()
    }

    /// The trading days of `start..=end`, from the emulator's calendar.
    pub fn trading_days(&self, start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
        self.emu
            .market()
            .trade_dates()
            .iter()
            .copied()
            .filter(|d| start <= *d && *d <= end)
            .collect()
    }

    /// The last day the emulator has published whole (its factors, the last kind a day sync
    /// takes, are out), by its clock.
    pub fn published_day(&self) -> NaiveDate {
        self.emu.controls().last_published(baostock_emulator::Kind::Factors)
    }

    /// The daily rows the server has for `day` (98 and 9A): every stock's, and the ETFs' from
    /// the server's first ETF day on when the emulator keeps the history floors.
    pub fn served_daily(&self, day: NaiveDate) -> Vec<Vec<String>> {
        let m = self.emu.market();
        let mut rows = m.daily_astock(day);
        let floors = self.emu.controls().publication().floors;
        if !floors || day >= baostock_emulator::publication::ETF_FLOOR {
            rows.extend(m.daily_etf(day));
        }
        rows
    }

    /// Requests the emulator received that are not logins or logouts.
    pub fn data_requests(&self) -> u64 {
        let c = self.emu.counters();
        c.total_requests() - c.requests("00") - c.requests("02")
    }
}

/// Waits until the worker sleeps between looks at an empty queue (done with an earlier test's
/// job and what followed it), so that what a test measures from its first job on is its own.
pub fn wait_worker_idle() {
    poll("the worker to be idle", Duration::from_secs(60), || {
        let q = try_sql("SELECT query FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'").ok()?;
        (q.trim() == "idle").then_some(())
    });
}

/// Cancels the jobs an earlier (failed) test left queued or running, and waits until no
/// unit runs any more.
fn stop_leftover_jobs() {
    let Ok(open) = try_sql("SELECT job_id FROM baostock.sync_jobs WHERE state IN ('queued', 'running')") else {
        return;
    };
    for id in open.lines().filter(|l| !l.is_empty()) {
        let _ = try_sql(&format!("SELECT baostock.cancel({id})"));
    }
    poll("the units of earlier jobs to stop", Duration::from_secs(30), || {
        let n = try_sql("SELECT count(*) FROM baostock.sync_units WHERE state = 'running'").ok()?;
        (n.trim() == "0").then_some(())
    });
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// A row of `baostock.jobs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// queued, running, done, failed or cancelled.
    pub state: String,
    /// Units planned.
    pub units_total: i64,
    /// Units done.
    pub units_done: i64,
    /// Units failed.
    pub units_failed: i64,
    /// Rows written.
    pub rows_written: i64,
    /// Requests sent.
    pub requests: i64,
    /// Whether finished_at is set.
    pub finished: bool,
}

/// The job's row of `baostock.jobs`, or the error (during a crash restart).
pub fn try_job(id: i64) -> Result<Job, SqlError> {
    let out = try_sql(&format!(
        "SELECT state, units_total, units_done, units_failed, rows_written, requests, finished_at IS NOT NULL
         FROM baostock.jobs WHERE job_id = {id}"
    ))?;
    let f: Vec<&str> = out.split('|').collect();
    assert_eq!(f.len(), 7, "job {id}: {out:?}");
    let n = |s: &str| s.trim().parse::<i64>().unwrap_or(0);
    Ok(Job {
        state: f[0].to_owned(),
        units_total: n(f[1]),
        units_done: n(f[2]),
        units_failed: n(f[3]),
        rows_written: n(f[4]),
        requests: n(f[5]),
        finished: f[6].trim() == "t",
    })
}

/// The job's row of `baostock.jobs`.
pub fn job(id: i64) -> Job {
    try_job(id).unwrap_or_else(|e| panic!("job {id}: {e}"))
}

/// `baostock.backfill(<args>)`: the job id.
pub fn backfill(args: &str) -> i64 {
    int(&format!("SELECT baostock.backfill({args})"))
}

/// Units of a job by (kind, state).
pub fn unit_states(id: i64) -> BTreeMap<(String, String), i64> {
    sql(&format!(
        "SELECT kind, state, count(*) FROM baostock.sync_units WHERE job_id = {id} GROUP BY 1, 2 ORDER BY 1, 2"
    ))
    .lines()
    .filter(|l| !l.is_empty())
    .map(|l| {
        let f: Vec<&str> = l.split('|').collect();
        ((f[0].to_owned(), f[1].to_owned()), f[2].parse().unwrap())
    })
    .collect()
}

/// One progress NOTICE of `wait()`: `job 3: 120/500 units, 0 failed, 12345 rows, 25.1 units/s,
/// ETA 15 s`.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    /// The job.
    pub job: i64,
    /// Units done.
    pub done: i64,
    /// Units in all.
    pub total: i64,
    /// Units failed.
    pub failed: i64,
    /// Rows written.
    pub rows: i64,
    /// Units a second; `None` for `-` (not known yet).
    pub rate: Option<f64>,
    /// What follows `ETA ` (`15 s`, or `-` when not known yet).
    pub eta: String,
    /// The job's state when it is not running (`done`, `paused`, ...).
    pub state: Option<String>,
}

/// Parses a progress NOTICE; `None` when it does not have that form.
pub fn parse_progress(notice: &str) -> Option<Progress> {
    let (job, rest) = notice.strip_prefix("job ")?.split_once(": ")?;
    // `job 3 (paused): ...` when the job is not running.
    let (job, state) = match job.split_once(' ') {
        Some((id, state)) => (id, Some(state.strip_prefix('(')?.strip_suffix(')')?.to_owned())),
        None => (job, None),
    };
    let parts: Vec<&str> = rest.split(", ").collect();
    let [units, failed, rows, rate, eta] = parts.as_slice() else {
        return None;
    };
    let (done, total) = units.strip_suffix(" units")?.split_once('/')?;
    let eta = eta.strip_prefix("ETA ")?.trim();
    if eta.is_empty() {
        return None;
    }
    Some(Progress {
        job: job.parse().ok()?,
        done: done.parse().ok()?,
        total: total.parse().ok()?,
        failed: failed.strip_suffix(" failed")?.parse().ok()?,
        rows: rows.strip_suffix(" rows")?.parse().ok()?,
        rate: match rate.strip_suffix(" units/s")? {
            "-" => None,
            r => Some(r.parse().ok()?),
        },
        eta: eta.to_owned(),
        state,
    })
}

// ---------------------------------------------------------------------------------------------
// The referee: the official client, and comparisons in SQL

fn python() -> String {
    let venv = std::env::var("BAOSTOCK_VENV")
        .ok()
        .or_else(|| option_env!("BAOSTOCK_VENV").map(str::to_owned))
        .unwrap_or_else(|| "/var/tmp/pg_baostock-venv".to_owned());
    format!("{venv}/bin/python")
}

/// scripts/official.py with `args`: its JSON.
fn run_official(args: &[String]) -> Value {
    let path = repo_path("scripts/official.py");
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .expect("run the official client (scripts/setup-python.sh makes the virtualenv)");
    assert!(
        out.status.success(),
        "official.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("official client JSON")
}

/// What the official client gets for one day (98, 9A, 9C): `{"fields": {"stocks", "etfs",
/// "factors"}, "stocks": [...], "etfs": [...], "factors": [...]}` (scripts/official.py daily).
pub fn official_daily(port: u16, day: NaiveDate) -> Value {
    run_official(&[port.to_string(), "daily".into(), day.to_string()])
}

/// What the official client gets from `query_history_k_data_plus` (95, daily, unadjusted,
/// every field) for one code: `{"fields": [...], "rows": [...]}`.
pub fn official_history(port: u16, code: &str, start: NaiveDate, end: NaiveDate) -> Value {
    official_query(
        port,
        "query_history_k_data_plus",
        &serde_json::json!({"code": code, "fields": baostock::value::DAILY_FIELDS, "start_date": start.to_string(),
                            "end_date": end.to_string(), "frequency": "d", "adjustflag": "3"}),
    )
}

/// What the official client gets from any API (`bs.<api>(**kwargs)`), every page:
/// `{"fields": [...], "rows": [...]}` (scripts/official.py query).
pub fn official_query(port: u16, api: &str, kwargs: &Value) -> Value {
    run_official(&[port.to_string(), "query".into(), api.to_owned(), kwargs.to_string()])
}

/// Rows as a JSON array.
pub fn rows_json(rows: &[Vec<String>]) -> Value {
    Value::Array(
        rows.iter()
            .map(|r| Value::Array(r.iter().cloned().map(Value::String).collect()))
            .collect(),
    )
}

/// A JSON value as a dollar-quoted `jsonb` literal.
pub fn jsonb_literal(v: &Value) -> String {
    let s = v.to_string();
    assert!(!s.contains("$json$"), "the JSON holds the quote tag");
    format!("$json${s}$json$::jsonb")
}

/// A query of `count md5` over the rows of `query` as text, in text order: the digest
/// tests/sql/table_digests.sql makes of each table, of any query. What two databases hold is
/// the same when their digests are.
pub fn digest_of(query: &str) -> String {
    format!(
        "SELECT count(*) || ' ' || md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM ({query}) r"
    )
}

/// The query of tests/sql/table_digests.sql: it writes the query whose lines are `table count
/// md5` for every table of the baostock schema.
pub const TABLE_DIGESTS: &str = include_str!("../sql/table_digests.sql");

/// The row count a digest of [`TABLE_DIGESTS`] gives `table` (`baostock.daily_bars`), if it
/// lists the table.
pub fn rows_in(digests: &str, table: &str) -> Option<i64> {
    digests
        .lines()
        .find_map(|l| l.strip_prefix(table)?.strip_prefix(' '))
        .and_then(|l| l.split(' ').next()?.parse().ok())
}

/// `table count md5` of every table of the baostock schema in database `db` of the shared
/// cluster, a line each in table order.
pub fn table_digests(db: &str) -> Vec<String> {
    let query = sql(&format!("\\c {db}\n{TABLE_DIGESTS}"));
    lines(&sql(&format!("\\c {db}\n{query}")))
}

/// Checks that the official client's field list (`fields` of an [`official_daily`] kind or of
/// [`official_history`]) is `DAILY_FIELDS`: the column order [`bar_mismatches`] assumes.
pub fn assert_daily_fields(fields: &Value) {
    let names: Vec<&str> = fields
        .as_array()
        .unwrap_or_else(|| panic!("no field list: {fields}"))
        .iter()
        .map(|v| v.as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        names.join(","),
        baostock::value::DAILY_FIELDS,
        "the column order the comparison assumes"
    );
}

/// The rows (`code date (why)`) that differ between `rows` (arrays of the 18 daily fields in
/// `DAILY_FIELDS` order, as the server sends them) and `baostock.daily_bars` restricted by the
/// predicate `scope` (tests/sql/bar_mismatches.sql, which the pgrx tests use too). Empty when
/// they are equal.
pub fn bar_mismatches(rows: &Value, scope: &str) -> Vec<String> {
    mismatches(include_str!("../sql/bar_mismatches.sql"), rows, scope)
}

/// As [`bar_mismatches`] for factor rows (`code, dividOperateDate, fore, back, adjust`) and
/// `baostock.adjust_factors` restricted by `scope` (tests/sql/factor_mismatches.sql).
pub fn factor_mismatches(rows: &Value, scope: &str) -> Vec<String> {
    mismatches(include_str!("../sql/factor_mismatches.sql"), rows, scope)
}

fn mismatches(template: &str, rows: &Value, scope: &str) -> Vec<String> {
    let q = template
        .replace("{rows}", &jsonb_literal(rows))
        .replace("{scope}", scope);
    lines(&sql(&q))
}

fn lines(out: &str) -> Vec<String> {
    out.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

/// The first few entries of a list, for assertion messages.
pub fn first_few(v: &[String]) -> String {
    let shown: Vec<&str> = v.iter().take(10).map(String::as_str).collect();
    format!("{} in all: {}", v.len(), shown.join("; "))
}

/// `count md5` over every stored bar of `start..=end` (every column but updated_at).
pub fn bars_checksum(start: NaiveDate, end: NaiveDate) -> String {
    sql(&format!(
        "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY code, date), ''))
         FROM (SELECT code, date, open, high, low, close, preclose, volume, amount, adjustflag, turn,
                      trade_status, pct_chg, pe_ttm, pb_mrq, ps_ttm, pcf_ncf_ttm, is_st
               FROM baostock.daily_bars WHERE date BETWEEN '{start}' AND '{end}') t"
    ))
}

/// `count md5` over every stored adjust factor with an operate date in `start..=end`.
pub fn factors_checksum(start: NaiveDate, end: NaiveDate) -> String {
    sql(&format!(
        "SELECT count(*) || ' ' || md5(coalesce(string_agg(t::text, '|' ORDER BY code, operate_date), ''))
         FROM (SELECT code, operate_date, fore_factor, back_factor, adjust_factor
               FROM baostock.adjust_factors WHERE operate_date BETWEEN '{start}' AND '{end}') t"
    ))
}

/// The days of `start..=end` in `baostock.synced_days`.
pub fn synced_days(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    sql(&format!(
        "SELECT day FROM baostock.synced_days WHERE day BETWEEN '{start}' AND '{end}' ORDER BY day"
    ))
    .lines()
    .filter(|l| !l.is_empty())
    .map(|l| NaiveDate::parse_from_str(l.trim(), "%Y-%m-%d").expect("a date"))
    .collect()
}

/// Days of `expected` missing from `got`, and days of `got` not in `expected`.
pub fn day_differences(expected: &[NaiveDate], got: &[NaiveDate]) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
    let missing = expected.iter().copied().filter(|d| !got.contains(d)).collect();
    let extra = got.iter().copied().filter(|d| !expected.contains(d)).collect();
    (missing, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_notices_parse() {
        let p = parse_progress("job 3: 120/500 units, 0 failed, 12345 rows, 25.1 units/s, ETA 15 s").unwrap();
        assert_eq!((p.job, p.done, p.total, p.failed, p.rows), (3, 120, 500, 0, 12345));
        assert_eq!((p.rate, p.eta.as_str()), (Some(25.1), "15 s"));
        assert_eq!(p.state, None);
        let p = parse_progress("job 3: 0/500 units, 0 failed, 0 rows, - units/s, ETA -").unwrap();
        assert_eq!((p.rate, p.eta.as_str()), (None, "-"));
        let p = parse_progress("job 4 (paused): 7/9 units, 0 failed, 70 rows, 1.0 units/s, ETA -").unwrap();
        assert_eq!((p.job, p.state.as_deref()), (4, Some("paused")));
        assert!(parse_progress("job 4 paused: 7/9 units, 0 failed, 70 rows, 1.0 units/s, ETA -").is_none());
        assert!(parse_progress("job 3: done").is_none());
        assert!(parse_progress("job 3: 1/2 units, 0 failed, 5 rows, fast units/s, ETA 1 s").is_none());
    }

    #[test]
    fn psql_errors_parse() {
        let e = SqlError::from_stderr(
            "psql:<stdin>:1: ERROR:  22023: start_date 2024-02-01 is after end_date\nLOCATION:  x.rs:1\n",
        );
        assert_eq!(e.sqlstate, "22023");
        assert_eq!(e.message, "start_date 2024-02-01 is after end_date");
        let e = SqlError::from_stderr("psql: error: connection to server failed: No such file or directory\n");
        assert_eq!(e.sqlstate, "");
    }
}
