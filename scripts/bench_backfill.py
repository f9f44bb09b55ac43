"""Drives the backfill benchmark on the cluster and emulator scripts/bench.sh started, and
prints the markdown table: per run, the job's seconds, requests, rows, rows/s and the worker's
peak RSS, beside the physical bound of the latency profile (requests x mean latency / sessions,
plus bytes x per-byte time / sessions; and rows / the COPY rate measured in the same run)."""
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
YEARS = [int(y) for y in os.environ["BENCH_YEARS"].split()]
SESSIONS = [int(s) for s in os.environ["BENCH_SESSIONS"].split()]
PROFILE = os.environ["BENCH_PROFILE"]

# Mean delays of the emulator's profiles (crates/baostock-emulator/src/controls.rs): base plus
# half the uniform jitter, per-type overrides, and a transfer time per response byte.
PROFILES = {
    "realistic": {"base_ms": 180 + 20, "per_type_ms": {"35": 2000 + 20, "95": 300 + 20}, "per_byte_ns": 20},
    "fast": {"base_ms": 0, "per_type_ms": {}, "per_byte_ns": 0},
}


def psql(sql):
    out = subprocess.run(
        ["psql", "-U", "postgres", "-h", DIR, "-p", PORT, "-d", "postgres", "-X", "-At", "-v", "ON_ERROR_STOP=1",
         "-c", sql],
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
    subprocess.run(["sudo", "-u", "postgres", f"{PGBIN}/pg_ctl", "-D", PGDATA, "-w", "-m", "fast", "restart",
                    "-l", f"{DIR}/postgres.log"], cwd=DIR, check=True, capture_output=True)


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


def main():
    psql("CREATE EXTENSION IF NOT EXISTS pg_baostock")
    psql("SELECT * FROM baostock.sync_calendar()")
    psql("SELECT * FROM baostock.sync_securities()")
    copy_rate = float(psql("SELECT rows_per_s FROM baostock.bench_store(200000) WHERE method LIKE 'COPY%'"))
    end = datetime.date.fromisoformat(psql("SELECT baostock.latest_trading_day()"))
    rows = []
    for years in YEARS:
        start = end.replace(year=end.year - years) + datetime.timedelta(days=1)
        for sessions in SESSIONS:
            psql("TRUNCATE baostock.daily_bars, baostock.adjust_factors, baostock.synced_days, "
                 "baostock.synced_ranges, baostock.sync_units, baostock.sync_jobs CASCADE")
            psql("CHECKPOINT")
            psql(f"ALTER SYSTEM SET baostock.max_sessions = {sessions + 1}")
            restart()  # a fresh worker: its peak RSS is this run's
            pid = worker_pid()
            control("reset-counters")
            private = PrivatePeak(pid)
            private.start()
            job = psql(f"SELECT baostock.backfill('{start}', '{end}')").splitlines()[-1]
            state = psql(f"SELECT baostock.wait({job})").splitlines()[-1]
            j = psql(f"SELECT extract(epoch FROM finished_at - started_at), requests, rows_written, "
                     f"(SELECT count(*) FROM baostock.sync_units WHERE job_id = {job} AND state = 'done') "
                     f"FROM baostock.sync_jobs WHERE job_id = {job}").split("|")
            seconds, requests, written, done = float(j[0]), int(j[1]), int(j[2]), int(j[3])
            counters = control("counters")["counters"]
            private_mb, hwm_mb = private.stop_mb(), status_kb(pid, "VmHWM") / 1024
            net = net_bound(counters, sessions)
            write = written / copy_rate
            bound = max(net, write)
            rows.append((years, sessions, state, done, seconds, requests, counters["total_requests"], written,
                         written / seconds, private_mb, hwm_mb, net, write, seconds / bound,
                         counters["peak_sessions"]))
            print(f"[bench] {years} y, {sessions} sessions: {state}, {seconds:.1f} s", flush=True, file=sys.stderr)
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"Backfill benchmark, {datetime.date.today()}, {os.cpu_count()} cores ({cpu}), {platform.system()}; "
          f"emulator profile {PROFILE}, full default market; COPY rate in this run {copy_rate:,.0f} rows/s; "
          f"bound = max(requests x mean latency / sessions, rows / COPY rate).\n")
    print("| years | sessions | state | day units | seconds | requests (job / server) | rows | rows/s "
          "| worker peak private RSS | worker VmHWM (with shared buffers) | net bound s | write bound s "
          "| vs bound | peak server sessions |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]} / {r[6]} | {r[7]:,} | {r[8]:,.0f} "
              f"| {r[9]:.0f} MB | {r[10]:.0f} MB | {r[11]:.1f} | {r[12]:.1f} | {r[13]:.2f}x | {r[14]} |")


if __name__ == "__main__":
    main()
