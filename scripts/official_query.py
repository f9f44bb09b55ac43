"""Runs one query of the official baostock 0.9.4 client against a server on loopback,
unmodified but for its target address, reads every page the way the client does, and prints
{"fields": [...], "rows": [[...]]} as JSON. The tests' referee for any API.

Usage: official_query.py PORT API KWARGS_JSON
  e.g. official_query.py 10030 query_history_k_data_plus \
       '{"code": "sh.600000", "fields": "date,code,close", "start_date": "2024-01-02",
         "end_date": "2024-03-29", "frequency": "w", "adjustflag": "2"}'
"""
import contextlib
import io
import json
import sys

import baostock as bs
import baostock.common.contants as cons


def main():
    port, api, kwargs = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    cons.BAOSTOCK_SERVER_IP = "127.0.0.1"
    cons.BAOSTOCK_SERVER_PORT = port
    chatter = io.StringIO()  # the client prints to stdout; keep stdout for the JSON
    with contextlib.redirect_stdout(chatter):
        login = bs.login()
        if login.error_code != "0":
            raise SystemExit(f"login failed: {login.error_code} {login.error_msg}")
        rs = getattr(bs, api)(**kwargs)
        if rs.error_code != "0":
            raise SystemExit(f"server error {rs.error_code}: {rs.error_msg}")
        # get_data() needs DataFrame.append, gone in pandas 2: iterate as the client pages.
        rows = []
        while rs.error_code == "0" and rs.next():
            rows.append(rs.get_row_data())
        if rs.error_code != "0":
            raise SystemExit(f"server error while paging {rs.error_code}: {rs.error_msg}")
        bs.logout()
    json.dump({"fields": rs.fields, "rows": rows}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
