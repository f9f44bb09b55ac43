//! The states and kinds of jobs and units, spelled as the SQL enum types `baostock.job_state`,
//! `baostock.job_kind`, `baostock.unit_state` and `baostock.unit_kind` spell them. The store
//! converts through `label()` and `parse()` only; a label not listed here is an error.

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

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
            }
        }
    };
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
    }
}

impl JobState {
    /// Whether the job still has work ahead of it.
    pub fn is_unfinished(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running | JobState::Paused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
