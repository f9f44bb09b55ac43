-- pg_baostock 0.3.0 -> 0.4.0, assembled by scripts/assemble-update.sh: every view and function
-- of the extension but those of its tables' part ('adjust_bars','factor_spans','table_ddl') is dropped first (no CASCADE: an
-- object of yours over one of ours stops the update), then come the table changes written by
-- hand (sql/updates/0.3.0--0.4.0.sql), then the views and functions as the install script of 0.4.0 makes them.
DO $drop$
DECLARE
    o record;
BEGIN
    FOR o IN
        SELECT c.oid::regclass AS name FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype = 'e' AND c.relkind = 'v'
          AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_baostock')
        ORDER BY c.oid DESC
    LOOP
        EXECUTE pg_catalog.format('DROP VIEW %s', o.name);
    END LOOP;
    FOR o IN
        SELECT p.oid::regprocedure AS name FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
          AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pg_baostock')
          AND p.proname NOT IN ('adjust_bars','factor_spans','table_ddl')
        ORDER BY p.oid DESC
    LOOP
        EXECUTE pg_catalog.format('DROP FUNCTION %s', o.name);
    END LOOP;
END
$drop$;

-- pg_baostock 0.3.0 -> 0.4.0: the table changes, written by hand. scripts/assemble-update.sh
-- puts them between the drop of 0.3.0's views and functions and the views and functions of
-- 0.4.0 to make sql/pg_baostock--0.3.0--0.4.0.sql, which ALTER EXTENSION pg_baostock UPDATE runs.
-- Tables change only through baostock.table_ddl (a Citus cluster runs the update on every node).
--
-- baostock.latest_trading_day() moves from the tables' part to the functions (sql/api.sql: it
-- follows the server's clock through baostock.server_time()), so it is dropped and made again
-- with them.

-- The states and kinds of jobs and units become enum types (they were text with a CHECK): a
-- label no version knows is refused by the column itself. The checks that compare them with
-- text go first and come back with the same names, as a fresh install names them.
CREATE TYPE baostock.job_state AS ENUM ('queued', 'running', 'paused', 'done', 'failed', 'cancelled');
COMMENT ON TYPE baostock.job_state IS 'Where a job is: queued, running, paused (the request budget is spent or the server blacklisted us: resumes by itself), done (every unit final), failed (the job could not go on), cancelled.';
CREATE TYPE baostock.job_kind AS ENUM ('backfill', 'track', 'fundamentals', 'membership');
COMMENT ON TYPE baostock.job_kind IS 'What queued a job: backfill (backfill()), or track (the tracked series extended by sync_date() or sync_tracked()), fundamentals (backfill_fundamentals()) or membership (backfill_membership()).';
CREATE TYPE baostock.unit_state AS ENUM ('queued', 'running', 'done', 'empty', 'replanned', 'failed', 'cancelled');
COMMENT ON TYPE baostock.unit_state IS 'Where a unit is: queued, running (handed to the network), done, empty (a past day the server has no all-market answer for), replanned (that day is covered by per-code units), failed, cancelled.';
CREATE TYPE baostock.unit_kind AS ENUM ('day', 'range', 'factors', 'report', 'lists');
COMMENT ON TYPE baostock.unit_kind IS 'What a unit fetches: day (every bar and factor of a day: 98 + 9A + 9C), range (a code''s bars over days: 95), factors (a code''s factor history: 15), report (a code''s reports of a kind for a quarter or a year: 13, 17..31) or lists (an index''s constituent list of a date: 61, 63, 65).';

SELECT baostock.table_ddl('baostock.sync_jobs', $ddl$ALTER TABLE baostock.sync_jobs
    DROP CONSTRAINT sync_jobs_state_check,
    DROP CONSTRAINT sync_jobs_kind_check,
    DROP CONSTRAINT sync_jobs_check1,
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN state TYPE baostock.job_state USING state::baostock.job_state,
    ALTER COLUMN state SET DEFAULT 'queued',
    ALTER COLUMN kind DROP DEFAULT,
    ALTER COLUMN kind TYPE baostock.job_kind USING kind::baostock.job_kind,
    ALTER COLUMN kind SET DEFAULT 'backfill',
    ADD CONSTRAINT sync_jobs_check1 CHECK ((state = 'paused') = (pause_reason IS NOT NULL))
$ddl$);

SELECT baostock.table_ddl('baostock.sync_units', $ddl$ALTER TABLE baostock.sync_units
    DROP CONSTRAINT sync_units_kind_check,
    DROP CONSTRAINT sync_units_state_check,
    DROP CONSTRAINT sync_units_check,
    DROP CONSTRAINT sync_units_check1,
    ALTER COLUMN kind TYPE baostock.unit_kind USING kind::baostock.unit_kind,
    ALTER COLUMN state DROP DEFAULT,
    ALTER COLUMN state TYPE baostock.unit_state USING state::baostock.unit_state,
    ALTER COLUMN state SET DEFAULT 'queued',
    ADD CONSTRAINT sync_units_check CHECK ((kind IN ('day', 'lists')) = (code IS NULL)),
    ADD CONSTRAINT sync_units_check1 CHECK (kind NOT IN ('day', 'lists') OR start_date = end_date)
$ddl$);

-- Report and lists units (issue 31): what a unit asks about, last as a fresh install has it.
SELECT baostock.table_ddl('baostock.sync_units', $ddl$ALTER TABLE baostock.sync_units
    ADD COLUMN subject text,
    ADD CONSTRAINT sync_units_subject_check CHECK ((kind IN ('report', 'lists')) = (subject IS NOT NULL)
        AND (kind <> 'report' OR subject IN ('profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont', 'express', 'forecast', 'dividend'))
        AND (kind <> 'lists' OR subject IN ('hs300', 'sz50', 'zz500')))
$ddl$);
COMMENT ON COLUMN baostock.sync_units.subject IS 'What a report or lists unit asks about: the report kind of a report unit (profit, operation, growth, balance, cash_flow, dupont, express, forecast, dividend; its period is start_date..end_date, a quarter or a year), the index of a lists unit (hs300, sz50, zz500; its date is start_date).';
COMMENT ON TABLE baostock.sync_units IS 'The units of each job: a day (98 + 9A + 9C), a code''s bar range (95), a code''s factor history (15), a code''s reports of a kind for a quarter or a year (13, 17..31) or an index''s list of a date (61, 63, 65). A unit''s rows and its state commit in one transaction.';

-- The reports (issue 31): a table per kind, made as a fresh install makes them.
-- pg_baostock tables, part 2: the reports.
-- A part of the tables: an update script that makes them includes this file (\ir), and
-- scripts/assemble-update.sh leaves it out of the views and functions it remakes. Runs after
-- sql/schema.sql on a fresh install.
--
-- A table per report kind, its columns the server's fields in snake_case (the mapping is the
-- codec's, crates/baostock/src/report.rs; the store's test checks that each table has exactly
-- its kind's columns, types and key). A quarterly, express or forecast report is keyed by
-- (code, stat_date, pub_date): a restatement is the same period answered later with a later
-- pub_date, and every revision seen is kept.

CREATE TABLE baostock.report_profit (
    code         text NOT NULL,
    pub_date     date NOT NULL,
    stat_date    date NOT NULL,
    roe_avg      numeric,
    np_margin    numeric,
    gp_margin    numeric,
    net_profit   numeric,
    eps_ttm      numeric,
    mb_revenue   numeric,
    total_share  numeric,
    liqa_share   numeric,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_profit IS 'Profitability (query_profit_data): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_profit.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_profit.pub_date IS 'pubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_profit.stat_date IS 'statDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_profit.roe_avg IS 'roeAvg: return on average equity, a fraction of the period (0.032797 = 3.28%).';
COMMENT ON COLUMN baostock.report_profit.np_margin IS 'npMargin: net profit margin, a fraction.';
COMMENT ON COLUMN baostock.report_profit.gp_margin IS 'gpMargin: gross profit margin, a fraction.';
COMMENT ON COLUMN baostock.report_profit.net_profit IS 'netProfit: net profit of the period so far, yuan.';
COMMENT ON COLUMN baostock.report_profit.eps_ttm IS 'epsTTM: earnings per share, trailing twelve months, yuan.';
COMMENT ON COLUMN baostock.report_profit.mb_revenue IS 'MBRevenue: main business revenue, yuan.';
COMMENT ON COLUMN baostock.report_profit.total_share IS 'totalShare: total shares.';
COMMENT ON COLUMN baostock.report_profit.liqa_share IS 'liqaShare: tradable A shares.';
COMMENT ON COLUMN baostock.report_profit.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_profit', '');

CREATE TABLE baostock.report_operation (
    code              text NOT NULL,
    pub_date          date NOT NULL,
    stat_date         date NOT NULL,
    nr_turn_ratio     numeric,
    nr_turn_days      numeric,
    inv_turn_ratio    numeric,
    inv_turn_days     numeric,
    ca_turn_ratio     numeric,
    asset_turn_ratio  numeric,
    fetched_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_operation IS 'Operating efficiency (query_operation_data): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_operation.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_operation.pub_date IS 'pubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_operation.stat_date IS 'statDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_operation.nr_turn_ratio IS 'NRTurnRatio: receivables (notes and accounts) turnover, times.';
COMMENT ON COLUMN baostock.report_operation.nr_turn_days IS 'NRTurnDays: receivables turnover, days.';
COMMENT ON COLUMN baostock.report_operation.inv_turn_ratio IS 'INVTurnRatio: inventory turnover, times.';
COMMENT ON COLUMN baostock.report_operation.inv_turn_days IS 'INVTurnDays: inventory turnover, days.';
COMMENT ON COLUMN baostock.report_operation.ca_turn_ratio IS 'CATurnRatio: current assets turnover, times.';
COMMENT ON COLUMN baostock.report_operation.asset_turn_ratio IS 'AssetTurnRatio: total assets turnover, times.';
COMMENT ON COLUMN baostock.report_operation.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_operation', '');

CREATE TABLE baostock.report_growth (
    code           text NOT NULL,
    pub_date       date NOT NULL,
    stat_date      date NOT NULL,
    yoy_equity     numeric,
    yoy_asset      numeric,
    yoy_ni         numeric,
    yoy_eps_basic  numeric,
    yoy_pni        numeric,
    fetched_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_growth IS 'Growth (query_growth_data): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_growth.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_growth.pub_date IS 'pubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_growth.stat_date IS 'statDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_growth.yoy_equity IS 'YOYEquity: net assets year on year, a fraction.';
COMMENT ON COLUMN baostock.report_growth.yoy_asset IS 'YOYAsset: total assets year on year, a fraction.';
COMMENT ON COLUMN baostock.report_growth.yoy_ni IS 'YOYNI: net profit year on year, a fraction.';
COMMENT ON COLUMN baostock.report_growth.yoy_eps_basic IS 'YOYEPSBasic: basic EPS year on year, a fraction.';
COMMENT ON COLUMN baostock.report_growth.yoy_pni IS 'YOYPNI: net profit attributable to the parent year on year, a fraction.';
COMMENT ON COLUMN baostock.report_growth.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_growth', '');

CREATE TABLE baostock.report_balance (
    code                text NOT NULL,
    pub_date            date NOT NULL,
    stat_date           date NOT NULL,
    current_ratio       numeric,
    quick_ratio         numeric,
    cash_ratio          numeric,
    yoy_liability       numeric,
    liability_to_asset  numeric,
    asset_to_equity     numeric,
    fetched_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_balance IS 'Solvency (balance sheet ratios) (query_balance_data): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_balance.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_balance.pub_date IS 'pubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_balance.stat_date IS 'statDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_balance.current_ratio IS 'currentRatio: current ratio.';
COMMENT ON COLUMN baostock.report_balance.quick_ratio IS 'quickRatio: quick ratio.';
COMMENT ON COLUMN baostock.report_balance.cash_ratio IS 'cashRatio: cash ratio.';
COMMENT ON COLUMN baostock.report_balance.yoy_liability IS 'YOYLiability: total liabilities year on year, a fraction.';
COMMENT ON COLUMN baostock.report_balance.liability_to_asset IS 'liabilityToAsset: liabilities / assets.';
COMMENT ON COLUMN baostock.report_balance.asset_to_equity IS 'assetToEquity: assets / equity.';
COMMENT ON COLUMN baostock.report_balance.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_balance', '');

CREATE TABLE baostock.report_cash_flow (
    code                     text NOT NULL,
    pub_date                 date NOT NULL,
    stat_date                date NOT NULL,
    ca_to_asset              numeric,
    nca_to_asset             numeric,
    tangible_asset_to_asset  numeric,
    ebit_to_interest         numeric,
    cfo_to_or                numeric,
    cfo_to_np                numeric,
    cfo_to_gr                numeric,
    fetched_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_cash_flow IS 'Cash flow ratios (query_cash_flow_data): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_cash_flow.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_cash_flow.pub_date IS 'pubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_cash_flow.stat_date IS 'statDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_cash_flow.ca_to_asset IS 'CAToAsset: current assets / total assets.';
COMMENT ON COLUMN baostock.report_cash_flow.nca_to_asset IS 'NCAToAsset: non-current assets / total assets.';
COMMENT ON COLUMN baostock.report_cash_flow.tangible_asset_to_asset IS 'tangibleAssetToAsset: tangible assets / total assets.';
COMMENT ON COLUMN baostock.report_cash_flow.ebit_to_interest IS 'ebitToInterest: interest coverage: EBIT / interest.';
COMMENT ON COLUMN baostock.report_cash_flow.cfo_to_or IS 'CFOToOR: operating cash flow / operating revenue.';
COMMENT ON COLUMN baostock.report_cash_flow.cfo_to_np IS 'CFOToNP: operating cash flow / net profit.';
COMMENT ON COLUMN baostock.report_cash_flow.cfo_to_gr IS 'CFOToGr: operating cash flow / gross revenue.';
COMMENT ON COLUMN baostock.report_cash_flow.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_cash_flow', '');

CREATE TABLE baostock.report_dupont (
    code                     text NOT NULL,
    pub_date                 date NOT NULL,
    stat_date                date NOT NULL,
    dupont_roe               numeric,
    dupont_assets_to_equity  numeric,
    dupont_asset_turn        numeric,
    dupont_pni_to_ni         numeric,
    dupont_ni_to_gr          numeric,
    dupont_tax_burden        numeric,
    dupont_int_burden        numeric,
    dupont_ebit_to_gr        numeric,
    fetched_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_dupont IS 'DuPont analysis (query_dupont_data): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_dupont.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_dupont.pub_date IS 'pubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_dupont.stat_date IS 'statDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_dupont.dupont_roe IS 'dupontROE: return on equity (equals roe_avg).';
COMMENT ON COLUMN baostock.report_dupont.dupont_assets_to_equity IS 'dupontAssetStoEquity: equity multiplier: assets / equity.';
COMMENT ON COLUMN baostock.report_dupont.dupont_asset_turn IS 'dupontAssetTurn: total assets turnover (equals asset_turn_ratio).';
COMMENT ON COLUMN baostock.report_dupont.dupont_pni_to_ni IS 'dupontPnitoni: net profit attributable to the parent / net profit.';
COMMENT ON COLUMN baostock.report_dupont.dupont_ni_to_gr IS 'dupontNitogr: net profit / gross revenue (equals np_margin).';
COMMENT ON COLUMN baostock.report_dupont.dupont_tax_burden IS 'dupontTaxBurden: net profit / profit before tax.';
COMMENT ON COLUMN baostock.report_dupont.dupont_int_burden IS 'dupontIntburden: profit before tax / EBIT.';
COMMENT ON COLUMN baostock.report_dupont.dupont_ebit_to_gr IS 'dupontEbittogr: EBIT / gross revenue.';
COMMENT ON COLUMN baostock.report_dupont.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_dupont', '');

CREATE TABLE baostock.report_express (
    code         text NOT NULL,
    pub_date     date NOT NULL,
    stat_date    date NOT NULL,
    update_date  date,
    total_asset  numeric,
    net_asset    numeric,
    eps_chg_pct  numeric,
    roe_wa       numeric,
    eps_diluted  numeric,
    gr_yoy       numeric,
    op_yoy       numeric,
    fetched_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_express IS 'Performance express reports (业绩快报) (query_performance_express_report): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_express.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_express.pub_date IS 'performanceExpPubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_express.stat_date IS 'performanceExpStatDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_express.update_date IS 'performanceExpUpdateDate: when the report was last updated.';
COMMENT ON COLUMN baostock.report_express.total_asset IS 'performanceExpressTotalAsset: total assets, yuan.';
COMMENT ON COLUMN baostock.report_express.net_asset IS 'performanceExpressNetAsset: net assets, yuan.';
COMMENT ON COLUMN baostock.report_express.eps_chg_pct IS 'performanceExpressEPSChgPct: EPS change, a fraction.';
COMMENT ON COLUMN baostock.report_express.roe_wa IS 'performanceExpressROEWa: weighted return on equity, a PERCENT (7.98 = 7.98%).';
COMMENT ON COLUMN baostock.report_express.eps_diluted IS 'performanceExpressEPSDiluted: diluted EPS, yuan.';
COMMENT ON COLUMN baostock.report_express.gr_yoy IS 'performanceExpressGRYOY: gross revenue year on year, a fraction.';
COMMENT ON COLUMN baostock.report_express.op_yoy IS 'performanceExpressOPYOY: operating profit year on year, a fraction.';
COMMENT ON COLUMN baostock.report_express.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_express', '');

CREATE TABLE baostock.report_forecast (
    code               text NOT NULL,
    pub_date           date NOT NULL,
    stat_date          date NOT NULL,
    forecast_type      text,
    forecast_abstract  text,
    chg_pct_up         numeric,
    chg_pct_down       numeric,
    fetched_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, stat_date, pub_date)
);
COMMENT ON TABLE baostock.report_forecast IS 'Performance forecasts (业绩预告) (query_forecast_report): one row a code, period and revision, as the server answers it; numbers as the server wrote them, empty cells NULL.';
COMMENT ON COLUMN baostock.report_forecast.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_forecast.pub_date IS 'profitForcastExpPubDate: the day the report was published (it is known from the next day: the server publishes at 01:30 China time).';
COMMENT ON COLUMN baostock.report_forecast.stat_date IS 'profitForcastExpStatDate: the end of the period the report covers.';
COMMENT ON COLUMN baostock.report_forecast.forecast_type IS 'profitForcastType: kind of forecast as the server words it (e.g. 预增: increase expected).';
COMMENT ON COLUMN baostock.report_forecast.forecast_abstract IS 'profitForcastAbstract: the forecast in words.';
COMMENT ON COLUMN baostock.report_forecast.chg_pct_up IS 'profitForcastChgPctUp: upper bound of the expected change, percent.';
COMMENT ON COLUMN baostock.report_forecast.chg_pct_down IS 'profitForcastChgPctDwn: lower bound of the expected change, percent.';
COMMENT ON COLUMN baostock.report_forecast.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_forecast', '');

CREATE TABLE baostock.report_dividend (
    pub_date             date NOT NULL,
    code                 text NOT NULL,
    pre_notice_date      date,
    agm_pum_date         date,
    plan_announce_date   date,
    plan_date            date,
    regist_date          date,
    operate_date         date,
    pay_date             date,
    stock_market_date    date,
    cash_ps_before_tax   numeric,
    cash_ps_after_tax    text,
    stocks_ps            numeric,
    cash_stock           text,
    reserve_to_stock_ps  numeric,
    fetched_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, pub_date)
);
COMMENT ON TABLE baostock.report_dividend IS 'Dividends and bonus shares (query_dividend_data), as the server answers it; numbers as the server wrote them, empty cells NULL. One row a dividend, keyed by its date of knowledge; later answers fill in the dates announced after it (record, ex and pay dates) in place.';
COMMENT ON COLUMN baostock.report_dividend.pub_date IS 'The earliest date the row carries: when the dividend became known (its date of knowledge for point-in-time reads).';
COMMENT ON COLUMN baostock.report_dividend.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_dividend.pre_notice_date IS 'dividPreNoticeDate: pre-announcement date.';
COMMENT ON COLUMN baostock.report_dividend.agm_pum_date IS 'dividAgmPumDate: date of the shareholders meeting announcement.';
COMMENT ON COLUMN baostock.report_dividend.plan_announce_date IS 'dividPlanAnnounceDate: date the plan was announced.';
COMMENT ON COLUMN baostock.report_dividend.plan_date IS 'dividPlanDate: date the implementation was announced.';
COMMENT ON COLUMN baostock.report_dividend.regist_date IS 'dividRegistDate: record date.';
COMMENT ON COLUMN baostock.report_dividend.operate_date IS 'dividOperateDate: ex-dividend date (the adjust factors operate_date).';
COMMENT ON COLUMN baostock.report_dividend.pay_date IS 'dividPayDate: payment date.';
COMMENT ON COLUMN baostock.report_dividend.stock_market_date IS 'dividStockMarketDate: date bonus shares start trading.';
COMMENT ON COLUMN baostock.report_dividend.cash_ps_before_tax IS 'dividCashPsBeforeTax: cash per share before tax, yuan.';
COMMENT ON COLUMN baostock.report_dividend.cash_ps_after_tax IS 'dividCashPsAfterTax: cash per share after tax as the server writes it, TEXT (e.g. 0.288或0.32: depends on the holder).';
COMMENT ON COLUMN baostock.report_dividend.stocks_ps IS 'dividStocksPs: bonus shares per share.';
COMMENT ON COLUMN baostock.report_dividend.cash_stock IS 'dividCashStock: the plan in words (e.g. 10派3.2元...).';
COMMENT ON COLUMN baostock.report_dividend.reserve_to_stock_ps IS 'dividReserveToStockPs: shares from reserves per share.';
COMMENT ON COLUMN baostock.report_dividend.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_dividend', '');

CREATE TABLE baostock.report_deposit_rate (
    pub_date                           date NOT NULL,
    demand_deposit_rate                numeric,
    fixed_deposit_rate_3m              numeric,
    fixed_deposit_rate_6m              numeric,
    fixed_deposit_rate_1y              numeric,
    fixed_deposit_rate_2y              numeric,
    fixed_deposit_rate_3y              numeric,
    fixed_deposit_rate_5y              numeric,
    installment_fixed_deposit_rate_1y  numeric,
    installment_fixed_deposit_rate_3y  numeric,
    installment_fixed_deposit_rate_5y  numeric,
    fetched_at                         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pub_date)
);
COMMENT ON TABLE baostock.report_deposit_rate IS 'Benchmark deposit rates (query_deposit_rate_data), as the server answers it; numbers as the server wrote them, empty cells NULL. A row is in force from its pub_date until the next row.';
COMMENT ON COLUMN baostock.report_deposit_rate.pub_date IS 'pubDate: the day the change was announced.';
COMMENT ON COLUMN baostock.report_deposit_rate.demand_deposit_rate IS 'demandDepositRate: demand deposits, percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fixed_deposit_rate_3m IS 'fixedDepositRate3Month: fixed deposits of 3 months, percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fixed_deposit_rate_6m IS 'fixedDepositRate6Month: fixed deposits of 6 months, percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fixed_deposit_rate_1y IS 'fixedDepositRate1Year: fixed deposits of 1 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fixed_deposit_rate_2y IS 'fixedDepositRate2Year: fixed deposits of 2 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fixed_deposit_rate_3y IS 'fixedDepositRate3Year: fixed deposits of 3 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fixed_deposit_rate_5y IS 'fixedDepositRate5Year: fixed deposits of 5 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.installment_fixed_deposit_rate_1y IS 'installmentFixedDepositRate1Year: installment fixed deposits of 1 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.installment_fixed_deposit_rate_3y IS 'installmentFixedDepositRate3Year: installment fixed deposits of 3 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.installment_fixed_deposit_rate_5y IS 'installmentFixedDepositRate5Year: installment fixed deposits of 5 year(s), percent a year.';
COMMENT ON COLUMN baostock.report_deposit_rate.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_deposit_rate', '');

CREATE TABLE baostock.report_loan_rate (
    pub_date                date NOT NULL,
    loan_rate_6m            numeric,
    loan_rate_6m_to_1y      numeric,
    loan_rate_1y_to_3y      numeric,
    loan_rate_3y_to_5y      numeric,
    loan_rate_above_5y      numeric,
    mortgage_rate_below_5y  numeric,
    mortgage_rate_above_5y  numeric,
    fetched_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pub_date)
);
COMMENT ON TABLE baostock.report_loan_rate IS 'Benchmark loan rates (query_loan_rate_data), as the server answers it; numbers as the server wrote them, empty cells NULL. A row is in force from its pub_date until the next row.';
COMMENT ON COLUMN baostock.report_loan_rate.pub_date IS 'pubDate: the day the change was announced.';
COMMENT ON COLUMN baostock.report_loan_rate.loan_rate_6m IS 'loanRate6Month: loan rate 6m, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.loan_rate_6m_to_1y IS 'loanRate6MonthTo1Year: loan rate 6m to 1y, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.loan_rate_1y_to_3y IS 'loanRate1YearTo3Year: loan rate 1y to 3y, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.loan_rate_3y_to_5y IS 'loanRate3YearTo5Year: loan rate 3y to 5y, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.loan_rate_above_5y IS 'loanRateAbove5Year: loan rate above 5y, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.mortgage_rate_below_5y IS 'mortgateRateBelow5Year: mortgage rate below 5y, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.mortgage_rate_above_5y IS 'mortgateRateAbove5Year: mortgage rate above 5y, percent a year.';
COMMENT ON COLUMN baostock.report_loan_rate.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_loan_rate', '');

CREATE TABLE baostock.report_reserve_ratio (
    pub_date                         date NOT NULL,
    effective_date                   date NOT NULL,
    big_institutions_ratio_pre       numeric,
    big_institutions_ratio_after     numeric,
    medium_institutions_ratio_pre    numeric,
    medium_institutions_ratio_after  numeric,
    fetched_at                       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pub_date, effective_date)
);
COMMENT ON TABLE baostock.report_reserve_ratio IS 'Required reserve ratios (query_required_reserve_ratio_data), as the server answers it; numbers as the server wrote them, empty cells NULL. A row is in force from its effective_date until the next row.';
COMMENT ON COLUMN baostock.report_reserve_ratio.pub_date IS 'pubDate: the day the change was announced.';
COMMENT ON COLUMN baostock.report_reserve_ratio.effective_date IS 'effectiveDate: when the ratio took effect.';
COMMENT ON COLUMN baostock.report_reserve_ratio.big_institutions_ratio_pre IS 'bigInstitutionsRatioPre: large institutions, before, percent.';
COMMENT ON COLUMN baostock.report_reserve_ratio.big_institutions_ratio_after IS 'bigInstitutionsRatioAfter: large institutions, after, percent.';
COMMENT ON COLUMN baostock.report_reserve_ratio.medium_institutions_ratio_pre IS 'mediumInstitutionsRatioPre: medium institutions, before, percent.';
COMMENT ON COLUMN baostock.report_reserve_ratio.medium_institutions_ratio_after IS 'mediumInstitutionsRatioAfter: medium institutions, after, percent.';
COMMENT ON COLUMN baostock.report_reserve_ratio.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_reserve_ratio', '');

CREATE TABLE baostock.report_money_supply_month (
    stat_year   integer NOT NULL,
    stat_month  integer NOT NULL,
    m0          numeric,
    m0_yoy      numeric,
    m0_mom      numeric,
    m1          numeric,
    m1_yoy      numeric,
    m1_mom      numeric,
    m2          numeric,
    m2_yoy      numeric,
    m2_mom      numeric,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stat_year, stat_month)
);
COMMENT ON TABLE baostock.report_money_supply_month IS 'Money supply by month (query_money_supply_data_month), as the server answers it; numbers as the server wrote them, empty cells NULL. The server gives no publication date: the official figures come out around the middle of the next month.';
COMMENT ON COLUMN baostock.report_money_supply_month.stat_year IS 'statYear: year.';
COMMENT ON COLUMN baostock.report_money_supply_month.stat_month IS 'statMonth: month 1-12.';
COMMENT ON COLUMN baostock.report_money_supply_month.m0 IS 'm0Month: M0 at the period end, 100 million yuan.';
COMMENT ON COLUMN baostock.report_money_supply_month.m0_yoy IS 'm0YOY: M0 year on year, percent.';
COMMENT ON COLUMN baostock.report_money_supply_month.m0_mom IS 'm0ChainRelative: M0 against the month before, percent.';
COMMENT ON COLUMN baostock.report_money_supply_month.m1 IS 'm1Month: M1, 100 million yuan.';
COMMENT ON COLUMN baostock.report_money_supply_month.m1_yoy IS 'm1YOY: M1 year on year, percent.';
COMMENT ON COLUMN baostock.report_money_supply_month.m1_mom IS 'm1ChainRelative: M1 against the month before, percent.';
COMMENT ON COLUMN baostock.report_money_supply_month.m2 IS 'm2Month: M2, 100 million yuan.';
COMMENT ON COLUMN baostock.report_money_supply_month.m2_yoy IS 'm2YOY: M2 year on year, percent.';
COMMENT ON COLUMN baostock.report_money_supply_month.m2_mom IS 'm2ChainRelative: M2 against the month before, percent.';
COMMENT ON COLUMN baostock.report_money_supply_month.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_money_supply_month', '');

CREATE TABLE baostock.report_money_supply_year (
    stat_year   integer NOT NULL,
    m0          numeric,
    m0_yoy      numeric,
    m1          numeric,
    m1_yoy      numeric,
    m2          numeric,
    m2_yoy      numeric,
    fetched_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stat_year)
);
COMMENT ON TABLE baostock.report_money_supply_year IS 'Money supply by year (year-end) (query_money_supply_data_year), as the server answers it; numbers as the server wrote them, empty cells NULL. The server gives no publication date.';
COMMENT ON COLUMN baostock.report_money_supply_year.stat_year IS 'statYear: year.';
COMMENT ON COLUMN baostock.report_money_supply_year.m0 IS 'm0Year: M0 at the period end, 100 million yuan.';
COMMENT ON COLUMN baostock.report_money_supply_year.m0_yoy IS 'm0YearYOY: M0 year on year, percent.';
COMMENT ON COLUMN baostock.report_money_supply_year.m1 IS 'm1Year: M1, 100 million yuan.';
COMMENT ON COLUMN baostock.report_money_supply_year.m1_yoy IS 'm1YearYOY: M1 year on year, percent.';
COMMENT ON COLUMN baostock.report_money_supply_year.m2 IS 'm2Year: M2, 100 million yuan.';
COMMENT ON COLUMN baostock.report_money_supply_year.m2_yoy IS 'm2YearYOY: M2 year on year, percent.';
COMMENT ON COLUMN baostock.report_money_supply_year.fetched_at IS 'When this row was last written.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_money_supply_year', '');

-- What the fundamentals jobs asked: a row per code, kind and period (its last day), so that a
-- plan asks again only what may still come.
CREATE TABLE baostock.report_checks (
    code      text NOT NULL,
    kind      text NOT NULL CHECK (kind IN ('profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont', 'express', 'forecast', 'dividend')),
    period    date NOT NULL,
    rows      integer NOT NULL CHECK (rows >= 0),
    final     boolean NOT NULL,
    asked_at  timestamptz NOT NULL DEFAULT now(),
    job_id    bigint,
    PRIMARY KEY (code, kind, period)
);
COMMENT ON TABLE baostock.report_checks IS 'The last answer to each code''s reports of a kind for a period (a quarter, or a year for express, forecast and dividends): a final one (rows came, or none came after the legal disclosure deadline) is not asked again by backfill_fundamentals(); an empty one before the deadline means not yet, and is.';
COMMENT ON COLUMN baostock.report_checks.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.report_checks.kind IS 'profit, operation, growth, balance, cash_flow, dupont, express, forecast or dividend.';
COMMENT ON COLUMN baostock.report_checks.period IS 'The last day of the period asked: a quarter end, or 31 December for the kinds asked per year.';
COMMENT ON COLUMN baostock.report_checks.rows IS 'Rows the answer had.';
COMMENT ON COLUMN baostock.report_checks.final IS 'Whether the answer is final: rows came, or none came after the deadline (Q1 and Q3 a month after the quarter, H1 two months, the year four; a year of express, forecast or dividends once it is over) had been published.';
COMMENT ON COLUMN baostock.report_checks.asked_at IS 'When it was asked.';
COMMENT ON COLUMN baostock.report_checks.job_id IS 'The job that asked it, if one did.';
SELECT pg_catalog.pg_extension_config_dump('baostock.report_checks', '');

-- Views and functions of 0.4.0 ------------------------------------------------------------

/* <begin connected objects> */
-- requires:
--   schema
--   reports

-- pg_baostock: adjusted prices, computed from the raw bars and the back factors (never
-- downloaded). The server's rule, which its answers with adjustflag 1 and 2 follow to the
-- last of their 10 decimals:
--   hfq (back-adjusted)    price x back_factor in force that day
--   qfq (forward-adjusted) price x round(back_factor in force / the code's latest back_factor, 6)
-- where the factor in force is that of the code's latest factor row with operate_date on or
-- before the day (1.000000 before its first). A raw price has 4 decimals and a factor 6, so
-- the product has exactly 10. A new dividend changes every forward-adjusted price before it
-- (the latest back factor moves) and no back-adjusted one. Weeks and months are built from
-- the daily bars the way the server builds them: first open, highest high, lowest low, last
-- close of the adjusted daily prices within the range asked; volume, amount and turnover
-- summed; pct_chg from the close before the period to its last close (raw prices).

-- The last day through which a code's stored factor history is known to be complete: the end
-- of its newest whole-history fetch (a factors range from the first trading day), carried on
-- by each synced day after it (whose 9C brings that day's factors) up to the first trading day
-- that is not synced. NULL when the whole history was never fetched.
CREATE FUNCTION baostock.factors_known_through(code text) RETURNS date
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    through date;
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: factors_known_through: code must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT max(upper(r.span)) - 1 INTO through FROM baostock.synced_ranges r
    WHERE r.code = $1 AND r.kind = 'factors' AND lower(r.span) <= date '1990-12-19';
    IF through IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT min(c.day) - 1 FROM baostock.trade_calendar c
                     WHERE c.is_trading_day AND c.day > through
                       AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)),
                    greatest(through, (SELECT max(day) FROM baostock.trade_calendar)));
END
$$;
COMMENT ON FUNCTION baostock.factors_known_through(text) IS 'The last day through which the code''s stored adjust factors are known complete (its whole history fetched, then every trading day synced); NULL when its whole history was never fetched. Forward-adjusted prices equal the server''s only while this reaches the last trading day before today.';

-- The price factor of a code for an adjust mode over each stretch of days: from each factor
-- row's operate_date until the next one's, and before the first one (from -infinity). One pass
-- over the code's factors, which the bars then join by range (called once a query).
CREATE FUNCTION baostock.factor_ranges(code text, adjust text)
RETURNS TABLE (since date, until date, factor numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    known date;
BEGIN
    IF $1 IS NULL OR $2 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: factor_ranges: code and adjust must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF $2 NOT IN ('qfq', 'hfq', 'none') THEN
        RAISE EXCEPTION 'pg_baostock: factor_ranges: unknown adjust mode %', quote_literal($2)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Adjust modes are qfq (forward), hfq (back) and none.';
    END IF;
    -- Adjusted prices from an unknown factor history are not the server's: say so, never
    -- guess. Back-adjusted ones need the factors up to each day (a history fetched once);
    -- forward-adjusted ones also the latest (a dividend after what is known moves them all).
    IF $2 IN ('qfq', 'hfq') THEN
        known := baostock.factors_known_through($1);
    END IF;
    IF ($2 = 'hfq' AND known IS NULL)
       OR ($2 = 'qfq' AND (known IS NULL OR EXISTS (SELECT 1 FROM baostock.trade_calendar c
                                                     WHERE c.is_trading_day AND c.day > known
                                                       AND c.day < (now() AT TIME ZONE 'Asia/Shanghai')::date))) THEN
        RAISE WARNING 'pg_baostock: %: its % prices may differ from the server''s',
            CASE WHEN known IS NULL THEN format('the whole factor history of %s was never fetched', $1)
                 ELSE format('the adjust factors of %s are known only through %s', $1, to_char(known, 'YYYY-MM-DD')) END,
            CASE $2 WHEN 'qfq' THEN 'forward-adjusted (qfq)' ELSE 'back-adjusted (hfq)' END
            USING HINT = format('SELECT baostock.backfill(%L, codes => ARRAY[%L]) fetches its factor history up to today; sync_date() keeps it current.',
                                (SELECT to_char(coalesce(min(b.date), date '1990-12-19'), 'YYYY-MM-DD')
                                 FROM baostock.daily_bars b WHERE b.code = $1), $1);
    END IF;
    RETURN QUERY
    WITH f AS (
        SELECT a.operate_date, a.back_factor,
               lead(a.operate_date) OVER (ORDER BY a.operate_date) AS next,
               last_value(a.back_factor) OVER (ORDER BY a.operate_date
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS latest
        FROM baostock.adjust_factors a WHERE a.code = $1
    ), r AS (
        SELECT '-infinity'::date AS d0, coalesce(min(f.operate_date), 'infinity') AS d1, 1.000000::numeric AS back,
               coalesce(max(f.latest), 1.000000) AS latest
        FROM f
        UNION ALL
        SELECT f.operate_date, coalesce(f.next, 'infinity'), coalesce(f.back_factor, 1.000000),
               coalesce(f.latest, 1.000000)
        FROM f
    )
    SELECT '-infinity'::date, 'infinity'::date, 1::numeric WHERE $2 = 'none'
    UNION ALL
    SELECT r.d0, r.d1, CASE $2 WHEN 'hfq' THEN r.back ELSE round(r.back / nullif(r.latest, 0), 6) END
    FROM r WHERE $2 IN ('hfq', 'qfq');
END
$$;
COMMENT ON FUNCTION baostock.factor_ranges(text, text) IS 'The price factor of a code for an adjust mode over each stretch of days [since, until): none 1; hfq the back factor in force (1.000000 before the first factor row); qfq that back factor / the code''s latest back factor rounded to 6 decimals, as the server computes its fore factor.';

-- adjusted_bars' body: PL/pgSQL cannot name a parameter like a result column (code, date).
CREATE FUNCTION baostock.adjusted_bars_of(
    c text,
    start_date date,
    end_date date,
    adjust text,
    frequency text
) RETURNS TABLE (
    code text, date date, "time" timestamp, open numeric, high numeric, low numeric, close numeric,
    preclose numeric, volume bigint, amount numeric, adjustflag smallint, turn numeric, trade_status boolean,
    pct_chg numeric, pe_ttm numeric, pb_mrq numeric, ps_ttm numeric, pcf_ncf_ttm numeric, is_st boolean
)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    flag smallint;
BEGIN
    IF c IS NULL OR start_date IS NULL OR end_date IS NULL OR adjust IS NULL OR frequency IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: code, start_date, end_date, adjust and frequency must not be NULL'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    flag := CASE adjust WHEN 'qfq' THEN 2 WHEN 'hfq' THEN 1 WHEN 'none' THEN 3 END;
    IF flag IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: unknown adjust mode %', quote_literal(adjust)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Adjust modes are qfq (forward), hfq (back) and none.';
    END IF;
    IF frequency NOT IN ('d', 'w', 'm', '5', '15', '30', '60') THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: unknown frequency %', quote_literal(frequency)
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Frequencies are d, w, m, 5, 15, 30 and 60.';
    END IF;
    IF start_date > end_date THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: start_date % is after end_date %', start_date, end_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF frequency IN ('5', '15', '30', '60')
       AND EXISTS (SELECT 1 FROM baostock.securities s WHERE s.code = c AND s.sec_type = 2) THEN
        RAISE EXCEPTION 'pg_baostock: adjusted_bars: the server has no minute bars of indices (% is one)', c
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Ask for its daily, weekly or monthly bars instead.';
    END IF;

    -- Daily, weekly and monthly prices come from the stored adjusted columns; factor_ranges
    -- still says when the code's factor history makes them differ from the server's.
    IF frequency IN ('d', 'w', 'm') AND adjust <> 'none' THEN
        PERFORM FROM baostock.factor_ranges(c, adjust) LIMIT 1;
    END IF;
    IF frequency = 'd' THEN
        RETURN QUERY
        SELECT b.code, b.date, NULL::timestamp,
               CASE adjust WHEN 'qfq' THEN b.qfq_open WHEN 'hfq' THEN b.hfq_open ELSE b.open END,
               CASE adjust WHEN 'qfq' THEN b.qfq_high WHEN 'hfq' THEN b.hfq_high ELSE b.high END,
               CASE adjust WHEN 'qfq' THEN b.qfq_low WHEN 'hfq' THEN b.hfq_low ELSE b.low END,
               CASE adjust WHEN 'qfq' THEN b.qfq_close WHEN 'hfq' THEN b.hfq_close ELSE b.close END,
               CASE adjust WHEN 'qfq' THEN b.qfq_preclose WHEN 'hfq' THEN b.hfq_preclose ELSE b.preclose END,
               b.volume, b.amount, flag, b.turn, b.trade_status, b.pct_chg,
               b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
        FROM baostock.daily_bars b
        WHERE b.code = c AND b.date BETWEEN start_date AND end_date
        ORDER BY b.date;
    ELSIF frequency IN ('w', 'm') THEN
        RETURN QUERY
        WITH d AS (
            SELECT b.*,
                   CASE adjust WHEN 'qfq' THEN b.qfq_open WHEN 'hfq' THEN b.hfq_open ELSE b.open END AS a_open,
                   CASE adjust WHEN 'qfq' THEN b.qfq_high WHEN 'hfq' THEN b.hfq_high ELSE b.high END AS a_high,
                   CASE adjust WHEN 'qfq' THEN b.qfq_low WHEN 'hfq' THEN b.hfq_low ELSE b.low END AS a_low,
                   CASE adjust WHEN 'qfq' THEN b.qfq_close WHEN 'hfq' THEN b.hfq_close ELSE b.close END AS a_close,
                   date_trunc(CASE adjusted_bars_of.frequency WHEN 'w' THEN 'week' ELSE 'month' END, b.date) AS period
            FROM baostock.daily_bars b
            WHERE b.code = c AND b.date BETWEEN start_date AND end_date
        )
        SELECT c, max(d.date), NULL::timestamp,
               (array_agg(d.a_open ORDER BY d.date))[1],
               max(d.a_high), min(d.a_low),
               (array_agg(d.a_close ORDER BY d.date DESC))[1],
               NULL::numeric,
               sum(d.volume)::bigint, sum(d.amount), flag,
               CASE WHEN (SELECT s.sec_type FROM baostock.securities s WHERE s.code = c) = 2 THEN NULL
                    ELSE coalesce(sum(d.turn), 0.000000) END,
               NULL::boolean,
               round(((array_agg(d.close ORDER BY d.date DESC))[1] - (array_agg(d.preclose ORDER BY d.date))[1]) * 100
                     / nullif((array_agg(d.preclose ORDER BY d.date))[1], 0), 6),
               NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::boolean
        FROM d
        GROUP BY d.period
        ORDER BY d.period;
    ELSE
        RETURN QUERY
        SELECT b.code, b.date, b.time,
               b.open * k.factor, b.high * k.factor, b.low * k.factor, b.close * k.factor, NULL::numeric,
               b.volume, b.amount, flag, NULL::numeric, NULL::boolean, NULL::numeric,
               NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, NULL::boolean
        FROM baostock.minute_bars b
        JOIN baostock.factor_ranges(c, adjust) k ON b.date >= k.since AND b.date < k.until
        WHERE b.code = c AND b.frequency = adjusted_bars_of.frequency::smallint
          AND b.time >= start_date AND b.time < end_date + 1
        ORDER BY b.time;
    END IF;
END
$$;
COMMENT ON FUNCTION baostock.adjusted_bars_of(text, date, date, text, text) IS 'The body of baostock.adjusted_bars (same arguments, in order); call that instead.';

CREATE FUNCTION baostock.adjusted_bars(
    code text,
    start_date date,
    end_date date,
    adjust text DEFAULT 'qfq',
    frequency text DEFAULT 'd'
) RETURNS TABLE (
    code text, date date, "time" timestamp, open numeric, high numeric, low numeric, close numeric,
    preclose numeric, volume bigint, amount numeric, adjustflag smallint, turn numeric, trade_status boolean,
    pct_chg numeric, pe_ttm numeric, pb_mrq numeric, ps_ttm numeric, pcf_ncf_ttm numeric, is_st boolean
)
LANGUAGE sql STABLE
AS $$ SELECT * FROM baostock.adjusted_bars_of($1, $2, $3, $4, $5) $$;
COMMENT ON FUNCTION baostock.adjusted_bars(text, date, date, text, text) IS 'A code''s bars between two days with prices adjusted in SQL from the stored raw bars and back factors: adjust qfq (forward, the default), hfq (back) or none; frequency d (default), w or m (built from the daily bars as the server builds them), 5, 15, 30 or 60 (from baostock.minute_bars; indices have none). Equal to the server''s answers with adjustflag 2 / 1 when the code''s factor history is complete (backfill fetches it). Columns a frequency does not have are NULL.';

-- The adjusted prices are stored beside the raw ones (daily_bars.qfq_*, hfq_*, kept in step
-- with the factors by the store): reading them costs what reading the raw bars does.
CREATE VIEW baostock.daily_bars_qfq AS
SELECT b.code, b.date, b.qfq_open AS open, b.qfq_high AS high, b.qfq_low AS low, b.qfq_close AS close,
       b.qfq_preclose AS preclose, b.volume, b.amount, 2::smallint AS adjustflag, b.turn, b.trade_status,
       b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
FROM baostock.daily_bars b;
COMMENT ON VIEW baostock.daily_bars_qfq IS 'Every stored daily bar with forward-adjusted (qfq) prices (the stored qfq_* columns: price x factor_spans'' fore factor), as baostock.adjusted_bars gives them; filter by code and date. Does not warn about an incomplete factor history (adjusted_bars does; see factors_known_through).';

CREATE VIEW baostock.daily_bars_hfq AS
SELECT b.code, b.date, b.hfq_open AS open, b.hfq_high AS high, b.hfq_low AS low, b.hfq_close AS close,
       b.hfq_preclose AS preclose, b.volume, b.amount, 1::smallint AS adjustflag, b.turn, b.trade_status,
       b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
FROM baostock.daily_bars b;
COMMENT ON VIEW baostock.daily_bars_hfq IS 'Every stored daily bar with back-adjusted (hfq) prices (the stored hfq_* columns: price x the back factor in force), as baostock.adjusted_bars gives them; filter by code and date. Does not warn about an incomplete factor history (adjusted_bars does).';
/* </end connected objects> */

/* <begin connected objects> */
-- requires:
--   reports
--   adjusted

-- pg_baostock's research reads, what could have been known on a day, without look-ahead:
-- * the reports (sql/reports.sql): a report is known on a day when it was published before
--   that day (the server publishes a day's reports at 01:30 China time the next day);
-- * index membership: the stored list in force on a day is the newest one dated on or before
--   it (the server dates a week's list by its Monday); backfill_membership() stores the lists
--   back to each index's launch, to the week of every change.
-- Remade by every update.

CREATE FUNCTION baostock.fundamentals_asof(codes text[], day date, kind text DEFAULT 'profit')
RETURNS TABLE (code text, stat_date date, pub_date date, report jsonb)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF codes IS NULL OR day IS NULL OR kind IS NULL THEN
        RAISE EXCEPTION 'fundamentals_asof: % must not be NULL',
            CASE WHEN codes IS NULL THEN 'codes' WHEN day IS NULL THEN 'day' ELSE 'kind' END
            USING ERRCODE = '22004', HINT = 'Pass the codes, a day and a kind (profit by default).';
    END IF;
    IF NOT isfinite(day) THEN
        RAISE EXCEPTION 'fundamentals_asof: day % is not a day', day USING ERRCODE = '22023';
    END IF;
    IF kind NOT IN ('profit', 'operation', 'growth', 'balance', 'cash_flow', 'dupont', 'express', 'forecast', 'dividend') THEN
        RAISE EXCEPTION 'fundamentals_asof: unknown kind %', quote_literal(kind) USING ERRCODE = '22023',
            HINT = 'Kinds are profit, operation, growth, balance, cash_flow, dupont, express, forecast and dividend.';
    END IF;
    IF kind = 'dividend' THEN
        -- A dividend is known from its earliest date; the dates it announced later (record,
        -- ex and pay dates) are shown only when they are before the day.
        RETURN QUERY
        SELECT DISTINCT ON (r.code) r.code, NULL::date, r.pub_date,
               (SELECT jsonb_object_agg(e.key, CASE WHEN e.key LIKE '%\_date' AND e.value #>> '{}' >= day::text
                                                    THEN 'null'::jsonb ELSE e.value END)
                FROM jsonb_each(to_jsonb(r) - 'code' - 'pub_date' - 'fetched_at') e)
        FROM baostock.report_dividend r
        WHERE r.code = ANY (codes) AND r.pub_date < day
        ORDER BY r.code, r.pub_date DESC;
        RETURN;
    END IF;
    RETURN QUERY EXECUTE format($q$
        SELECT DISTINCT ON (r.code) r.code, r.stat_date, r.pub_date,
               to_jsonb(r) - 'code' - 'stat_date' - 'pub_date' - 'fetched_at'
        FROM baostock.%I r
        WHERE r.code = ANY ($1) AND r.pub_date < $2
        ORDER BY r.code, r.stat_date DESC, r.pub_date DESC$q$, 'report_' || kind)
    USING codes, day;
END
$$;
COMMENT ON FUNCTION baostock.fundamentals_asof(text[], date, text) IS 'What was known on a day of the codes'' reports of a kind (profit by default; operation, growth, balance, cash_flow, dupont, express, forecast, dividend): per code the report of the latest period published before the day, in its latest revision published before the day, never one published on or after it; report holds its fields under their column names (numbers as JSON numbers). Dividends: the latest dividend known before the day (stat_date NULL), its dates not yet reached shown as null. NULL arguments are 22004, an unknown kind or an infinite day 22023.';

CREATE VIEW baostock.profit_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_profit r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.profit_latest IS 'The latest stored revision of each code''s profit report of each period (baostock.report_profit), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''profit'').';

CREATE VIEW baostock.operation_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_operation r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.operation_latest IS 'The latest stored revision of each code''s operation report of each period (baostock.report_operation), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''operation'').';

CREATE VIEW baostock.growth_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_growth r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.growth_latest IS 'The latest stored revision of each code''s growth report of each period (baostock.report_growth), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''growth'').';

CREATE VIEW baostock.balance_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_balance r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.balance_latest IS 'The latest stored revision of each code''s balance report of each period (baostock.report_balance), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''balance'').';

CREATE VIEW baostock.cash_flow_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_cash_flow r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.cash_flow_latest IS 'The latest stored revision of each code''s cash flow report of each period (baostock.report_cash_flow), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''cash_flow'').';

CREATE VIEW baostock.dupont_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_dupont r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.dupont_latest IS 'The latest stored revision of each code''s dupont report of each period (baostock.report_dupont), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''dupont'').';

CREATE VIEW baostock.express_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_express r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.express_latest IS 'The latest stored revision of each code''s express report of each period (baostock.report_express), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''express'').';

CREATE VIEW baostock.forecast_latest AS
SELECT DISTINCT ON (r.code, r.stat_date) r.*, count(*) OVER (PARTITION BY r.code, r.stat_date) AS revisions,
       min(r.pub_date) OVER (PARTITION BY r.code, r.stat_date) AS first_pub_date
FROM baostock.report_forecast r
ORDER BY r.code, r.stat_date, r.pub_date DESC;
COMMENT ON VIEW baostock.forecast_latest IS 'The latest stored revision of each code''s forecast report of each period (baostock.report_forecast), with how many revisions are stored and when the first was published. For what was known on a past day, use baostock.fundamentals_asof(codes, day, ''forecast'').';

CREATE VIEW baostock.dividends AS
SELECT r.*, f.back_factor, f.adjust_factor
FROM baostock.report_dividend r
LEFT JOIN baostock.adjust_factors f ON f.code = r.code AND f.operate_date = r.operate_date;
COMMENT ON VIEW baostock.dividends IS 'Every stored dividend (baostock.report_dividend, known from its pub_date) beside the adjust factor of its ex date (baostock.adjust_factors on operate_date; NULL while that factor is not stored).';

CREATE VIEW baostock.index_membership AS
WITH lists AS (
    SELECT d.index_name, d.update_date,
           lead(d.update_date) OVER w AS next_list,
           row_number() OVER w AS n
    FROM (SELECT DISTINCT c.index_name, c.update_date FROM baostock.index_constituents c) d
    WINDOW w AS (PARTITION BY d.index_name ORDER BY d.update_date)
), runs AS (
    SELECT c.index_name, c.code, l.update_date, l.next_list, l.n,
           l.n - row_number() OVER (PARTITION BY c.index_name, c.code ORDER BY l.n) AS run
    FROM baostock.index_constituents c
    JOIN lists l ON l.index_name = c.index_name AND l.update_date = c.update_date
)
SELECT r.index_name, r.code, min(r.update_date) AS valid_from,
       (array_agg(r.next_list ORDER BY r.n DESC))[1] AS valid_to
FROM runs r
GROUP BY r.index_name, r.code, r.run;
COMMENT ON VIEW baostock.index_membership IS 'Each stretch of time a code was a constituent of an index, from the stored lists (baostock.index_constituents): valid_from the first list of the stretch with it, valid_to the first stored list after it without it (exclusive; NULL while the newest stored list has it). Two stored lists that are equal count as one stretch: backfill_membership() stores lists a month apart and, where they differ, the lists between them to the week of the change.';

CREATE FUNCTION baostock.index_members(index_name text, day date)
RETURNS TABLE (code text, code_name text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    IF index_members.index_name IS NULL OR day IS NULL THEN
        RAISE EXCEPTION 'index_members: % must not be NULL', CASE WHEN day IS NULL THEN 'day' ELSE 'index_name' END
            USING ERRCODE = '22004';
    END IF;
    IF index_members.index_name NOT IN ('hs300', 'sz50', 'zz500') THEN
        RAISE EXCEPTION 'index_members: unknown index %', quote_literal(index_members.index_name) USING ERRCODE = '22023',
            HINT = 'Indices are hs300 (CSI 300), sz50 (SSE 50) and zz500 (CSI 500).';
    END IF;
    IF NOT isfinite(day) THEN
        RAISE EXCEPTION 'index_members: day % is not a day', day USING ERRCODE = '22023';
    END IF;
    RETURN QUERY
    SELECT c.code, c.code_name
    FROM baostock.index_constituents c
    WHERE c.index_name = index_members.index_name
      AND c.update_date = (SELECT max(x.update_date) FROM baostock.index_constituents x
                           WHERE x.index_name = index_members.index_name AND x.update_date <= day)
    ORDER BY c.code;
END
$$;
COMMENT ON FUNCTION baostock.index_members(text, date) IS 'The constituents of an index (hs300, sz50, zz500) on a day: the newest stored list dated on or before it (the server dates a week''s list by its Monday; a list is in force until the next). No rows before the first stored list: backfill_membership() stores them back to the index''s launch. NULL arguments are 22004, an unknown index or an infinite day 22023.';

CREATE VIEW baostock.universe AS
SELECT m.index_name, b.date, b.code, b.open, b.high, b.low, b.close, b.preclose,
       b.qfq_open, b.qfq_high, b.qfq_low, b.qfq_close, b.hfq_close,
       b.volume, b.amount, b.turn, b.pct_chg, b.trade_status, b.is_st
FROM baostock.index_membership m
JOIN baostock.daily_bars b ON b.code = m.code AND b.date >= m.valid_from AND (m.valid_to IS NULL OR b.date < m.valid_to);
COMMENT ON VIEW baostock.universe IS 'The daily bars of each index''s constituents of the day (baostock.index_membership joined to baostock.daily_bars): a backtest over an index without survivorship bias, e.g. WHERE index_name = ''hs300'' AND date BETWEEN ... .';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::backfill
CREATE  FUNCTION "backfill"(
	"start_date" date, /* Option < Date > */
	"end_date" date DEFAULT NULL, /* Option < Date > */
	"codes" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"frequency" TEXT DEFAULT 'd', /* Option < String > */
	"force" bool DEFAULT false, /* Option < bool > */
	"factors" bool DEFAULT true /* Option < bool > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'backfill_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::backfill_fundamentals
CREATE  FUNCTION "backfill_fundamentals"(
	"start_year" INT, /* Option < i32 > */
	"end_year" INT DEFAULT NULL, /* Option < i32 > */
	"codes" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"kinds" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"force" bool DEFAULT false /* Option < bool > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'backfill_fundamentals_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::backfill_membership
CREATE  FUNCTION "backfill_membership"(
	"index_name" TEXT DEFAULT NULL, /* Option < String > */
	"start_date" date DEFAULT NULL /* Option < Date > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'backfill_membership_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::cancel
CREATE  FUNCTION "cancel"(
	"job_id" bigint /* Option < i64 > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'cancel_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::plan
CREATE  FUNCTION "plan"(
	"start_date" date, /* Option < Date > */
	"end_date" date DEFAULT NULL, /* Option < Date > */
	"codes" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"frequency" TEXT DEFAULT 'd', /* Option < String > */
	"force" bool DEFAULT false, /* Option < bool > */
	"factors" bool DEFAULT true /* Option < bool > */
) RETURNS TABLE (
	"kind" TEXT,  /* String */
	"units" bigint,  /* i64 */
	"first_day" date,  /* Option < Date > */
	"last_day" date,  /* Option < Date > */
	"est_requests" bigint,  /* i64 */
	"est_seconds" double precision,  /* f64 */
	"est_days" bigint  /* Option < i64 > */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'plan_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::plan_fundamentals
CREATE  FUNCTION "plan_fundamentals"(
	"start_year" INT, /* Option < i32 > */
	"end_year" INT DEFAULT NULL, /* Option < i32 > */
	"codes" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"kinds" TEXT[] DEFAULT NULL, /* :: std :: option :: Option < Vec < Option < String > > > */
	"force" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"kind" TEXT,  /* String */
	"units" bigint,  /* i64 */
	"first_day" date,  /* Option < Date > */
	"last_day" date,  /* Option < Date > */
	"est_requests" bigint,  /* i64 */
	"est_seconds" double precision,  /* f64 */
	"est_days" bigint  /* Option < i64 > */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'plan_fundamentals_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::resume
CREATE  FUNCTION "resume"() RETURNS bigint /* i64 */
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'resume_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::retry
CREATE  FUNCTION "retry"(
	"job_id" bigint /* Option < i64 > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'retry_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::sync::sync_calendar
CREATE  FUNCTION "sync_calendar"(
	"start_date" date DEFAULT NULL, /* Option < Date > */
	"end_date" date DEFAULT NULL /* Option < Date > */
) RETURNS TABLE (
	"day" date,  /* Option < Date > */
	"status" TEXT,  /* String */
	"rows_inserted" bigint,  /* i64 */
	"rows_updated" bigint,  /* i64 */
	"rows_unchanged" bigint,  /* i64 */
	"requests" INT,  /* i32 */
	"seconds" double precision  /* f64 */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_calendar_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::sync::sync_date
CREATE  FUNCTION "sync_date"(
	"day" date DEFAULT 'infinity', /* Option < Date > */
	"force" bool DEFAULT false /* Option < bool > */
) RETURNS TABLE (
	"day" date,  /* Option < Date > */
	"status" TEXT,  /* String */
	"rows_inserted" bigint,  /* i64 */
	"rows_updated" bigint,  /* i64 */
	"rows_unchanged" bigint,  /* i64 */
	"requests" INT,  /* i32 */
	"seconds" double precision  /* f64 */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_date_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::sync::sync_index_constituents
CREATE  FUNCTION "sync_index_constituents"(
	"day" date DEFAULT NULL /* Option < Date > */
) RETURNS TABLE (
	"index_name" TEXT,  /* String */
	"status" TEXT,  /* String */
	"rows_inserted" bigint,  /* i64 */
	"rows_updated" bigint,  /* i64 */
	"rows_unchanged" bigint,  /* i64 */
	"requests" INT,  /* i32 */
	"seconds" double precision  /* f64 */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_index_constituents_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::sync::sync_industries
CREATE  FUNCTION "sync_industries"(
	"day" date DEFAULT NULL /* Option < Date > */
) RETURNS TABLE (
	"day" date,  /* Option < Date > */
	"status" TEXT,  /* String */
	"rows_inserted" bigint,  /* i64 */
	"rows_updated" bigint,  /* i64 */
	"rows_unchanged" bigint,  /* i64 */
	"requests" INT,  /* i32 */
	"seconds" double precision  /* f64 */
)
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_industries_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::sync::sync_macro
CREATE  FUNCTION "sync_macro"() RETURNS TABLE (
	"series" TEXT,  /* String */
	"status" TEXT,  /* String */
	"rows_inserted" bigint,  /* i64 */
	"rows_updated" bigint,  /* i64 */
	"rows_unchanged" bigint,  /* i64 */
	"requests" INT,  /* i32 */
	"seconds" double precision  /* f64 */
)
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_macro_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::sync::sync_securities
CREATE  FUNCTION "sync_securities"() RETURNS TABLE (
	"day" date,  /* Option < Date > */
	"status" TEXT,  /* String */
	"rows_inserted" bigint,  /* i64 */
	"rows_updated" bigint,  /* i64 */
	"rows_unchanged" bigint,  /* i64 */
	"requests" INT,  /* i32 */
	"seconds" double precision  /* f64 */
)
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_securities_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::sync_tracked
CREATE  FUNCTION "sync_tracked"(
	"day" date DEFAULT NULL /* Option < Date > */
) RETURNS bigint /* Option < i64 > */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'sync_tracked_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::jobs::wait
CREATE  FUNCTION "wait"(
	"job_id" bigint /* Option < i64 > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wait_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- pg_baostock::api::status::worker_status
CREATE  FUNCTION "worker_status"() RETURNS TABLE (
	"preloaded" bool,  /* bool */
	"worker_pid" INT,  /* Option < i32 > */
	"last_heartbeat" timestamp with time zone,  /* Option < pgrx :: datum :: TimestampWithTimeZone > */
	"server_sessions" bigint,  /* i64 */
	"budget_used_today" bigint,  /* Option < i64 > */
	"blacklisted_until" timestamp with time zone,  /* Option < pgrx :: datum :: TimestampWithTimeZone > */
	"clock_offset_ms" bigint  /* Option < i64 > */
)
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'worker_status_wrapper';
/* </end connected objects> */

/* <begin connected objects> */
-- finalize
-- pg_baostock: health, views, comments and privileges. Runs after the generated functions.

CREATE FUNCTION baostock.stale_after() RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Shown with a unit once the library is loaded ('15h'); a bare number is minutes.
    SELECT CASE WHEN v ~ '^\d+$' THEN make_interval(mins => v::integer) ELSE v::interval END
    FROM coalesce(nullif(current_setting('baostock.stale_after', true), ''), '900') AS v
$$;
COMMENT ON FUNCTION baostock.stale_after() IS 'baostock.stale_after as an interval (default 15 hours): how long after a trading day''s publication (18:00 China) it may stay unsynced before health is stale.';

-- The newest bar of a series (a code at a frequency): an index probe of one code's bars, a
-- query of its own so that Citus routes it to the one shard holding the code (a view's
-- correlated subquery over a distributed table joined to a local one, it cannot plan).
CREATE FUNCTION baostock.newest_bar(code text, frequency text) RETURNS timestamp
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    newest timestamp;
BEGIN
    CASE frequency
        WHEN 'd' THEN SELECT max(b.date) INTO newest FROM baostock.daily_bars b WHERE b.code = newest_bar.code;
        WHEN 'w' THEN SELECT max(b.date) INTO newest FROM baostock.weekly_bars b WHERE b.code = newest_bar.code;
        WHEN 'm' THEN SELECT max(b.date) INTO newest FROM baostock.monthly_bars b WHERE b.code = newest_bar.code;
        WHEN '5', '15', '30', '60' THEN
            SELECT max(b.time) INTO newest FROM baostock.minute_bars b
            WHERE b.code = newest_bar.code AND b.frequency = newest_bar.frequency::smallint;
        ELSE NULL;
    END CASE;
    RETURN newest;
END
$$;
COMMENT ON FUNCTION baostock.newest_bar(text, text) IS 'The date (the time for minute bars) of the newest stored bar of a code at a frequency (d, w, m, 5, 15, 30, 60); NULL when none is stored or the frequency is unknown. What the view baostock.tracked shows as newest.';

-- The bars of one code looked for on given days: a few queries on that code's bars alone, so
-- that Citus routes each to the one shard holding the code (the gaps view calls it per code).
CREATE FUNCTION baostock.missing_bars(code text, frequency text, days date[]) RETURNS SETOF date
LANGUAGE plpgsql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lo date := (SELECT min(d) FROM unnest(days) AS d);
    hi date := (SELECT max(d) FROM unnest(days) AS d);
    unit text := CASE frequency WHEN 'w' THEN 'week' WHEN 'm' THEN 'month' END;
    stored date[];
    suspended date[];
BEGIN
    IF frequency NOT IN ('d', 'w', 'm', '5', '15', '30', '60') THEN
        RAISE EXCEPTION 'pg_baostock: missing_bars: unknown frequency %', frequency
            USING ERRCODE = 'invalid_parameter_value', HINT = 'One of d, w, m, 5, 15, 30, 60.';
    END IF;
    IF lo IS NULL THEN
        RETURN;
    END IF;
    CASE frequency
        WHEN 'd' THEN
            SELECT array_agg(b.date) INTO stored FROM baostock.daily_bars b
            WHERE b.code = missing_bars.code AND b.date BETWEEN lo AND hi;
        WHEN 'w' THEN
            SELECT array_agg(b.period_start) INTO stored FROM baostock.weekly_bars b
            WHERE b.code = missing_bars.code AND b.period_start BETWEEN date_trunc('week', lo)::date AND hi;
        WHEN 'm' THEN
            SELECT array_agg(b.period_start) INTO stored FROM baostock.monthly_bars b
            WHERE b.code = missing_bars.code AND b.period_start BETWEEN date_trunc('month', lo)::date AND hi;
        ELSE
            SELECT array_agg(DISTINCT b.time::date) INTO stored FROM baostock.minute_bars b
            WHERE b.code = missing_bars.code AND b.frequency = missing_bars.frequency::smallint
              AND b.time > lo AND b.time < hi + 1;
            SELECT array_agg(b.date) INTO suspended FROM baostock.daily_bars b
            WHERE b.code = missing_bars.code AND b.date BETWEEN lo AND hi AND NOT b.trade_status;
    END CASE;
    IF unit IS NULL THEN
        RETURN QUERY
            SELECT d FROM unnest(days) AS d
            EXCEPT SELECT unnest(stored) EXCEPT SELECT unnest(suspended)
            ORDER BY 1;
    ELSE
        -- A week or month by the first of the days in it.
        RETURN QUERY
            SELECT f.first
            FROM (SELECT date_trunc(unit, d)::date AS period, min(d) AS first FROM unnest(days) AS d GROUP BY 1) f
            WHERE f.period NOT IN (SELECT p FROM unnest(stored) AS p WHERE p IS NOT NULL)
            ORDER BY 1;
    END IF;
END
$$;
COMMENT ON FUNCTION baostock.missing_bars(text, text, date[]) IS 'Of the trading days given, those on which a code has no bar stored at a frequency (d; w or m: the first of the days in each week or month without its bar; 5, 15, 30, 60: days without a minute bar that the daily bar does not show suspended), in order. What the view baostock.gaps lists, a code at a time (on Citus a few queries routed to the code''s shard).';

-- The server's clock and what it has published by it (PROTOCOL.md section 6), as the
-- extension's domain::publication decides it: the views compare stored series with it.
CREATE FUNCTION baostock.server_time() RETURNS timestamp
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (now() + make_interval(secs => coalesce(
               (SELECT clock_offset_ms FROM baostock.worker_status()),
               (SELECT clock_offset_ms FROM baostock.server_state), 0) / 1000.0))
           AT TIME ZONE 'Asia/Shanghai'
$$;
COMMENT ON FUNCTION baostock.server_time() IS 'The server''s China time now: ours plus the offset its last login reply showed (shared memory''s with the preload, else the one baostock.server_state keeps, else none).';

CREATE FUNCTION baostock.published_through(frequency text) RETURNS date
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t timestamp := baostock.server_time();
    hour time := CASE WHEN frequency = 'd' THEN time '17:30' WHEN frequency = 'factors' THEN time '18:00'
                      WHEN frequency IN ('5', '15', '30', '60') THEN time '20:00' END;
BEGIN
    IF frequency IS NULL THEN
        RAISE EXCEPTION 'frequency must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF hour IS NOT NULL THEN
        RETURN CASE WHEN t::time >= hour THEN t::date ELSE t::date - 1 END;
    ELSIF frequency = 'w' THEN
        -- The Sunday ending the last week whose Saturday 17:30 has passed.
        RETURN date_trunc('week', t)::date + 6
               - CASE WHEN t >= date_trunc('week', t) + interval '5 days 17:30' THEN 0 ELSE 7 END;
    ELSIF frequency = 'm' THEN
        -- The last day of the last month whose next 1st 17:30 has passed.
        RETURN (date_trunc('month', t)
                - CASE WHEN t >= date_trunc('month', t) + interval '17:30' THEN interval '0' ELSE interval '1 month' END)::date - 1;
    END IF;
    RAISE EXCEPTION 'unknown kind %', quote_literal(frequency) USING ERRCODE = 'invalid_parameter_value',
        HINT = 'Kinds are d, factors, 5, 15, 30, 60, w and m.';
END
$$;
COMMENT ON FUNCTION baostock.published_through(text) IS 'The last day whose data of a kind the server has published, by its clock (baostock.server_time()): d daily bars (17:30 China time), factors (18:00), 5/15/30/60 minute bars (20:00), w the Sunday ending the last week out (its Saturday 17:30), m the last day of the last month out (the next 1st 17:30). NULL is 22004, another kind 22023.';

CREATE FUNCTION baostock.latest_trading_day() RETURNS date
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(max(c.day), baostock.published_through('d'))
    FROM baostock.trade_calendar c
    WHERE c.is_trading_day AND c.day <= baostock.published_through('d')
$$;
COMMENT ON FUNCTION baostock.latest_trading_day() IS 'The latest trading day in the stored calendar whose daily bars the server has published (17:30 China time, by baostock.server_time()); the last published day when the calendar is empty. Default day of sync_date.';

-- The tracked series: each code tracked, or constituent of a tracked index in its newest
-- stored list, at each frequency, from its earliest start; how far it is stored and its lag
-- (trading days of its listing after that, up to the newest day sync_date reached, or the
-- last day the server has published of the frequency if earlier).
CREATE VIEW baostock.tracked AS
WITH target AS (
    SELECT coalesce((SELECT max(day) FROM baostock.synced_days), baostock.latest_trading_day()) AS day
), src AS (
    SELECT t.code, t.frequency, t.start_date, 'code'::text AS via
    FROM baostock.tracking t WHERE t.code IS NOT NULL
    UNION ALL
    SELECT c.code, t.frequency, t.start_date, t.index_name
    FROM baostock.tracking t
    CROSS JOIN target
    JOIN baostock.index_constituents c
      ON c.index_name = t.index_name
     AND c.update_date = (SELECT max(x.update_date) FROM baostock.index_constituents x
                          WHERE x.index_name = t.index_name AND x.update_date <= target.day)
), series AS (
    SELECT src.code, src.frequency, min(src.start_date) AS start_date, array_agg(DISTINCT src.via ORDER BY src.via) AS tracked_as
    FROM src GROUP BY src.code, src.frequency
)
SELECT s.code, s.frequency, s.tracked_as, s.start_date, n.newest, r.through AS synced_through,
       greatest(n.newest::date, r.through) AS current_through, tg.day AS target_day,
       (SELECT count(*)::integer FROM baostock.trade_calendar c
        WHERE c.is_trading_day AND c.day <= tg.day
          AND c.day >= s.start_date AND c.day > coalesce(greatest(n.newest::date, r.through), '-infinity')
          AND (sec.ipo_date IS NULL OR c.day >= sec.ipo_date) AND (sec.out_date IS NULL OR c.day < sec.out_date)) AS lag_trading_days
FROM series s
CROSS JOIN target
-- No further than the server has published of the series' frequency.
CROSS JOIN LATERAL (SELECT least(target.day, baostock.published_through(s.frequency)) AS day) tg
LEFT JOIN baostock.securities sec ON sec.code = s.code
CROSS JOIN LATERAL (SELECT baostock.newest_bar(s.code, s.frequency) AS newest) n
LEFT JOIN LATERAL (
    SELECT max(upper(x.span)) - 1 AS through FROM baostock.synced_ranges x
    WHERE x.code = s.code AND x.kind = s.frequency
) r ON true;
COMMENT ON VIEW baostock.tracked IS 'Every tracked series (a code tracked, or a constituent of a tracked index in its newest stored list up to target_day; per frequency): tracked_as (code and/or index names), the earliest start, the newest bar stored (its time for minute bars), the end of its synced ranges, current_through (the later of the two), target_day (the newest day sync_date reached, or the last day the server has published of the frequency if earlier: published_through) and lag_trading_days (trading days of its listing from its start up to target_day after current_through).';


CREATE FUNCTION baostock.track(
    codes text[] DEFAULT NULL,
    index_name text DEFAULT NULL,
    frequencies text[] DEFAULT ARRAY['5'],
    start_date date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
    -- The default start: the first day of last month (one to two months of bars).
    start date := coalesce($4, (date_trunc('month', today) - interval '1 month')::date);
    bad text;
    added integer;
BEGIN
    IF $1 IS NULL AND $2 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: codes or index_name must be given'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'SELECT baostock.track(ARRAY[''sh.600000'']) or baostock.track(index_name => ''hs300'').';
    END IF;
    IF $1 IS NOT NULL AND $2 IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: give codes or index_name, not both' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF $1 IS NOT NULL AND cardinality($1) = 0 THEN
        RAISE EXCEPTION 'pg_baostock: track: codes is an empty array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF array_position($1, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: an element of codes is NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF $2 IS NOT NULL AND $2 NOT IN ('hs300', 'sz50', 'zz500') THEN
        RAISE EXCEPTION 'pg_baostock: track: unknown index %', quote_literal($2)
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Indices are hs300 (CSI 300), sz50 (SSE 50) and zz500 (CSI 500).';
    END IF;
    IF $3 IS NULL OR array_position($3, NULL) IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: frequencies and its elements must not be NULL' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF cardinality($3) = 0 THEN
        RAISE EXCEPTION 'pg_baostock: track: frequencies is an empty array' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(quote_literal(f), ', ') INTO bad FROM unnest($3) f
    WHERE f NOT IN ('d', 'w', 'm', '5', '15', '30', '60');
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: unknown frequencies: %', bad
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Frequencies are d, w, m, 5, 15, 30 and 60.';
    END IF;
    IF start < date '1990-12-19' OR start > today THEN
        RAISE EXCEPTION 'pg_baostock: track: start_date % is before 1990-12-19 or in the future', start
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    SELECT string_agg(c, ', ' ORDER BY c) INTO bad FROM unnest($1) c
    WHERE NOT EXISTS (SELECT 1 FROM baostock.securities s WHERE s.code = c);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: unknown codes: %', bad
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Codes come from baostock.securities (SELECT baostock.sync_securities() refreshes it).';
    END IF;
    SELECT string_agg(DISTINCT s.code, ', ') INTO bad FROM baostock.securities s
    WHERE s.code = ANY ($1) AND s.sec_type = 2 AND EXISTS (SELECT 1 FROM unnest($3) f WHERE f IN ('5', '15', '30', '60'));
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'pg_baostock: track: the server has no minute bars of indices: %', bad
            USING ERRCODE = 'invalid_parameter_value', HINT = 'Track their daily, weekly or monthly bars instead.';
    END IF;
    INSERT INTO baostock.tracking (code, index_name, frequency, start_date)
    SELECT c, $2, f, start
    FROM unnest(coalesce($1, ARRAY[NULL::text])) c CROSS JOIN (SELECT DISTINCT f FROM unnest($3) f) fs
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 THEN
        RAISE NOTICE 'pg_baostock: % tracked series added from %; the next sync_date() extends them (SELECT baostock.sync_tracked() starts now)',
            added, to_char(start, 'YYYY-MM-DD');
    END IF;
    RETURN added;
END
$$;
COMMENT ON FUNCTION baostock.track(text[], text, text[], date) IS 'Keeps codes, or an index''s constituents (hs300, sz50, zz500: following its changes), current at the frequencies given (default 5-minute bars) from start_date (default: the first day of last month): after every sync_date() a job of kind track extends each series to the day synced. Returns the number of (code or index, frequency) entries added; tracking one again is a no-op. Unknown codes, an unknown index, empty arrays and minute bars of indices are errors (22023; NULLs 22004).';

CREATE FUNCTION baostock.untrack(
    codes text[] DEFAULT NULL,
    index_name text DEFAULT NULL,
    frequencies text[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    removed integer;
BEGIN
    IF $1 IS NULL AND $2 IS NULL THEN
        RAISE EXCEPTION 'pg_baostock: untrack: codes or index_name must be given' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    DELETE FROM baostock.tracking t
    WHERE (t.code = ANY ($1) OR t.index_name = $2) AND ($3 IS NULL OR t.frequency = ANY ($3));
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION baostock.untrack(text[], text, text[]) IS 'Stops tracking codes or an index at the frequencies given (default: all); returns the entries removed. The bars stored stay.';

CREATE FUNCTION baostock.sync_health(
    OUT status text,
    OUT last_synced_day date,
    OUT due_day date,
    OUT lag_trading_days integer,
    OUT holes integer,
    OUT success_rate double precision,
    OUT mean_duration_s double precision,
    OUT recent_runs integer,
    OUT consecutive_failures integer,
    OUT last_error text,
    OUT last_error_at timestamptz,
    OUT worker_pid integer,
    OUT worker_heartbeat timestamptz,
    OUT jobs_queued integer,
    OUT jobs_running integer,
    OUT jobs_paused integer,
    OUT failed_units integer,
    OUT budget_used_today bigint,
    OUT daily_budget bigint,
    OUT blacklisted_until timestamptz,
    OUT open_alerts integer,
    OUT newest_alert text,
    OUT tracked_lagging integer,
    OUT awaiting text[],
    OUT reports_awaited integer,
    OUT reports_through date)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
WITH today AS (
    SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS d
), last AS (
    SELECT max(day) AS day FROM baostock.synced_days
), due AS (
    -- The newest trading day whose publication (18:00 China) is more than stale_after ago.
    SELECT max(day) AS day FROM baostock.trade_calendar
    WHERE is_trading_day AND ((day + time '18:00') AT TIME ZONE 'Asia/Shanghai') + baostock.stale_after() <= now()
), lag AS (
    SELECT count(*)::integer AS n
    FROM baostock.trade_calendar c, last, today
    WHERE c.is_trading_day AND c.day <= today.d AND (last.day IS NULL OR c.day > last.day)
), holes AS (
    SELECT count(*)::integer AS n
    FROM baostock.trade_calendar c
    WHERE c.is_trading_day
      AND c.day > (SELECT min(day) FROM baostock.synced_days) AND c.day < (SELECT max(day) FROM baostock.synced_days)
      AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)
), recent AS (
    SELECT status, finished_at - started_at AS took, row_number() OVER (ORDER BY run_id DESC) AS rn
    FROM (SELECT * FROM baostock.sync_runs WHERE kind = 'sync_date' ORDER BY run_id DESC LIMIT 20) r
), stats AS (
    SELECT count(*)::integer AS n,
           avg((status <> 'failed')::integer)::double precision AS rate,
           avg(extract(epoch FROM took))::double precision AS mean,
           coalesce(min(rn) FILTER (WHERE status <> 'failed') - 1, count(*))::integer AS streak
    FROM recent
), err AS (
    SELECT error_message, finished_at FROM baostock.sync_runs
    WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1
), w AS (
    SELECT * FROM baostock.worker_status()
), j AS (
    SELECT count(*) FILTER (WHERE state = 'queued')::integer AS queued,
           count(*) FILTER (WHERE state = 'running')::integer AS running,
           count(*) FILTER (WHERE state = 'paused')::integer AS paused
    FROM baostock.sync_jobs
), fu AS (
    SELECT count(*)::integer AS n FROM baostock.sync_units u JOIN baostock.sync_jobs sj USING (job_id)
    WHERE u.state = 'failed' AND sj.state <> 'cancelled'
), srv AS (
    -- The cluster's live state when the library is preloaded (every database sees the same),
    -- else what the worker's last save left.
    SELECT CASE WHEN w.preloaded THEN coalesce(w.budget_used_today, 0)
                WHEN s.budget_day = ((now() + make_interval(secs => s.clock_offset_ms / 1000.0)) AT TIME ZONE 'Asia/Shanghai')::date
                THEN s.budget_used ELSE 0 END AS used,
           CASE WHEN w.preloaded THEN w.blacklisted_until
                WHEN s.blacklisted_until > now() THEN s.blacklisted_until END AS until
    FROM w, (VALUES (true)) one (id) LEFT JOIN baostock.server_state s USING (id)
), tl AS (
    -- Tracked series not stored through the due day (sync_date's stale rule, per series).
    SELECT count(*)::integer AS n FROM baostock.tracked t, due
    WHERE t.lag_trading_days > 0 AND coalesce(t.current_through, '-infinity') < due.day
), al AS (
    SELECT count(*)::integer AS n,
           (array_agg(format('%s (%s): %s', kind, severity, message) ORDER BY alert_id DESC))[1] AS newest
    FROM baostock.alerts WHERE cleared_at IS NULL
), aw AS (
    -- The kinds of the newest trading day (by the server's clock) it has not published yet.
    SELECT coalesce(array_agg(k.kind ORDER BY k.n) FILTER (WHERE baostock.published_through(k.frequency) < c.day), '{}') AS kinds
    FROM (SELECT max(day) AS day FROM baostock.trade_calendar
          WHERE is_trading_day AND day <= baostock.server_time()::date) c,
         (VALUES (1, 'daily', 'd'), (2, 'factors', 'factors'), (3, 'minute', '5')) k (n, kind, frequency)
), rp AS (
    -- The fundamentals: answers not final yet (asked before their disclosure deadline: the
    -- evening pickup asks them again), and the newest period with a final answer.
    SELECT (count(*) FILTER (WHERE NOT final))::integer AS awaited, max(period) FILTER (WHERE final) AS through
    FROM baostock.report_checks
)
SELECT CASE
           WHEN stats.streak >= 3 THEN 'failing'
           WHEN srv.until IS NOT NULL THEN 'blacklisted'
           WHEN last.day IS NULL OR lag.n > 1 OR holes.n > 0 OR due.day > last.day OR tl.n > 0 THEN 'stale'
           WHEN stats.streak > 0 OR stats.rate < 0.9 OR al.n > 0 THEN 'degraded'
           ELSE 'healthy'
       END,
       last.day, due.day, lag.n, holes.n, stats.rate, stats.mean, stats.n, stats.streak,
       err.error_message, err.finished_at,
       w.worker_pid, w.last_heartbeat, j.queued, j.running, j.paused, fu.n,
       coalesce(srv.used, 0), nullif(current_setting('baostock.daily_request_budget', true), '')::bigint,
       srv.until, al.n, al.newest, tl.n, aw.kinds, rp.awaited, rp.through
FROM today, last, due, lag, holes, stats, w, j, fu, al, tl, aw, rp LEFT JOIN srv ON true LEFT JOIN err ON true
$$;
COMMENT ON FUNCTION baostock.sync_health() IS 'One row on the state of the sync: status failing (the last 3 sync_date runs failed), blacklisted (the server blacklisted us; nothing is sent until blacklisted_until), stale (nothing synced, more than one trading day behind the calendar, holes between the oldest and newest synced day, due_day, the newest trading day published more than baostock.stale_after ago, not synced, or a tracked series not stored through due_day: tracked_lagging), degraded (the last run failed, under 90% of the last 20 succeeded, or an alert is open) or healthy; with the last synced day, the lag in trading days, the holes, success rate, mean duration, the last error, the worker (pid and heartbeat, NULL when none runs), jobs queued / running / paused, failed units of jobs not cancelled (baostock.retry() queues them), requests sent today against the budget, the blacklist and the open alerts; awaiting: the kinds of the newest trading day (by the server''s clock) the server has not published yet (daily 17:30, factors 18:00, minute 20:00 China time; empty when all are out); reports_awaited: reports asked before their disclosure deadline and not out yet (the evening''s tracking job asks them again), reports_through: the newest period with a final answer (how far the fundamentals reach).';

CREATE VIEW baostock.health AS SELECT * FROM baostock.sync_health();
COMMENT ON VIEW baostock.health IS 'sync_health() as a view, for dashboards and alert queries.';

CREATE VIEW baostock.runs AS
SELECT run_id, kind, params, day, started_at, finished_at, finished_at - started_at AS duration, status,
       requests, bytes, rows_inserted, rows_updated, rows_unchanged, error_sqlstate, error_message
FROM baostock.sync_runs
ORDER BY run_id DESC;
COMMENT ON VIEW baostock.runs IS 'Run history with metrics, newest first.';

CREATE VIEW baostock.coverage AS
SELECT code, 'd'::text AS frequency, min(date) AS first_day, max(date) AS last_day, count(*) AS bars
FROM baostock.daily_bars GROUP BY code
UNION ALL
SELECT code, 'w', min(date), max(date), count(*) FROM baostock.weekly_bars GROUP BY code
UNION ALL
SELECT code, 'm', min(date), max(date), count(*) FROM baostock.monthly_bars GROUP BY code
UNION ALL
SELECT code, frequency::text, min(date), max(date), count(*) FROM baostock.minute_bars GROUP BY code, frequency;
COMMENT ON VIEW baostock.coverage IS 'Per code and frequency (d, w, m, 5, 15, 30, 60): first and last stored day and number of bars.';

CREATE VIEW baostock.gaps AS
SELECT NULL::text AS code, 'd'::text AS frequency, c.day, 'day not synced'::text AS missing
FROM baostock.trade_calendar c
WHERE c.is_trading_day
  AND c.day > (SELECT min(day) FROM baostock.synced_days) AND c.day < (SELECT max(day) FROM baostock.synced_days)
  AND NOT EXISTS (SELECT 1 FROM baostock.synced_days s WHERE s.day = c.day)
UNION ALL
-- Listed stocks and ETFs without a bar on a synced day: the bars looked up a code at a time
-- (missing_bars, which Citus routes to the code's shard).
SELECT s.code, 'd', m.day, 'bar'
FROM baostock.securities s
CROSS JOIN LATERAL baostock.missing_bars(s.code, 'd', ARRAY(
    SELECT d.day FROM baostock.synced_days d
    WHERE d.day >= s.ipo_date AND (s.out_date IS NULL OR d.day < s.out_date))) AS m(day)
WHERE s.sec_type IN (1, 5)
UNION ALL
-- Per-code ranges (of each frequency, overlapping ones merged): a trading day of the code's
-- listing in them without its bar (a day the daily bars show suspended has no minute bars),
-- or a week or month with trading days but no bar (by its first trading day).
SELECT r.code, r.kind, m.day,
       CASE r.kind WHEN 'd' THEN 'bar' WHEN 'w' THEN 'weekly bar' WHEN 'm' THEN 'monthly bar' ELSE 'minute bars' END
FROM (SELECT x.code, x.kind, range_agg(x.span) AS spans
      FROM baostock.synced_ranges x WHERE x.kind <> 'factors' GROUP BY x.code, x.kind) r
JOIN baostock.securities s ON s.code = r.code
CROSS JOIN LATERAL baostock.missing_bars(r.code, r.kind, ARRAY(
    SELECT c.day FROM baostock.trade_calendar c
    WHERE c.is_trading_day AND c.day >= lower(r.spans) AND c.day < upper(r.spans) AND r.spans @> c.day
      AND (s.ipo_date IS NULL OR c.day >= s.ipo_date) AND (s.out_date IS NULL OR c.day < s.out_date))) AS m(day)
UNION ALL
-- Tracked series: the trading days of their listing after what is stored, up to the newest
-- synced day (the next tracking job fetches them).
SELECT t.code, t.frequency, c.day, 'tracked, not extended yet'
FROM baostock.tracked t
LEFT JOIN baostock.securities sec ON sec.code = t.code
JOIN baostock.trade_calendar c
  ON c.is_trading_day AND c.day <= t.target_day AND c.day >= t.start_date
 AND c.day > coalesce(t.current_through, '-infinity')
 AND (sec.ipo_date IS NULL OR c.day >= sec.ipo_date) AND (sec.out_date IS NULL OR c.day < sec.out_date)
WHERE t.lag_trading_days > 0;
COMMENT ON VIEW baostock.gaps IS 'What is missing: trading days between the oldest and the newest synced day that are not synced (code NULL, missing = ''day not synced''); listed stocks or ETFs without a bar on a synced day (missing = ''bar''); for each frequency a code was backfilled at, the trading days of its listing in its synced ranges without that bar (a week or month by its first trading day; a day suspended has no minute bars); and the trading days a tracked series is not stored through yet, up to the newest synced day (missing = ''tracked, not extended yet'').';

CREATE VIEW baostock.jobs AS
SELECT j.job_id, j.kind, j.state, j.start_date, j.end_date, j.codes, j.frequency,
       coalesce(u.total, 0) AS units_total, coalesce(u.done, 0) AS units_done, coalesce(u.failed, 0) AS units_failed,
       j.rows_written, j.requests, j.bytes, j.created_at, j.started_at, j.finished_at,
       r.rate,
       CASE WHEN j.state IN ('queued', 'running') AND r.rate > 0
            THEN make_interval(secs => (coalesce(u.total, 0) - coalesce(u.done, 0) - coalesce(u.failed, 0)) / r.rate)
       END AS eta,
       j.est_requests, j.est_seconds, j.plan, j.error_message, j.paused_until, j.pause_reason, j.passes
FROM baostock.sync_jobs j
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE state NOT IN ('empty', 'replanned', 'cancelled')) AS total,
           count(*) FILTER (WHERE state = 'done') AS done,
           count(*) FILTER (WHERE state = 'failed') AS failed
    FROM baostock.sync_units WHERE job_id = j.job_id
) u ON true
LEFT JOIN LATERAL (
    SELECT (coalesce(u.done, 0) + coalesce(u.failed, 0))
           / nullif(extract(epoch FROM coalesce(j.finished_at, clock_timestamp()) - j.started_at), 0)::double precision AS rate
) r ON true
ORDER BY j.job_id DESC;
COMMENT ON VIEW baostock.jobs IS 'Jobs, newest first: kind (backfill, or track: the tracked series extended after a sync_date), state, units total / done / failed (days replanned per code count by their per-code units; failed: after the second pass), rows written, requests, bytes, times, rate in units per second, the ETA, and while paused why and until when.';

COMMENT ON FUNCTION baostock.sync_date(date, boolean) IS 'Syncs one trading day, or without a day every trading day after the newest synced one up to the latest (at most baostock.catchup_days), oldest first, each with its own run: every A-share''s and ETF''s daily bar and the day''s adjust factors. One row per day looked at. Skips non-trading days and days already synced unless force; not_available: the server has not published the day; incomplete: stocks or ETFs missing; neither is marked synced.';
COMMENT ON FUNCTION baostock.backfill(date, date, text[], text, boolean, boolean) IS 'Queues a backfill job for the background worker and returns its id at once: one unit per trading day not yet synced (all codes, frequency d), or per-code range units (codes given, or frequency w, m, 5, 15, 30, 60); with factors (the default), a factor history unit (the whole history, one request) for every code whose stored history does not reach end_date. Follow it with baostock.wait(job_id) or the baostock.jobs view.';
COMMENT ON FUNCTION baostock.plan(date, date, text[], text, boolean, boolean) IS 'What backfill() with the same arguments would do: units per kind, their days, estimated requests and seconds (no budget assumed), and the China days the requests take under baostock.daily_request_budget (NULL without a budget); queues nothing.';
COMMENT ON FUNCTION baostock.worker_status() IS 'Whether the library is preloaded, the background worker''s pid and last heartbeat (NULL when none runs), the server sessions the cluster holds now (capped by baostock.max_sessions), and from the shared memory every database sees: the requests the cluster sent this China day (by the server''s clock) and the end of a blacklist in force (NULL when none, or without the preload); clock_offset_ms, the server''s clock minus ours from its last login reply (NULL without the preload).';
COMMENT ON FUNCTION baostock.wait(bigint) IS 'Blocks until the job ends, with a progress NOTICE every 2 seconds; returns done, failed or cancelled. Cancelling the wait does not cancel the job.';
COMMENT ON FUNCTION baostock.cancel(bigint) IS 'Cancels a queued or running job; the worker stops between units within a second. Returns the job''s state.';
COMMENT ON FUNCTION baostock.sync_calendar(date, date) IS 'Syncs the trade calendar between two days (default: 1990-12-19 to today).';
COMMENT ON FUNCTION baostock.sync_index_constituents(date) IS 'Syncs the constituents of the CSI 300 (hs300), SSE 50 (sz50) and CSI 500 (zz500) on a day (default NULL: the latest lists) into baostock.index_constituents; a list replaces the stored list of its date. One row per index. sync_date refreshes them when the newest stored list is older than this week''s Monday.';
COMMENT ON FUNCTION baostock.sync_industries(date) IS 'Syncs every stock''s industry on a day (default NULL: the latest classification) into baostock.stock_industries. sync_date refreshes it when the newest is older than this week''s Monday.';
COMMENT ON FUNCTION baostock.sync_macro() IS 'Syncs the macro series whole: benchmark deposit and loan rates, required reserve ratios, money supply by month and by year (five requests) into baostock.report_deposit_rate, report_loan_rate, report_reserve_ratio, report_money_supply_month and report_money_supply_year. One row per series.';
COMMENT ON FUNCTION baostock.backfill_fundamentals(integer, integer, text[], text[], boolean) IS 'Queues a job (kind fundamentals) that fetches the reports of codes (NULL: every stock) for the years start_year..end_year (NULL: this year): kinds profit, operation, growth, balance, cash_flow, dupont (a request a code and quarter), express, forecast, dividend (a request a code and year); NULL: all nine. Only periods a code could have reported are asked (listed by the period''s end, not delisted before it began, the quarter over), and none whose answer is final in baostock.report_checks (force => true asks those again: a restatement comes as the same period with a later pub_date, and both revisions are kept). The worker runs it like a backfill: within the daily request budget (it pauses and resumes the next China day), across restarts; a NOTICE says how many China days the budget makes it take. Returns the job id; baostock.wait(id) follows it. Bad arguments are 22023 (22004 for NULL start_year).';
COMMENT ON FUNCTION baostock.plan_fundamentals(integer, integer, text[], text[], boolean) IS 'What backfill_fundamentals() with the same arguments would ask, without queueing: a row per report kind (units, first and last day of its periods, requests, seconds, China days under the daily request budget), then the total with the logins.';
COMMENT ON FUNCTION baostock.backfill_membership(text, date) IS 'Queues a job (kind membership) that stores the lists of an index (hs300, sz50, zz500; NULL: all three) from start_date (NULL: the index''s first list) to this week: the list of the first Monday of every month not stored yet, then, where two stored lists more than a week apart differ, the list halfway between until every change lies between two lists a week apart. baostock.index_members(index, day), baostock.index_membership and baostock.universe read them. Returns the job id; an unknown index or a start_date in the future or before the first trading day is 22023.';
COMMENT ON FUNCTION baostock.sync_securities() IS 'Syncs the list of securities with names, types, listing and delisting dates.';

CREATE FUNCTION baostock.alert_json(a baostock.alerts) RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT json_build_object('alert_id', a.alert_id, 'raised_at', a.raised_at, 'severity', a.severity,
                             'kind', a.kind, 'key', a.key, 'message', a.message, 'job_id', a.job_id,
                             'run_id', a.run_id, 'database', current_database(),
                             'text', format('[pg_baostock %s] %s: %s', a.severity, a.kind, a.message))::text
$$;
COMMENT ON FUNCTION baostock.alert_json(baostock.alerts) IS 'An alert as the JSON of its NOTIFY payload and webhook body (text holds a one-line summary, for chat robots).';

CREATE FUNCTION baostock.evaluate_alerts() RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET jit = off
AS $$
DECLARE
    raised integer;
    h record;
BEGIN
    SELECT * INTO h FROM baostock.sync_health();
    -- One statement over the conditions of now (no temporary table: a caller could have made
    -- one of that name beforehand, with a trigger that would run as this function's owner).
    WITH conditions (severity, kind, key, message, job_id, run_id) AS (
    SELECT 'warning', 'job_failures', j.job_id::text,
           CASE WHEN j.state = 'failed' THEN format('backfill job %s failed: %s', j.job_id, j.error_message)
                ELSE format('backfill job %s ended with %s failed units (SELECT baostock.retry(%s) queues them again)',
                            j.job_id, j.units_failed, j.job_id) END,
           j.job_id, NULL::bigint
    FROM baostock.jobs j
    WHERE j.state = 'failed' OR (j.state = 'done' AND j.units_failed > 0)
    UNION ALL
    SELECT 'critical', 'sync_failing', '',
           format('the last %s sync_date runs failed; the last error: %s', h.consecutive_failures, h.last_error),
           NULL, (SELECT max(run_id) FROM baostock.sync_runs WHERE kind = 'sync_date')
    WHERE h.consecutive_failures >= 3
    UNION ALL
    SELECT 'warning', 'stale', '',
           format('trading day %s is not synced %s after its publication; the newest synced day is %s',
                  h.due_day, baostock.stale_after(), coalesce(h.last_synced_day::text, 'none')),
           NULL, NULL
    WHERE h.due_day > coalesce(h.last_synced_day, '-infinity')
    UNION ALL
    SELECT 'warning', 'stale', 'tracked',
           format('%s tracked series are not stored through trading day %s, %s after its publication (baostock.tracked shows which)',
                  h.tracked_lagging, h.due_day, baostock.stale_after()),
           NULL, NULL
    WHERE h.tracked_lagging > 0
    UNION ALL
    SELECT 'critical', 'blacklisted', '',
           format('the server blacklisted this address at %s; nothing is sent until %s (SELECT baostock.resume() lifts it early)',
                  coalesce(s.blacklisted_at::text, '?'), s.blacklisted_until),
           NULL, NULL
    FROM baostock.server_state s WHERE s.blacklisted_until > now()
    UNION ALL
    SELECT 'warning', 'budget_spent', '',
           format('the daily request budget is spent (%s requests today); %s paused job(s) resume at the next China day',
                  s.budget_used, (SELECT count(*) FROM baostock.sync_jobs WHERE state = 'paused' AND pause_reason = 'budget')),
           NULL, NULL
    FROM baostock.server_state s
    WHERE EXISTS (SELECT 1 FROM baostock.sync_jobs WHERE state = 'paused' AND pause_reason = 'budget')
    UNION ALL
    SELECT 'critical', 'worker_crash_loop', '',
           format('the background worker started %s times in the last 10 minutes; see the server log', n),
           NULL, NULL
    FROM (SELECT count(*) AS n FROM baostock.worker_starts WHERE started_at > now() - interval '10 minutes') w
    WHERE n >= 5
    ), cleared AS (
        UPDATE baostock.alerts a SET cleared_at = now()
        WHERE a.cleared_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM conditions c WHERE c.kind = a.kind AND c.key = a.key)
    ), new AS (
        INSERT INTO baostock.alerts (severity, kind, key, message, job_id, run_id)
        SELECT severity, kind, key, message, job_id, run_id FROM conditions
        ON CONFLICT (kind, key) WHERE cleared_at IS NULL DO NOTHING
        RETURNING *
    )
    SELECT count(pg_notify('baostock_alerts', baostock.alert_json(new::baostock.alerts))) INTO raised FROM new;
    RETURN raised;
END
$$;
COMMENT ON FUNCTION baostock.evaluate_alerts() IS 'Raises an alert for each condition that holds and has no open alert (a NOTIFY on channel baostock_alerts with its JSON), and clears the open alerts whose condition no longer holds; returns the number raised. The worker calls it every 2 seconds.';

CREATE FUNCTION baostock.schedule_daily(
    times text[] DEFAULT ARRAY['18:30', '19:30', '21:00', '23:00', '08:00'])
RETURNS TABLE (jobname text, china_time text, schedule text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    zone text;
    shift_min integer;
    local_min integer;
    day_shift integer;
    dows integer[];
BEGIN
    IF times IS NULL THEN
        RAISE EXCEPTION 'times must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF cardinality(times) = 0 THEN
        RAISE EXCEPTION 'times is an empty array' USING ERRCODE = '22023',
            HINT = 'Give China times like ARRAY[''18:30'', ''08:00''], or call baostock.unschedule_daily().';
    END IF;
    FOREACH t IN ARRAY times LOOP
        IF t IS NULL OR t !~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' THEN
            RAISE EXCEPTION 'time % is not HH:MM (China time, 00:00 to 23:59)', coalesce(quote_literal(t), 'NULL')
                USING ERRCODE = '22023';
        END IF;
    END LOOP;
    IF (SELECT count(DISTINCT x) FROM unnest(times) x) <> cardinality(times) THEN
        RAISE EXCEPTION 'times has duplicates' USING ERRCODE = '22023';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000',
            HINT = 'Add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, and CREATE EXTENSION pg_cron.';
    END IF;
    -- pg_cron 1.5+ runs schedules in cron.timezone; 1.4 (Debian 12) always in GMT.
    zone := coalesce(nullif(current_setting('cron.timezone', true), ''), 'GMT');
    shift_min := (extract(epoch FROM (now() AT TIME ZONE 'Asia/Shanghai') - (now() AT TIME ZONE zone)) / 60)::integer;
    PERFORM baostock.unschedule_daily();
    FOREACH t IN ARRAY times LOOP
        local_min := split_part(t, ':', 1)::integer * 60 + split_part(t, ':', 2)::integer - shift_min;
        day_shift := floor(local_min / 1440.0)::integer;
        local_min := local_min - day_shift * 1440;
        -- Evening times follow the trading days (Monday to Friday, China); a morning time
        -- (before 12:00) retries the previous evening's day (Tuesday to Saturday).
        SELECT array_agg(((d + day_shift) % 7 + 7) % 7 ORDER BY ((d + day_shift) % 7 + 7) % 7)
        INTO dows
        FROM generate_series(CASE WHEN t < '12:00' THEN 2 ELSE 1 END, CASE WHEN t < '12:00' THEN 6 ELSE 5 END) d;
        jobname := 'baostock-daily-' || replace(t, ':', '');
        china_time := t;
        schedule := format('%s %s * * %s', local_min % 60, local_min / 60, array_to_string(dows, ','));
        PERFORM cron.schedule_in_database(jobname, schedule, 'SELECT baostock.sync_date()', current_database());
        RETURN NEXT;
    END LOOP;
    -- Weekly bars come out on Saturdays and monthly bars on the 1st (17:30 China time): the
    -- first evening time runs then too, and its sync_date() extends the tracked series.
    SELECT min(x) INTO t FROM unnest(times) x WHERE x >= '17:30';
    IF t IS NULL THEN
        RETURN;
    END IF;
    local_min := split_part(t, ':', 1)::integer * 60 + split_part(t, ':', 2)::integer - shift_min;
    day_shift := floor(local_min / 1440.0)::integer;
    local_min := local_min - day_shift * 1440;
    jobname := 'baostock-weekly-' || replace(t, ':', '');
    china_time := t;
    schedule := format('%s %s * * %s', local_min % 60, local_min / 60, ((6 + day_shift) % 7 + 7) % 7);
    PERFORM cron.schedule_in_database(jobname, schedule, 'SELECT baostock.sync_date()', current_database());
    RETURN NEXT;
    IF day_shift >= 0 THEN
        jobname := 'baostock-monthly-' || replace(t, ':', '');
        schedule := format('%s %s %s * *', local_min % 60, local_min / 60, 1 + day_shift);
        PERFORM cron.schedule_in_database(jobname, schedule, 'SELECT baostock.sync_date()', current_database());
        RETURN NEXT;
    ELSE
        RAISE NOTICE 'pg_baostock: % China time on the 1st is the day before in pg_cron''s time zone %, which cron cannot say: no monthly job; the next trading evening''s sync_date() extends the monthly series', t, zone;
    END IF;
END
$$;
COMMENT ON FUNCTION baostock.schedule_daily(text[]) IS 'Creates (or replaces) one pg_cron job per China time, named baostock-daily-HHMM, that calls baostock.sync_date() in this database: evening times on trading weekdays (Monday to Friday, China), morning times (before 12:00) Tuesday to Saturday as a retry of the evening before; the first time from 17:30 on also on Saturdays (baostock-weekly-HHMM, weekly bars) and on the 1st of each month (baostock-monthly-HHMM, monthly bars), when the tracked series of those frequencies are extended; converted to pg_cron''s time zone (GMT for pg_cron 1.4, cron.timezone where it exists). Returns the jobs and their cron lines. Needs pg_cron in this database.';

CREATE FUNCTION baostock.unschedule_daily() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pg_cron') THEN
        RAISE EXCEPTION 'pg_cron is not installed in this database' USING ERRCODE = '55000';
    END IF;
    FOR id IN SELECT jobid FROM cron.job
              WHERE cron.job.jobname LIKE 'baostock-daily-%' OR cron.job.jobname LIKE 'baostock-weekly-%'
                 OR cron.job.jobname LIKE 'baostock-monthly-%' LOOP
        PERFORM cron.unschedule(id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION baostock.unschedule_daily() IS 'Removes the pg_cron jobs schedule_daily() created (named baostock-daily-*, baostock-weekly-*, baostock-monthly-*); returns how many.';

-- Citus: where a table of ours lives, read from Citus' catalog when Citus is installed.
CREATE FUNCTION baostock.distribution_of(rel regclass) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    how text;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT CASE partmethod WHEN ''h'' THEN ''distributed'' WHEN ''n'' THEN ''reference'' ELSE partmethod::text END
             FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1'
        INTO how USING rel;
    RETURN how;
END
$$;
COMMENT ON FUNCTION baostock.distribution_of(regclass) IS 'How Citus holds a table: distributed (hash, on code), reference (a copy on every node), another Citus method''s letter, or NULL (a local table, or no Citus). The store asks it once a batch: it never writes a distributed table the single-node way.';

-- Months of minute bars as columnar (Citus columnar, zstd) once closed and old, and back to
-- heap for a write: columnar takes no UPDATE or DELETE, and the store rewrites changed rows.
CREATE FUNCTION baostock.relation_bytes(rel regclass, with_indexes boolean DEFAULT true) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    bytes bigint;
BEGIN
    IF baostock.distribution_of(rel) IS NULL THEN
        RETURN CASE WHEN with_indexes THEN pg_total_relation_size(rel) ELSE pg_table_size(rel) END;
    END IF;
    EXECUTE CASE WHEN with_indexes THEN 'SELECT pg_catalog.citus_total_relation_size($1)'
                 ELSE 'SELECT pg_catalog.citus_table_size($1)' END
        INTO bytes USING rel;
    RETURN bytes;
END
$$;
COMMENT ON FUNCTION baostock.relation_bytes(regclass, boolean) IS 'Bytes a table takes, with its indexes or without: on this node, or on a Citus cluster all its shards together.';

CREATE FUNCTION baostock.set_minute_month_storage(part regclass, method text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF method NOT IN ('heap', 'columnar') THEN
        RAISE EXCEPTION 'pg_baostock: a month of minute bars is stored heap or columnar, not %', quote_literal(method)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = part AND inhparent = 'baostock.minute_bars'::regclass) THEN
        RAISE EXCEPTION 'pg_baostock: % is not a month of baostock.minute_bars', part USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = part) = method THEN
        RETURN false;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_am WHERE amname = 'columnar') THEN
        RAISE EXCEPTION 'pg_baostock: columnar storage needs Citus columnar in this database'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'CREATE EXTENSION citus_columnar (or citus), or RESET baostock.columnar_after.';
    END IF;
    IF baostock.distribution_of(part) IS NOT NULL THEN
        -- A partition of a distributed table: Citus converts each shard.
        EXECUTE 'SELECT pg_catalog.alter_table_set_access_method($1, $2)' USING part, method;
    ELSE
        EXECUTE format('ALTER TABLE %s SET ACCESS METHOD %I', part, method);
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION baostock.set_minute_month_storage(regclass, text) IS 'Stores a month of baostock.minute_bars (a partition) heap or columnar, rewriting it (on Citus with alter_table_set_access_method); false when it is stored so already. Columnar needs Citus columnar (55000 without). The caller holds the month''s row of baostock.sync_locks.';

CREATE FUNCTION baostock.compress_minute_months(older_than interval DEFAULT NULL)
RETURNS TABLE (month_table regclass, month date)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    age interval := coalesce(older_than, nullif(btrim(current_setting('baostock.columnar_after', true)), '')::interval);
    china timestamp := now() AT TIME ZONE 'Asia/Shanghai';
    p record;
BEGIN
    IF age IS NULL THEN
        RETURN;
    END IF;
    FOR p IN
        SELECT c.oid::regclass AS rel, to_date(substr(c.relname, 13), 'YYYYMM') AS first
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
        WHERE i.inhparent = 'baostock.minute_bars'::regclass AND c.relname ~ '^minute_bars_[0-9]{6}$' AND a.amname = 'heap'
          AND to_date(substr(c.relname, 13), 'YYYYMM') + interval '1 month' + age <= china
        ORDER BY 2
    LOOP
        -- The month's lock, as a writer of it takes (rows of sync_locks only the owner may lock).
        INSERT INTO baostock.sync_locks (name) VALUES ('minute partition ' || to_char(p.first, 'YYYYMM')) ON CONFLICT DO NOTHING;
        PERFORM 1 FROM baostock.sync_locks WHERE name = 'minute partition ' || to_char(p.first, 'YYYYMM') FOR UPDATE;
        IF baostock.set_minute_month_storage(p.rel, 'columnar') THEN
            -- The conversion may have made the table again: look it up by name. (Its size is in
            -- baostock.minute_months: Citus measures no table in a transaction that rewrote one.)
            month_table := to_regclass('baostock.minute_bars_' || to_char(p.first, 'YYYYMM'));
            month := p.first;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION baostock.compress_minute_months(interval) IS 'Stores columnar (Citus columnar) every month of baostock.minute_bars that ended longer ago than older_than (default: the setting baostock.columnar_after; empty: none) and is heap; a row for each month converted (baostock.minute_months shows their sizes). The worker calls it every 10 minutes when baostock.columnar_after is set; a write into a columnar month converts it back to heap first.';

CREATE VIEW baostock.minute_months AS
SELECT c.oid::regclass AS month_table, to_date(substr(c.relname, 13), 'YYYYMM') AS month, a.amname::text AS access_method,
       baostock.relation_bytes(c.oid) AS bytes, baostock.relation_bytes(c.oid, false) AS table_bytes
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_am a ON a.oid = c.relam
WHERE i.inhparent = 'baostock.minute_bars'::regclass AND c.relname ~ '^minute_bars_[0-9]{6}$';
COMMENT ON VIEW baostock.minute_months IS 'Each month of baostock.minute_bars (a partition): its table, first day, access method (heap, or columnar once older than baostock.columnar_after), bytes with its indexes and table_bytes without them (on Citus, of all its shards).';

CREATE FUNCTION baostock.citus_group() RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g integer;
BEGIN
    IF to_regclass('pg_catalog.pg_dist_local_group') IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE 'SELECT groupid FROM pg_catalog.pg_dist_local_group' INTO g;
    RETURN g;
END
$$;
COMMENT ON FUNCTION baostock.citus_group() IS 'This node''s Citus group: 0 on the coordinator (or a single node with Citus), the worker''s group on a Citus worker, NULL without Citus. Syncs, jobs and the worker run where it is 0 or NULL.';

CREATE FUNCTION baostock.distribute(shard_count integer DEFAULT NULL)
RETURNS TABLE (table_name text, placement text, action text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t text;
    rel regclass;
    how text;
    n integer;
    first_table constant text := 'daily_bars';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database' USING ERRCODE = '55000',
            HINT = 'Put citus first in shared_preload_libraries (''citus,pg_baostock'') on every node, restart, CREATE EXTENSION citus, add the workers with citus_add_node() on the coordinator, then call baostock.distribute() there.';
    END IF;
    n := baostock.citus_group();
    IF n IS DISTINCT FROM 0 THEN
        RAISE EXCEPTION 'this node is a Citus worker (group %)', n USING ERRCODE = '55000',
            HINT = 'Call baostock.distribute() on the coordinator.';
    END IF;
    IF shard_count IS NOT NULL AND shard_count NOT BETWEEN 1 AND 64000 THEN
        RAISE EXCEPTION 'shard_count % is out of range', shard_count USING ERRCODE = '22023',
            HINT = 'Give 1 to 64000, or NULL for citus.shard_count.';
    END IF;
    -- The bar tables and the factors, on code and colocated: a code's bars and factors are
    -- on one node, so adjusting joins them there. A table distributed already is left alone.
    FOREACH t IN ARRAY ARRAY[first_table, 'weekly_bars', 'monthly_bars', 'minute_bars', 'adjust_factors'] LOOP
        rel := ('baostock.' || t)::regclass;
        how := baostock.distribution_of(rel);
        table_name := t;
        placement := 'distributed by code';
        IF how = 'distributed' THEN
            EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_shard WHERE logicalrelid = $1' INTO n USING rel;
            IF shard_count IS NOT NULL AND n <> shard_count THEN
                RAISE EXCEPTION 'baostock.% is distributed already, in % shards, not %', t, n, shard_count
                    USING ERRCODE = '22023',
                    HINT = 'Citus'' alter_distributed_table(table, shard_count => N, cascade_to_colocated => true) changes the shard count of colocated tables.';
            END IF;
            action := format('already (%s shards)', n);
        ELSIF how IS NOT NULL THEN
            RAISE EXCEPTION 'baostock.% is a Citus % table, not distributed by code', t, how USING ERRCODE = '55000',
                HINT = 'Undo it with undistribute_table() and call baostock.distribute() again.';
        ELSE
            IF t = first_table THEN
                PERFORM create_distributed_table(rel, 'code', colocate_with => 'none', shard_count => shard_count);
            ELSE
                PERFORM create_distributed_table(rel, 'code', colocate_with => 'baostock.' || first_table);
            END IF;
            -- Rows already stored were copied into the shards; the coordinator's own copy goes.
            PERFORM truncate_local_data_after_distributing_table(rel);
            EXECUTE 'SELECT count(*) FROM pg_catalog.pg_dist_shard WHERE logicalrelid = $1' INTO n USING rel;
            action := format('distributed (%s shards)', n);
        END IF;
        RETURN NEXT;
    END LOOP;
    -- The reference data, on every node: small, and joined with the bars everywhere.
    FOREACH t IN ARRAY ARRAY['securities', 'trade_calendar', 'index_constituents', 'stock_industries'] LOOP
        rel := ('baostock.' || t)::regclass;
        how := baostock.distribution_of(rel);
        table_name := t;
        placement := 'reference';
        IF how = 'reference' THEN
            action := 'already';
        ELSIF how IS NOT NULL THEN
            RAISE EXCEPTION 'baostock.% is a Citus % table, not a reference table', t, how USING ERRCODE = '55000',
                HINT = 'Undo it with undistribute_table() and call baostock.distribute() again.';
        ELSE
            PERFORM create_reference_table(rel);
            PERFORM truncate_local_data_after_distributing_table(rel);
            action := 'made a reference table';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION baostock.distribute(integer) IS 'On a Citus coordinator: distributes the daily, weekly, monthly and minute bars and the adjust factors by code, colocated (in shard_count shards, NULL: citus.shard_count), and makes securities, the calendar, index constituents and industries reference tables; jobs, units, runs, checkpoints, alerts and the server state stay local. Rows stored before are moved into the shards. Idempotent: a table placed already is left as it is. One row a table: its placement and what was done. Without Citus, or on a Citus worker, it refuses (55000); a bad shard_count is 22023. Nothing is half-done: it runs in one transaction.';

-- Reading is open; reaching the network or writing is for the owner and whom it grants.
GRANT USAGE ON SCHEMA baostock TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA baostock FROM PUBLIC;
GRANT SELECT ON baostock.health, baostock.runs, baostock.coverage, baostock.gaps, baostock.jobs, baostock.tracked, baostock.minute_months TO PUBLIC;

COMMENT ON FUNCTION baostock.retry(bigint) IS 'Queues the failed units of an ended job again (the job goes back to the queue and gets its own second pass); returns how many.';
COMMENT ON FUNCTION baostock.resume() IS 'Lifts a blacklist before baostock.blacklist_pause ends it and queues the jobs it paused; returns how many jobs.';
CREATE VIEW baostock.open_alerts AS
SELECT alert_id, raised_at, severity, kind, key, message, job_id, run_id, delivered_at, delivery_error
FROM baostock.alerts WHERE cleared_at IS NULL ORDER BY alert_id DESC;
COMMENT ON VIEW baostock.open_alerts IS 'Alerts whose condition still holds, newest first.';
GRANT SELECT ON baostock.alerts, baostock.open_alerts TO PUBLIC;

-- A role for those who read the data (analysts, dashboards): GRANT baostock_reader TO someone.
-- One that exists already is used only if nobody can log in as it: a role made beforehand with
-- LOGIN (by anyone with CREATEROLE) would receive these grants for whoever made it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'baostock_reader') THEN
        CREATE ROLE baostock_reader NOLOGIN;
    ELSIF EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'baostock_reader' AND (rolcanlogin OR rolsuper)) THEN
        RAISE EXCEPTION 'pg_baostock: the role baostock_reader exists and can log in (or is a superuser)'
            USING ERRCODE = 'duplicate_object',
                  HINT = 'pg_baostock grants its data to baostock_reader, a NOLOGIN role: drop that role (or ALTER ROLE baostock_reader NOLOGIN NOSUPERUSER if it is yours), then create or update the extension.';
    END IF;
END
$$;
GRANT USAGE ON SCHEMA baostock TO baostock_reader;
GRANT SELECT ON baostock.daily_bars, baostock.weekly_bars, baostock.monthly_bars, baostock.minute_bars,
                baostock.adjust_factors, baostock.securities, baostock.trade_calendar,
                baostock.synced_days, baostock.synced_ranges, baostock.daily_bars_qfq, baostock.daily_bars_hfq,
                baostock.index_constituents, baostock.stock_industries,
                baostock.report_profit, baostock.report_operation, baostock.report_growth, baostock.report_balance,
                baostock.report_cash_flow, baostock.report_dupont, baostock.report_express, baostock.report_forecast,
                baostock.report_dividend, baostock.report_deposit_rate, baostock.report_loan_rate,
                baostock.report_reserve_ratio, baostock.report_money_supply_month, baostock.report_money_supply_year,
                baostock.profit_latest, baostock.operation_latest, baostock.growth_latest, baostock.balance_latest,
                baostock.cash_flow_latest, baostock.dupont_latest, baostock.express_latest, baostock.forecast_latest,
                baostock.dividends, baostock.index_membership, baostock.universe
                TO baostock_reader;

-- Who may execute what, in one place (the manual's Security section lists it too): nothing by
-- default, then an allowlist per role. PUBLIC: the status functions and the functions the
-- PUBLIC views call (Postgres checks EXECUTE for the view's reader; each reveals no more than
-- its view). baostock_reader: the data reads. Everything else (syncs, jobs, tracking,
-- schedules, Citus placement, the internals) is the owner's and whom the owner grants.
-- tests/regress/sql/privileges.sql fails on any function executable beyond this list.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA baostock FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    baostock.sync_health(), baostock.worker_status(), baostock.latest_trading_day(), baostock.stale_after(),
    baostock.wait(bigint),
    baostock.newest_bar(text, text), baostock.published_through(text), -- tracked
    baostock.missing_bars(text, text, date[]),                        -- gaps
    baostock.relation_bytes(regclass, boolean), baostock.distribution_of(regclass) -- minute_months
    TO PUBLIC;
GRANT EXECUTE ON FUNCTION
    baostock.adjusted_bars(text, date, date, text, text), baostock.adjusted_bars_of(text, date, date, text, text),
    baostock.factor_ranges(text, text), baostock.factors_known_through(text),
    baostock.fundamentals_asof(text[], date, text), baostock.index_members(text, date)
    TO baostock_reader;
/* </end connected objects> */

