-- What fundamentals_asof knows on a day, and the latest revisions, on reports made by hand (in
-- a transaction rolled back at the end). sh.600000 published its Q1 2023 on 2023-04-28, its H1
-- on 2023-08-31 and restated the H1 on 2023-10-20; sz.000001 published its H1 on 2023-08-20;
-- sh.999999 has none. A report is known from the day after its pub_date.
\pset format unaligned
BEGIN;
SET LOCAL datestyle = 'ISO, YMD';
DELETE FROM baostock.report_profit;
DELETE FROM baostock.report_dividend;
INSERT INTO baostock.report_profit (code, pub_date, stat_date, roe_avg, np_margin) VALUES
    ('sh.600000', '2023-04-28', '2023-03-31', 0.016000, 0.250000),
    ('sh.600000', '2023-08-31', '2023-06-30', 0.032797, 0.258851),
    ('sh.600000', '2023-10-20', '2023-06-30', 0.031000, NULL),
    ('sz.000001', '2023-08-20', '2023-06-30', 0.050000, 0.300000);
-- On the day of a publication its report is not known yet; the next day it is, and a
-- restatement replaces the first revision from the day after it.
SELECT d AS day, f.code, f.stat_date, f.pub_date, f.report->>'roe_avg' AS roe_avg
FROM unnest(ARRAY['2023-04-28', '2023-04-29', '2023-08-31', '2023-09-01', '2023-10-20', '2023-10-21']::date[]) d,
     baostock.fundamentals_asof(ARRAY['sh.600000', 'sz.000001', 'sh.999999'], d) f
ORDER BY d, f.code;
-- Over every day of the year: never a report published on or after the day; sz.000001 first
-- known on 2023-08-21.
SELECT count(*) FILTER (WHERE f.pub_date >= d) AS published_on_or_after,
       min(d) FILTER (WHERE f.code = 'sz.000001') AS sz_first_known
FROM (SELECT generate_series(date '2023-01-01', date '2023-12-31', interval '1 day')::date AS d) days,
     baostock.fundamentals_asof(ARRAY['sh.600000', 'sz.000001'], days.d) f;
-- The report: the kind's fields but the key, numbers as JSON numbers, empty as null.
SELECT jsonb_typeof(report->'roe_avg') AS roe_avg, jsonb_typeof(report->'np_margin') AS np_margin,
       report ? 'code' AS has_code, report ? 'fetched_at' AS has_fetched_at,
       (SELECT count(*) FROM jsonb_object_keys(report)) AS fields
FROM baostock.fundamentals_asof(ARRAY['sh.600000'], '2023-10-21');
-- The latest revision of each period, with the count of revisions and the first publication.
SELECT code, stat_date, pub_date, roe_avg, revisions, first_pub_date
FROM baostock.profit_latest ORDER BY code, stat_date;
-- A dividend is known from its earliest date; a date it announced is shown once reached.
INSERT INTO baostock.report_dividend (code, pub_date, agm_pum_date, plan_announce_date, plan_date, regist_date,
                                      operate_date, pay_date, cash_ps_before_tax, cash_ps_after_tax)
VALUES ('sh.600000', '2023-04-19', '2023-06-29', '2023-04-19', '2023-07-13', '2023-07-20', '2023-07-21', '2023-07-21',
        0.32, '0.288或0.32');
SELECT d AS day, f.stat_date, f.pub_date, f.report->>'agm_pum_date' AS agm, f.report->>'operate_date' AS operate,
       f.report->'cash_ps_before_tax' AS cash, f.report->>'cash_ps_after_tax' AS after_tax
FROM unnest(ARRAY['2023-04-19', '2023-07-01', '2023-08-01']::date[]) d,
     baostock.fundamentals_asof(ARRAY['sh.600000'], d, 'dividend') f
ORDER BY d;
-- Bad arguments.
SELECT public.error_of(q) FROM (VALUES
    ('SELECT * FROM baostock.fundamentals_asof(ARRAY[''sh.600000''], ''2023-01-01'', ''balance_sheet'')'),
    ('SELECT * FROM baostock.fundamentals_asof(NULL, ''2023-01-01'')'),
    ('SELECT * FROM baostock.fundamentals_asof(ARRAY[''sh.600000''], NULL)'),
    ('SELECT * FROM baostock.fundamentals_asof(ARRAY[''sh.600000''], ''2023-01-01'', NULL)'),
    ('SELECT * FROM baostock.fundamentals_asof(ARRAY[''sh.600000''], ''infinity'')')
) AS t(q);
ROLLBACK;
