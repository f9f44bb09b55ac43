//! Runtime controls (latency, faults, sessions and the daily request limit, overrides,
//! corporate actions, publication schedule, clock, start of all-market history) and the
//! counters. All methods take `&self` and may be called from any thread while serving.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use crate::market::{china_now, ActionError, CorporateAction, Market, QueryError};
use crate::publication::{Kind, Publication, Schedule};
use crate::EmulatorConfig;

/// Per-request delay: `base` (or the type's override) + a uniform jitter in `0..=jitter` +
/// `per_byte` × response bytes. Jitter is drawn from the seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyConfig {
    /// Delay of every request.
    pub base: Duration,
    /// Largest extra random delay.
    pub jitter: Duration,
    /// Transfer time a response byte, in nanoseconds.
    pub per_byte_ns: u64,
    /// Base delay by request type (`"35"` → 2 s), replacing `base`.
    pub per_type: BTreeMap<String, Duration>,
}

impl LatencyConfig {
    /// No delay at all (the default, for tests).
    pub fn fast() -> LatencyConfig {
        LatencyConfig::default()
    }

    /// About what users see from China: ~200 ms a request, ~2 s for `query_all_stock`, and
    /// 20 ns a byte (a 1 MB answer adds 20 ms).
    pub fn realistic() -> LatencyConfig {
        let mut per_type = BTreeMap::new();
        per_type.insert("35".to_owned(), Duration::from_millis(2_000));
        per_type.insert("95".to_owned(), Duration::from_millis(300));
        LatencyConfig {
            base: Duration::from_millis(180),
            jitter: Duration::from_millis(40),
            per_byte_ns: 20,
            per_type,
        }
    }

    /// A profile by name: `fast` or `realistic`.
    pub fn profile(name: &str) -> Option<LatencyConfig> {
        match name {
            "fast" => Some(Self::fast()),
            "realistic" => Some(Self::realistic()),
            _ => None,
        }
    }

    /// The delay of one answer.
    pub fn delay(&self, msg_type: &str, bytes: usize, draw: u64) -> Duration {
        let base = self.per_type.get(msg_type).copied().unwrap_or(self.base);
        let jitter_ns = u64::try_from(self.jitter.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if jitter_ns == 0 { 0 } else { draw % (jitter_ns + 1) };
        base.saturating_add(Duration::from_nanos(jitter))
            .saturating_add(Duration::from_nanos(self.per_byte_ns.saturating_mul(bytes as u64)))
    }
}

/// The ways an answer can go wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultMode {
    /// Close with SO_LINGER 0 (a TCP reset) instead of answering.
    Reset,
    /// Send the first half of the answer, then FIN.
    Fin,
    /// Never answer; keep the connection open until the client closes it.
    Silence,
    /// Send a frame with part of its body cut out (plain: the length no longer matches;
    /// compressed: the zlib stream ends early), connection kept open.
    Truncated,
    /// Corrupt the zlib stream of a compressed answer (for plain answers: a body byte, so the
    /// crc no longer matches).
    CorruptZlib,
    /// Answer with an `04` error frame (code `FaultConfig::error_code`) and forget the login.
    ErrorFrame,
    /// Send the answer in small chunks, `drip_chunk` bytes every `drip_interval`.
    SlowDrip,
    /// Answer success with no rows, as for a day not published (a well-formed but empty
    /// answer, which a client cannot tell from a real one).
    Empty,
}

impl FaultMode {
    /// Every mode.
    pub const ALL: [FaultMode; 8] = [
        FaultMode::Reset,
        FaultMode::Fin,
        FaultMode::Silence,
        FaultMode::Truncated,
        FaultMode::CorruptZlib,
        FaultMode::ErrorFrame,
        FaultMode::SlowDrip,
        FaultMode::Empty,
    ];

    /// The mode's name on the command line and the control port.
    pub fn name(self) -> &'static str {
        match self {
            FaultMode::Reset => "reset",
            FaultMode::Fin => "fin",
            FaultMode::Silence => "silence",
            FaultMode::Truncated => "truncated",
            FaultMode::CorruptZlib => "corrupt-zlib",
            FaultMode::ErrorFrame => "error-frame",
            FaultMode::SlowDrip => "slow-drip",
            FaultMode::Empty => "empty",
        }
    }
}

impl FromStr for FaultMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FaultMode::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown fault mode {s:?}"))
    }
}

/// A fault for the `nth` (1-based) request of a type, e.g. the 3rd `98` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptedFault {
    /// Request type, e.g. `"98"`.
    pub msg_type: String,
    /// Which request of that type (1-based, counted since start or the last counter reset).
    pub nth: u64,
    /// What to do to it.
    pub mode: FaultMode,
}

impl FromStr for ScriptedFault {
    type Err = String;
    /// `TYPE:NTH:MODE`, e.g. `98:3:reset`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut p = s.split(':');
        let (Some(t), Some(n), Some(m), None) = (p.next(), p.next(), p.next(), p.next()) else {
            return Err(format!("expected TYPE:NTH:MODE, got {s:?}"));
        };
        Ok(ScriptedFault {
            msg_type: t.to_owned(),
            nth: n.parse().map_err(|_| format!("bad request number {n:?}"))?,
            mode: m.parse()?,
        })
    }
}

/// Fault injection settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultConfig {
    /// Probability of each mode per request, in parts per million; drawn from the seed and
    /// the request's sequence number. Logins and logouts are never hit by random faults.
    pub rates: BTreeMap<FaultMode, u32>,
    /// Faults for given requests.
    pub script: Vec<ScriptedFault>,
    /// Close connections that sent nothing for this long.
    pub idle_timeout: Option<Duration>,
    /// Error code of `error-frame` faults (default `10001001`, not logged in).
    pub error_code: String,
    /// Bytes a chunk for `slow-drip`.
    pub drip_chunk: usize,
    /// Pause between chunks for `slow-drip`.
    pub drip_interval: Duration,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rates: BTreeMap::new(),
            script: Vec::new(),
            idle_timeout: None,
            error_code: "10001001".to_owned(),
            drip_chunk: 64,
            drip_interval: Duration::from_millis(5),
        }
    }
}

/// Limits on logged-in sessions and on requests per client address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionConfig {
    /// Most concurrent logged-in sessions from one IP; `None` for no limit. A login beyond it
    /// is answered `10001005`.
    pub max_per_ip: Option<usize>,
    /// When set, a login beyond the limit blacklists the IP for this long instead: every
    /// request from it is answered `10001011` until the period ends.
    pub blacklist_for: Option<Duration>,
    /// Most requests (of every type, logins and logouts included) one IP may make in one
    /// emulator China day (the date of [`Controls::now`]); `None` for no limit. The request
    /// that passes it, and every later one, is answered `10001011` and the IP is blacklisted
    /// for `blacklist_for` (24 hours when that is `None`). The count restarts when the
    /// emulator's day changes, and on [`Controls::clear_blacklist`].
    pub daily_limit: Option<u64>,
}

/// How long a daily-limit blacklisting lasts when `SessionConfig::blacklist_for` is `None`.
pub const DAILY_LIMIT_BLACKLIST: Duration = Duration::from_secs(24 * 3600);

/// The emulator's clock: the real China time, or a set time, frozen or running on from the
/// moment it was set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The real clock, in China time.
    Real,
    /// This China time, always.
    Frozen(NaiveDateTime),
    /// This China time at `since`, advancing with real time from then on.
    Running {
        /// The China time the clock was set to.
        at: NaiveDateTime,
        /// When it was set.
        since: Instant,
    },
}

impl Clock {
    /// The China time the clock shows now.
    pub fn now(&self) -> NaiveDateTime {
        match *self {
            Clock::Real => china_now(),
            Clock::Frozen(t) => t,
            Clock::Running { at, since } => {
                at + chrono::Duration::from_std(since.elapsed()).unwrap_or(chrono::Duration::MAX)
            }
        }
    }

    /// `real`, `frozen` or `running`.
    pub fn mode(&self) -> &'static str {
        match self {
            Clock::Real => "real",
            Clock::Frozen(_) => "frozen",
            Clock::Running { .. } => "running",
        }
    }
}

/// A snapshot of the counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Requests received, by request type (`"00"`, `"95"`, `"98"`, …).
    pub requests_by_type: BTreeMap<String, u64>,
    /// Response bytes sent, by request type.
    pub bytes_by_type: BTreeMap<String, u64>,
    /// Successful logins.
    pub sessions_total: u64,
    /// Logged-in sessions now.
    pub sessions_active: u64,
    /// Most logged-in sessions at once.
    pub peak_sessions: u64,
    /// Faults injected.
    pub faults_injected: u64,
    /// Faults injected, by mode name (plus `idle-drop`).
    pub faults_by_mode: BTreeMap<String, u64>,
    /// Logins refused for the session limit or a blacklist.
    pub logins_refused: u64,
    /// TCP connections accepted.
    pub connections: u64,
}

impl Counters {
    /// Requests of every type.
    pub fn total_requests(&self) -> u64 {
        self.requests_by_type.values().sum()
    }

    /// Requests of one type.
    pub fn requests(&self, msg_type: &str) -> u64 {
        self.requests_by_type.get(msg_type).copied().unwrap_or(0)
    }

    /// The counters as a JSON object.
    pub fn to_json(&self) -> String {
        let map = |m: &BTreeMap<String, u64>| {
            let items: Vec<String> = m.iter().map(|(k, v)| format!("\"{}\":{v}", json_escape(k))).collect();
            format!("{{{}}}", items.join(","))
        };
        format!(
            "{{\"requests_by_type\":{},\"bytes_by_type\":{},\"total_requests\":{},\"sessions_total\":{},\"sessions_active\":{},\"peak_sessions\":{},\"faults_injected\":{},\"faults_by_mode\":{},\"logins_refused\":{},\"connections\":{}}}",
            map(&self.requests_by_type),
            map(&self.bytes_by_type),
            self.total_requests(),
            self.sessions_total,
            self.sessions_active,
            self.peak_sessions,
            self.faults_injected,
            map(&self.faults_by_mode),
            self.logins_refused,
            self.connections
        )
    }
}

/// Escapes a string for a JSON string literal.
pub fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

pub(crate) struct State {
    pub(crate) latency: LatencyConfig,
    pub(crate) faults: FaultConfig,
    pub(crate) sessions: SessionConfig,
    pub(crate) publication: Schedule,
    pub(crate) clock: Clock,
    pub(crate) all_market_start: Option<NaiveDate>,
    pub(crate) counters: Counters,
    /// Requests seen by type since the last reset (for scripted faults).
    pub(crate) seen: HashMap<String, u64>,
    /// Sequence number of every request (for random draws).
    pub(crate) sequence: u64,
    pub(crate) active_by_ip: HashMap<IpAddr, usize>,
    pub(crate) blacklist: HashMap<IpAddr, Instant>,
    /// The emulator day `requests_today` counts.
    pub(crate) day: Option<NaiveDate>,
    /// Requests by IP on `day`.
    pub(crate) requests_today: BTreeMap<IpAddr, u64>,
}

/// Runtime controls of a running emulator.
pub struct Controls {
    market: Arc<Market>,
    state: Mutex<State>,
}

impl Controls {
    pub(crate) fn new(market: Arc<Market>, cfg: &EmulatorConfig) -> Controls {
        Controls {
            market,
            state: Mutex::new(State {
                latency: cfg.latency.clone(),
                faults: cfg.faults.clone(),
                sessions: cfg.sessions.clone(),
                publication: cfg.schedule(),
                clock: match cfg.clock {
                    None => Clock::Real,
                    Some(t) if cfg.clock_running => Clock::Running {
                        at: t,
                        since: Instant::now(),
                    },
                    Some(t) => Clock::Frozen(t),
                },
                all_market_start: cfg.all_market_start,
                counters: Counters::default(),
                seen: HashMap::new(),
                sequence: 0,
                active_by_ip: HashMap::new(),
                blacklist: HashMap::new(),
                day: None,
                requests_today: BTreeMap::new(),
            }),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the latency model.
    pub fn set_latency(&self, latency: LatencyConfig) {
        self.lock().latency = latency;
    }

    /// The latency model in force.
    pub fn latency(&self) -> LatencyConfig {
        self.lock().latency.clone()
    }

    /// Replaces the fault settings.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.lock().faults = faults;
    }

    /// The fault settings in force.
    pub fn faults(&self) -> FaultConfig {
        self.lock().faults.clone()
    }

    /// Replaces the session limits (sessions already logged in are kept).
    pub fn set_sessions(&self, sessions: SessionConfig) {
        self.lock().sessions = sessions;
    }

    /// The session limits in force.
    pub fn sessions(&self) -> SessionConfig {
        self.lock().sessions.clone()
    }

    /// Lifts every blacklisting, and forgets the day's request counts of the daily limit (so
    /// an address blacklisted for it gets its whole allowance back).
    pub fn clear_blacklist(&self) {
        let mut s = self.lock();
        s.blacklist.clear();
        s.requests_today.clear();
    }

    /// Requests by client IP on the emulator's current day (what the daily limit counts).
    pub fn requests_today(&self) -> BTreeMap<IpAddr, u64> {
        let today = self.now().date();
        let s = self.lock();
        if s.day == Some(today) {
            s.requests_today.clone()
        } else {
            BTreeMap::new()
        }
    }

    /// Counts one request from `ip` against the daily limit; `true` when it passes the limit,
    /// in which case the IP is blacklisted too (unless it already is).
    pub(crate) fn count_daily_request(&self, ip: IpAddr) -> bool {
        let today = self.now().date();
        let mut s = self.lock();
        if s.day != Some(today) {
            s.day = Some(today);
            s.requests_today.clear();
        }
        let n = {
            let n = s.requests_today.entry(ip).or_default();
            *n += 1;
            *n
        };
        let Some(limit) = s.sessions.daily_limit else {
            return false;
        };
        if n <= limit {
            return false;
        }
        let period = s.sessions.blacklist_for.unwrap_or(DAILY_LIMIT_BLACKLIST);
        let now = Instant::now();
        match s.blacklist.get(&ip) {
            Some(until) if *until > now => {}
            _ => {
                s.blacklist.insert(ip, now + period);
            }
        }
        true
    }

    /// Replaces one cell of one daily bar (`field` one of the 18 daily fields) in every 95
    /// (frequency d, any adjust flag), 98 and 9A answer carrying that bar.
    pub fn override_bar(&self, code: &str, date: NaiveDate, field: &str, value: &str) -> Result<(), QueryError> {
        self.market.override_bar(code, date, field, value)
    }

    /// Removes every bar override.
    pub fn clear_overrides(&self) {
        self.market.clear_overrides()
    }

    /// Adds a dividend or split of `code` at the open of `date` (price ratio before / after in
    /// ppm) to every answer, as if it had always been in the market: 15 and 9C carry its
    /// factor row, bars from `date` on move, forward-adjusted history changes, raw and
    /// back-adjusted bars before `date` do not (see [`Market::add_corporate_action`]).
    pub fn add_corporate_action(&self, code: &str, date: NaiveDate, ratio_ppm: i64) -> Result<(), ActionError> {
        self.market.add_corporate_action(code, date, ratio_ppm)
    }

    /// Removes every corporate action added at run time.
    pub fn clear_corporate_actions(&self) {
        self.market.clear_corporate_actions()
    }

    /// The corporate actions added at run time.
    pub fn corporate_actions(&self) -> Vec<CorporateAction> {
        self.market.corporate_actions()
    }

    /// Replaces the publication schedule ([`Schedule::official`], [`Schedule::always`], or
    /// one built hour by hour).
    pub fn set_publication(&self, schedule: Schedule) {
        self.lock().publication = schedule;
    }

    /// The publication schedule in force.
    pub fn publication(&self) -> Schedule {
        self.lock().publication
    }

    /// Sets the China time of day `kind` is published at on its release day (`None`: a day's
    /// rows are there from the start of that day); the other kinds and the floors stay.
    pub fn set_publish_kind(&self, kind: Kind, hour: Option<NaiveTime>) {
        self.lock().publication.set_hour(kind, hour);
    }

    /// The daily kind's hour: [`Controls::set_publish_kind`]`(Kind::Daily, t)`. Before it, 98
    /// and 9A answer no rows for that day and 95 at frequency `d` leaves the day out; `None`
    /// publishes a day's daily bars from its start (never a day after the clock's date).
    pub fn set_publish_time(&self, t: Option<NaiveTime>) {
        self.set_publish_kind(Kind::Daily, t);
    }

    /// The daily kind's hour in force.
    pub fn publish_time(&self) -> Option<NaiveTime> {
        self.lock().publication.hour(Kind::Daily)
    }

    /// Fixes the China time the emulator believes it is, frozen there (`None`: the real
    /// clock). Publication follows it; days after the clock's date are the future, never
    /// published.
    pub fn set_clock(&self, t: Option<NaiveDateTime>) {
        self.lock().clock = t.map_or(Clock::Real, Clock::Frozen);
    }

    /// Sets the China time to `t` and lets it run on with real time from now: publication,
    /// the future and the login and logout reply times follow it, and the day changes at
    /// its midnight.
    pub fn set_clock_running(&self, t: NaiveDateTime) {
        self.set_clock_mode(Clock::Running {
            at: t,
            since: Instant::now(),
        });
    }

    /// Sets the clock (real, frozen or running).
    pub fn set_clock_mode(&self, clock: Clock) {
        self.lock().clock = clock;
    }

    /// The clock in force.
    pub fn clock(&self) -> Clock {
        self.lock().clock
    }

    /// The China time the emulator believes it is.
    pub fn now(&self) -> NaiveDateTime {
        let clock = self.lock().clock;
        clock.now()
    }

    /// Whether the rows of `day` for `kind` are published at the emulator's current time (the
    /// floors aside: see [`Schedule::floor`]).
    pub fn is_published(&self, kind: Kind, day: NaiveDate) -> bool {
        self.current_publication().is_published(kind, day)
    }

    /// The last day whose rows for `kind` are published at the emulator's current time (at
    /// most the clock's date; see [`Schedule::last_published`]).
    pub fn last_published(&self, kind: Kind) -> NaiveDate {
        self.current_publication().last_published(kind)
    }

    /// What a query is answered under now: the clock's time, the schedule and the all-market
    /// start.
    pub fn current_publication(&self) -> Publication {
        let s = self.lock();
        Publication {
            now: s.clock.now(),
            schedule: s.publication,
            all_market_start: s.all_market_start,
        }
    }

    /// Sets the first day of all-market history (`None`: every day has it). For a day before
    /// it, 98/9A/9C answer success with no rows, as on a non-trading day, while 95 and 15
    /// still answer normally for that day (the real server may lack all-market history for
    /// old days). Publication applies on top of it.
    pub fn set_all_market_start(&self, d: Option<NaiveDate>) {
        self.lock().all_market_start = d;
    }

    /// The first day of all-market history in force.
    pub fn all_market_start(&self) -> Option<NaiveDate> {
        self.lock().all_market_start
    }

    /// A snapshot of the counters.
    pub fn counters(&self) -> Counters {
        self.lock().counters.clone()
    }

    /// Zeroes the counters and the per-type request numbers of scripted faults; active
    /// sessions stay counted as active (and as the new peak).
    pub fn reset_counters(&self) {
        let mut s = self.lock();
        let active = s.counters.sessions_active;
        s.counters = Counters {
            sessions_active: active,
            peak_sessions: active,
            ..Counters::default()
        };
        s.seen.clear();
    }
}
