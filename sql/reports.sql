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
