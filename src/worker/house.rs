//! The worker's housekeeping, each part at its own pace: settings reloaded, the shared server
//! state written down, alerts evaluated and handed to the courier, old months of minute bars
//! stored columnar, and once a China day the calendar brought up to date and old history pruned.

use std::time::Instant;

use pgrx::bgworkers::BackgroundWorker;
use pgrx::pg_sys;
use pgrx::prelude::*;

use super::{xact, ALERTS_EVERY, DAILY_TRY_EVERY, SAVE_EVERY, TYPE};
use crate::store::server;
use crate::{guc, shmem, store};

/// The worker's housekeeping, each part at its own pace.
pub(super) struct House {
    database: String,
    saved: Option<shmem::ServerState>,
    last_save: Instant,
    last_alerts: Instant,
    last_daily: Option<Instant>,
    /// Whether the database's extension version was this library's at the last look.
    schema_ok: bool,
    /// Why the worker waits, as the log was last told it.
    told: Option<String>,
    /// Posts alerts to the webhook on a thread of its own (started with the first).
    courier: Option<crate::webhook::Courier>,
    backoff: crate::webhook::Backoff,
}

impl House {
    pub(super) fn new(database: String) -> House {
        let long_ago = Instant::now() - ALERTS_EVERY * 10;
        House {
            database,
            saved: None,
            last_save: long_ago,
            last_alerts: long_ago,
            last_daily: None,
            schema_ok: false,
            told: None,
            courier: None,
            backoff: Default::default(),
        }
    }

    /// Does whatever is due: reload the settings, write the server state down, evaluate and
    /// deliver alerts, and once a China day bring the calendar up to date and prune.
    pub(super) fn tick(&mut self) {
        self.reload();
        if self.last_save.elapsed() >= SAVE_EVERY {
            self.save();
        }
        self.record_deliveries();
        if self.last_alerts.elapsed() >= ALERTS_EVERY {
            self.last_alerts = Instant::now();
            self.alerts();
        }
        if self.last_daily.is_none_or(|t| t.elapsed() >= DAILY_TRY_EVERY) {
            self.last_daily = Some(Instant::now());
            self.daily();
        }
    }

    /// Whether the database holds the SQL of this library's version; while not (before
    /// `CREATE EXTENSION`, or between a new library and `ALTER EXTENSION pg_baostock UPDATE`) the
    /// worker waits, and says why once in the log.
    pub(super) fn schema_current(&mut self) -> bool {
        let ready = xact(store::require_current_schema);
        self.schema_ok = ready.is_ok();
        match ready {
            Ok(()) => self.told = None,
            Err(e) => {
                let why = match e.hint() {
                    Some(hint) => format!("{e} ({hint})"),
                    None => e.to_string(),
                };
                if self.told.as_ref() != Some(&why) {
                    log!("{TYPE}: waiting in database {:?}: {why}", self.database);
                    self.told = Some(why);
                }
            }
        }
        self.schema_ok
    }

    /// Rereads the settings after a SIGHUP; a new `baostock.worker_database` restarts the worker.
    pub(super) fn reload(&mut self) {
        if !BackgroundWorker::sighup_received() {
            return;
        }
        // SAFETY: what every process does on SIGHUP, outside a transaction.
        unsafe { pg_sys::ProcessConfigFile(pg_sys::GucContext::PGC_SIGHUP) };
        if let Err(e) = xact(store::settings_from_server_configuration) {
            warning!(
                "{TYPE}: cannot set its settings from the server's configuration: {}",
                e.text()
            );
        }
        if guc::worker_database() != self.database {
            log!("{TYPE}: baostock.worker_database changed; restarting to connect there");
            self.save();
            // SAFETY: exit code 1 makes the postmaster restart the worker.
            unsafe { pg_sys::proc_exit(1) };
        }
    }

    /// Writes the shared server state to `baostock.server_state` when it changed (never into a
    /// database whose schema is not this library's).
    pub(super) fn save(&mut self) {
        self.last_save = Instant::now();
        if !self.schema_ok {
            return;
        }
        let Some(now) = shmem::server_state() else { return };
        if self.saved == Some(now) {
            return;
        }
        match xact(|| server::save(&now)) {
            Ok(()) => self.saved = Some(now),
            Err(e) => warning!("{TYPE}: cannot save the server state: {}", e.text()),
        }
    }

    /// Raises and clears alerts, hands the undelivered ones whose pause is over to the courier
    /// (which posts them on its own thread), and records the deliveries it finished.
    fn alerts(&mut self) {
        let webhook = guc::alert_webhook();
        let pending = match xact(|| server::evaluate_alerts(webhook.is_some())) {
            Ok(p) => p,
            Err(e) => return warning!("{TYPE}: cannot evaluate alerts: {}", e.text()),
        };
        let Some(url) = webhook else { return };
        let now = Instant::now();
        self.backoff
            .keep_only(&pending.iter().map(|a| a.id).collect::<Vec<_>>());
        for alert in pending {
            if self.backoff.take(alert.id, now) {
                let courier = self.courier.get_or_insert_with(crate::webhook::Courier::start);
                courier.send(crate::webhook::Parcel {
                    id: alert.id,
                    url: url.clone(),
                    json: alert.json,
                });
            }
        }
    }

    /// Writes down what became of the deliveries the courier finished.
    fn record_deliveries(&mut self) {
        let Some(courier) = &self.courier else { return };
        for (id, result) in courier.delivered() {
            self.backoff.ended(id, result.is_ok(), Instant::now());
            let error = result.err();
            if let Some(e) = &error {
                warning!("{TYPE}: alert {id} not delivered: {e}");
            }
            if let Err(e) = xact(|| server::set_delivered(id, error.as_deref())) {
                warning!("{TYPE}: alert {id}: {}", e.text());
            }
        }
    }

    /// Every try (10 minutes), the months of minute bars due to go columnar; once a China day,
    /// the calendar through today (so health knows which day is due even when no sync runs),
    /// and the pruning of old history.
    fn daily(&mut self) {
        if let Some(after) = guc::columnar_after() {
            match xact(server::compress_minute_months) {
                Ok(0) => {}
                Ok(n) => log!("{TYPE}: {n} months of minute bars stored columnar (ended over {after} ago)"),
                Err(e) => warning!("{TYPE}: cannot store old months of minute bars columnar: {}", e.text()),
            }
        }
        let done = xact(|| {
            let today = store::china_today()?;
            if server::calendar_checked()? == Some(today) {
                return Ok(true);
            }
            server::prune(guc::retention_days())?;
            Ok(false)
        });
        if done.unwrap_or(true) {
            return;
        }
        let refreshed = xact(|| {
            let today = store::china_today()?;
            // A calendar nobody has synced yet is the user's to start.
            if store::calendar_end()?.is_some() {
                crate::sync::extend_calendar(None, today)?;
            }
            server::set_calendar_checked(today)
        });
        if let Err(e) = refreshed {
            warning!("{TYPE}: cannot bring the calendar up to date: {}", e.text());
        }
    }
}
