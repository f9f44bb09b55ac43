"""Fetches one day's all-market answers (98, 9A, 9C) with the official baostock 0.9.4 client
from a server on loopback, unmodified but for its target address, and prints them as JSON:
{"fields": {...}, "stocks": [[...]], "etfs": [[...]], "factors": [[...]]}.

Usage: official_daily.py PORT YYYY-MM-DD
"""
import contextlib
import io
import json
import sys

import baostock as bs
import baostock.common.contants as cons


def rows(rs):
    if rs.error_code != "0":
        raise SystemExit(f"server error {rs.error_code}: {rs.error_msg}")
    out = []
    while rs.error_code == "0" and rs.next():
        out.append(rs.get_row_data())
    return rs.fields, out


def main():
    port, day = int(sys.argv[1]), sys.argv[2]
    cons.BAOSTOCK_SERVER_IP = "127.0.0.1"
    cons.BAOSTOCK_SERVER_PORT = port
    chatter = io.StringIO()  # the client prints to stdout; keep stdout for the JSON
    with contextlib.redirect_stdout(chatter):
        login = bs.login()
        if login.error_code != "0":
            raise SystemExit(f"login failed: {login.error_code} {login.error_msg}")
        sf, stocks = rows(bs.query_daily_history_k_AStock(date=day))
        ef, etfs = rows(bs.query_daily_history_k_ETF(date=day))
        ff, factors = rows(bs.query_daily_adjust_factor(date=day))
        bs.logout()
    json.dump({"fields": {"stocks": sf, "etfs": ef, "factors": ff},
               "stocks": stocks, "etfs": etfs, "factors": factors}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
