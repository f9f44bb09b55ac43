-- pg_baostock 0.1.0 -> 0.2.0, run by ALTER EXTENSION pg_baostock UPDATE. Released with 0.2.0:
-- never edited again (sql/released/SHA256SUMS; scripts/check-released.sh). Tables are altered in
-- place, never dropped: every row stored by 0.1.0 stays. Objects whose shape changed are dropped
-- and created again only where they hold no data (a function, a view); a view or function of
-- yours that depends on baostock.health, baostock.sync_health(), baostock.coverage or
-- baostock.gaps makes this update fail (drop it, update, create it again).
\echo Use "ALTER EXTENSION pg_baostock UPDATE TO '0.2.0'" to load this file. \quit

-- Tables of 0.1.0, altered in place ------------------------------------------------------

ALTER TABLE baostock.daily_bars ADD COLUMN row_hash bigint;
CREATE INDEX daily_bars_date ON baostock.daily_bars (date);
-- A day completed by a backfill job has no sync_date run.
ALTER TABLE baostock.synced_days ALTER COLUMN run_id DROP NOT NULL, ADD COLUMN job_id bigint;
ALTER TABLE baostock.sync_runs DROP CONSTRAINT sync_runs_status_check,
    ADD CONSTRAINT sync_runs_status_check
    CHECK (status IN ('ok', 'skipped', 'not_available', 'incomplete', 'failed'));

COMMENT ON TABLE baostock.securities IS 'Every security the server knows (query_stock_basic): stocks, indices, ETFs, with listing and delisting dates.';
COMMENT ON COLUMN baostock.securities.code IS 'Baostock code, e.g. sh.600000, sz.000001, bj.430047.';
COMMENT ON COLUMN baostock.securities.name IS 'Security name as the server spells it.';
COMMENT ON COLUMN baostock.securities.sec_type IS '1 stock, 2 index, 3 other, 4 convertible bond, 5 ETF.';
COMMENT ON COLUMN baostock.securities.status IS '1 listed, 0 delisted.';
COMMENT ON COLUMN baostock.securities.ipo_date IS 'Listing date.';
COMMENT ON COLUMN baostock.securities.out_date IS 'Delisting date; NULL while listed.';
COMMENT ON COLUMN baostock.securities.updated_at IS 'When this row last changed.';

COMMENT ON TABLE baostock.trade_calendar IS 'The exchange calendar (query_trade_dates): one row per calendar day.';
COMMENT ON COLUMN baostock.trade_calendar.day IS 'Calendar day.';
COMMENT ON COLUMN baostock.trade_calendar.is_trading_day IS 'Whether the exchanges trade on this day.';

COMMENT ON INDEX baostock.daily_bars_date IS 'Every code on a day (a cross-section, and the store''s check of a day already stored).';
COMMENT ON TABLE baostock.daily_bars IS 'Unadjusted daily bars of A-shares and ETFs, exactly as the server sends them (adjusted prices come from baostock.adjust_factors).';
COMMENT ON COLUMN baostock.daily_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.daily_bars.date IS 'Trading day.';
COMMENT ON COLUMN baostock.daily_bars.open IS 'Opening price, the server''s exact decimal.';
COMMENT ON COLUMN baostock.daily_bars.high IS 'Highest price.';
COMMENT ON COLUMN baostock.daily_bars.low IS 'Lowest price.';
COMMENT ON COLUMN baostock.daily_bars.close IS 'Closing price.';
COMMENT ON COLUMN baostock.daily_bars.preclose IS 'Previous trading day''s close.';
COMMENT ON COLUMN baostock.daily_bars.volume IS 'Shares traded.';
COMMENT ON COLUMN baostock.daily_bars.amount IS 'Turnover in yuan.';
COMMENT ON COLUMN baostock.daily_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.daily_bars.turn IS 'Turnover rate in percent; NULL when suspended.';
COMMENT ON COLUMN baostock.daily_bars.trade_status IS 'true when traded, false when suspended.';
COMMENT ON COLUMN baostock.daily_bars.pct_chg IS 'Change against preclose in percent.';
COMMENT ON COLUMN baostock.daily_bars.pe_ttm IS 'Price/earnings, trailing twelve months; NULL when the server has none.';
COMMENT ON COLUMN baostock.daily_bars.pb_mrq IS 'Price/book, most recent quarter.';
COMMENT ON COLUMN baostock.daily_bars.ps_ttm IS 'Price/sales, trailing twelve months.';
COMMENT ON COLUMN baostock.daily_bars.pcf_ncf_ttm IS 'Price/cash flow, trailing twelve months.';
COMMENT ON COLUMN baostock.daily_bars.is_st IS 'Whether the security was under special treatment (ST) that day.';
COMMENT ON COLUMN baostock.daily_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.daily_bars.row_hash IS 'The store''s digest of the row''s values (FNV-1a of their COPY text), so that a bar sent again unchanged costs one index lookup; NULL for a row written by anything else (the next sync rewrites it).';

COMMENT ON TABLE baostock.adjust_factors IS 'Adjust factors (query_daily_adjust_factor / query_adjust_factor); a row applies from operate_date until the next row of the same code.';
COMMENT ON COLUMN baostock.adjust_factors.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.adjust_factors.operate_date IS 'Ex-dividend day from which the factor applies.';
COMMENT ON COLUMN baostock.adjust_factors.fore_factor IS 'Forward (qfq) factor: back_factor / the code''s latest back_factor, 6 decimals, as the server computes it; kept current (every write of a code''s factors recomputes its column), so it equals what the server would answer now.';
COMMENT ON COLUMN baostock.adjust_factors.back_factor IS 'Back (hfq) factor.';
COMMENT ON COLUMN baostock.adjust_factors.adjust_factor IS 'The server''s adjustFactor.';
COMMENT ON COLUMN baostock.adjust_factors.updated_at IS 'When this row last changed.';

COMMENT ON TABLE baostock.synced_days IS 'Trading days whose bars and factors are complete; committed in the same transaction as the data.';
COMMENT ON COLUMN baostock.synced_days.day IS 'Trading day.';
COMMENT ON COLUMN baostock.synced_days.run_id IS 'The sync_date run (baostock.sync_runs) that completed it, if one did.';
COMMENT ON COLUMN baostock.synced_days.job_id IS 'The backfill job (baostock.sync_jobs) that completed it, if one did.';
COMMENT ON COLUMN baostock.synced_days.synced_at IS 'When it was completed.';
COMMENT ON COLUMN baostock.synced_days.bars IS 'Bars (stocks and ETFs) the server sent for the day.';
COMMENT ON COLUMN baostock.synced_days.factors IS 'Adjust factors the server sent for the day.';

COMMENT ON TABLE baostock.sync_runs IS 'Every sync call, successful or not, with its metrics. Failed runs are written by an autonomous worker, so they survive the error''s rollback.';
COMMENT ON COLUMN baostock.sync_runs.run_id IS 'Run id.';
COMMENT ON COLUMN baostock.sync_runs.kind IS 'sync_date, sync_calendar or sync_securities.';
COMMENT ON COLUMN baostock.sync_runs.params IS 'The call''s arguments.';
COMMENT ON COLUMN baostock.sync_runs.day IS 'The trading day, for sync_date.';
COMMENT ON COLUMN baostock.sync_runs.started_at IS 'Start of the call.';
COMMENT ON COLUMN baostock.sync_runs.finished_at IS 'End of the call.';
COMMENT ON COLUMN baostock.sync_runs.status IS 'ok, skipped (nothing to do), not_available (the server has not published the day yet), incomplete (stocks or ETFs missing or too few: not marked synced) or failed.';
COMMENT ON COLUMN baostock.sync_runs.requests IS 'Requests sent to the server, login and logout included.';
COMMENT ON COLUMN baostock.sync_runs.bytes IS 'Response bytes received.';
COMMENT ON COLUMN baostock.sync_runs.rows_inserted IS 'Rows that were new.';
COMMENT ON COLUMN baostock.sync_runs.rows_updated IS 'Rows whose values changed.';
COMMENT ON COLUMN baostock.sync_runs.rows_unchanged IS 'Rows received but already stored with the same values.';
COMMENT ON COLUMN baostock.sync_runs.error_sqlstate IS 'SQLSTATE of the error, for failed runs.';
COMMENT ON COLUMN baostock.sync_runs.error_message IS 'Error message, for failed runs (never contains credentials).';


-- Tables new in 0.2.0 ----------------------------------------------------------------------

CREATE TABLE baostock.index_constituents (
    index_name   text NOT NULL CHECK (index_name IN ('hs300', 'sz50', 'zz500')),
    update_date  date NOT NULL,
    code         text NOT NULL,
    code_name    text,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (index_name, update_date, code)
);
COMMENT ON TABLE baostock.index_constituents IS 'Constituents of the CSI 300, SSE 50 and CSI 500 (query_hs300_stocks, query_sz50_stocks, query_zz500_stocks), one list per date the server says it applies to; a list fetched again replaces the stored one of its date.';
COMMENT ON COLUMN baostock.index_constituents.index_name IS 'hs300 (CSI 300), sz50 (SSE 50) or zz500 (CSI 500).';
COMMENT ON COLUMN baostock.index_constituents.update_date IS 'The date the list applies to, as the server gives it (the Monday of the week asked for).';
COMMENT ON COLUMN baostock.index_constituents.code IS 'Baostock code of a constituent.';
COMMENT ON COLUMN baostock.index_constituents.code_name IS 'Its name as the server spells it.';
COMMENT ON COLUMN baostock.index_constituents.updated_at IS 'When this row last changed.';

CREATE TABLE baostock.stock_industries (
    code                     text NOT NULL,
    update_date              date NOT NULL,
    code_name                text,
    industry                 text,
    industry_classification  text,
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (code, update_date)
);
COMMENT ON TABLE baostock.stock_industries IS 'Industry of every stock (query_stock_industry), one classification per date the server says it applies to.';
COMMENT ON COLUMN baostock.stock_industries.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.stock_industries.update_date IS 'The date the classification applies to, as the server gives it.';
COMMENT ON COLUMN baostock.stock_industries.code_name IS 'The stock''s name as the server spells it.';
COMMENT ON COLUMN baostock.stock_industries.industry IS 'Industry, e.g. J66货币金融服务.';
COMMENT ON COLUMN baostock.stock_industries.industry_classification IS 'The classification the industry belongs to, e.g. 证监会行业分类 (CSRC).';
COMMENT ON COLUMN baostock.stock_industries.updated_at IS 'When this row last changed.';

CREATE TABLE baostock.weekly_bars (
    code          text    NOT NULL,
    period_start  date    NOT NULL,
    date          date    NOT NULL,
    open          numeric,
    high          numeric,
    low           numeric,
    close         numeric,
    volume        bigint,
    amount        numeric,
    adjustflag    smallint,
    turn          numeric,
    pct_chg       numeric,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    row_hash      bigint,
    PRIMARY KEY (code, period_start)
);
COMMENT ON TABLE baostock.weekly_bars IS 'Unadjusted weekly bars (query_history_k_data_plus, frequency w) exactly as the server sends them; one row a code and week: the bar of a week not over yet is replaced when it is fetched again after the week ends.';
COMMENT ON COLUMN baostock.weekly_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.weekly_bars.period_start IS 'Monday of the ISO week the bar covers (the key: a week has one bar).';
COMMENT ON COLUMN baostock.weekly_bars.date IS 'The bar''s date as the server gives it: the last trading day of the week that the bar covers.';
COMMENT ON COLUMN baostock.weekly_bars.open IS 'Opening price of the week''s first trading day.';
COMMENT ON COLUMN baostock.weekly_bars.high IS 'Highest price of the week.';
COMMENT ON COLUMN baostock.weekly_bars.low IS 'Lowest price of the week.';
COMMENT ON COLUMN baostock.weekly_bars.close IS 'Closing price of the week''s last trading day.';
COMMENT ON COLUMN baostock.weekly_bars.volume IS 'Shares traded in the week.';
COMMENT ON COLUMN baostock.weekly_bars.amount IS 'Turnover in yuan in the week.';
COMMENT ON COLUMN baostock.weekly_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.weekly_bars.turn IS 'Turnover rate in percent over the week; NULL for indices.';
COMMENT ON COLUMN baostock.weekly_bars.pct_chg IS 'Change in percent from the close before the week to its last close.';
COMMENT ON COLUMN baostock.weekly_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.weekly_bars.row_hash IS 'The store''s digest of the row''s values.';

CREATE TABLE baostock.monthly_bars (
    code          text    NOT NULL,
    period_start  date    NOT NULL,
    date          date    NOT NULL,
    open          numeric,
    high          numeric,
    low           numeric,
    close         numeric,
    volume        bigint,
    amount        numeric,
    adjustflag    smallint,
    turn          numeric,
    pct_chg       numeric,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    row_hash      bigint,
    PRIMARY KEY (code, period_start)
);
COMMENT ON TABLE baostock.monthly_bars IS 'Unadjusted monthly bars (query_history_k_data_plus, frequency m) exactly as the server sends them; one row a code and month: the bar of a month not over yet is replaced when it is fetched again after the month ends.';
COMMENT ON COLUMN baostock.monthly_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.monthly_bars.period_start IS 'First day of the month the bar covers (the key: a month has one bar).';
COMMENT ON COLUMN baostock.monthly_bars.date IS 'The bar''s date as the server gives it: the last trading day of the month that the bar covers.';
COMMENT ON COLUMN baostock.monthly_bars.open IS 'Opening price of the month''s first trading day.';
COMMENT ON COLUMN baostock.monthly_bars.high IS 'Highest price of the month.';
COMMENT ON COLUMN baostock.monthly_bars.low IS 'Lowest price of the month.';
COMMENT ON COLUMN baostock.monthly_bars.close IS 'Closing price of the month''s last trading day.';
COMMENT ON COLUMN baostock.monthly_bars.volume IS 'Shares traded in the month.';
COMMENT ON COLUMN baostock.monthly_bars.amount IS 'Turnover in yuan in the month.';
COMMENT ON COLUMN baostock.monthly_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.monthly_bars.turn IS 'Turnover rate in percent over the month; NULL for indices.';
COMMENT ON COLUMN baostock.monthly_bars.pct_chg IS 'Change in percent from the close before the month to its last close.';
COMMENT ON COLUMN baostock.monthly_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.monthly_bars.row_hash IS 'The store''s digest of the row''s values.';

CREATE TABLE baostock.minute_bars (
    code        text      NOT NULL,
    frequency   smallint  NOT NULL CHECK (frequency IN (5, 15, 30, 60)),
    time        timestamp NOT NULL,
    date        date      NOT NULL,
    open        numeric,
    high        numeric,
    low         numeric,
    close       numeric,
    volume      bigint,
    amount      numeric,
    adjustflag  smallint,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    row_hash    bigint
) PARTITION BY RANGE (time);
COMMENT ON TABLE baostock.minute_bars IS 'Unadjusted 5, 15, 30 and 60-minute bars of stocks and ETFs (the server has none for indices) exactly as the server sends them; partitioned by month of time: the store creates baostock.minute_bars_YYYYMM, keyed by (code, frequency, time), before it writes a row of that month. The key is each partition''s (a key on this table would be made by CREATE EXTENSION before pg_restore attaches the dumped partitions, and the restore would fail).';
COMMENT ON COLUMN baostock.minute_bars.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.minute_bars.frequency IS 'Minutes a bar: 5, 15, 30 or 60.';
COMMENT ON COLUMN baostock.minute_bars.time IS 'End of the bar, China Standard Time (UTC+8, no daylight saving) as the server gives it (its 17 digits YYYYMMDDHHMMSSmmm); time AT TIME ZONE ''Asia/Shanghai'' is the instant.';
COMMENT ON COLUMN baostock.minute_bars.date IS 'Trading day of the bar.';
COMMENT ON COLUMN baostock.minute_bars.open IS 'Opening price of the bar.';
COMMENT ON COLUMN baostock.minute_bars.high IS 'Highest price.';
COMMENT ON COLUMN baostock.minute_bars.low IS 'Lowest price.';
COMMENT ON COLUMN baostock.minute_bars.close IS 'Closing price.';
COMMENT ON COLUMN baostock.minute_bars.volume IS 'Shares traded in the bar.';
COMMENT ON COLUMN baostock.minute_bars.amount IS 'Turnover in yuan.';
COMMENT ON COLUMN baostock.minute_bars.adjustflag IS '3: unadjusted (always, for stored bars).';
COMMENT ON COLUMN baostock.minute_bars.updated_at IS 'When this row last changed.';
COMMENT ON COLUMN baostock.minute_bars.row_hash IS 'The store''s digest of the row''s values.';

CREATE TABLE baostock.synced_ranges (
    code       text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('d', 'w', 'm', '5', '15', '30', '60', 'factors')),
    span       daterange NOT NULL CHECK (NOT isempty(span)),
    job_id     bigint,
    synced_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX synced_ranges_code ON baostock.synced_ranges (code, kind);
COMMENT ON TABLE baostock.synced_ranges IS 'Per-code ranges completed by backfill units (95 bars of a frequency, or 15 factors); committed in the same transaction as their rows. A weekly or monthly range covers whole periods only: a period not over yet is fetched again.';
COMMENT ON COLUMN baostock.synced_ranges.code IS 'Baostock code.';
COMMENT ON COLUMN baostock.synced_ranges.kind IS 'The frequency of bars fetched (query_history_k_data_plus): d, w, m, 5, 15, 30 or 60; or factors: the adjust factor history (query_adjust_factor).';
COMMENT ON COLUMN baostock.synced_ranges.span IS 'Days covered, bounds included as fetched.';
COMMENT ON COLUMN baostock.synced_ranges.job_id IS 'The backfill job that fetched it.';
COMMENT ON COLUMN baostock.synced_ranges.synced_at IS 'When it was completed.';

CREATE TABLE baostock.sync_jobs (
    job_id            bigserial PRIMARY KEY,
    state             text NOT NULL DEFAULT 'queued'
                      CHECK (state IN ('queued', 'running', 'paused', 'done', 'failed', 'cancelled')),
    start_date        date NOT NULL,
    end_date          date NOT NULL,
    codes             text[],
    frequency         text NOT NULL,
    force             boolean NOT NULL,
    plan              jsonb NOT NULL,
    est_requests      bigint NOT NULL,
    est_seconds       double precision NOT NULL,
    rows_written      bigint NOT NULL DEFAULT 0,
    requests          bigint NOT NULL DEFAULT 0,
    bytes             bigint NOT NULL DEFAULT 0,
    created_by        text NOT NULL DEFAULT session_user,
    created_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    finished_at       timestamptz,
    error_message     text,
    paused_until      timestamptz,
    pause_reason      text,
    passes            integer NOT NULL DEFAULT 0,
    CHECK (start_date <= end_date),
    CHECK ((state = 'paused') = (pause_reason IS NOT NULL))
);
COMMENT ON TABLE baostock.sync_jobs IS 'Backfill jobs: what backfill() was asked, the plan, the state and the traffic. Units are in baostock.sync_units.';
COMMENT ON COLUMN baostock.sync_jobs.job_id IS 'Job id, as backfill() returned it.';
COMMENT ON COLUMN baostock.sync_jobs.state IS 'queued, running, paused (the request budget is spent or the server blacklisted us: resumes by itself), done (every unit final; units_failed of baostock.jobs counts those that failed twice), failed (the job could not go on: error_message), cancelled.';
COMMENT ON COLUMN baostock.sync_jobs.start_date IS 'First day asked.';
COMMENT ON COLUMN baostock.sync_jobs.end_date IS 'Last day asked.';
COMMENT ON COLUMN baostock.sync_jobs.codes IS 'Codes asked; NULL for all stocks and ETFs.';
COMMENT ON COLUMN baostock.sync_jobs.frequency IS 'Bar frequency: d, w, m, 5, 15, 30 or 60.';
COMMENT ON COLUMN baostock.sync_jobs.force IS 'Whether units already done were planned again.';
COMMENT ON COLUMN baostock.sync_jobs.plan IS 'The plan: units per kind, days skipped as done, estimates and the assumptions behind them.';
COMMENT ON COLUMN baostock.sync_jobs.est_requests IS 'Requests the plan expects, logins included.';
COMMENT ON COLUMN baostock.sync_jobs.est_seconds IS 'Seconds the plan expects at the assumed latency and write rate.';
COMMENT ON COLUMN baostock.sync_jobs.rows_written IS 'Rows received and upserted so far (inserted, updated or unchanged).';
COMMENT ON COLUMN baostock.sync_jobs.requests IS 'Requests sent so far, logins and logouts included.';
COMMENT ON COLUMN baostock.sync_jobs.bytes IS 'Response bytes received so far.';
COMMENT ON COLUMN baostock.sync_jobs.created_by IS 'Session user that called backfill().';
COMMENT ON COLUMN baostock.sync_jobs.created_at IS 'When backfill() queued it.';
COMMENT ON COLUMN baostock.sync_jobs.started_at IS 'When the worker first started it.';
COMMENT ON COLUMN baostock.sync_jobs.finished_at IS 'When it ended (done, failed or cancelled).';
COMMENT ON COLUMN baostock.sync_jobs.error_message IS 'Why the job failed as a whole, if it did.';
COMMENT ON COLUMN baostock.sync_jobs.paused_until IS 'When a paused job resumes on its own (the next China day for a spent budget, the end of a blacklist).';
COMMENT ON COLUMN baostock.sync_jobs.pause_reason IS 'budget or blacklisted, while paused.';
COMMENT ON COLUMN baostock.sync_jobs.passes IS 'Passes over the units so far: the first, then one retry pass of the units that failed (and one more for each baostock.retry()).';

CREATE TABLE baostock.sync_units (
    job_id          bigint NOT NULL REFERENCES baostock.sync_jobs ON DELETE CASCADE,
    unit_no         integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('day', 'range', 'factors')),
    code            text,
    frequency       text NOT NULL DEFAULT 'd' CHECK (frequency IN ('d', 'w', 'm', '5', '15', '30', '60')),
    start_date      date NOT NULL,
    end_date        date NOT NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'done', 'empty', 'replanned', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    rows_written    bigint NOT NULL DEFAULT 0,
    finished_at     timestamptz,
    error_sqlstate  text,
    error_message   text,
    PRIMARY KEY (job_id, unit_no),
    CHECK ((kind = 'day') = (code IS NULL)),
    CHECK (kind <> 'day' OR start_date = end_date)
);
CREATE INDEX sync_units_pending ON baostock.sync_units (job_id, state);
COMMENT ON TABLE baostock.sync_units IS 'The units of each job: a day (98 + 9A + 9C), a code''s bar range (95) or a code''s factor history (15). A unit''s rows and its state commit in one transaction.';
COMMENT ON COLUMN baostock.sync_units.job_id IS 'The job.';
COMMENT ON COLUMN baostock.sync_units.unit_no IS 'Order within the job.';
COMMENT ON COLUMN baostock.sync_units.kind IS 'day, range or factors.';
COMMENT ON COLUMN baostock.sync_units.code IS 'The code, for range and factors units.';
COMMENT ON COLUMN baostock.sync_units.frequency IS 'The bars'' frequency, for range units (d for the others).';
COMMENT ON COLUMN baostock.sync_units.start_date IS 'First day (the day, for day units).';
COMMENT ON COLUMN baostock.sync_units.end_date IS 'Last day.';
COMMENT ON COLUMN baostock.sync_units.state IS 'queued, running (handed to the network), done, empty (a past day the server has no all-market answer for), replanned (that day is covered by per-code units), failed, cancelled.';
COMMENT ON COLUMN baostock.sync_units.attempts IS 'Times the unit was fetched.';
COMMENT ON COLUMN baostock.sync_units.rows_written IS 'Rows the unit upserted.';
COMMENT ON COLUMN baostock.sync_units.finished_at IS 'When it reached its final state.';
COMMENT ON COLUMN baostock.sync_units.error_sqlstate IS 'SQLSTATE of the error, for failed units.';
COMMENT ON COLUMN baostock.sync_units.error_message IS 'Error message, for failed units (never contains credentials).';

-- One row, written by the worker's first save.
CREATE TABLE baostock.server_state (
    id                 boolean PRIMARY KEY DEFAULT true CHECK (id),
    blacklisted_until  timestamptz,
    blacklisted_at     timestamptz,
    budget_day         date,
    budget_used        bigint NOT NULL DEFAULT 0 CHECK (budget_used >= 0),
    clock_offset_ms    bigint NOT NULL DEFAULT 0,
    calendar_checked   date,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE baostock.server_state IS 'One row the worker keeps from shared memory, so that a blacklist, the day''s request count and the server''s clock survive restarts.';
COMMENT ON COLUMN baostock.server_state.id IS 'Always true: there is one row.';
COMMENT ON COLUMN baostock.server_state.blacklisted_until IS 'No request goes to the server before this time (set on a 10001011 answer for baostock.blacklist_pause; baostock.resume() clears it).';
COMMENT ON COLUMN baostock.server_state.blacklisted_at IS 'When the server last blacklisted us.';
COMMENT ON COLUMN baostock.server_state.budget_day IS 'The China day (by the server''s clock) budget_used counts.';
COMMENT ON COLUMN baostock.server_state.budget_used IS 'Requests sent to the server that day by the whole cluster, logins included.';
COMMENT ON COLUMN baostock.server_state.clock_offset_ms IS 'The server''s clock minus ours, from its last login reply; the budget''s day follows the server''s clock.';
COMMENT ON COLUMN baostock.server_state.calendar_checked IS 'The China day the worker last brought the trade calendar up to date.';
COMMENT ON COLUMN baostock.server_state.updated_at IS 'When the worker last wrote this row.';

CREATE TABLE baostock.alerts (
    alert_id      bigserial PRIMARY KEY,
    raised_at     timestamptz NOT NULL DEFAULT now(),
    severity      text NOT NULL CHECK (severity IN ('warning', 'critical')),
    kind          text NOT NULL,
    key           text NOT NULL DEFAULT '',
    message       text NOT NULL,
    job_id        bigint,
    run_id        bigint,
    cleared_at    timestamptz,
    delivered_at  timestamptz,
    delivery_error text
);
CREATE UNIQUE INDEX alerts_open ON baostock.alerts (kind, key) WHERE cleared_at IS NULL;
COMMENT ON TABLE baostock.alerts IS 'Alerts the worker raised: one row per condition from when it arose until it cleared; each new one is also sent as a NOTIFY on channel baostock_alerts (and to baostock.alert_webhook when set).';
COMMENT ON COLUMN baostock.alerts.alert_id IS 'Alert id.';
COMMENT ON COLUMN baostock.alerts.raised_at IS 'When the condition was first seen.';
COMMENT ON COLUMN baostock.alerts.severity IS 'warning or critical.';
COMMENT ON COLUMN baostock.alerts.kind IS 'job_failures, sync_failing, stale, blacklisted, budget_spent or worker_crash_loop.';
COMMENT ON COLUMN baostock.alerts.key IS 'What the condition is about within its kind (a job id), so each is raised once.';
COMMENT ON COLUMN baostock.alerts.message IS 'What is wrong, for a person.';
COMMENT ON COLUMN baostock.alerts.job_id IS 'The job it is about, if any.';
COMMENT ON COLUMN baostock.alerts.run_id IS 'The run it is about, if any.';
COMMENT ON COLUMN baostock.alerts.cleared_at IS 'When the condition was no longer seen; NULL while open.';
COMMENT ON COLUMN baostock.alerts.delivered_at IS 'When the webhook accepted it.';
COMMENT ON COLUMN baostock.alerts.delivery_error IS 'Why the last webhook attempt failed.';

CREATE TABLE baostock.worker_starts (
    started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    pid         integer NOT NULL
);
CREATE INDEX worker_starts_at ON baostock.worker_starts (started_at);
COMMENT ON TABLE baostock.worker_starts IS 'Each start of the background worker (pruned after baostock.retention); many in a short time raise a worker_crash_loop alert.';
COMMENT ON COLUMN baostock.worker_starts.started_at IS 'When it started.';
COMMENT ON COLUMN baostock.worker_starts.pid IS 'Its process id.';

SELECT pg_catalog.pg_extension_config_dump('baostock.index_constituents', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.stock_industries', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.weekly_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.monthly_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.minute_bars', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.synced_ranges', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_jobs', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_jobs_job_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.sync_units', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.server_state', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.alerts', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.alerts_alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('baostock.worker_starts', '');

-- Functions and views ---------------------------------------------------------------------

-- The store benchmark left the production build (cargo feature bench).
DROP FUNCTION baostock.bench_store(integer);

-- Their results gained columns: dropped with the views over them.
DROP VIEW baostock.health;
DROP FUNCTION baostock.sync_health();
DROP VIEW baostock.coverage;
DROP VIEW baostock.gaps;

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

-- The price factor of a code for an adjust mode over each stretch of days: from each factor
-- row's operate_date until the next one's, and before the first one (from -infinity). One pass
-- over the code's factors, which the bars then join by range (called once a query).
CREATE FUNCTION baostock.factor_ranges(code text, adjust text)
RETURNS TABLE (since date, until date, factor numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
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

    IF frequency = 'd' THEN
        RETURN QUERY
        SELECT b.code, b.date, NULL::timestamp,
               b.open * k.factor, b.high * k.factor, b.low * k.factor, b.close * k.factor, b.preclose * k.factor,
               b.volume, b.amount, flag, b.turn, b.trade_status, b.pct_chg,
               b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
        FROM baostock.daily_bars b
        JOIN baostock.factor_ranges(c, adjust) k ON b.date >= k.since AND b.date < k.until
        WHERE b.code = c AND b.date BETWEEN start_date AND end_date
        ORDER BY b.date;
    ELSIF frequency IN ('w', 'm') THEN
        RETURN QUERY
        WITH d AS (
            SELECT b.*, k.factor AS f,
                   date_trunc(CASE adjusted_bars_of.frequency WHEN 'w' THEN 'week' ELSE 'month' END, b.date) AS period
            FROM baostock.daily_bars b
            JOIN baostock.factor_ranges(c, adjust) k ON b.date >= k.since AND b.date < k.until
            WHERE b.code = c AND b.date BETWEEN start_date AND end_date
        )
        SELECT c, max(d.date), NULL::timestamp,
               (array_agg(d.open * d.f ORDER BY d.date))[1],
               max(d.high * d.f), min(d.low * d.f),
               (array_agg(d.close * d.f ORDER BY d.date DESC))[1],
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

-- Every code's bars of a day: two index probes a bar (the factor in force, the latest).
CREATE VIEW baostock.daily_bars_qfq AS
SELECT b.code, b.date, b.open * k.f AS open, b.high * k.f AS high, b.low * k.f AS low, b.close * k.f AS close,
       b.preclose * k.f AS preclose, b.volume, b.amount, 2::smallint AS adjustflag, b.turn, b.trade_status,
       b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
FROM baostock.daily_bars b
LEFT JOIN LATERAL (SELECT a.back_factor FROM baostock.adjust_factors a
                   WHERE a.code = b.code AND a.operate_date <= b.date ORDER BY a.operate_date DESC LIMIT 1) f ON true
LEFT JOIN LATERAL (SELECT a.back_factor FROM baostock.adjust_factors a
                   WHERE a.code = b.code ORDER BY a.operate_date DESC LIMIT 1) l ON true
CROSS JOIN LATERAL (SELECT round(coalesce(f.back_factor, 1.000000) / coalesce(nullif(l.back_factor, 0), 1.000000), 6) AS f) k;
COMMENT ON VIEW baostock.daily_bars_qfq IS 'Every stored daily bar with forward-adjusted (qfq) prices, computed as baostock.adjusted_bars does; filter by code and date.';

CREATE VIEW baostock.daily_bars_hfq AS
SELECT b.code, b.date, b.open * k.f AS open, b.high * k.f AS high, b.low * k.f AS low, b.close * k.f AS close,
       b.preclose * k.f AS preclose, b.volume, b.amount, 1::smallint AS adjustflag, b.turn, b.trade_status,
       b.pct_chg, b.pe_ttm, b.pb_mrq, b.ps_ttm, b.pcf_ncf_ttm, b.is_st
FROM baostock.daily_bars b
LEFT JOIN LATERAL (SELECT a.back_factor FROM baostock.adjust_factors a
                   WHERE a.code = b.code AND a.operate_date <= b.date ORDER BY a.operate_date DESC LIMIT 1) f ON true
CROSS JOIN LATERAL (SELECT coalesce(f.back_factor, 1.000000) AS f) k;
COMMENT ON VIEW baostock.daily_bars_hfq IS 'Every stored daily bar with back-adjusted (hfq) prices, computed as baostock.adjusted_bars does; filter by code and date.';

CREATE FUNCTION baostock."backfill"(
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

CREATE FUNCTION baostock."cancel"(
	"job_id" bigint /* Option < i64 > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'cancel_wrapper';

CREATE FUNCTION baostock."plan"(
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

CREATE FUNCTION baostock."resume"() RETURNS bigint /* i64 */
STRICT VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'resume_wrapper';

CREATE FUNCTION baostock."retry"(
	"job_id" bigint /* Option < i64 > */
) RETURNS bigint /* i64 */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'retry_wrapper';

CREATE OR REPLACE FUNCTION baostock."sync_calendar"(
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

CREATE OR REPLACE FUNCTION baostock."sync_date"(
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

CREATE FUNCTION baostock."sync_index_constituents"(
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

CREATE FUNCTION baostock."sync_industries"(
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

CREATE OR REPLACE FUNCTION baostock."sync_securities"() RETURNS TABLE (
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

CREATE FUNCTION baostock."wait"(
	"job_id" bigint /* Option < i64 > */
) RETURNS TEXT /* String */
VOLATILE SECURITY DEFINER PARALLEL UNSAFE
SET search_path TO pg_catalog, pg_temp
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'wait_wrapper';

CREATE FUNCTION baostock."worker_status"() RETURNS TABLE (
	"preloaded" bool,  /* bool */
	"worker_pid" INT,  /* Option < i32 > */
	"last_heartbeat" timestamp with time zone,  /* Option < pgrx :: datum :: TimestampWithTimeZone > */
	"server_sessions" bigint  /* i64 */
)
STRICT VOLATILE PARALLEL SAFE
LANGUAGE c /* Rust */
AS 'MODULE_PATHNAME', 'worker_status_wrapper';

CREATE FUNCTION baostock.stale_after() RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- Shown with a unit once the library is loaded ('15h'); a bare number is minutes.
    SELECT CASE WHEN v ~ '^\d+$' THEN make_interval(mins => v::integer) ELSE v::interval END
    FROM coalesce(nullif(current_setting('baostock.stale_after', true), ''), '900') AS v
$$;
COMMENT ON FUNCTION baostock.stale_after() IS 'baostock.stale_after as an interval (default 15 hours): how long after a trading day''s publication (18:00 China) it may stay unsynced before health is stale.';

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
    OUT newest_alert text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
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
    SELECT CASE WHEN budget_day = ((now() + make_interval(secs => clock_offset_ms / 1000.0)) AT TIME ZONE 'Asia/Shanghai')::date
                THEN budget_used ELSE 0 END AS used,
           CASE WHEN blacklisted_until > now() THEN blacklisted_until END AS until
    FROM (VALUES (true)) one (id) LEFT JOIN baostock.server_state USING (id)
), al AS (
    SELECT count(*)::integer AS n,
           (array_agg(format('%s (%s): %s', kind, severity, message) ORDER BY alert_id DESC))[1] AS newest
    FROM baostock.alerts WHERE cleared_at IS NULL
)
SELECT CASE
           WHEN stats.streak >= 3 THEN 'failing'
           WHEN srv.until IS NOT NULL THEN 'blacklisted'
           WHEN last.day IS NULL OR lag.n > 1 OR holes.n > 0 OR due.day > last.day THEN 'stale'
           WHEN stats.streak > 0 OR stats.rate < 0.9 OR al.n > 0 THEN 'degraded'
           ELSE 'healthy'
       END,
       last.day, due.day, lag.n, holes.n, stats.rate, stats.mean, stats.n, stats.streak,
       err.error_message, err.finished_at,
       w.worker_pid, w.last_heartbeat, j.queued, j.running, j.paused, fu.n,
       coalesce(srv.used, 0), nullif(current_setting('baostock.daily_request_budget', true), '')::bigint,
       srv.until, al.n, al.newest
FROM today, last, due, lag, holes, stats, w, j, fu, al LEFT JOIN srv ON true LEFT JOIN err ON true
$$;
COMMENT ON FUNCTION baostock.sync_health() IS 'One row on the state of the sync: status failing (the last 3 sync_date runs failed), blacklisted (the server blacklisted us; nothing is sent until blacklisted_until), stale (nothing synced, more than one trading day behind the calendar, holes between the oldest and newest synced day, or due_day, the newest trading day published more than baostock.stale_after ago, not synced), degraded (the last run failed, under 90% of the last 20 succeeded, or an alert is open) or healthy; with the last synced day, the lag in trading days, the holes, success rate, mean duration, the last error, the worker (pid and heartbeat, NULL when none runs), jobs queued / running / paused, failed units of jobs not cancelled (baostock.retry() queues them), requests sent today against the budget, the blacklist and the open alerts.';

CREATE VIEW baostock.health AS SELECT * FROM baostock.sync_health();
COMMENT ON VIEW baostock.health IS 'sync_health() as a view, for dashboards and alert queries.';

CREATE OR REPLACE VIEW baostock.runs AS
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
SELECT s.code, 'd', d.day, 'bar'
FROM baostock.synced_days d
JOIN baostock.securities s
  ON s.sec_type IN (1, 5)
 AND s.ipo_date <= d.day
 AND (s.out_date IS NULL OR d.day < s.out_date)
WHERE NOT EXISTS (SELECT 1 FROM baostock.daily_bars b WHERE b.code = s.code AND b.date = d.day)
UNION ALL
-- Per-code ranges: a trading day of the code's listing in a synced range without its bar (of
-- that frequency; a day the daily bars show suspended has no minute bars), or a week or month
-- with trading days but no bar.
SELECT r.code, r.kind, c.day,
       CASE r.kind WHEN 'd' THEN 'bar' WHEN 'w' THEN 'weekly bar' WHEN 'm' THEN 'monthly bar' ELSE 'minute bars' END
FROM baostock.synced_ranges r
JOIN baostock.securities s ON s.code = r.code
JOIN baostock.trade_calendar c
  ON c.is_trading_day AND r.span @> c.day
 AND (s.ipo_date IS NULL OR c.day >= s.ipo_date) AND (s.out_date IS NULL OR c.day < s.out_date)
WHERE r.kind <> 'factors'
  AND CASE r.kind
      WHEN 'd' THEN NOT EXISTS (SELECT 1 FROM baostock.daily_bars b WHERE b.code = r.code AND b.date = c.day)
      WHEN 'w' THEN c.day = (SELECT min(c2.day) FROM baostock.trade_calendar c2
                             WHERE c2.is_trading_day AND r.span @> c2.day
                               AND date_trunc('week', c2.day) = date_trunc('week', c.day))
                AND NOT EXISTS (SELECT 1 FROM baostock.weekly_bars b
                                WHERE b.code = r.code AND b.period_start = date_trunc('week', c.day)::date)
      WHEN 'm' THEN c.day = (SELECT min(c2.day) FROM baostock.trade_calendar c2
                             WHERE c2.is_trading_day AND r.span @> c2.day
                               AND date_trunc('month', c2.day) = date_trunc('month', c.day))
                AND NOT EXISTS (SELECT 1 FROM baostock.monthly_bars b
                                WHERE b.code = r.code AND b.period_start = date_trunc('month', c.day)::date)
      ELSE NOT EXISTS (SELECT 1 FROM baostock.minute_bars b
                       WHERE b.code = r.code AND b.frequency = r.kind::smallint
                         AND b.time > c.day AND b.time < c.day + 1)
           AND NOT EXISTS (SELECT 1 FROM baostock.daily_bars b
                           WHERE b.code = r.code AND b.date = c.day AND NOT b.trade_status)
      END;
COMMENT ON VIEW baostock.gaps IS 'What is missing: trading days between the oldest and the newest synced day that are not synced (code NULL, missing = ''day not synced''); listed stocks or ETFs without a bar on a synced day (missing = ''bar''); and for each frequency a code was backfilled at, the days of its synced ranges without that bar (a week or month by its first trading day).';

CREATE VIEW baostock.jobs AS
SELECT j.job_id, j.state, j.start_date, j.end_date, j.codes, j.frequency,
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
COMMENT ON VIEW baostock.jobs IS 'Backfill jobs, newest first: state, units total / done / failed (days replanned per code count by their per-code units; failed: after the second pass), rows written, requests, bytes, times, rate in units per second, the ETA, and while paused why and until when.';

COMMENT ON FUNCTION baostock.sync_date(date, boolean) IS 'Syncs one trading day, or without a day every trading day after the newest synced one up to the latest (at most baostock.catchup_days), oldest first, each with its own run: every A-share''s and ETF''s daily bar and the day''s adjust factors. One row per day looked at. Skips non-trading days and days already synced unless force; not_available: the server has not published the day; incomplete: stocks or ETFs missing; neither is marked synced.';
COMMENT ON FUNCTION baostock.backfill(date, date, text[], text, boolean, boolean) IS 'Queues a backfill job for the background worker and returns its id at once: one unit per trading day not yet synced (all codes, frequency d), or per-code range units (codes given, or frequency w, m, 5, 15, 30, 60); with factors (the default), a factor history unit (the whole history, one request) for every code whose stored history does not reach end_date. Follow it with baostock.wait(job_id) or the baostock.jobs view.';
COMMENT ON FUNCTION baostock.plan(date, date, text[], text, boolean, boolean) IS 'What backfill() with the same arguments would do: units per kind, their days, estimated requests and seconds (no budget assumed), and the China days the requests take under baostock.daily_request_budget (NULL without a budget); queues nothing.';
COMMENT ON FUNCTION baostock.worker_status() IS 'Whether the library is preloaded, the background worker''s pid and last heartbeat (NULL when none runs), and the server sessions the cluster holds now (capped by baostock.max_sessions).';
COMMENT ON FUNCTION baostock.wait(bigint) IS 'Blocks until the job ends, with a progress NOTICE every 2 seconds; returns done, failed or cancelled. Cancelling the wait does not cancel the job.';
COMMENT ON FUNCTION baostock.cancel(bigint) IS 'Cancels a queued or running job; the worker stops between units within a second. Returns the job''s state.';
COMMENT ON FUNCTION baostock.sync_calendar(date, date) IS 'Syncs the trade calendar between two days (default: 1990-12-19 to today).';
COMMENT ON FUNCTION baostock.sync_index_constituents(date) IS 'Syncs the constituents of the CSI 300 (hs300), SSE 50 (sz50) and CSI 500 (zz500) on a day (default NULL: the latest lists) into baostock.index_constituents; a list replaces the stored list of its date. One row per index. sync_date refreshes them when the newest stored list is older than this week''s Monday.';
COMMENT ON FUNCTION baostock.sync_industries(date) IS 'Syncs every stock''s industry on a day (default NULL: the latest classification) into baostock.stock_industries. sync_date refreshes it when the newest is older than this week''s Monday.';
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
AS $$
DECLARE
    raised integer;
    h record;
BEGIN
    SELECT * INTO h FROM baostock.sync_health();
    CREATE TEMP TABLE IF NOT EXISTS baostock_conditions (
        severity text, kind text, key text, message text, job_id bigint, run_id bigint
    ) ON COMMIT DROP;
    TRUNCATE baostock_conditions;
    INSERT INTO baostock_conditions
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
    WHERE n >= 5;

    UPDATE baostock.alerts a SET cleared_at = now()
    WHERE a.cleared_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM baostock_conditions c WHERE c.kind = a.kind AND c.key = a.key);

    WITH new AS (
        INSERT INTO baostock.alerts (severity, kind, key, message, job_id, run_id)
        SELECT severity, kind, key, message, job_id, run_id FROM baostock_conditions
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
END
$$;
COMMENT ON FUNCTION baostock.schedule_daily(text[]) IS 'Creates (or replaces) one pg_cron job per China time, named baostock-daily-HHMM, that calls baostock.sync_date() in this database: evening times on trading weekdays (Monday to Friday, China), morning times (before 12:00) Tuesday to Saturday as a retry of the evening before; converted to pg_cron''s time zone (GMT for pg_cron 1.4, cron.timezone where it exists). Returns the jobs and their cron lines. Needs pg_cron in this database.';

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
    FOR id IN SELECT jobid FROM cron.job WHERE cron.job.jobname LIKE 'baostock-daily-%' LOOP
        PERFORM cron.unschedule(id);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION baostock.unschedule_daily() IS 'Removes the pg_cron jobs schedule_daily() created (named baostock-daily-*); returns how many.';

-- Reading is open; reaching the network or writing is for the owner and whom it grants.
GRANT USAGE ON SCHEMA baostock TO PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA baostock FROM PUBLIC;
GRANT SELECT ON baostock.health, baostock.runs, baostock.coverage, baostock.gaps, baostock.jobs TO PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_date(date, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_calendar(date, date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_securities() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_index_constituents(date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.sync_industries(date) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.backfill(date, date, text[], text, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.plan(date, date, text[], text, boolean, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.cancel(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.wait(bigint) TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.worker_status() TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.sync_health() TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.latest_trading_day() TO PUBLIC;

COMMENT ON FUNCTION baostock.retry(bigint) IS 'Queues the failed units of an ended job again (the job goes back to the queue and gets its own second pass); returns how many.';
COMMENT ON FUNCTION baostock.resume() IS 'Lifts a blacklist before baostock.blacklist_pause ends it and queues the jobs it paused; returns how many jobs.';
CREATE VIEW baostock.open_alerts AS
SELECT alert_id, raised_at, severity, kind, key, message, job_id, run_id, delivered_at, delivery_error
FROM baostock.alerts WHERE cleared_at IS NULL ORDER BY alert_id DESC;
COMMENT ON VIEW baostock.open_alerts IS 'Alerts whose condition still holds, newest first.';
REVOKE EXECUTE ON FUNCTION baostock.retry(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.resume() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.evaluate_alerts() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.schedule_daily(text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION baostock.unschedule_daily() FROM PUBLIC;
GRANT SELECT ON baostock.alerts, baostock.open_alerts TO PUBLIC;
GRANT EXECUTE ON FUNCTION baostock.stale_after() TO PUBLIC;

-- A role for those who read the data (analysts, dashboards): GRANT baostock_reader TO someone.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'baostock_reader') THEN
        CREATE ROLE baostock_reader NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA baostock TO baostock_reader;
GRANT SELECT ON baostock.daily_bars, baostock.weekly_bars, baostock.monthly_bars, baostock.minute_bars,
                baostock.adjust_factors, baostock.securities, baostock.trade_calendar,
                baostock.synced_days, baostock.synced_ranges, baostock.daily_bars_qfq, baostock.daily_bars_hfq,
                baostock.index_constituents, baostock.stock_industries
                TO baostock_reader;
GRANT EXECUTE ON FUNCTION baostock.adjusted_bars(text, date, date, text, text),
                          baostock.adjusted_bars_of(text, date, date, text, text),
                          baostock.factor_ranges(text, text) TO baostock_reader;
