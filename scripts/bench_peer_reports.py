"""The peer of the fundamentals benchmark: the pipeline a user writes for one quarter of every
stock's quarterly reports, with the official baostock 0.9.4 client (unmodified but for its target
address) and psycopg2, against the emulator: per stock code the six quarterly calls
(query_profit_data, query_operation_data, query_growth_data, query_balance_data,
query_cash_flow_data, query_dupont_data) for YEAR and QUARTER, each answer's rows inserted into
`peer_reports` (kind, code, stat_date, pub_date, the row as jsonb), one commit a code.

  bench_peer_reports.py [options] YEAR QUARTER

Strictly serial, one session. Untimed setup: query_stock_basic (the stocks listed by the quarter's
end and not delisted before it began). Timed: login, a deterministic sample of --sample codes
(every k-th of the sorted list, as bench_peer.py samples), logout. Extrapolated: login + logout +
(the sample's seconds / sampled codes) x stock codes; requests likewise. Requests are counted at
the client's socket call, by message type (bench_peer.Requests).

Prints one JSON object on stdout; progress on stderr.
"""
import argparse
import contextlib
import datetime
import json
import os
import resource
import sys
import time

import baostock as bs
import baostock.common.contants as cons
import psycopg2
import psycopg2.extras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_peer import Requests, log, rows_of, sample  # noqa: E402

APIS = ("profit", "operation", "growth", "balance", "cash_flow", "dupont")
TABLE_DDL = """
CREATE TABLE IF NOT EXISTS peer_reports (
    kind       text NOT NULL,
    code       text NOT NULL,
    stat_date  date NOT NULL,
    pub_date   date NOT NULL,
    report     jsonb NOT NULL,
    PRIMARY KEY (kind, code, stat_date, pub_date)
)"""
INSERT = "INSERT INTO peer_reports (kind, code, stat_date, pub_date, report) VALUES %s ON CONFLICT DO NOTHING"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_dsn = (f"host={os.environ.get('BENCH_DIR', '/var/tmp/pg_baostock-bench')} "
                   f"port={os.environ.get('BENCH_PORT', '5497')} dbname=postgres user=postgres")
    ap.add_argument("--dsn", default=default_dsn)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(os.environ.get("BENCH_EMU_PORT", "10040")))
    ap.add_argument("--sample", type=int, default=100, help="codes timed (default 100)")
    ap.add_argument("year", type=int)
    ap.add_argument("quarter", type=int, choices=(1, 2, 3, 4))
    args = ap.parse_args()
    if args.sample < 1:
        ap.error("--sample must be at least 1")
    cons.BAOSTOCK_SERVER_IP = args.host
    cons.BAOSTOCK_SERVER_PORT = args.port
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    json.dump(result, out)
    out.write("\n")


def run(args):
    q_end = datetime.date(args.year, 3 * args.quarter, 1)
    q_end = (q_end.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
    q_start = datetime.date(args.year, 3 * args.quarter - 2, 1)
    conn = psycopg2.connect(args.dsn)
    with conn.cursor() as cur:
        cur.execute(TABLE_DDL)
        cur.execute("TRUNCATE peer_reports")
    conn.commit()
    counter = Requests()
    counter.phase = "setup"
    t = {}
    t0 = time.monotonic()
    if bs.login().error_code != "0":
        raise SystemExit("login failed")
    t["login"] = time.monotonic() - t0
    basics = rows_of(bs.query_stock_basic(), "query_stock_basic")
    codes = sorted(r[0] for r in basics
                   if r[4] == "1" and r[2] and r[2] <= str(q_end) and (not r[3] or r[3] > str(q_start)))
    chosen = sample(codes, args.sample)
    log(f"{len(chosen)} of {len(codes)} stocks, {args.year} Q{args.quarter}")
    counter.phase = "sample"
    rows_written = 0
    t0 = time.monotonic()
    with conn.cursor() as cur:
        for code in chosen:
            batch = []
            for api in APIS:
                rs = getattr(bs, f"query_{api}_data")(code=code, year=args.year, quarter=args.quarter)
                fields = rs.fields
                for row in rows_of(rs, f"query_{api}_data {code}"):
                    rec = dict(zip(fields, row))
                    batch.append((api, code, rec["statDate"], rec["pubDate"], json.dumps(rec)))
            if batch:
                psycopg2.extras.execute_values(cur, INSERT, batch)
                rows_written += len(batch)
            conn.commit()
    t["sample"] = time.monotonic() - t0
    t0 = time.monotonic()
    bs.logout()
    t["logout"] = time.monotonic() - t0
    conn.close()
    per_code = t["sample"] / len(chosen)
    by_type = counter.by_phase.get("sample", {})
    report_reqs = sum(by_type.values())
    return {
        "year": args.year, "quarter": args.quarter,
        "sampled_codes": len(chosen), "total_codes": len(codes),
        "measured_seconds": round(t["login"] + t["sample"] + t["logout"], 3),
        "extrapolated_seconds": round(t["login"] + t["logout"] + per_code * len(codes), 1),
        "extrapolated_requests": round(2 + report_reqs / len(chosen) * len(codes)),
        "requests_sample_by_type": dict(sorted(by_type.items())),
        "rows_written": rows_written,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


if __name__ == "__main__":
    main()
