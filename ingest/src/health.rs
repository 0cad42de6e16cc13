//! Is ingest doing its job? What `/health` answers, from facts the consumer loop, the
//! writer and the broker client's statistics record. The verdict is a pure function of
//! those facts and the time.
//!
//! Stalled (503) when messages are waiting and no batch was stored for
//! `health.stall_after_ms`, or when no partition has been assigned for
//! `health.unassigned_after_ms` while some partition of the group has messages that no
//! member consumes. Otherwise ok (200), also when this instance has no partition because
//! the others hold them all.

use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::config::HealthConfig;

/// Facts about the running consumer, shared between the loop, the writer, the broker
/// client's callbacks and `/health`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// When ingest started, ms since the Unix epoch.
    pub started_ms: i64,
    /// Partitions assigned now.
    pub assigned: usize,
    /// Since when none is assigned (None while some are).
    pub unassigned_since_ms: Option<i64>,
    /// Partitions of the group, not assigned here, whose messages no member consumed in
    /// the last check (empty when not checked).
    pub unconsumed_elsewhere: Vec<String>,
    /// Messages waiting in the assigned partitions (from the broker client's statistics).
    pub lag_messages: i64,
    /// Since when some are waiting (None when none).
    pub lag_since_ms: Option<i64>,
    /// When a batch was last stored, ms since the Unix epoch (0 never).
    pub last_stored_ms: i64,
    /// The last error of the writer, cleared when a batch is stored.
    pub last_write_error: Option<String>,
    /// Messages skipped by the broker and not recovered, since start.
    pub lost_messages: u64,
    /// The last such loss, described.
    pub last_loss: Option<String>,
}

/// [`Facts`] behind a lock, cheap to clone.
pub type SharedFacts = Arc<Mutex<Facts>>;

/// What `/health` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    /// `ok` or `stalled`.
    pub status: &'static str,
    /// Why it is stalled (empty when ok).
    pub reasons: Vec<String>,
    /// Since when, ms since the Unix epoch (None when ok).
    pub stalled_since_ms: Option<i64>,
    /// Partitions assigned now.
    pub assigned_partitions: usize,
    /// Messages waiting in them.
    pub lag_messages: i64,
    /// When a batch was last stored, ms since the Unix epoch (0 never).
    pub last_stored_ms: i64,
    /// The writer's last error, while it retries.
    pub last_write_error: Option<String>,
    /// Messages skipped by the broker and not recovered, since start.
    pub lost_messages: u64,
    /// The last such loss.
    pub last_loss: Option<String>,
}

impl Health {
    /// True when ingest is doing its job.
    pub fn is_ok(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// The verdict at `now_ms`.
pub fn evaluate(facts: &Facts, now_ms: i64, cfg: &HealthConfig) -> Health {
    let mut reasons = Vec::new();
    let mut since: Option<i64> = None;
    if facts.lag_messages > 0 {
        let from = facts
            .last_stored_ms
            .max(facts.lag_since_ms.unwrap_or(now_ms))
            .max(facts.started_ms);
        if now_ms - from >= cfg.stall_after_ms as i64 {
            reasons.push(format!(
                "{} messages waiting and no batch stored for {} s",
                facts.lag_messages,
                (now_ms - from) / 1000
            ));
            since = Some(from + cfg.stall_after_ms as i64);
        }
    }
    if let Some(from) = facts.unassigned_since_ms {
        if now_ms - from >= cfg.unassigned_after_ms as i64 && !facts.unconsumed_elsewhere.is_empty()
        {
            reasons.push(format!(
                "no partition assigned for {} s while no member consumes {}",
                (now_ms - from) / 1000,
                facts.unconsumed_elsewhere.join(",")
            ));
            let at = from + cfg.unassigned_after_ms as i64;
            since = Some(since.map_or(at, |s| s.min(at)));
        }
    }
    Health {
        status: if reasons.is_empty() { "ok" } else { "stalled" },
        reasons,
        stalled_since_ms: since,
        assigned_partitions: facts.assigned,
        lag_messages: facts.lag_messages,
        last_stored_ms: facts.last_stored_ms,
        last_write_error: facts.last_write_error.clone(),
        lost_messages: facts.lost_messages,
        last_loss: facts.last_loss.clone(),
    }
}

/// Records `f` on the shared facts (a poisoned lock is recovered: facts are plain data).
pub fn update(facts: &SharedFacts, f: impl FnOnce(&mut Facts)) {
    let mut guard = facts.lock().unwrap_or_else(|e| e.into_inner());
    f(&mut guard);
}

/// A copy of the shared facts.
pub fn snapshot(facts: &SharedFacts) -> Facts {
    facts.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

impl Facts {
    /// New facts at start time `now_ms`: nothing assigned yet.
    pub fn started(now_ms: i64) -> Self {
        Self {
            started_ms: now_ms,
            unassigned_since_ms: Some(now_ms),
            ..Self::default()
        }
    }

    /// The assignment now has `n` partitions.
    pub fn set_assigned(&mut self, n: usize, now_ms: i64) {
        self.assigned = n;
        if n > 0 {
            self.unassigned_since_ms = None;
            self.unconsumed_elsewhere.clear();
        } else if self.unassigned_since_ms.is_none() {
            self.unassigned_since_ms = Some(now_ms);
        }
    }

    /// `n` messages wait in the assigned partitions.
    pub fn set_lag(&mut self, n: i64, now_ms: i64) {
        self.lag_messages = n;
        if n <= 0 {
            self.lag_since_ms = None;
        } else if self.lag_since_ms.is_none() {
            self.lag_since_ms = Some(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000;

    fn cfg() -> HealthConfig {
        HealthConfig {
            stall_after_ms: 60 * S as u64,
            unassigned_after_ms: 30 * S as u64,
        }
    }

    fn running() -> Facts {
        let mut f = Facts::started(0);
        f.set_assigned(4, 0);
        f
    }

    #[test]
    fn ok_while_batches_are_stored() {
        let mut f = running();
        f.set_lag(500, 100 * S);
        f.last_stored_ms = 150 * S;
        assert!(evaluate(&f, 200 * S, &cfg()).is_ok());
    }

    #[test]
    fn stalled_when_messages_wait_and_nothing_is_stored() {
        let mut f = running();
        f.last_stored_ms = 10 * S;
        f.set_lag(500, 100 * S);
        f.last_write_error = Some("clickhouse: connection refused".into());
        assert!(
            evaluate(&f, 150 * S, &cfg()).is_ok(),
            "waiting for 50 s only"
        );
        let h = evaluate(&f, 170 * S, &cfg());
        assert_eq!(h.status, "stalled");
        assert_eq!(h.stalled_since_ms, Some(160 * S));
        assert!(h.reasons[0].contains("500 messages"), "{:?}", h.reasons);
        assert_eq!(
            h.last_write_error.as_deref(),
            Some("clickhouse: connection refused")
        );
        f.last_stored_ms = 169 * S;
        assert!(evaluate(&f, 170 * S, &cfg()).is_ok(), "stored again");
        f.set_lag(0, 171 * S);
        assert!(
            evaluate(&f, 1_000 * S, &cfg()).is_ok(),
            "no lag, nothing to do"
        );
    }

    #[test]
    fn unassigned_is_stalled_only_when_no_member_consumes() {
        let mut f = running();
        f.set_assigned(0, 100 * S);
        assert!(
            evaluate(&f, 200 * S, &cfg()).is_ok(),
            "the other members hold every partition"
        );
        f.unconsumed_elsewhere = vec!["events:0".into(), "events:1".into()];
        assert!(evaluate(&f, 120 * S, &cfg()).is_ok(), "not for long yet");
        let h = evaluate(&f, 200 * S, &cfg());
        assert_eq!(h.status, "stalled");
        assert_eq!(h.stalled_since_ms, Some(130 * S));
        assert!(
            h.reasons[0].contains("events:0,events:1"),
            "{:?}",
            h.reasons
        );
        f.set_assigned(2, 201 * S);
        assert!(evaluate(&f, 202 * S, &cfg()).is_ok());
        assert!(f.unconsumed_elsewhere.is_empty());
    }
}
