#!/usr/bin/env python3
"""Runs the unmodified official baostock client (0.9.4) against a server and prints what it got.

Usage: official_client.py HOST PORT

The client's module constants are read at call time, so pointing it elsewhere only needs
`baostock.common.contants.BAOSTOCK_SERVER_IP/PORT` set before login. Output: one JSON object,
{"client_version", "login", "queries": [{"api", "args", "error_code", "error_msg", "fields",
"rows", "pages"}], "logout"}. Rows are read the way the client pages them
(`while rs.error_code == '0' and rs.next(): rs.get_row_data()`); `get_data()` is not used
because it calls DataFrame.append, which pandas 2 removed.
"""
import io
import json
import sys
import contextlib

import baostock as bs
import baostock.common.contants as cons

DAILY = "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,peTTM,pbMRQ,psTTM,pcfNcfTTM,isST"
PERIOD = "date,code,open,high,low,close,volume,amount,adjustflag,turn,pctChg"
MINUTE = "date,time,code,open,high,low,close,volume,amount,adjustflag"


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


def run(api, *args, phase=None, **kwargs):
    """One query, every page, and what came back (`phase` says when, if given)."""
    fn = getattr(bs, api)
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        rs = fn(*args, **kwargs)
        rows, pages = rows_of(rs)
    return {
        **({"phase": phase} if phase is not None else {}),
        "api": api,
        "args": list(args),
        "kwargs": kwargs,
        "error_code": rs.error_code,
        "error_msg": rs.error_msg,
        "fields": list(rs.fields),
        "rows": rows,
        "pages": pages,
    }


@contextlib.contextmanager
def session(host, port):
    """Logs in to HOST:PORT and out again around the block; yields the run's JSON object (login,
    logout and the client's version recorded, "queries" for the block to fill), printed at the end."""
    cons.BAOSTOCK_SERVER_IP = host
    cons.BAOSTOCK_SERVER_PORT = port
    out = {"client_version": cons.BAOSTOCK_CLIENT_VERSION, "queries": []}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        lg = bs.login()
    out["login"] = {"error_code": lg.error_code, "error_msg": lg.error_msg, "user_id": lg.user_id}
    yield out
    with contextlib.redirect_stdout(quiet):
        lo = bs.logout()
    out["logout"] = {"error_code": lo.error_code, "error_msg": lo.error_msg}
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    with session(host, port) as out:
        queries(out["queries"])


def queries(q):
    code = "sh.600000"
    for adjust in ("1", "2", "3"):
        q.append(run("query_history_k_data_plus", code, DAILY, "2024-01-01", "2024-03-31", frequency="d", adjustflag=adjust))
        q.append(run("query_history_k_data_plus", code, PERIOD, "2023-06-01", "2024-06-30", frequency="w", adjustflag=adjust))
        q.append(run("query_history_k_data_plus", code, PERIOD, "2020-01-01", "2024-06-30", frequency="m", adjustflag=adjust))
        q.append(run("query_history_k_data_plus", code, MINUTE, "2024-01-02", "2024-01-05", frequency="5", adjustflag=adjust))
        q.append(run("query_history_k_data_plus", code, MINUTE, "2024-01-02", "2024-01-12", frequency="60", adjustflag=adjust))
    # Longer than one 2000-row page: the client must ask for pages 2 and 3.
    q.append(run("query_history_k_data_plus", code, "date,code,close,preclose,volume,tradestatus", "2010-01-01", "2024-12-31", frequency="d", adjustflag="2"))
    q.append(run("query_history_k_data_plus", code, MINUTE, "2024-03-01", "2024-05-31", frequency="5", adjustflag="3"))
    for day in ("2024-01-02", "2024-06-20", "2024-01-06"):
        q.append(run("query_daily_history_k_AStock", day))
        q.append(run("query_daily_history_k_ETF", day))
        q.append(run("query_daily_adjust_factor", day))
    q.append(run("query_trade_dates", "2024-01-01", "2024-12-31"))
    q.append(run("query_all_stock", "2024-01-02"))
    q.append(run("query_stock_basic", code))
    q.append(run("query_stock_basic"))
    q.append(run("query_adjust_factor", code, "2015-01-01", "2024-12-31"))
    # Error cases: an unknown code, an unknown field.
    q.append(run("query_history_k_data_plus", "sh.999999", "date,close", "2024-01-01", "2024-01-31", frequency="d", adjustflag="3"))
    q.append(run("query_history_k_data_plus", code, "date,nonsense", "2024-01-01", "2024-01-31", frequency="d", adjustflag="3"))


if __name__ == "__main__":
    main()
