//! The tables retention manages, each with the kind of data it holds. Every one is
//! `PARTITION BY toYYYYMM(<column>)` (deploy/clickhouse/migrations/*.sql), so its partition
//! ids are `YYYYMM`.
//!
//! Not managed, on purpose: `user_state_events` and `profile_state_events` (a user's or a
//! profile's latest state event can be years old and is still its current state), and the
//! unpartitioned current-state tables `user_state`, `aggregator_progress`, `api_tokens`,
//! `schema_migrations`.

/// A kind of data with its own retention period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Session log lines.
    Logs,
    /// Session events and the aggregator's per-session rows and session series.
    Sessions,
    /// Issue events and the aggregator's issue series.
    Issues,
    /// The aggregator's users-per-status snapshots.
    StatusSeries,
    /// Messages that could not be decoded.
    DeadLetters,
    /// The audit trail of admin actions.
    Audit,
    /// The aggregator's index of what was stored when (`ingest_touches`) and its rows of
    /// each cycle (`session_state_by_cycle`).
    Touches,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 7] = [
        Kind::Logs,
        Kind::Sessions,
        Kind::Issues,
        Kind::StatusSeries,
        Kind::DeadLetters,
        Kind::Audit,
        Kind::Touches,
    ];

    /// Its config field, e.g. `keep_days.logs`.
    pub fn field(self) -> &'static str {
        match self {
            Kind::Logs => "keep_days.logs",
            Kind::Sessions => "keep_days.sessions",
            Kind::Issues => "keep_days.issues",
            Kind::StatusSeries => "keep_days.status_series",
            Kind::DeadLetters => "keep_days.dead_letters",
            Kind::Audit => "keep_days.audit",
            Kind::Touches => "keep_days.touches",
        }
    }
}

/// A managed table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    /// Table name (in the configured database).
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// The DateTime column of its `PARTITION BY toYYYYMM(...)`.
    pub month_of: &'static str,
}

/// Every managed table. Derived tables share their source's kind, so a month goes from the
/// raw events and from what the aggregator derived from them in the same run.
pub const TABLES: &[Table] = &[
    Table {
        name: "log_lines",
        kind: Kind::Logs,
        month_of: "chunk_at",
    },
    Table {
        name: "session_events",
        kind: Kind::Sessions,
        month_of: "occurred_at",
    },
    Table {
        name: "session_state",
        kind: Kind::Sessions,
        month_of: "started_at",
    },
    Table {
        name: "session_counts",
        kind: Kind::Sessions,
        month_of: "bucket",
    },
    Table {
        name: "issue_events",
        kind: Kind::Issues,
        month_of: "occurred_at",
    },
    Table {
        name: "issue_counts",
        kind: Kind::Issues,
        month_of: "bucket",
    },
    Table {
        name: "user_status_counts",
        kind: Kind::StatusSeries,
        month_of: "bucket",
    },
    Table {
        name: "dead_letters",
        kind: Kind::DeadLetters,
        month_of: "received_at",
    },
    Table {
        name: "admin_actions",
        kind: Kind::Audit,
        month_of: "issued_at",
    },
    Table {
        name: "ingest_touches",
        kind: Kind::Touches,
        month_of: "ingested_at",
    },
    Table {
        name: "session_state_by_cycle",
        kind: Kind::Touches,
        month_of: "computed_at",
    },
];
