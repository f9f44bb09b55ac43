"""The peer of the benchmarks: the Python pipeline pg_baostock replaces, re-enacted with the
official baostock 0.9.4 client (unmodified but for its target address) and psycopg2, against
the emulator. It times a deterministic sample and extrapolates linearly to the whole job.

  bench_peer.py [options] daily DAY           the daily update of DAY: login, query_all_stock(DAY),
                                              then per stock/ETF code one history request DAY..DAY
  bench_peer.py [options] history START END   the historical load "three days at a time": windows
                                              of 3 consecutive trading days, per window
                                              query_all_stock(window end), then per code one
                                              history request window start..window end

Strictly serial, one session. Each history request asks the 18 daily fields, frequency d,
adjustflag 3; its rows go into `peer_daily_bars` (created if missing) with
psycopg2.extras.execute_values in 500-row batches, ON CONFLICT DO NOTHING, one commit a batch.

Sampling: --sample N codes of each day's (window's) stock/ETF list, every k-th of the sorted
list (k = len/N, fractional, so the sample spans the list); for history --windows W windows
spread evenly over the range. Untimed setup: query_stock_basic (the type of every code:
1 stock, 5 ETF; the codes kept) and, for history, query_trade_dates for the range. Timed:
login, each query_all_stock, the sample's history requests and writes, logout. Extrapolated:
login + logout + query_all_stock x windows + (sample's history+write seconds / sampled
code-windows) x mean codes a window x windows; requests likewise.

Requests are counted at the client's one socket call (baostock.util.socketutil.send_msg), by
message type, so every page the client asks for is counted (it pages at 2,000 rows:
query_all_stock and query_stock_basic of a full market are several requests each).

Prints one JSON object on stdout; progress on stderr (with the client's own chatter).
"""
import argparse
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import resource
import sys
import time

import baostock as bs
import baostock.common.contants as cons
import baostock.util.socketutil as sockutil
import psycopg2
import psycopg2.extras

FIELDS = ("date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,"
          "pctChg,peTTM,pbMRQ,psTTM,pcfNcfTTM,isST")
BATCH = 500
STOCK, ETF = "1", "5"
# Used only if query_stock_basic gives nothing: the A-share and ETF boards by code prefix.
STOCK_PREFIXES = ("sh.60", "sh.68", "sz.00", "sz.30")
ETF_PREFIXES = ("sh.51", "sh.56", "sh.58", "sz.15", "sz.16")

TABLE_DDL = """
CREATE TABLE IF NOT EXISTS peer_daily_bars (
    code         text     NOT NULL,
    date         date     NOT NULL,
    open         numeric,
    high         numeric,
    low          numeric,
    close        numeric,
    preclose     numeric,
    volume       bigint,
    amount       numeric,
    adjustflag   smallint,
    turn         numeric,
    tradestatus  smallint,
    pct_chg      numeric,
    pe_ttm       numeric,
    pb_mrq       numeric,
    ps_ttm       numeric,
    pcf_ncf_ttm  numeric,
    is_st        boolean,
    PRIMARY KEY (code, date)
)"""
# The columns in FIELDS order (date and code swapped back by the row builder).
COLUMNS = ("code, date, open, high, low, close, preclose, volume, amount, adjustflag, turn, "
           "tradestatus, pct_chg, pe_ttm, pb_mrq, ps_ttm, pcf_ncf_ttm, is_st")
INSERT = f"INSERT INTO peer_daily_bars ({COLUMNS}) VALUES %s ON CONFLICT DO NOTHING"


def log(msg):
    print(f"[peer] {msg}", file=sys.stderr, flush=True)


class Requests:
    """Counts every request the client sends, by message type, into the current phase."""

    def __init__(self):
        self.phase = "setup"
        self.by_phase = {}
        self._send = sockutil.send_msg
        sockutil.send_msg = self._counted  # the client looks it up on the module at each call

    def _counted(self, msg):
        t = msg.split(cons.MESSAGE_SPLIT, 2)[1]
        counts = self.by_phase.setdefault(self.phase, {})
        counts[t] = counts.get(t, 0) + 1
        return self._send(msg)

    def total(self, phase, types=None):
        return sum(n for t, n in self.by_phase.get(phase, {}).items() if types is None or t in types)


def rows_of(rs, what):
    """Every row of a result set, following the client's pages; exits on a server error."""
    if rs is None or rs.error_code != "0":
        code = getattr(rs, "error_code", "?")
        msg = getattr(rs, "error_msg", "")
        raise SystemExit(f"{what}: error {code} {msg}")
    out = []
    while rs.error_code == "0" and rs.next():
        out.append(rs.get_row_data())
    if rs.error_code != "0":
        raise SystemExit(f"{what}: error {rs.error_code} {rs.error_msg} after {len(out)} rows")
    return out


def sample(items, n):
    """n items of a sorted list, every k-th with k = len/n (all of them if n >= len)."""
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def spread(n_total, w):
    """w indices spread evenly over range(n_total), each at the middle of its stretch."""
    w = min(w, n_total)
    return [(2 * j + 1) * n_total // (2 * w) for j in range(w)]


def db_row(r):
    """A 95 row (FIELDS order, strings) as the table's columns; empty strings are NULL."""
    v = [x if x != "" else None for x in r]
    return (v[1], v[0], *v[2:17], None if v[17] is None else v[17] == "1")


class Writer:
    def __init__(self, conn):
        self.conn, self.buf, self.written, self.batches = conn, [], 0, 0

    def add(self, rows):
        self.buf.extend(db_row(r) for r in rows)
        while len(self.buf) >= BATCH:
            self._flush(self.buf[:BATCH])
            self.buf = self.buf[BATCH:]

    def flush(self):
        if self.buf:
            self._flush(self.buf)
            self.buf = []

    def _flush(self, rows):
        with self.conn.cursor() as cur:
            psycopg2.extras.execute_values(cur, INSERT, rows, page_size=BATCH)
            self.written += max(cur.rowcount, 0)
        self.conn.commit()
        self.batches += 1


class Peer:
    def __init__(self, args, counter):
        self.args, self.counter = args, counter
        self.kinds = {}          # code -> "1" | "5" (kept codes only)
        self.selection = {}
        self.t = {"login": 0.0, "logout": 0.0, "all_stock": [], "history_and_write": 0.0}
        self.rows_received = 0
        self.history_calls = 0

    # --- untimed setup -------------------------------------------------------------------
    def code_types(self):
        rows = rows_of(bs.query_stock_basic(), "query_stock_basic")
        by_type, prefixes = {}, {}
        for code, _name, _ipo, _out, typ, _status in (r[:6] for r in rows):
            by_type[typ] = by_type.get(typ, 0) + 1
            if typ in (STOCK, ETF):
                self.kinds[code] = typ
                p = code[:5]
                prefixes.setdefault(typ, {})
                prefixes[typ][p] = prefixes[typ].get(p, 0) + 1
        if self.kinds:
            self.selection = {"by": "query_stock_basic type (1 stock, 5 ETF)",
                              "codes_by_type": by_type,
                              "stock_prefixes": dict(sorted(prefixes.get(STOCK, {}).items())),
                              "etf_prefixes": dict(sorted(prefixes.get(ETF, {}).items()))}
        else:
            self.selection = {"by": "code prefix", "stock_prefixes": list(STOCK_PREFIXES),
                              "etf_prefixes": list(ETF_PREFIXES)}
        log(f"code selection: {json.dumps(self.selection, ensure_ascii=False)}")

    def keep(self, code):
        if self.kinds:
            return code in self.kinds
        return code.startswith(STOCK_PREFIXES) or code.startswith(ETF_PREFIXES)

    def trading_days(self, start, end):
        rows = rows_of(bs.query_trade_dates(start_date=start, end_date=end), "query_trade_dates")
        return [d for d, trading in rows if trading == "1"]

    # --- timed work ----------------------------------------------------------------------
    def login(self):
        self.counter.phase = "sample"
        t0 = time.perf_counter()
        lg = bs.login()
        self.t["login"] = time.perf_counter() - t0
        if lg.error_code != "0":
            raise SystemExit(f"login failed: {lg.error_code} {lg.error_msg}")

    def logout(self):
        self.counter.phase = "sample"
        t0 = time.perf_counter()
        bs.logout()
        self.t["logout"] = time.perf_counter() - t0

    def codes_of(self, day):
        """query_all_stock(day), timed; the sorted stock/ETF codes listed that day."""
        self.counter.phase = "sample"
        t0 = time.perf_counter()
        rows = rows_of(bs.query_all_stock(day), f"query_all_stock({day})")
        self.t["all_stock"].append(time.perf_counter() - t0)
        return sorted(r[0] for r in rows if self.keep(r[0]))

    def window(self, writer, codes, start, end):
        """One history request a code for start..end, rows written as they come."""
        self.counter.phase = "sample"
        t0 = time.perf_counter()
        for code in codes:
            rs = bs.query_history_k_data_plus(code, FIELDS, start_date=start, end_date=end,
                                              frequency="d", adjustflag="3")
            rows = rows_of(rs, f"query_history_k_data_plus({code}, {start}, {end})")
            self.history_calls += 1
            self.rows_received += len(rows)
            writer.add(rows)
        writer.flush()
        self.t["history_and_write"] += time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    default_dsn = (f"host={os.environ.get('BENCH_DIR', '/var/tmp/pg_baostock-bench')} "
                   f"port={os.environ.get('BENCH_PORT', '5497')} dbname=postgres user=postgres")
    ap.add_argument("--dsn", default=default_dsn, help=f"psycopg2 DSN (default: {default_dsn!r})")
    ap.add_argument("--host", default="127.0.0.1", help="emulator address (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=int(os.environ.get("BENCH_EMU_PORT", "10040")),
                    help="emulator port (default $BENCH_EMU_PORT or 10040)")
    ap.add_argument("--sample", type=int, default=200, help="codes timed a day/window (default 200)")
    ap.add_argument("--windows", type=int, default=5, help="history: windows timed (default 5)")
    ap.add_argument("--truncate", action="store_true",
                    help="empty peer_daily_bars first (untimed), so every row is a new one")
    ap.add_argument("mode", choices=("daily", "history"))
    ap.add_argument("dates", nargs="+", metavar="DATE", help="daily: DAY; history: START END")
    args = ap.parse_args()
    if args.sample < 1 or args.windows < 1:
        ap.error("--sample and --windows must be at least 1")
    if len(args.dates) != (1 if args.mode == "daily" else 2):
        ap.error("daily takes DAY, history takes START END")
    for day in args.dates:
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            ap.error(f"not a YYYY-MM-DD date: {day}")
    if args.mode == "daily":
        args.day = args.dates[0]
    else:
        args.start, args.end = args.dates
        if args.start > args.end:
            ap.error("START is after END")

    cons.BAOSTOCK_SERVER_IP = args.host
    cons.BAOSTOCK_SERVER_PORT = args.port
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # the client prints; stdout is the JSON's
        result = run(args)
    json.dump(result, out, ensure_ascii=False)
    out.write("\n")


def run(args):
    conn = psycopg2.connect(args.dsn)
    with conn.cursor() as cur:
        cur.execute(TABLE_DDL)
        if args.truncate:
            cur.execute("TRUNCATE peer_daily_bars")
    conn.commit()
    writer = Writer(conn)
    counter = Requests()
    peer = Peer(args, counter)

    # One session for everything: the setup queries ride on it but are neither timed nor
    # counted in the sample (they are in requests_setup).
    peer.login()
    counter.phase = "setup"
    peer.code_types()
    if args.mode == "daily":
        windows = [(args.day, args.day)]
        picked = [0]
        range_ = {"day": args.day}
    else:
        days = peer.trading_days(args.start, args.end)
        if not days:
            raise SystemExit(f"no trading days in {args.start}..{args.end}")
        windows = [(days[i], days[min(i + 2, len(days) - 1)]) for i in range(0, len(days), 3)]
        picked = spread(len(windows), args.windows)
        range_ = {"start": args.start, "end": args.end, "trading_days": len(days)}
    log(f"{args.mode} {range_}: {len(windows)} windows, timing {len(picked)}, "
        f"{args.sample} codes each")

    totals, sampled = [], []
    for j, i in enumerate(picked):
        start, end = windows[i]
        codes = peer.codes_of(end)
        chosen = sample(codes, args.sample)
        totals.append(len(codes))
        sampled.append(len(chosen))
        before = peer.t["history_and_write"]
        peer.window(writer, chosen, start, end)
        log(f"window {j + 1}/{len(picked)} {start}..{end}: {len(chosen)} of {len(codes)} codes in "
            f"{peer.t['history_and_write'] - before:.2f} s (query_all_stock "
            f"{peer.t['all_stock'][-1]:.2f} s)")
    peer.logout()
    conn.close()

    t = peer.t
    code_windows = sum(sampled)
    measured = t["login"] + t["logout"] + sum(t["all_stock"]) + t["history_and_write"]
    per_code_window = t["history_and_write"] / code_windows if code_windows else 0.0
    mean_codes = sum(totals) / len(totals)
    n_windows = len(windows)
    all_stock_s = sum(t["all_stock"]) / len(t["all_stock"])
    extrapolated_s = (t["login"] + t["logout"] + all_stock_s * n_windows
                      + per_code_window * mean_codes * n_windows)

    by_type = counter.by_phase.get("sample", {})
    login_logout = by_type.get(cons.MESSAGE_TYPE_LOGIN_REQUEST, 0) + by_type.get(cons.MESSAGE_TYPE_LOGOUT_REQUEST, 0)
    all_stock_reqs = by_type.get(cons.MESSAGE_TYPE_QUERYALLSTOCK_REQUEST, 0)
    history_reqs = by_type.get(cons.MESSAGE_TYPE_GETKDATAPLUS_REQUEST, 0)
    history_per_code_window = history_reqs / code_windows if code_windows else 0.0
    extrapolated_reqs = (login_logout + all_stock_reqs / len(picked) * n_windows
                         + history_per_code_window * mean_codes * n_windows)

    return {
        "mode": args.mode,
        "range": range_,
        # A day's (window's) figures; for history the sampled windows' mean, each one below.
        "sampled_codes": sampled[0] if len(set(sampled)) == 1 else round(code_windows / len(sampled), 1),
        "total_codes": totals[0] if len(set(totals)) == 1 else round(mean_codes, 1),
        "sampled_codes_by_window": sampled,
        "total_codes_by_window": totals,
        "sampled_windows": len(picked),
        "total_windows": n_windows,
        "sampled_window_ranges": [list(windows[i]) for i in picked],
        "measured_seconds": round(measured, 3),
        "measured_breakdown": {
            "login_s": round(t["login"], 4), "logout_s": round(t["logout"], 4),
            "query_all_stock_s": [round(x, 4) for x in t["all_stock"]],
            "history_and_write_s": round(t["history_and_write"], 3),
            "seconds_per_code_window": round(per_code_window, 6),
        },
        "requests_sample": sum(by_type.values()),
        "requests_sample_by_type": dict(sorted(by_type.items())),
        "requests_setup_by_type": dict(sorted(counter.by_phase.get("setup", {}).items())),
        "history_calls": peer.history_calls,
        "rows_received": peer.rows_received,
        "rows_written": writer.written,
        "write_batches": writer.batches,
        "extrapolated_seconds": round(extrapolated_s, 1),
        "extrapolated_requests": round(extrapolated_reqs),
        "code_selection": peer.selection,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
        "baostock": importlib.metadata.version("baostock"),
        "psycopg2": psycopg2.__version__.split()[0],
        "emulator": f"{args.host}:{args.port}",
    }


if __name__ == "__main__":
    main()
