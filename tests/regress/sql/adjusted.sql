-- Adjusted prices in SQL, from bars and factors made by hand so that every answer can be
-- worked out on paper: sh.600000 closes at 10, 12 and 6 on 2020-01-02, -03 and -06; its back
-- factor is 1 from 2019-06-03 and 2 from 2020-01-06 (a 2-for-1 split). So hfq multiplies the
-- first two days by 1 and the third by 2 (closes 10, 12, 12), and qfq by round(back / latest
-- back, 6) = 0.5, 0.5 and 1 (closes 5, 6, 6), each with 10 decimals (4 of the price, 6 of the
-- factor).
INSERT INTO baostock.trade_calendar (day, is_trading_day)
SELECT d::date, extract(isodow FROM d) < 6 FROM generate_series(date '2020-01-01', date '2020-01-10', interval '1 day') d;
INSERT INTO baostock.daily_bars (code, date, open, high, low, close, preclose, volume, amount, adjustflag, trade_status, pct_chg, is_st)
VALUES ('sh.600000', '2020-01-02', 9.0000, 11.0000, 8.0000, 10.0000, 9.5000, 100, 1000.0000, 3, true, 5.263158, false),
       ('sh.600000', '2020-01-03', 10.0000, 12.5000, 9.5000, 12.0000, 10.0000, 200, 2400.0000, 3, true, 20.000000, false),
       ('sh.600000', '2020-01-06', 6.5000, 7.0000, 5.5000, 6.0000, 6.0000, 400, 2400.0000, 3, true, 0.000000, false);
INSERT INTO baostock.adjust_factors (code, operate_date, fore_factor, back_factor, adjust_factor)
VALUES ('sh.600000', '2019-06-03', 0.500000, 1.000000, 1.000000),
       ('sh.600000', '2020-01-06', 1.000000, 2.000000, 2.000000);
-- Bars and factors written by hand (not by the store) have no adjusted prices until
-- adjust_bars() computes them; once they are right it changes nothing.
SELECT count(*) AS unadjusted FROM baostock.daily_bars WHERE qfq_close IS NULL AND hfq_close IS NULL;
SELECT baostock.adjust_bars() AS adjusted;
SELECT baostock.adjust_bars() AS adjusted_again;

-- The whole factor history was never fetched: the reads say so (a WARNING with a hint).
SELECT baostock.factors_known_through('sh.600000');
SELECT date, close FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'qfq') ORDER BY date;
-- Fetched up to 2020-01-10, the calendar's last day: known through it, and no warning.
INSERT INTO baostock.synced_ranges (code, kind, span) VALUES ('sh.600000', 'factors', daterange('1990-12-19', '2020-01-10', '[]'));
SELECT baostock.factors_known_through('sh.600000');
SELECT date, open, high, low, close, preclose, volume, pct_chg FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'qfq') ORDER BY date;
SELECT date, close FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'hfq') ORDER BY date;
SELECT date, close FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'none') ORDER BY date;
-- Weeks built from the adjusted days: first open, highest high, lowest low, last close.
SELECT date, open, high, low, close FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'qfq', 'w') ORDER BY date;
-- The views adjust every code the same way.
SELECT date, close FROM baostock.daily_bars_qfq WHERE code = 'sh.600000' ORDER BY date;
SELECT date, close FROM baostock.daily_bars_hfq WHERE code = 'sh.600000' ORDER BY date;
SELECT * FROM baostock.factor_ranges('sh.600000', 'qfq') ORDER BY since;
SELECT * FROM baostock.factor_ranges('sh.600000', 'hfq') ORDER BY since;
-- A trading day after what is known that is not synced: known only through the day before.
INSERT INTO baostock.trade_calendar (day, is_trading_day) VALUES ('2020-01-13', true);
SELECT baostock.factors_known_through('sh.600000');
INSERT INTO baostock.synced_days (day, bars, factors) VALUES ('2020-01-13', 1, 0);
SELECT baostock.factors_known_through('sh.600000');

-- Bad input: a clear SQLSTATE.
SELECT public.error_of($$SELECT * FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'xfq')$$);
SELECT public.error_of($$SELECT * FROM baostock.adjusted_bars('sh.600000', '2020-01-01', '2020-01-10', 'qfq', 'x')$$);
SELECT public.error_of($$SELECT * FROM baostock.adjusted_bars('sh.600000', '2020-01-10', '2020-01-01')$$);
SELECT public.error_of($$SELECT * FROM baostock.adjusted_bars(NULL, '2020-01-01', '2020-01-10')$$);
SELECT public.error_of($$SELECT * FROM baostock.factor_ranges('sh.600000', 'xfq')$$);
SELECT public.error_of($$SELECT * FROM baostock.factor_ranges('sh.600000', NULL)$$);
SELECT public.error_of($$SELECT baostock.factors_known_through(NULL)$$);
-- A code nothing is stored of: its history was never fetched.
SELECT baostock.factors_known_through('sz.999999') IS NULL AS never_fetched;

-- A new dividend (back factor 4 from 2020-01-08): every forward-adjusted price before it moves
-- (round(1 / 4, 6) = 0.25, round(2 / 4, 6) = 0.5), no back-adjusted one does: closes qfq 2.5,
-- 3 and 3, hfq still 10, 12 and 12.
INSERT INTO baostock.adjust_factors (code, operate_date, fore_factor, back_factor, adjust_factor)
VALUES ('sh.600000', '2020-01-08', 1.000000, 4.000000, 4.000000);
SELECT baostock.adjust_bars(ARRAY['sh.600000']) AS moved;
SELECT date, q.close AS qfq, h.close AS hfq
FROM baostock.daily_bars_qfq q JOIN baostock.daily_bars_hfq h USING (code, date)
WHERE code = 'sh.600000' ORDER BY date;
