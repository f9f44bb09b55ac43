//! The health in Prometheus, tested with the real parts: Debian's prometheus-postgres-exporter
//! with contrib/prometheus/queries.yaml, scraped over 127.0.0.1 from a cluster of its own whose
//! pg_baostock holds known data (a calendar nothing is synced of, a failed job, a failed run);
//! and promtool's check and unit tests of the alerting rules (contrib/prometheus/alerts.yml).
//! Needs pg_baostock installed into PostgreSQL 15 (`bash scripts/test.sh prometheus`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use pg_baostock_cluster_tests::{poll, repo_path, Node};

const PORT: u16 = 5495;
const EXPORTER_PORT: u16 = 9787;
const DB: &str = "market";

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    for args in [["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(repo_path("contrib/prometheus"))
            .output()
            .expect("run promtool (scripts/setup.sh installs Debian's prometheus)");
        assert!(
            out.status.success(),
            "promtool {args:?}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The exporter, killed when dropped.
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET /metrics` of the exporter: the body of a 200 answer, `None` otherwise (not up yet).
fn scrape() -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", EXPORTER_PORT)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut answer = Vec::new();
    s.take(16 << 20).read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_owned())
}

/// The `baostock_` series of a scrape: (name, labels, value).
fn series(scrape: &str) -> Vec<(String, BTreeMap<String, String>, String)> {
    scrape
        .lines()
        .filter(|l| l.starts_with("baostock_"))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let (name, labels) = match key.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (key, ""),
            };
            let labels = labels
                .split(',')
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k.to_owned(), v.trim_matches('"').to_owned()))
                })
                .collect();
            Some((name.to_owned(), labels, value.to_owned()))
        })
        .collect()
}

#[test]
fn the_exporter_serves_the_health_of_known_data() {
    let node = Node::started(
        "prometheus",
        15,
        PORT,
        &[
            "shared_preload_libraries = 'pg_baostock'",
            &format!("baostock.worker_database = '{DB}'"),
        ],
    );
    node.sql("postgres", &format!("CREATE DATABASE {DB}"));
    // Two trading days long published and not synced (stale, lag 2), a job that failed, a failed
    // sync_date run of 3 requests and 2.5 s.
    node.sql(
        DB,
        "CREATE EXTENSION pg_baostock;
         INSERT INTO baostock.trade_calendar (day, is_trading_day)
         VALUES ('2020-01-14', true), ('2020-01-15', true), ('2020-01-16', false);
         INSERT INTO baostock.sync_jobs (state, start_date, end_date, frequency, force, plan, est_requests, est_seconds,
                                         error_message, started_at, finished_at)
         VALUES ('failed', '2020-01-14', '2020-01-15', 'd', false, '{}', 2, 1, 'a failure made by the test', now(), now());
         INSERT INTO baostock.sync_runs (kind, day, started_at, finished_at, status, requests, error_sqlstate, error_message)
         VALUES ('sync_date', '2020-01-15', now() - interval '2.5 seconds', now(), 'failed', 3, '08P01', 'made by the test');",
    );
    // The worker evaluates alerts every 2 s: the stale and job_failures alerts.
    poll(
        "the worker's stale and job_failures alerts",
        Duration::from_secs(30),
        || {
            let kinds = node
                .try_sql(
                    DB,
                    "SELECT string_agg(kind, ',' ORDER BY kind) FROM baostock.open_alerts",
                )
                .ok()?;
            (kinds == "job_failures,stale").then_some(())
        },
    );

    let _exporter = Exporter(
        Command::new("prometheus-postgres-exporter")
            .args([
                &format!("--extend.query-path={}", repo_path("contrib/prometheus/queries.yaml")),
                &format!("--web.listen-address=127.0.0.1:{EXPORTER_PORT}"),
                "--disable-default-metrics",
                "--disable-settings-metrics",
            ])
            .env(
                "DATA_SOURCE_NAME",
                format!(
                    "host={} port={PORT} user=postgres dbname={DB} sslmode=disable",
                    node.dir
                ),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run prometheus-postgres-exporter (scripts/setup.sh installs it)"),
    );
    let scraped = poll("a scrape with baostock_status_info", Duration::from_secs(30), || {
        scrape().filter(|m| m.lines().any(|l| l.starts_with("baostock_status_info")))
    });
    let all = series(&scraped);
    // A series (its name and some of its labels) must be there once, with the value.
    let expect = |name: &str, labels: &[(&str, &str)], want: &str| {
        let found: Vec<&String> = all
            .iter()
            .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, _, v)| v)
            .collect();
        assert_eq!(found, [want], "{name}{labels:?} in the scrape:\n{scraped}");
    };
    expect("baostock_status_info", &[("status", "stale")], "1");
    expect("baostock_health_lag_trading_days", &[], "2");
    expect("baostock_health_holes", &[], "0");
    expect("baostock_health_worker_up", &[], "1");
    expect("baostock_health_blacklisted", &[], "0");
    expect("baostock_health_open_alerts", &[], "2");
    expect("baostock_health_tracked_lagging", &[], "0");
    expect("baostock_health_consecutive_failures", &[], "1");
    expect(
        "baostock_open_alerts_count",
        &[("kind", "stale"), ("severity", "warning")],
        "1",
    );
    expect("baostock_open_alerts_count", &[("kind", "job_failures")], "1");
    expect("baostock_open_alerts_count", &[("kind", "blacklisted")], "0");
    expect("baostock_jobs_jobs", &[("state", "failed")], "1");
    expect("baostock_jobs_jobs", &[("state", "running")], "0");
    expect(
        "baostock_runs_runs",
        &[("kind", "sync_date"), ("status", "failed")],
        "1",
    );
    expect(
        "baostock_runs_requests",
        &[("kind", "sync_date"), ("status", "failed")],
        "3",
    );
    expect(
        "baostock_runs_seconds",
        &[("kind", "sync_date"), ("status", "failed")],
        "2.5",
    );
}
