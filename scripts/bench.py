"""Drives the benchmark on the cluster and emulator scripts/bench.sh started and prints the
markdown tables: the re-enacted Python pipeline (scripts/bench_peer.py) beside sync_date of one
day and a 5-day catch-up, and its historical load of a year beside backfills of 1 year at 1-3
worker sessions and of 10 years; each with seconds, requests, bytes, rows, rows/s, the peak
private RSS of the process that did the work, the ratio to the peer and to the physical bound of
the latency profile (requests x mean latency / sessions, plus bytes x per-byte time / sessions;
or rows / the COPY rate measured in the same run, whichever is longer: writes overlap fetches);
then backfills of 1, 2, 5 and 10 years (seconds and peak RSS: time linear, memory flat)."""
import datetime
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time

DIR = os.environ["BENCH_DIR"]
PORT = os.environ["BENCH_PORT"]
CONTROL = int(os.environ["CONTROL_PORT"])
PGDATA = os.environ["PGDATA_BENCH"]
PGBIN = os.environ["PGBIN"]
EMU_PORT = int(os.environ["EMU_PORT"])
SESSIONS = [int(s) for s in os.environ["BENCH_SESSIONS"].split()]
SCALING_YEARS = [int(y) for y in os.environ["BENCH_SCALING_YEARS"].split()]
SCALING_SESSIONS = int(os.environ.get("BENCH_SCALING_SESSIONS", "3"))
PROFILE = os.environ["BENCH_PROFILE"]
PEER_SAMPLE = int(os.environ.get("BENCH_PEER_SAMPLE", "200"))
PEER_HISTORY_SAMPLE = int(os.environ.get("BENCH_PEER_HISTORY_SAMPLE", "100"))
PEER_WINDOWS = int(os.environ.get("BENCH_PEER_WINDOWS", "3"))
# What to run: "daily" (the daily update), "history" (the historical load and the scaling) and
# "extras" (on ten years of bars: factor histories, minute bars, adjusted reads), "fundamentals"
# (one quarter of every stock's reports beside the peer's); the store table always.
PARTS = os.environ.get("BENCH_PARTS", "daily history extras").split()
# baostock.max_sessions' default: what sync_date uses out of the box.
DEFAULT_SESSIONS = 2

# Mean delays of the emulator's profiles (crates/baostock-emulator/src/controls.rs): base plus
# half the uniform jitter, per-type overrides, and a transfer time per response byte.
PROFILES = {
    "realistic": {"base_ms": 180 + 20, "per_type_ms": {"35": 2000 + 20, "95": 300 + 20}, "per_byte_ns": 20},
    "fast": {"base_ms": 0, "per_type_ms": {}, "per_byte_ns": 0},
}


# The clusters a part runs on: the bench's single node, and (part "citus") the coordinator of
# the Citus cluster bench.sh starts beside it. psql(), restart() and the jobs act on NODE.
SINGLE = {"name": "single node", "host": DIR, "port": PORT, "pgdata": PGDATA, "log": f"{DIR}/postgres.log"}
CITUS_DIR = os.environ.get("CITUS_DIR")
CITUS = {"name": "Citus", "host": CITUS_DIR, "port": os.environ.get("CITUS_PORT"),
         "pgdata": f"{CITUS_DIR}/coordinator", "log": f"{CITUS_DIR}/coordinator.log"}
NODE = SINGLE


def psql(sql):
    out = subprocess.run(
        ["psql", "-U", "postgres", "-h", NODE["host"], "-p", NODE["port"], "-d", "postgres", "-X", "-At", "-v",
         "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"psql failed: {sql}\n{out.stderr}")
    return out.stdout.strip()


def control(cmd):
    with socket.create_connection(("127.0.0.1", CONTROL)) as s:
        s.sendall((cmd + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


def restart():
    subprocess.run(["sudo", "-u", "postgres", f"{PGBIN}/pg_ctl", "-D", NODE["pgdata"], "-w", "-m", "fast", "restart",
                    "-l", NODE["log"]], cwd=DIR, check=True, capture_output=True)


def worker_pid():
    for _ in range(100):
        pid = psql("SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_baostock worker'")
        if pid:
            return int(pid)
        time.sleep(0.1)
    raise SystemExit("no pg_baostock worker in pg_stat_activity")


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PrivatePeak(threading.Thread):
    """Samples the worker's private memory (RssAnon: its heap and stacks, not the shared buffers
    it touches, which VmHWM counts too) every 0.1 s and keeps the peak."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.done = pid, 0, threading.Event()

    def run(self):
        while not self.done.is_set():
            try:
                self.peak_kb = max(self.peak_kb, status_kb(self.pid, "RssAnon"))
            except OSError:
                return
            time.sleep(0.1)

    def stop_mb(self):
        self.done.set()
        self.join()
        return self.peak_kb / 1024


def net_bound(counters, sessions):
    p = PROFILES[PROFILE]
    ms = sum(n * p["per_type_ms"].get(t, p["base_ms"]) for t, n in counters["requests_by_type"].items())
    ms += sum(counters["bytes_by_type"].values()) * p["per_byte_ns"] / 1e6
    return ms / 1000 / sessions


def reset_data():
    # A statement a table: Citus truncates its distributed tables and the local ones apart.
    for table in ("daily_bars", "adjust_factors", "synced_days", "synced_ranges", "sync_units", "sync_jobs",
                  "sync_runs"):
        psql(f"TRUNCATE baostock.{table} CASCADE")
    psql("CHECKPOINT")


def set_sessions(n):
    """baostock.max_sessions = n and a fresh worker (its peak RSS is the next run's)."""
    psql(f"ALTER SYSTEM SET baostock.max_sessions = {n}")
    restart()
    return worker_pid()


class Background:
    """A psql session in the background, found in pg_stat_activity by its application_name, so
    that the memory of the backend doing the work can be sampled."""

    def __init__(self, sql, name):
        env = dict(os.environ, PGAPPNAME=name)
        self.proc = subprocess.Popen(
            ["psql", "-U", "postgres", "-h", DIR, "-p", PORT, "-d", "postgres", "-X", "-At", "-v", "ON_ERROR_STOP=1",
             "-c", sql], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.pid = None
        for _ in range(200):
            pid = psql(f"SELECT pid FROM pg_stat_activity WHERE application_name = '{name}'")
            if pid:
                self.pid = int(pid)
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.01)

    def finish(self):
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            raise SystemExit(f"psql failed: {err}")
        return out.strip()


def our_sync(label, sql, copy_rate, peer_s):
    """Times one sync_date() call in a backend of its own: seconds, requests, bytes, rows,
    the backend's peak private RSS, and the ratios to the peer and to the bound. The reference
    data sync_date refreshes once a day is fetched before, so only the days are measured."""
    psql("SELECT count(*) FROM baostock.sync_securities(), baostock.sync_index_constituents(), "
         "baostock.sync_industries()")
    control("reset-counters")
    t0 = time.monotonic()
    bg = Background(sql, f"bench-{label.replace(' ', '-')}")
    peak = PrivatePeak(bg.pid) if bg.pid else None
    if peak:
        peak.start()
    out = bg.finish()
    wall = time.monotonic() - t0
    mb = peak.stop_mb() if peak else 0.0
    counters = control("counters")["counters"]
    # The runs' own time, from the first start to the last finish: psql's wall time adds the
    # connection and loading the library into a fresh backend, which a scheduled call pays too
    # but the bound does not count.
    r = psql("SELECT coalesce(sum(rows_inserted + rows_updated + rows_unchanged), 0), "
             "extract(epoch FROM max(finished_at) - min(started_at)) FROM baostock.sync_runs "
             "WHERE kind = 'sync_date' AND status = 'ok'").split("|")
    rows, seconds = int(r[0]), float(r[1])
    print(f"[bench] {label}: {seconds:.2f} s by the run records, {wall:.2f} s psql wall time", flush=True,
          file=sys.stderr)
    sessions = int(psql("SHOW baostock.max_sessions"))
    net = net_bound(counters, sessions)
    write = rows / copy_rate
    return {"what": label, "seconds": seconds, "wall_s": wall, "requests": counters["total_requests"],
            "bytes": sum(counters["bytes_by_type"].values()), "rows": rows, "rss_mb": mb, "peer_s": peer_s,
            "bound_s": max(net, write), "days": len([l for l in out.splitlines() if l.endswith("|ok")])}


def our_job(label, args, sessions, copy_rate, peer_s, reset=True, queue="backfill"):
    """One job (`args` are the arguments of `queue`: backfill() or backfill_fundamentals()) at
    `sessions` worker sessions: its own seconds, requests, bytes and rows, the worker's peak
    private RSS and the bound."""
    if reset:
        reset_data()
    pid = set_sessions(sessions + 1)
    control("reset-counters")
    private = PrivatePeak(pid)
    private.start()
    job = psql(f"SELECT baostock.{queue}({args})").splitlines()[-1]
    state = psql(f"SELECT baostock.wait({job})").splitlines()[-1]
    j = psql(f"SELECT extract(epoch FROM finished_at - started_at), requests, bytes, rows_written "
             f"FROM baostock.sync_jobs WHERE job_id = {job}").split("|")
    seconds, requests, nbytes, written = float(j[0]), int(j[1]), int(j[2]), int(j[3])
    counters = control("counters")["counters"]
    mb = private.stop_mb()
    print(f"[bench] {label}: {state}, {seconds:.1f} s", flush=True, file=sys.stderr)
    if state != "done":
        raise SystemExit(f"job {job} ended {state}")
    return {"what": label, "seconds": seconds, "requests": requests, "bytes": nbytes, "rows": written,
            "rss_mb": mb, "peer_s": peer_s, "bound_s": max(net_bound(counters, sessions), written / copy_rate),
            "sessions": sessions}


def our_backfill(years, sessions, end, copy_rate, peer_s):
    """A backfill of the bars of every code over `years` (the peer fetches no factors)."""
    start = end.replace(year=end.year - years) + datetime.timedelta(days=1)
    r = our_job(f"backfill {years} y, {sessions} session{'s' if sessions > 1 else ''}",
                f"'{start}', '{end}', factors => false", sessions, copy_rate, peer_s)
    r["years"] = years
    return r


def exec_ms(query, runs=5):
    """The median execution time of a query in ms (EXPLAIN ANALYZE without per-node timing)."""
    times = []
    for _ in range(runs):
        out = psql(f"EXPLAIN (ANALYZE, TIMING OFF) {query}")
        times.append(float(next(l for l in out.splitlines() if l.startswith("Execution Time")).split()[2]))
    return sorted(times)[len(times) // 2]


# The columns of the adjusted views, read from each table alike: a raw read of the same shape
# (SELECT * of daily_bars has 12 more columns and, under EXPLAIN ANALYZE, skips the projection
# and the decoding of every column that the views' reads do).
READ_COLUMNS = ("code, date, open, high, low, close, preclose, volume, amount, adjustflag, turn, trade_status, "
                "pct_chg, pe_ttm, pb_mrq, ps_ttm, pcf_ncf_ttm, is_st")


def reads(ten, end):
    """The three shapes of issue 22 (one code's history, one day of every code, a full scan),
    each read raw, forward- and back-adjusted, and a weekly qfq history: (what, rows, raw ms,
    qfq ms, hfq ms) rows."""
    psql("VACUUM ANALYZE baostock.daily_bars")
    rich = psql("SELECT code FROM baostock.adjust_factors a JOIN baostock.securities s USING (code) "
                "WHERE s.sec_type = 1 AND s.ipo_date < '" + str(ten) + "' GROUP BY code ORDER BY count(*) DESC, code LIMIT 1")
    shapes = [
        (f"one code ({rich}), 10 years",
         f"SELECT {READ_COLUMNS} FROM {{t}} WHERE code = '{rich}' AND date BETWEEN '{ten}' AND '{end}'"),
        (f"every code, one day ({end})", f"SELECT {READ_COLUMNS} FROM {{t}} WHERE date = '{end}'"),
        ("full scan, sum(close)", "SELECT sum(close) FROM {t}"),
    ]
    out = []
    for what, query in shapes:
        counted = "SELECT * FROM baostock.daily_bars" if "sum(" in query else query.format(t="baostock.daily_bars")
        n = int(psql(f"SELECT count(*) FROM ({counted}) x"))
        out.append((what, n, *(exec_ms(query.format(t=t)) for t in
                                ("baostock.daily_bars", "baostock.daily_bars_qfq", "baostock.daily_bars_hfq"))))
    weekly = f"SELECT * FROM baostock.adjusted_bars('{rich}', '{ten}', '{end}', 'qfq', 'w')"
    out.append((f"one code ({rich}), 10 years, weekly qfq (adjusted_bars)",
                int(psql(f"SELECT count(*) FROM ({weekly}) x")), None, exec_ms(weekly), None))
    return out


def citus_part(end, copy_rate):
    """Part "citus": a one-year backfill of every code's daily bars and one year of 5-minute bars
    of 300 codes, on the single node and then on the Citus cluster (coordinator and two workers
    on this machine, the tables distributed), from the same emulator; then, on the cluster, the
    closed months of those minute bars heap and columnar: bytes per bar and a month's scan.
    Returns ({what: (single run, Citus run)}, columnar figures)."""
    global NODE
    one = end.replace(year=end.year - 1) + datetime.timedelta(days=1)
    codes = psql("SELECT string_agg(quote_literal(code), ',') FROM (SELECT code FROM baostock.securities "
                 "WHERE sec_type = 1 AND ipo_date < '" + str(one) + "' AND out_date IS NULL ORDER BY code LIMIT 300) c")
    runs = {}
    for node in (SINGLE, CITUS):
        NODE = node
        psql("CREATE EXTENSION IF NOT EXISTS pg_baostock")
        if node is CITUS:
            psql("SELECT count(*) FROM baostock.sync_calendar(), baostock.sync_securities()")
            psql("SET client_min_messages = warning; SELECT count(*) FROM baostock.distribute()")
        psql("TRUNCATE baostock.minute_bars")
        for what, args, reset in (
                ("daily bars 1 y, every code", f"'{one}', '{end}', factors => false", True),
                ("5-minute bars 1 y, 300 codes",
                 f"'{one}', '{end}', codes => ARRAY[{codes}], frequency => '5', factors => false", False)):
            r = our_job(f"{node['name']}: {what}", args, SCALING_SESSIONS, copy_rate, None, reset=reset)
            runs.setdefault(what, []).append(r)
    # Columnar, on the cluster: every closed month, and the scan of the newest closed one.
    closed = "month < date_trunc('month', localtimestamp)"
    psql("VACUUM ANALYZE baostock.minute_bars")
    months = psql(f"SELECT count(*), sum(bytes), sum(table_bytes) FROM baostock.minute_months WHERE {closed}")
    n_months, heap_bytes, heap_table = (int(v) for v in months.split("|"))
    bars = int(psql("SELECT count(*) FROM baostock.minute_bars WHERE time < date_trunc('month', localtimestamp)"))
    newest = psql(f"SELECT month_table FROM baostock.minute_months WHERE {closed} ORDER BY month DESC LIMIT 1")
    scan = f"SELECT sum(close), sum(volume) FROM {newest}"
    month_bars = int(psql(f"SELECT count(*) FROM {newest}"))
    heap_ms = exec_ms(scan)
    psql("SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS citus_columnar")
    psql("SELECT count(*) FROM baostock.compress_minute_months('1 day')")
    columnar_bytes, columnar_table = (int(v) for v in psql(
        f"SELECT sum(bytes), sum(table_bytes) FROM baostock.minute_months WHERE {closed} "
        f"AND access_method = 'columnar'").split("|"))
    columnar_ms = exec_ms(scan)
    NODE = SINGLE
    return runs, {"months": n_months, "bars": bars, "heap_bytes": heap_bytes, "columnar_bytes": columnar_bytes,
                  "heap_table": heap_table, "columnar_table": columnar_table,
                  "month": newest, "month_bars": month_bars, "heap_ms": heap_ms, "columnar_ms": columnar_ms}


PEER_REPORTS_SAMPLE = int(os.environ.get("BENCH_PEER_REPORTS_SAMPLE", "100"))
QUARTERLY = "ARRAY['profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont']"


def fundamentals_part(end, copy_rate):
    """One quarter of every stock's six quarterly reports: the peer (scripts/bench_peer_reports.py,
    sampled and extrapolated) beside backfill_fundamentals at SCALING_SESSIONS sessions. The
    emulator's clock is set to 6 May, after the Q1 deadline's reports are out and before Q2 ends,
    so the job asks Q1 alone; the real clock afterwards."""
    year = end.year if end >= datetime.date(end.year, 5, 6) else end.year - 1
    control(f"clock {year}-05-06T12:00:00 running")
    venv = os.environ.get("BAOSTOCK_VENV", "/var/tmp/pg_baostock-venv")
    dsn = f"host={DIR} port={PORT} dbname=postgres user=postgres"
    out = subprocess.run([f"{venv}/bin/python", os.path.join(os.path.dirname(__file__), "bench_peer_reports.py"),
                          str(year), "1", "--dsn", dsn, "--port", str(EMU_PORT),
                          "--sample", str(PEER_REPORTS_SAMPLE)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_peer_reports.py failed:\n{out.stderr[-3000:]}")
    p = json.loads(out.stdout)
    psql("DROP TABLE peer_reports")
    print(f"[bench] peer reports: {p['extrapolated_seconds']:.0f} s extrapolated from {p['sampled_codes']} codes",
          flush=True, file=sys.stderr)
    rows = [{"what": f"peer: Q1 {year} reports (6 kinds), {p['sampled_codes']} of {p['total_codes']} stocks sampled",
             "seconds": p["extrapolated_seconds"], "requests": p["extrapolated_requests"], "bytes": None,
             "rows": None, "rss_mb": p["peak_rss_mb"], "peer_s": p["extrapolated_seconds"], "bound_s": None}]
    for kind in ("profit", "operation", "growth", "balance", "cash_flow", "dupont"):
        psql(f"TRUNCATE baostock.report_{kind}")
    psql("TRUNCATE baostock.report_checks")
    rows.append(our_job(f"backfill_fundamentals Q1 {year}, every stock, {SCALING_SESSIONS} sessions",
                        f"{year}, {year}, kinds => {QUARTERLY}", SCALING_SESSIONS, copy_rate,
                        p["extrapolated_seconds"], reset=False, queue="backfill_fundamentals"))
    control("clock none")
    return rows


def peer(mode, *args):
    """Runs the re-enacted Python pipeline (scripts/bench_peer.py) and returns its JSON."""
    venv = os.environ.get("BAOSTOCK_VENV", "/var/tmp/pg_baostock-venv")
    dsn = f"host={DIR} port={PORT} dbname=postgres user=postgres"
    out = subprocess.run([f"{venv}/bin/python", os.path.join(os.path.dirname(__file__), "bench_peer.py"), mode,
                          *args, "--dsn", dsn, "--port", str(EMU_PORT), "--truncate"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"bench_peer.py {mode} failed:\n{out.stderr[-3000:]}")
    r = json.loads(out.stdout)
    print(f"[bench] peer {mode}: {r['extrapolated_seconds']:.0f} s extrapolated from {r['sampled_codes']} codes",
          flush=True, file=sys.stderr)
    return r


def bench_store(runs, n):
    """baostock.bench_store(n) `runs` times: the median rows/s and ratio to COPY of each method."""
    results = {}
    for _ in range(runs):
        for line in psql(f"SELECT method, rows_per_s, vs_copy FROM baostock.bench_store({n})").splitlines():
            method, rate, vs = line.split("|")
            results.setdefault(method, []).append((float(rate), float(vs)))
    median = lambda xs: sorted(xs)[len(xs) // 2]
    return {m: {"rows_per_s": median([r for r, _ in v]), "vs_copy": median([x for _, x in v]),
                "vs_range": (min(x for _, x in v), max(x for _, x in v)), "runs": len(v), "rows": n}
            for m, v in results.items()}


def fmt_s(s):
    if s >= 86400 * 2:
        return f"{s / 86400:.1f} d"
    if s >= 7200:
        return f"{s / 3600:.1f} h"
    return f"{s:.1f} s"


def main():
    psql("CREATE EXTENSION IF NOT EXISTS pg_baostock")
    psql("SELECT * FROM baostock.sync_calendar()")
    psql("SELECT * FROM baostock.sync_securities()")
    store = bench_store(5, 200000)
    copy_rate = store["COPY into an identical table"]["rows_per_s"]
    end = datetime.date.fromisoformat(psql("SELECT baostock.latest_trading_day()"))
    days = psql(f"SELECT day FROM baostock.trade_calendar WHERE is_trading_day AND day <= '{end}' "
                f"ORDER BY day DESC LIMIT 7").splitlines()
    rows = []

    if "daily" in PARTS:
        # The daily update: the peer's, one day by sync_date, and a 5-day catch-up.
        p = peer("daily", str(end), "--sample", str(PEER_SAMPLE))
        rows.append({"what": f"peer: daily update, {p['sampled_codes']} of {p['total_codes']:.0f} codes sampled",
                     "seconds": p["extrapolated_seconds"], "requests": p["extrapolated_requests"], "bytes": None,
                     "rows": p["total_codes"], "rss_mb": p["peak_rss_mb"], "peer_s": p["extrapolated_seconds"],
                     "bound_s": None})
        psql("TRUNCATE peer_daily_bars")
        reset_data()
        set_sessions(DEFAULT_SESSIONS)
        rows.append(our_sync("sync_date, 1 day", f"SELECT * FROM baostock.sync_date('{end}')", copy_rate,
                             p["extrapolated_seconds"]))
        reset_data()
        psql(f"SELECT * FROM baostock.sync_date('{days[6]}')")
        psql("TRUNCATE baostock.sync_runs")
        rows.append(our_sync("sync_date catch-up, 5 days", "SELECT * FROM baostock.sync_date()", copy_rate,
                             5 * p["extrapolated_seconds"]))

    scaling, read_rows = {}, []
    if "history" in PARTS:
        # The historical load: the peer's year, our year at 1-3 sessions, ten years and the scaling.
        start = end.replace(year=end.year - 1) + datetime.timedelta(days=1)
        h = peer("history", str(start), str(end), "--sample", str(PEER_HISTORY_SAMPLE), "--windows", str(PEER_WINDOWS))
        psql("DROP TABLE peer_daily_bars")
        rows.append({"what": f"peer: historical load 1 y, {h['sampled_codes']} codes x {h['sampled_windows']} of "
                             f"{h['total_windows']} windows sampled",
                     "seconds": h["extrapolated_seconds"], "requests": h["extrapolated_requests"], "bytes": None,
                     "rows": None, "rss_mb": h["peak_rss_mb"], "peer_s": h["extrapolated_seconds"], "bound_s": None})
        peer_year = h["extrapolated_seconds"]
        scaling = {}
        for sessions in SESSIONS:
            r = our_backfill(1, sessions, end, copy_rate, peer_year)
            rows.append(r)
            if sessions == SCALING_SESSIONS:
                scaling[1] = r
        for years in sorted(set(SCALING_YEARS) - {1}):
            r = our_backfill(years, SCALING_SESSIONS, end, copy_rate, peer_year * years)
            scaling[years] = r
            if years == max(SCALING_YEARS):
                rows.append(r)

    if "extras" in PARTS or "reads" in PARTS:
        years = max(SCALING_YEARS)
        ten = end.replace(year=end.year - years) + datetime.timedelta(days=1)
        if "history" in PARTS or "extras" in PARTS:
            if years not in scaling:
                rows.append(our_backfill(years, SCALING_SESSIONS, end, copy_rate, None))
            # Factor histories of every code (once, a request a code) after the bars the
            # scaling left stored (which they adjust again), 5-minute bars, adjusted reads.
            rows.append(our_job("factor histories, every code (once)", f"'{ten}', '{end}'", SCALING_SESSIONS,
                                copy_rate, None, reset=False))
        else:
            # What a user runs: the bars with their factor histories (histories first).
            rows.append(our_job(f"backfill {years} y with factor histories, {SCALING_SESSIONS} sessions",
                                f"'{ten}', '{end}'", SCALING_SESSIONS, copy_rate, None))
    if "extras" in PARTS:
        one = end.replace(year=end.year - 1) + datetime.timedelta(days=1)
        codes = psql("SELECT string_agg(quote_literal(code), ',') FROM (SELECT code FROM baostock.securities "
                     "WHERE sec_type = 1 AND ipo_date < '" + str(one) + "' AND out_date IS NULL ORDER BY code LIMIT 300) c")
        rows.append(our_job("5-minute bars 1 y, 300 codes", f"'{one}', '{end}', codes => ARRAY[{codes}], "
                            f"frequency => '5', factors => false", SCALING_SESSIONS, copy_rate, None, reset=False))
    if "extras" in PARTS or "reads" in PARTS:
        read_rows = reads(ten, end)
    if "fundamentals" in PARTS:
        rows.extend(fundamentals_part(end, copy_rate))
    citus_runs, columnar = citus_part(end, copy_rate) if "citus" in PARTS else ({}, None)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Benchmark of {datetime.date.today()}, {os.cpu_count()} cores ({cpu}), {platform.system()}; emulator "
          f"profile {PROFILE}, full default market; COPY rate in this run {copy_rate:,.0f} rows/s; bound = "
          f"max(requests x mean latency of the profile / sessions, rows / COPY rate); the peer is "
          f"scripts/bench_peer.py (official client 0.9.4, serial, psycopg2 execute_values), sampled and "
          f"extrapolated linearly.\n")
    print("| run | seconds | requests | bytes | rows | rows/s | peak RSS | vs peer | vs bound |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        rate = f"{r['rows'] / r['seconds']:,.0f}" if r["rows"] else "-"
        vs_peer = ("1" if r["what"].startswith("peer") else
                   f"{r['peer_s'] / r['seconds']:.0f}x faster" if r["peer_s"] else "-")
        vs_bound = f"{r['seconds'] / r['bound_s']:.2f}x" if r["bound_s"] else "-"
        nbytes = f"{r['bytes'] / 1e6:,.1f} MB" if r["bytes"] else "-"
        nrows = f"{r['rows']:,.0f}" if r["rows"] else "-"
        print(f"| {r['what']} | {fmt_s(r['seconds'])} | {r['requests']:,.0f} | {nbytes} | {nrows} | {rate} "
              f"| {r['rss_mb']:.0f} MB | {vs_peer} | {vs_bound} |")
    if read_rows:
        print("\nReading daily bars raw, forward-adjusted (daily_bars_qfq) and back-adjusted (daily_bars_hfq), "
              "the views' columns from each, median of 5 runs, execution time (the ratio to raw in brackets):\n")
        print("| read | rows | raw | qfq | hfq |")
        print("|---|---|---|---|---|")
    for what, n, raw, qfq, hfq in read_rows:
        ms = lambda v: f"{v:.1f} ms" if v is not None else "-"
        ratio = lambda v: f" ({v / raw:.2f}x)" if v is not None and raw else ""
        print(f"| {what} | {n:,} | {ms(raw)} | {ms(qfq)}{ratio(qfq)} | {ms(hfq)}{ratio(hfq)} |")
    any_store = next(iter(store.values()))
    print(f"\nStore vs COPY: baostock.bench_store({any_store['rows']}), {any_store['runs']} runs, medians "
          f"(the range of the ratio in brackets):\n")
    print("| method | rows/s | vs COPY |")
    print("|---|---|---|")
    for method, r in store.items():
        lo, hi = r["vs_range"]
        print(f"| {method} | {r['rows_per_s']:,.0f} | {r['vs_copy']:.2f} ({lo:.2f}-{hi:.2f}) |")
    if citus_runs:
        print(f"\nCitus 13.2.2 (a coordinator and two workers on this machine, the bar tables distributed by code) "
              f"against the single node, the same jobs from the same emulator, {SCALING_SESSIONS} worker sessions:\n")
        print("| job | rows | single node | Citus | Citus / single node |")
        print("|---|---|---|---|---|")
    for what, (single, citus) in citus_runs.items():
        print(f"| {what} | {citus['rows']:,} | {fmt_s(single['seconds'])} ({single['seconds'] / single['bound_s']:.2f}x "
              f"bound) | {fmt_s(citus['seconds'])} ({citus['seconds'] / citus['bound_s']:.2f}x bound) "
              f"| {citus['seconds'] / single['seconds']:.2f}x |")
    if columnar:
        c = columnar
        print(f"\nMinute months on the Citus cluster, heap and columnar (Citus columnar, zstd): the {c['months']} "
              f"closed months of those 5-minute bars ({c['bars']:,} bars; bytes of all shards, the table alone and "
              f"with its primary key's index), and a scan of the newest, {c['month']} ({c['month_bars']:,} bars: "
              f"sum(close), sum(volume); median of 5):\n")
        print("| storage | table | bytes per bar | with the index | bytes per bar | month scan |")
        print("|---|---|---|---|---|---|")
        for name, table, nbytes, ms in (("heap", c["heap_table"], c["heap_bytes"], c["heap_ms"]),
                                        ("columnar", c["columnar_table"], c["columnar_bytes"], c["columnar_ms"])):
            of = lambda v, heap: "" if name == "heap" else f" ({v / heap:.2f}x heap)"
            print(f"| {name} | {table / 1e6:,.1f} MB{of(table, c['heap_table'])} | {table / c['bars']:.1f} "
                  f"| {nbytes / 1e6:,.1f} MB{of(nbytes, c['heap_bytes'])} | {nbytes / c['bars']:.1f} | {ms:.1f} ms |")
    if scaling:
        print(f"\nScaling, {SCALING_SESSIONS} worker sessions:\n")
        print("| years | seconds | seconds a year | rows | worker peak private RSS |")
        print("|---|---|---|---|---|")
    for years in sorted(scaling):
        r = scaling[years]
        print(f"| {years} | {r['seconds']:.1f} | {r['seconds'] / years:.1f} | {r['rows']:,} | {r['rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
