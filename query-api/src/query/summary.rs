//! The fixed-shape reports: the monitor cards, "statistics as of", and the summary counts
//! (current users by effective status and by sync state, per tenant and per profile in
//! scope). Typed rows in, typed answers out.

use std::collections::BTreeMap;

use schemas::{EffectiveStatus, SyncState};
use serde::{Deserialize, Serialize};

use super::params::{Scope, ScopedProfile, Tenant};
use super::{run, sql};
use crate::error::Result;
use crate::state::AppState;

/// A row of `monitor_cards.sql`.
#[derive(Debug, Deserialize, clickhouse::Row)]
struct CardRow {
    sync_state: String,
    users: u64,
    no_recent_session_users: u64,
}

/// One monitor card.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Card {
    /// The card's sync state.
    pub sync_state: SyncState,
    /// Users in that state.
    pub users: u64,
    /// Of those, users without a session for the configured period.
    pub no_recent_session_users: u64,
}

/// `GET /api/v1/monitor/cards`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cards {
    /// Every card ([`SyncState::ALL`] order), zeros included.
    pub cards: Vec<Card>,
}

/// Users per sync state of the scope: every card, zeros included.
pub async fn monitor_cards(state: &AppState, scope: &Scope) -> Result<Cards> {
    let rows: Vec<CardRow> = run::typed(state, sql::MONITOR_CARDS, &scope.binds()).await?;
    let cards = SyncState::ALL
        .iter()
        .map(|s| {
            let row = rows.iter().find(|r| r.sync_state == s.as_str());
            Card {
                sync_state: *s,
                users: row.map_or(0, |r| r.users),
                no_recent_session_users: row.map_or(0, |r| r.no_recent_session_users),
            }
        })
        .collect();
    Ok(Cards { cards })
}

/// "Statistics as of" of a tenant (`freshness.sql`; zeros before the first cycle).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clickhouse::Row)]
pub struct Freshness {
    /// The aggregator's watermark, ms since the epoch.
    pub as_of_ms: i64,
    /// The newest event of the tenant's users, ms.
    pub newest_event_at_ms: i64,
    /// When the users' state was last computed, ms.
    pub computed_at_ms: i64,
}

/// The tenant's [`Freshness`].
pub async fn freshness(state: &AppState, tenant_id: &str) -> Result<Freshness> {
    let rows: Vec<Freshness> =
        run::typed(state, sql::FRESHNESS, &Tenant { tenant_id }.binds()).await?;
    Ok(rows.into_iter().next().unwrap_or_default())
}

/// A row of `summary.sql`.
#[derive(Debug, Deserialize, clickhouse::Row)]
struct SummaryRow {
    profile_id: String,
    effective_status: String,
    sync_state: String,
    users: u64,
    no_recent_session_users: u64,
}

/// Users counted by effective status and by sync state (every status present).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Counts {
    /// Users.
    pub users: u64,
    /// Users per effective status.
    pub effective_status: BTreeMap<&'static str, u64>,
    /// Users per sync state.
    pub sync_state: BTreeMap<&'static str, u64>,
    /// Users without a session for the configured period.
    pub no_recent_session: u64,
}

impl Counts {
    fn new() -> Self {
        Self {
            users: 0,
            effective_status: EffectiveStatus::ALL
                .iter()
                .map(|s| (s.as_str(), 0))
                .collect(),
            sync_state: SyncState::ALL.iter().map(|s| (s.as_str(), 0)).collect(),
            no_recent_session: 0,
        }
    }

    fn add(&mut self, row: &SummaryRow) {
        self.users += row.users;
        self.no_recent_session += row.no_recent_session_users;
        if let Some(s) = EffectiveStatus::parse(&row.effective_status) {
            *self.effective_status.entry(s.as_str()).or_default() += row.users;
        }
        if let Some(s) = SyncState::parse(&row.sync_state) {
            *self.sync_state.entry(s.as_str()).or_default() += row.users;
        }
    }
}

/// The counts of one profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProfileCounts {
    /// The profile.
    pub profile_id: String,
    /// Its counts.
    #[serde(flatten)]
    pub counts: Counts,
}

/// `GET /api/v1/summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Statistics as of, ms.
    pub as_of_ms: i64,
    /// The tenant (the profiles in scope).
    pub tenant: Counts,
    /// Per profile, in profile id order.
    pub profiles: Vec<ProfileCounts>,
}

/// The summary of the scope, or of one profile (`''`: every profile in scope; the caller
/// checked it is visible).
pub async fn summary(state: &AppState, scope: &Scope, profile_id: &str) -> Result<Summary> {
    let binds = ScopedProfile { scope, profile_id }.binds();
    let rows: Vec<SummaryRow> = run::typed(state, sql::SUMMARY, &binds).await?;
    let mut tenant = Counts::new();
    let mut profiles: Vec<ProfileCounts> = Vec::new();
    for row in &rows {
        tenant.add(row);
        match profiles.last_mut() {
            Some(last) if last.profile_id == row.profile_id => last.counts.add(row),
            _ => {
                let mut counts = Counts::new();
                counts.add(row);
                profiles.push(ProfileCounts {
                    profile_id: row.profile_id.clone(),
                    counts,
                });
            }
        }
    }
    let as_of_ms = freshness(state, &scope.tenant_id).await?.as_of_ms;
    Ok(Summary {
        as_of_ms,
        tenant,
        profiles,
    })
}
