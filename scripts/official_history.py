"""Fetches one code's unadjusted daily bars over a range (query_history_k_data_plus, 95) with
the official baostock 0.9.4 client from a server on loopback, unmodified but for its target
address, and prints them as JSON: {"fields": [...], "rows": [[...]]}.

Usage: official_history.py PORT CODE START END   (dates YYYY-MM-DD)
"""
import contextlib
import io
import json
import sys

import baostock as bs
import baostock.common.contants as cons

FIELDS = ("date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,"
          "pctChg,peTTM,pbMRQ,psTTM,pcfNcfTTM,isST")


def main():
    port, code, start, end = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    cons.BAOSTOCK_SERVER_IP = "127.0.0.1"
    cons.BAOSTOCK_SERVER_PORT = port
    chatter = io.StringIO()  # the client prints to stdout; keep stdout for the JSON
    with contextlib.redirect_stdout(chatter):
        login = bs.login()
        if login.error_code != "0":
            raise SystemExit(f"login failed: {login.error_code} {login.error_msg}")
        rs = bs.query_history_k_data_plus(code, FIELDS, start_date=start, end_date=end,
                                          frequency="d", adjustflag="3")
        if rs.error_code != "0":
            raise SystemExit(f"server error {rs.error_code}: {rs.error_msg}")
        # get_data() needs DataFrame.append, gone in pandas 2: iterate like official_daily.py.
        # A 95 answer is paged for real, so an error after some rows is an error here.
        rows = []
        while rs.error_code == "0" and rs.next():
            rows.append(rs.get_row_data())
        if rs.error_code != "0":
            raise SystemExit(f"server error while paging {rs.error_code}: {rs.error_msg}")
        bs.logout()
    json.dump({"fields": rs.fields, "rows": rows}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
