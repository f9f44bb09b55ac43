-- Index membership through time, on lists made by hand (in a transaction rolled back at the
-- end). CSI 300 lists of 2024-01-01 and 01-08: sh.600000, sh.600001, sz.000001; of 02-05:
-- sh.600001 left and sz.000002 joined; of 03-04: sh.600001 came back and sz.000001 left.
\pset format unaligned
BEGIN;
SET LOCAL datestyle = 'ISO, YMD';
DELETE FROM baostock.index_constituents;
DELETE FROM baostock.daily_bars;
INSERT INTO baostock.index_constituents (index_name, update_date, code)
SELECT 'hs300', d::date, c
FROM (VALUES ('2024-01-01', ARRAY['sh.600000', 'sh.600001', 'sz.000001']),
             ('2024-01-08', ARRAY['sh.600000', 'sh.600001', 'sz.000001']),
             ('2024-02-05', ARRAY['sh.600000', 'sz.000001', 'sz.000002']),
             ('2024-03-04', ARRAY['sh.600000', 'sh.600001', 'sz.000002'])) l(d, codes),
     unnest(codes) c;
INSERT INTO baostock.index_constituents (index_name, update_date, code) VALUES ('sz50', '2024-01-01', 'sh.600000');
-- A stretch a code was in, from its first list to the first list without it.
SELECT index_name, code, valid_from, valid_to FROM baostock.index_membership ORDER BY 1, 2, 3;
-- The members of a day: the newest list dated on or before it; none before the first.
SELECT d AS day, string_agg(m.code, ',' ORDER BY m.code) AS members
FROM unnest(ARRAY['2023-12-31', '2024-01-01', '2024-02-04', '2024-02-05', '2030-01-01']::date[]) d
LEFT JOIN LATERAL baostock.index_members('hs300', d) m ON true
GROUP BY d ORDER BY d;
-- The universe: a bar counts on the days its code was a member.
INSERT INTO baostock.daily_bars (code, date, close, qfq_close) VALUES
    ('sh.600001', '2024-01-31', 10.00, 9.50), ('sh.600001', '2024-02-06', 10.10, 9.60),
    ('sh.600001', '2024-03-05', 10.20, 9.70), ('sz.000001', '2024-03-05', 8.00, 8.00);
SELECT index_name, date, code, qfq_close FROM baostock.universe ORDER BY 1, 2, 3;
SELECT public.error_of(q) FROM (VALUES
    ('SELECT * FROM baostock.index_members(''csi1000'', ''2024-01-01'')'),
    ('SELECT * FROM baostock.index_members(''hs300'', NULL)'),
    ('SELECT * FROM baostock.index_members(NULL, ''2024-01-01'')'),
    ('SELECT * FROM baostock.index_members(''hs300'', ''-infinity'')')
) AS t(q);
ROLLBACK;
