-- What gaps lists, on data made by hand (in a transaction rolled back at the end, so that the
-- other tests' rows are neither seen nor lost). Trading days: the weekdays of January and
-- February 2024 but New Year's Day. Synced days 01-02, 01-03 and 01-05, not 01-04.
-- sh.600000 (a stock) misses its bar of 01-03; sh.510050 (an ETF delisted on 01-05) its bar of
-- 01-03; sz.000001 (listed on Thursday 01-04) has its one bar due (01-05); sh.000001 (an index)
-- has none, and none is due.
-- Ranges: sh.600000 at w over 01-08..01-26 (sent twice, overlapping) with the weeks of 01-08
-- and 01-22 stored; at 5 over 01-08..01-12 with minute bars on 01-08, 01-10 and 01-12, a 15-minute
-- bar on 01-09 and its daily bar of 01-11 suspended; at d over 01-15..01-19 without 01-18.
-- sz.000001 at m over 01-02..02-09 with February's bar only: January is due from its listing.
-- A range of a code the securities do not know lists nothing; a factors range is no bar range.
BEGIN;
SET LOCAL datestyle = 'ISO, YMD';
DELETE FROM baostock.daily_bars;
DELETE FROM baostock.weekly_bars;
DELETE FROM baostock.monthly_bars;
DELETE FROM baostock.minute_bars;
DELETE FROM baostock.synced_days;
DELETE FROM baostock.synced_ranges;
DELETE FROM baostock.securities;
DELETE FROM baostock.trade_calendar;
DELETE FROM baostock.tracking;
INSERT INTO baostock.trade_calendar (day, is_trading_day)
SELECT d::date, extract(isodow FROM d) < 6 AND d <> '2024-01-01'
FROM generate_series(date '2024-01-01', date '2024-02-29', interval '1 day') d;
INSERT INTO baostock.securities (code, sec_type, ipo_date, out_date) VALUES
    ('sh.600000', 1, '2000-01-01', NULL),
    ('sz.000001', 1, '2024-01-04', NULL),
    ('sh.510050', 5, '2005-01-01', '2024-01-05'),
    ('sh.000001', 2, '1991-01-01', NULL);
INSERT INTO baostock.synced_days (day, bars, factors) VALUES ('2024-01-02', 3, 0), ('2024-01-03', 3, 0), ('2024-01-05', 2, 0);
INSERT INTO baostock.daily_bars (code, date, trade_status) VALUES
    ('sh.600000', '2024-01-02', true), ('sh.600000', '2024-01-05', true),
    ('sh.510050', '2024-01-02', true),
    ('sz.000001', '2024-01-05', true),
    ('sh.600000', '2024-01-11', false),
    ('sh.600000', '2024-01-15', true), ('sh.600000', '2024-01-16', true),
    ('sh.600000', '2024-01-17', true), ('sh.600000', '2024-01-19', true);
INSERT INTO baostock.synced_ranges (code, kind, span) VALUES
    ('sh.600000', 'w', '[2024-01-08,2024-01-26]'),
    ('sh.600000', 'w', '[2024-01-15,2024-01-26]'),
    ('sh.600000', '5', '[2024-01-08,2024-01-12]'),
    ('sh.600000', 'd', '[2024-01-15,2024-01-19]'),
    ('sh.600000', 'factors', '[1990-12-19,2024-01-19]'),
    ('sz.000001', 'm', '[2024-01-02,2024-02-09]'),
    ('sz.300750', 'd', '[2024-01-02,2024-01-05]');
INSERT INTO baostock.weekly_bars (code, period_start, date) VALUES
    ('sh.600000', '2024-01-08', '2024-01-12'), ('sh.600000', '2024-01-22', '2024-01-26');
INSERT INTO baostock.monthly_bars (code, period_start, date) VALUES ('sz.000001', '2024-02-01', '2024-02-29');
CREATE TABLE baostock.minute_bars_202401 PARTITION OF baostock.minute_bars
    FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');
INSERT INTO baostock.minute_bars (code, frequency, time, date) VALUES
    ('sh.600000', 5, '2024-01-08 09:35', '2024-01-08'), ('sh.600000', 5, '2024-01-08 15:00', '2024-01-08'),
    ('sh.600000', 15, '2024-01-09 10:00', '2024-01-09'),
    ('sh.600000', 5, '2024-01-10 15:00', '2024-01-10'),
    ('sh.600000', 5, '2024-01-12 10:00', '2024-01-12');
SELECT * FROM baostock.gaps ORDER BY code NULLS FIRST, frequency, day;
-- Asked for one code, the other codes' bars are not looked at, and the answer is the same.
SELECT * FROM baostock.gaps WHERE code = 'sh.600000' ORDER BY frequency, day;
-- The bars filled in, nothing is missing but the unsynced day.
INSERT INTO baostock.daily_bars (code, date, trade_status) VALUES
    ('sh.600000', '2024-01-03', true), ('sh.510050', '2024-01-03', true), ('sh.600000', '2024-01-18', true);
INSERT INTO baostock.weekly_bars (code, period_start, date) VALUES ('sh.600000', '2024-01-15', '2024-01-19');
INSERT INTO baostock.monthly_bars (code, period_start, date) VALUES ('sz.000001', '2024-01-01', '2024-01-31');
INSERT INTO baostock.minute_bars (code, frequency, time, date) VALUES ('sh.600000', 5, '2024-01-09 11:30', '2024-01-09');
SELECT * FROM baostock.gaps;

-- missing_bars on its own: in order; nothing for no day; bad input a clear SQLSTATE.
SELECT * FROM baostock.missing_bars('sh.600000', 'd', ARRAY[date '2024-01-22', '2024-01-05', '2024-01-04', '2024-01-02']);
SELECT count(*) FROM baostock.missing_bars('sh.600000', 'd', '{}');
SELECT count(*) FROM baostock.missing_bars('sh.600000', 'd', NULL);
SELECT public.error_of($$SELECT * FROM baostock.missing_bars('sh.600000', 'x', ARRAY[date '2024-01-02'])$$);

-- published_through: the kinds of a day come out in order (daily, factors, minute), a week's
-- end is a Sunday and a month's its last day, the latest trading day is published; bad input
-- a clear SQLSTATE.
SELECT baostock.published_through('d') >= baostock.published_through('factors')
       AND baostock.published_through('factors') >= baostock.published_through('5')
       AND baostock.published_through('5') = baostock.published_through('60') AS days_in_order,
       extract(isodow FROM baostock.published_through('w')) = 7 AS week_ends_on_sunday,
       extract(day FROM baostock.published_through('m') + 1) = 1 AS month_ends_on_its_last_day,
       baostock.latest_trading_day() <= baostock.published_through('d') AS latest_is_published;
SELECT public.error_of($$SELECT baostock.published_through(NULL)$$);
SELECT public.error_of($$SELECT baostock.published_through('x')$$);
ROLLBACK;
