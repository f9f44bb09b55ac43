#!/usr/bin/env python3
"""Runs the unmodified official baostock client (0.9.4) for reports (profit, dividends, forecast,
money supply by month, deposit rates, reserve ratios) and prints what it got.

Usage: official_reports.py HOST PORT CODE...

Output: one JSON object, {"client_version", "login", "queries": [{"api", "args", "kwargs",
"error_code", "error_msg", "fields", "rows", "pages"}], "logout"}, as official_client.py
prints it.
"""
import os
import sys

# The conformance run's client helpers: one query, every page, as JSON.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../scripts/conformance"))
from official_client import run, session  # noqa: E402


def main():
    host, port, codes = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    with session(host, port) as out:
        q = out["queries"]
        for code in codes:
            for year, quarter in (("2016", "1"), ("2023", "2"), ("2024", "4")):
                q.append(run("query_profit_data", code, year=year, quarter=quarter))
            for year in ("2019", "2023"):
                q.append(run("query_dividend_data", code, year=year, yearType="report"))
                q.append(run("query_dividend_data", code, year=year, yearType="operate"))
            q.append(run("query_forecast_report", code, start_date="2015-01-01", end_date="2024-12-31"))
        q.append(run("query_money_supply_data_month", start_date="2023-01", end_date="2024-06"))
        q.append(run("query_deposit_rate_data", start_date="2000-01-01", end_date="2024-12-31"))
        q.append(run("query_required_reserve_ratio_data", start_date="", end_date="", yearType="1"))


if __name__ == "__main__":
    main()
