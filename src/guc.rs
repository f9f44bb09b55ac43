//! Every `baostock.*` setting, in one place. The settings chapter of the manual (docs/src/settings.md) mirrors this file.

use std::ffi::{CStr, CString};
use std::time::Duration;

use pgrx::{pg_guard, pg_sys, GucContext, GucFlags, GucRegistry, GucSetting};

pub static HOST: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"public-api.baostock.com"));
pub static PORT: GucSetting<i32> = GucSetting::<i32>::new(10030);
pub static USER: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"anonymous"));
pub static PASSWORD: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"123456"));
pub static API_KEY: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static CLIENT_VERSION: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"00.9.40"));
pub static CONNECT_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(10_000);
pub static READ_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(30_000);
pub static REQUEST_TIMEOUT_MS: GucSetting<i32> = GucSetting::<i32>::new(120_000);
pub static MAX_SESSIONS: GucSetting<i32> = GucSetting::<i32>::new(2);
pub static MIN_REQUEST_INTERVAL_MS: GucSetting<i32> = GucSetting::<i32>::new(0);
pub static RETRIES: GucSetting<i32> = GucSetting::<i32>::new(3);
pub static BATCH_ROWS: GucSetting<i32> = GucSetting::<i32>::new(5000);
pub static CATCHUP_DAYS: GucSetting<i32> = GucSetting::<i32>::new(30);
pub static WORKER_DATABASE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"postgres"));
pub static CREDENTIALS_FILE: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static DAILY_REQUEST_BUDGET: GucSetting<i32> = GucSetting::<i32>::new(40_000);
pub static BLACKLIST_PAUSE_S: GucSetting<i32> = GucSetting::<i32>::new(86_400);
pub static RETRY_PAUSE_S: GucSetting<i32> = GucSetting::<i32>::new(60);
pub static REPORT_PICKUP: GucSetting<i32> = GucSetting::<i32>::new(300);
pub static STALE_AFTER_MIN: GucSetting<i32> = GucSetting::<i32>::new(900);
pub static RETENTION_DAYS: GucSetting<i32> = GucSetting::<i32>::new(90);
pub static ALERT_WEBHOOK: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static COLUMNAR_AFTER: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(None);
pub static MINUTE_HISTORY_START: GucSetting<Option<CString>> = GucSetting::<Option<CString>>::new(Some(c"2020-01-03"));

/// Refuses a value with a control character: `\x01` separates request fields and `\n` ends
/// a frame, so one in a credential or the host would reframe the login. The message names
/// the rule, never the value.
#[pg_guard]
unsafe extern "C-unwind" fn no_control_chars(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: Postgres passes a valid pointer to the proposed value (NULL for none).
    let value = unsafe { newval.as_ref().filter(|p| !p.is_null()).map(|p| CStr::from_ptr(*p)) };
    let bad = value.is_some_and(|v| v.to_bytes().iter().any(|b| b.is_ascii_control()));
    if bad {
        // SAFETY: the detail is copied by the GUC machinery; pstrdup allocates in the current context.
        unsafe {
            pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE as i32);
            pg_sys::GUC_check_errdetail_string =
                pg_sys::pstrdup(c"The value contains a control character (such as \\x01 or a newline), which would break the request framing.".as_ptr());
        }
    }
    !bad
}

/// Refuses a value that is not a date `YYYY-MM-DD` from 1990-12-19 on.
#[pg_guard]
unsafe extern "C-unwind" fn a_date(
    newval: *mut *mut std::ffi::c_char,
    _extra: *mut *mut std::ffi::c_void,
    _source: pg_sys::GucSource::Type,
) -> bool {
    // SAFETY: Postgres passes a valid pointer to the proposed value (NULL for none).
    let value = unsafe { newval.as_ref().filter(|p| !p.is_null()).map(|p| CStr::from_ptr(*p)) };
    let good = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| baostock::value::parse_date(v.trim()).ok())
        .is_some_and(|d| d >= pg_baostock_core::FIRST_TRADING_DAY);
    if !good {
        // SAFETY: the detail is copied by the GUC machinery; pstrdup allocates in the current context.
        unsafe {
            pg_sys::GUC_check_errcode(pgrx::PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE as i32);
            pg_sys::GUC_check_errdetail_string =
                pg_sys::pstrdup(c"The value must be a date YYYY-MM-DD from 1990-12-19 on.".as_ptr());
        }
    }
    good
}

/// Registers the settings; called once from `_PG_init`.
pub fn register() {
    let text = |name: &'static CStr, short: &'static CStr, long: &'static CStr, s, ctx, flags| {
        // SAFETY: the hook is a plain check of the proposed value.
        unsafe {
            GucRegistry::define_string_guc_with_hooks(
                name,
                short,
                long,
                s,
                ctx,
                flags,
                Some(no_control_chars),
                None,
                None,
            )
        }
    };
    let int = |name: &'static CStr, short: &'static CStr, s, min, max, ctx, flags| {
        GucRegistry::define_int_guc(name, short, c"", s, min, max, ctx, flags)
    };
    text(
        c"baostock.host",
        c"Baostock server host name or address.",
        c"public-api.baostock.com for the public service; 127.0.0.1 for the emulator.",
        &HOST,
        GucContext::Suset,
        GucFlags::default(),
    );
    int(
        c"baostock.port",
        c"Baostock server TCP port.",
        &PORT,
        1,
        65535,
        GucContext::Suset,
        GucFlags::default(),
    );
    text(
        c"baostock.user",
        c"Baostock user id.",
        c"",
        &USER,
        GucContext::Suset,
        GucFlags::default(),
    );
    text(
        c"baostock.password",
        c"Baostock password.",
        c"Readable by superusers only; never printed in errors, logs or views.",
        &PASSWORD,
        GucContext::Suset,
        GucFlags::SUPERUSER_ONLY | GucFlags::NO_SHOW_ALL,
    );
    text(
        c"baostock.api_key",
        c"Baostock API key, sent as the login options field (empty: none).",
        c"Readable by superusers only; never printed in errors, logs or views.",
        &API_KEY,
        GucContext::Suset,
        GucFlags::SUPERUSER_ONLY | GucFlags::NO_SHOW_ALL,
    );
    text(
        c"baostock.client_version",
        c"Seven-character client version sent in every request header.",
        c"",
        &CLIENT_VERSION,
        GucContext::Suset,
        GucFlags::default(),
    );
    let ms = GucFlags::UNIT_MS;
    int(
        c"baostock.connect_timeout",
        c"Longest wait for a TCP connection.",
        &CONNECT_TIMEOUT_MS,
        1,
        3_600_000,
        GucContext::Suset,
        ms,
    );
    int(
        c"baostock.read_timeout",
        c"Longest silence while reading a response.",
        &READ_TIMEOUT_MS,
        1,
        3_600_000,
        GucContext::Suset,
        ms,
    );
    int(
        c"baostock.request_timeout",
        c"Longest time for one request, reconnect and login included.",
        &REQUEST_TIMEOUT_MS,
        1,
        3_600_000,
        GucContext::Suset,
        ms,
    );
    int(
        c"baostock.max_sessions",
        c"Most concurrent server sessions one backend opens (the server blacklists at about 8).",
        &MAX_SESSIONS,
        1,
        6,
        GucContext::Suset,
        GucFlags::default(),
    );
    int(
        c"baostock.min_request_interval",
        c"Least time between two requests of one session.",
        &MIN_REQUEST_INTERVAL_MS,
        0,
        60_000,
        GucContext::Suset,
        ms,
    );
    int(
        c"baostock.retries",
        c"Further attempts after a transient network error.",
        &RETRIES,
        0,
        10,
        GucContext::Suset,
        GucFlags::default(),
    );
    int(
        c"baostock.batch_rows",
        c"Rows written by one upsert statement.",
        &BATCH_ROWS,
        1,
        100_000,
        GucContext::Userset,
        GucFlags::default(),
    );
    int(
        c"baostock.catchup_days",
        c"Most trading days one sync_date() call catches up; older holes are left to backfill().",
        &CATCHUP_DAYS,
        1,
        1000,
        GucContext::Userset,
        GucFlags::default(),
    );
    text(
        c"baostock.worker_database",
        c"Database the background worker connects to.",
        c"",
        &WORKER_DATABASE,
        GucContext::Sighup,
        GucFlags::default(),
    );
    text(
        c"baostock.credentials_file",
        c"File with the Baostock user, password and api_key (lines key=value); overrides those settings.",
        c"Keeps credentials out of ALTER SYSTEM, the server log and pg_stat_statements. The file must belong to the server's user and not be readable by group or others.",
        &CREDENTIALS_FILE,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    int(
        c"baostock.daily_request_budget",
        c"Most requests the whole cluster sends the server per China day (0: no budget); backfills stop 5% short of it.",
        &DAILY_REQUEST_BUDGET,
        0,
        10_000_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    int(
        c"baostock.report_pickup",
        c"Most report requests the evening's tracking job adds for tracked codes' reports not yet published (0: none).",
        &REPORT_PICKUP,
        0,
        1_000_000,
        GucContext::Sighup,
        GucFlags::default(),
    );
    let s = GucFlags::UNIT_S;
    int(
        c"baostock.blacklist_pause",
        c"How long a blacklist answer (10001011) stops every request; baostock.resume() lifts it early.",
        &BLACKLIST_PAUSE_S,
        1,
        30 * 86_400,
        GucContext::Sighup,
        s,
    );
    int(
        c"baostock.retry_pause",
        c"Pause before a backfill's second pass over the units that failed.",
        &RETRY_PAUSE_S,
        0,
        86_400,
        GucContext::Sighup,
        s,
    );
    int(
        c"baostock.stale_after",
        c"How long after a trading day's publication (18:00 China) it may stay unsynced before health is stale.",
        &STALE_AFTER_MIN,
        1,
        30 * 1440,
        GucContext::Sighup,
        GucFlags::UNIT_MIN,
    );
    int(
        c"baostock.retention",
        c"Days the run history, finished jobs and cleared alerts are kept.",
        &RETENTION_DAYS,
        1,
        36_500,
        GucContext::Sighup,
        GucFlags::default(),
    );
    text(
        c"baostock.alert_webhook",
        c"http:// URL the worker POSTs each new alert to as JSON (empty: none).",
        c"",
        &ALERT_WEBHOOK,
        GucContext::Sighup,
        GucFlags::SUPERUSER_ONLY,
    );
    text(
        c"baostock.columnar_after",
        c"Age (an interval, e.g. 3 months) after its end at which the worker stores a month of minute bars columnar (empty: never).",
        c"Needs Citus columnar (CREATE EXTENSION citus or citus_columnar); a write into a columnar month converts it back to heap first.",
        &COLUMNAR_AFTER,
        GucContext::Sighup,
        GucFlags::default(),
    );
    // SAFETY: the hook is a plain check of the proposed value.
    unsafe {
        GucRegistry::define_string_guc_with_hooks(
            c"baostock.minute_history_start",
            c"The first day the server has minute bars of (its documentation: 2020-01-03, about five years back).",
            c"plan() and backfill() ask for no 5/15/30/60-minute bars before it (a NOTICE says what was left out).",
            &MINUTE_HISTORY_START,
            GucContext::Sighup,
            GucFlags::default(),
            Some(a_date),
            None,
            None,
        )
    };
    // A misspelt baostock.* setting is an error, not a silently ignored placeholder.
    // SAFETY: called from _PG_init, as Postgres requires.
    unsafe { pgrx::pg_sys::MarkGUCPrefixReserved(c"baostock".as_ptr()) };
}

fn text_of(s: &GucSetting<Option<CString>>) -> String {
    s.get().map(|c| c.to_string_lossy().into_owned()).unwrap_or_default()
}

fn ms(s: &GucSetting<i32>) -> Duration {
    Duration::from_millis(u64::try_from(s.get()).unwrap_or(0))
}

/// The client configuration the settings describe (credentials from
/// `baostock.credentials_file` when it is set; see `credentials`).
pub fn client_config() -> baostock::client::Config {
    let api_key = text_of(&API_KEY);
    baostock::client::Config {
        host: text_of(&HOST),
        port: u16::try_from(PORT.get()).unwrap_or(10030),
        user: text_of(&USER),
        password: text_of(&PASSWORD),
        api_key: (!api_key.is_empty()).then_some(api_key),
        client_version: text_of(&CLIENT_VERSION),
        connect_timeout: ms(&CONNECT_TIMEOUT_MS),
        read_timeout: ms(&READ_TIMEOUT_MS),
        request_timeout: ms(&REQUEST_TIMEOUT_MS),
        max_sessions: usize::try_from(MAX_SESSIONS.get()).unwrap_or(1),
        min_interval: ms(&MIN_REQUEST_INTERVAL_MS),
        retries: u32::try_from(RETRIES.get()).unwrap_or(0),
        ..baostock::client::Config::default()
    }
}

/// Most trading days a `sync_date()` catch-up syncs.
pub fn catchup_days() -> usize {
    usize::try_from(CATCHUP_DAYS.get()).unwrap_or(30).max(1)
}

/// The database the worker connects to.
pub fn worker_database() -> String {
    text_of(&WORKER_DATABASE)
}

/// Rows a single upsert statement writes.
pub fn batch_rows() -> usize {
    usize::try_from(BATCH_ROWS.get()).unwrap_or(5000).max(1)
}

/// The credentials file, if one is set.
pub fn credentials_file() -> Option<String> {
    Some(text_of(&CREDENTIALS_FILE)).filter(|s| !s.is_empty())
}

/// The cluster's request budget per China day (0: none).
pub fn daily_request_budget() -> u64 {
    u64::try_from(DAILY_REQUEST_BUDGET.get()).unwrap_or(0)
}

/// How long a blacklist answer stops every request, in milliseconds.
pub fn blacklist_pause_ms() -> i64 {
    i64::from(BLACKLIST_PAUSE_S.get()) * 1000
}

/// The pause before a second pass.
/// Most report units the evening's tracking job adds.
pub fn report_pickup() -> usize {
    usize::try_from(REPORT_PICKUP.get()).unwrap_or(0)
}

pub fn retry_pause() -> Duration {
    Duration::from_secs(u64::try_from(RETRY_PAUSE_S.get()).unwrap_or(60))
}

/// Days of history kept.
pub fn retention_days() -> i32 {
    RETENTION_DAYS.get()
}

/// How long after its end a month of minute bars goes columnar (an interval, as set), if at all.
pub fn columnar_after() -> Option<String> {
    Some(text_of(&COLUMNAR_AFTER)).filter(|s| !s.trim().is_empty())
}

/// The first day of the server's minute bars (`baostock.minute_history_start`).
pub fn minute_history_start() -> chrono::NaiveDate {
    baostock::value::parse_date(text_of(&MINUTE_HISTORY_START).trim())
        .unwrap_or(pg_baostock_core::publication::MINUTE_HISTORY_START)
}

/// The alert webhook URL, if one is set.
pub fn alert_webhook() -> Option<String> {
    Some(text_of(&ALERT_WEBHOOK)).filter(|s| !s.is_empty())
}
