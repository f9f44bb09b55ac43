#!/usr/bin/env python3
"""Runs the unmodified official baostock client (0.9.4) for reference data and around a
corporate action added through the emulator's control port, and prints what it got.

Usage: official_reference.py HOST PORT CONTROL_PORT ACTION

ACTION is a control-port line (e.g. `corporate-action sh.600000 2025-03-12 1300000`), sent
between the "before" and the "after" queries. Output: one JSON object, {"client_version",
"login", "action", "queries": [{"phase", "api", "args", "kwargs", "error_code", "error_msg",
"fields", "rows", "pages"}], "logout"}. Rows are read the way the client pages them.
"""
import contextlib
import io
import json
import socket
import sys

import baostock as bs
import baostock.common.contants as cons

DAILY = "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,peTTM,pbMRQ,psTTM,pcfNcfTTM,isST"
PERIOD = "date,code,open,high,low,close,volume,amount,adjustflag,turn,pctChg"


def rows_of(rs):
    rows = []
    pages = 1
    while rs.error_code == "0":
        before = rs.cur_page_num
        if not rs.next():
            break
        if rs.cur_page_num != before:
            pages += 1
        rows.append(rs.get_row_data())
    return rows, pages


def run(phase, api, *args, **kwargs):
    fn = getattr(bs, api)
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        rs = fn(*args, **kwargs)
        rows, pages = rows_of(rs)
    return {
        "phase": phase,
        "api": api,
        "args": list(args),
        "kwargs": kwargs,
        "error_code": rs.error_code,
        "error_msg": rs.error_msg,
        "fields": list(rs.fields),
        "rows": rows,
        "pages": pages,
    }


def control(host, port, line):
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall((line + "\n").encode())
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            answer += chunk
    return json.loads(answer.decode())


def prices(q, phase, code, action_day):
    start, end = "2024-10-01", "2025-06-30"
    for adjust in ("1", "2", "3"):
        q.append(run(phase, "query_history_k_data_plus", code, DAILY, start, end, frequency="d", adjustflag=adjust))
        q.append(run(phase, "query_history_k_data_plus", code, PERIOD, start, end, frequency="w", adjustflag=adjust))
    q.append(run(phase, "query_adjust_factor", code, "2015-01-01", "2025-12-31"))
    q.append(run(phase, "query_daily_adjust_factor", action_day))
    q.append(run(phase, "query_daily_history_k_AStock", action_day))


def main():
    host, port, control_port, action = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    cons.BAOSTOCK_SERVER_IP = host
    cons.BAOSTOCK_SERVER_PORT = port
    out = {"client_version": cons.BAOSTOCK_CLIENT_VERSION, "queries": []}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        lg = bs.login()
    out["login"] = {"error_code": lg.error_code, "error_msg": lg.error_msg}
    q = out["queries"]
    for date in ("2024-06-20", "2024-12-18", ""):
        q.append(run("ref", "query_hs300_stocks", date=date))
        q.append(run("ref", "query_sz50_stocks", date=date))
        q.append(run("ref", "query_zz500_stocks", date=date))
        q.append(run("ref", "query_stock_industry", code="sh.600000", date=date))
    # Every stock: more than one page of 2000 rows.
    q.append(run("ref", "query_stock_industry", code="", date="2024-06-20"))
    q.append(run("ref", "query_stock_industry"))
    code, action_day = action.split()[1], action.split()[2]
    prices(q, "before", code, action_day)
    out["action"] = control(host, control_port, action)
    prices(q, "after", code, action_day)
    with contextlib.redirect_stdout(quiet):
        lo = bs.logout()
    out["logout"] = {"error_code": lo.error_code, "error_msg": lo.error_msg}
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
