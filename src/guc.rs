//! Every `baostock.*` setting, in one place. The README's settings table mirrors this file.

use std::ffi::{CStr, CString};
use std::time::Duration;

use pgrx::{GucContext, GucFlags, GucRegistry, GucSetting};

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

/// Registers the settings; called once from `_PG_init`.
pub fn register() {
    let text = |name: &'static CStr, short: &'static CStr, long: &'static CStr, s, ctx, flags| {
        GucRegistry::define_string_guc(name, short, long, s, ctx, flags)
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

/// The client configuration the settings describe.
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
