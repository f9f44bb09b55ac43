"""The tests' referee: the official baostock 0.9.4 client, unmodified but for its target address,
against a server on loopback; prints what it got as JSON. Pages are read the way the client
reads them (get_data() needs DataFrame.append, gone in pandas 2).

Usage:
  official.py PORT daily YYYY-MM-DD
      one day's all-market answers (98, 9A, 9C):
      {"fields": {"stocks": [...], "etfs": [...], "factors": [...]},
       "stocks": [[...]], "etfs": [[...]], "factors": [[...]]}
  official.py PORT query API KWARGS_JSON
      any API, every page: {"fields": [...], "rows": [[...]]}
      e.g. official.py 10030 query query_history_k_data_plus \\
           '{"code": "sh.600000", "fields": "date,code,close", "start_date": "2024-01-02",
             "end_date": "2024-03-29", "frequency": "w", "adjustflag": "2"}'
"""
import contextlib
import io
import json
import sys

import baostock as bs
import baostock.common.contants as cons


def rows(rs):
    """The fields and every row of an answer; a server error ends the run."""
    if rs.error_code != "0":
        raise SystemExit(f"server error {rs.error_code}: {rs.error_msg}")
    out = []
    while rs.error_code == "0" and rs.next():
        out.append(rs.get_row_data())
    if rs.error_code != "0":
        raise SystemExit(f"server error while paging {rs.error_code}: {rs.error_msg}")
    return rs.fields, out


def daily(day):
    sf, stocks = rows(bs.query_daily_history_k_AStock(date=day))
    ef, etfs = rows(bs.query_daily_history_k_ETF(date=day))
    ff, factors = rows(bs.query_daily_adjust_factor(date=day))
    return {"fields": {"stocks": sf, "etfs": ef, "factors": ff},
            "stocks": stocks, "etfs": etfs, "factors": factors}


def query(api, kwargs):
    fields, out = rows(getattr(bs, api)(**json.loads(kwargs)))
    return {"fields": fields, "rows": out}


def main():
    port, what, args = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
    cons.BAOSTOCK_SERVER_IP = "127.0.0.1"
    cons.BAOSTOCK_SERVER_PORT = port
    chatter = io.StringIO()  # the client prints to stdout; keep stdout for the JSON
    with contextlib.redirect_stdout(chatter):
        login = bs.login()
        if login.error_code != "0":
            raise SystemExit(f"login failed: {login.error_code} {login.error_msg}")
        answer = {"daily": daily, "query": query}[what](*args)
        bs.logout()
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
