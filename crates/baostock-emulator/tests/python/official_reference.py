#!/usr/bin/env python3
"""Runs the unmodified official baostock client (0.9.4) for reference data and around a
corporate action added through the emulator's control port, and prints what it got.

Usage: official_reference.py HOST PORT CONTROL_PORT ACTION

ACTION is a control-port line (e.g. `corporate-action sh.600000 2025-03-12 1300000`), sent
between the "before" and the "after" queries. Output: one JSON object, {"client_version",
"login", "action", "queries": [{"phase", "api", "args", "kwargs", "error_code", "error_msg",
"fields", "rows", "pages"}], "logout"}. Rows are read the way the client pages them.
"""
import json
import os
import socket
import sys

# The conformance run's client helpers: one query, every page, as JSON.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../scripts/conformance"))
from official_client import DAILY, PERIOD, run, session  # noqa: E402


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
        q.append(run("query_history_k_data_plus", code, DAILY, start, end, frequency="d", adjustflag=adjust, phase=phase))
        q.append(run("query_history_k_data_plus", code, PERIOD, start, end, frequency="w", adjustflag=adjust, phase=phase))
    q.append(run("query_adjust_factor", code, "2015-01-01", "2025-12-31", phase=phase))
    q.append(run("query_daily_adjust_factor", action_day, phase=phase))
    q.append(run("query_daily_history_k_AStock", action_day, phase=phase))


def main():
    host, port, control_port, action = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with session(host, port) as out:
        q = out["queries"]
        for date in ("2024-06-20", "2024-12-18", ""):
            q.append(run("query_hs300_stocks", date=date, phase="ref"))
            q.append(run("query_sz50_stocks", date=date, phase="ref"))
            q.append(run("query_zz500_stocks", date=date, phase="ref"))
            q.append(run("query_stock_industry", code="sh.600000", date=date, phase="ref"))
        # Every stock: more than one page of 2000 rows.
        q.append(run("query_stock_industry", code="", date="2024-06-20", phase="ref"))
        q.append(run("query_stock_industry", phase="ref"))
        code, action_day = action.split()[1], action.split()[2]
        prices(q, "before", code, action_day)
        out["action"] = control(host, control_port, action)
        prices(q, "after", code, action_day)


if __name__ == "__main__":
    main()
