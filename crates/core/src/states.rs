//! The states and kinds of jobs and units, spelled as the SQL enum types `baostock.job_state`,
//! `baostock.job_kind`, `baostock.unit_state` and `baostock.unit_kind` spell them, and the
//! moves between states ([`Move`]: `JobState::CLAIM`, `UnitState::TAKE`, ...), each with its
//! one guard. The store converts through `label()` and `parse()` only (a label not listed here
//! is an error) and changes a state only by one of the moves, in the UPDATE that its guard
//! restricts.

use std::fmt;

use crate::error::{CoreError, CoreResult};

/// An enum whose variants are the labels of one SQL enum type, in its order.
macro_rules! sql_enum {
    ($(#[$doc:meta])* $name:ident = $sql:literal { $($(#[$vdoc:meta])* $variant:ident = $label:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// The SQL type, schema-qualified.
            pub const SQL_TYPE: &'static str = $sql;
            /// Every label, in the SQL type's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The label the SQL type stores.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label,)+
                }
            }

            /// The value of a stored label; any other text is an error (a row this build
            /// does not know how to handle is never read as something else).
            pub fn parse(label: &str) -> CoreResult<$name> {
                match label {
                    $($label => Ok($name::$variant),)+
                    other => Err(CoreError::UnknownLabel {
                        label: other.to_owned(),
                        sql_type: $sql,
                    }),
                }
            }
        }

        impl SqlEnum for $name {
            fn label(self) -> &'static str {
                $name::label(self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

/// A value of one of the SQL enum types.
pub trait SqlEnum: Copy + PartialEq + 'static {
    /// The label the SQL type stores.
    fn label(self) -> &'static str;
}

/// A change of state the store makes in one UPDATE: the states it may leave (its guard, the
/// UPDATE's `WHERE state IN (...)`) and the ones it may enter.
#[derive(Clone, Copy, Debug)]
pub struct Move<S: 'static> {
    pub from: &'static [S],
    pub to: &'static [S],
}

impl<S: SqlEnum> Move<S> {
    /// `state IN ('a', 'b')`: the guard, for the WHERE of the UPDATE that makes the move.
    pub fn guard(&self) -> String {
        let labels: Vec<String> = self.from.iter().map(|s| format!("'{}'", s.label())).collect();
        format!("state IN ({})", labels.join(", "))
    }

    /// The label of the state a move with one target enters, for its `SET state = ...`.
    pub fn target(&self) -> &'static str {
        debug_assert_eq!(self.to.len(), 1, "a move with more than one target takes one");
        self.to[0].label()
    }

    /// The label of `to`, one of the states this move may enter; any other is the store's
    /// error (a bug of the caller, never written).
    pub fn enter(&self, to: S) -> CoreResult<&'static str> {
        if self.to.contains(&to) {
            Ok(to.label())
        } else {
            Err(CoreError::NotAMove {
                from: self.from.iter().map(|s| s.label()).collect(),
                to: to.label(),
            })
        }
    }
}

sql_enum! {
    /// Where a job is.
    JobState = "baostock.job_state" {
        /// Waiting for the worker.
        Queued = "queued",
        /// The worker is running its units.
        Running = "running",
        /// Waiting for the budget or a blacklist to lift; resumes by itself.
        Paused = "paused",
        /// Every unit final.
        Done = "done",
        /// The job could not go on.
        Failed = "failed",
        /// Cancelled by `baostock.cancel()`.
        Cancelled = "cancelled",
    }
}

sql_enum! {
    /// What queued a job.
    JobKind = "baostock.job_kind" {
        /// `baostock.backfill()`.
        Backfill = "backfill",
        /// The tracked series extended (`sync_date()`, `sync_tracked()`).
        Track = "track",
        /// `baostock.backfill_fundamentals()`: codes' reports, a request a code, kind and period.
        Fundamentals = "fundamentals",
        /// `baostock.backfill_membership()`: index lists of past dates, bisected where they change.
        Membership = "membership",
    }
}

sql_enum! {
    /// Where a unit is.
    UnitState = "baostock.unit_state" {
        Queued = "queued",
        /// Handed to the network.
        Running = "running",
        Done = "done",
        /// A past day the server has no all-market answer for.
        Empty = "empty",
        /// A day covered by per-code units instead.
        Replanned = "replanned",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

sql_enum! {
    /// What a unit fetches.
    UnitKind = "baostock.unit_kind" {
        /// A whole day (98 + 9A + 9C).
        Day = "day",
        /// One code's bars over a range (95).
        Range = "range",
        /// One code's factor history (15).
        Factors = "factors",
        /// One code's reports of one kind for a period (13, 17..31).
        Report = "report",
        /// One index's constituent list of a date (61, 63, 65).
        Lists = "lists",
    }
}

impl JobState {
    /// The worker starts the oldest queued job, or a paused one whose pause is over.
    pub const CLAIM: Move<JobState> = Move {
        from: &[JobState::Queued, JobState::Paused],
        to: &[JobState::Running],
    };
    /// The budget ran out or the server blacklisted us: the job waits, and resumes by itself.
    pub const PAUSE: Move<JobState> = Move {
        from: &[JobState::Running],
        to: &[JobState::Paused],
    };
    /// The worker stopped (or crashed) while running it: back to the queue.
    pub const REQUEUE: Move<JobState> = Move {
        from: &[JobState::Running],
        to: &[JobState::Queued],
    };
    /// `baostock.retry()`: an ended or paused job with failed units goes back to the queue.
    pub const RETRY: Move<JobState> = Move {
        from: &[JobState::Done, JobState::Failed, JobState::Paused],
        to: &[JobState::Queued],
    };
    /// Every unit final.
    pub const FINISH: Move<JobState> = Move {
        from: &[JobState::Running],
        to: &[JobState::Done],
    };
    /// Planned with nothing to fetch: done as soon as queued.
    pub const FINISH_EMPTY: Move<JobState> = Move {
        from: &[JobState::Queued],
        to: &[JobState::Done],
    };
    /// The job cannot go on.
    pub const FAIL: Move<JobState> = Move {
        from: &[JobState::Queued, JobState::Running],
        to: &[JobState::Failed],
    };
    /// `baostock.cancel()`.
    pub const CANCEL: Move<JobState> = Move {
        from: &[JobState::Queued, JobState::Running, JobState::Paused],
        to: &[JobState::Cancelled],
    };
    /// Every move of a job.
    pub const MOVES: &'static [Move<JobState>] = &[
        JobState::CLAIM,
        JobState::PAUSE,
        JobState::REQUEUE,
        JobState::RETRY,
        JobState::FINISH,
        JobState::FINISH_EMPTY,
        JobState::FAIL,
        JobState::CANCEL,
    ];

    /// Whether the job still has work ahead of it.
    pub fn is_unfinished(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running | JobState::Paused)
    }
}

impl UnitState {
    /// The worker takes a job's queued units.
    pub const TAKE: Move<UnitState> = Move {
        from: &[UnitState::Queued],
        to: &[UnitState::Running],
    };
    /// A unit ends, in the transaction of its data.
    pub const FINISH: Move<UnitState> = Move {
        from: &[UnitState::Running],
        to: &[UnitState::Done, UnitState::Empty, UnitState::Failed],
    };
    /// Its job paused, or the worker crashed while it ran: back to the queue.
    pub const REQUEUE: Move<UnitState> = Move {
        from: &[UnitState::Running],
        to: &[UnitState::Queued],
    };
    /// Another pass of its job (or `baostock.retry()`).
    pub const RETRY: Move<UnitState> = Move {
        from: &[UnitState::Failed],
        to: &[UnitState::Queued],
    };
    /// Its job stopped or was cancelled while the unit was taken or waiting.
    pub const RELEASE: Move<UnitState> = Move {
        from: &[UnitState::Running, UnitState::Queued],
        to: &[UnitState::Queued, UnitState::Cancelled],
    };
    /// A day without an all-market answer, planned again as per-code units.
    pub const REPLAN: Move<UnitState> = Move {
        from: &[UnitState::Empty],
        to: &[UnitState::Replanned],
    };
    /// `baostock.cancel()`: the units the worker has not taken.
    pub const CANCEL: Move<UnitState> = Move {
        from: &[UnitState::Queued],
        to: &[UnitState::Cancelled],
    };
    /// Every move of a unit.
    pub const MOVES: &'static [Move<UnitState>] = &[
        UnitState::TAKE,
        UnitState::FINISH,
        UnitState::REQUEUE,
        UnitState::RETRY,
        UnitState::RELEASE,
        UnitState::REPLAN,
        UnitState::CANCEL,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The states no move leaves, and the states each state can reach.
    fn lifecycle<S: SqlEnum + std::fmt::Debug>(all: &[S], moves: &[Move<S>]) -> (Vec<S>, Vec<(S, Vec<S>)>) {
        let terminal = all
            .iter()
            .copied()
            .filter(|s| !moves.iter().any(|m| m.from.contains(s)))
            .collect();
        let reach = all
            .iter()
            .map(|&s| {
                let mut seen = vec![s];
                let mut i = 0;
                while i < seen.len() {
                    let here = seen[i];
                    for m in moves.iter().filter(|m| m.from.contains(&here)) {
                        for &t in m.to {
                            if !seen.contains(&t) {
                                seen.push(t);
                            }
                        }
                    }
                    i += 1;
                }
                (s, seen)
            })
            .collect();
        (terminal, reach)
    }

    #[test]
    fn a_job_ends_cancelled_for_good_and_leaves_done_or_failed_only_by_a_retry() {
        let (terminal, reach) = lifecycle(JobState::ALL, JobState::MOVES);
        assert_eq!(terminal, vec![JobState::Cancelled]);
        for (s, seen) in &reach {
            assert!(seen.contains(&JobState::Cancelled), "{s} cannot be cancelled");
        }
        for m in JobState::MOVES {
            assert!(m.to.iter().all(|t| !m.from.contains(t)), "{m:?} moves nowhere");
            let leaves_final = m.from.contains(&JobState::Done) || m.from.contains(&JobState::Failed);
            assert_eq!(leaves_final, m.from == JobState::RETRY.from, "{m:?}");
        }
        assert_eq!(JobState::CANCEL.guard(), "state IN ('queued', 'running', 'paused')");
        assert_eq!(JobState::CLAIM.target(), "running");
    }

    #[test]
    fn a_unit_ends_done_replanned_or_cancelled_and_a_failed_one_can_run_again() {
        let (terminal, reach) = lifecycle(UnitState::ALL, UnitState::MOVES);
        assert_eq!(
            terminal,
            vec![UnitState::Done, UnitState::Replanned, UnitState::Cancelled]
        );
        let of = |s: UnitState| {
            reach
                .iter()
                .find(|(r, _)| *r == s)
                .map(|(_, seen)| seen.clone())
                .unwrap()
        };
        assert!(of(UnitState::Failed).contains(&UnitState::Done));
        assert!(of(UnitState::Queued).contains(&UnitState::Replanned));
        assert_eq!(UnitState::FINISH.enter(UnitState::Empty), Ok("empty"));
        assert_eq!(
            UnitState::FINISH.enter(UnitState::Queued).unwrap_err().to_string(),
            "pg_baostock store: a move out of [\"running\"] may not enter queued"
        );
        assert!(UnitState::RELEASE.enter(UnitState::Done).is_err());
    }

    #[test]
    fn every_label_parses_back_and_others_are_refused() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.label()).unwrap(), *s);
        }
        for s in UnitState::ALL {
            assert_eq!(UnitState::parse(s.label()).unwrap(), *s);
        }
        for k in UnitKind::ALL {
            assert_eq!(UnitKind::parse(k.label()).unwrap(), *k);
        }
        for k in JobKind::ALL {
            assert_eq!(JobKind::parse(k.label()).unwrap(), *k);
        }
        // take_units once read any unknown kind as a factor history.
        assert_eq!(
            UnitKind::parse("minutes").unwrap_err().to_string(),
            "pg_baostock store: \"minutes\" is not a label of baostock.unit_kind"
        );
        assert!(UnitState::parse("Done").is_err());
        assert!(JobState::parse("").is_err());
    }
}
