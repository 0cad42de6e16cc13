//! What a run sent, and what every user's state must be once it is all processed.
//!
//! The expectations are computed by applying the generated events *in order, once*; the
//! pipeline must reach the same result whatever order and however often they arrive.

use std::collections::BTreeMap;

use schemas::{ErrorCategory, ErrorSource, Event, SessionStatus, SyncSetting};
use serde::{Deserialize, Serialize};

/// Everything a run sent and expects; written as JSON by `fleet-sim --manifest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Seed of the run.
    pub seed: u64,
    /// Start of the simulated span, ms since the Unix epoch.
    pub start_ms: i64,
    /// End of the simulated span, ms since the Unix epoch.
    pub end_ms: i64,
    /// Message counts on the wire.
    pub messages: MessageCounts,
    /// Distinct valid events per tenant and kind (`session_ended`, ...).
    pub events: BTreeMap<String, BTreeMap<String, u64>>,
    /// Ended sessions per tenant and status (`Success`, ...).
    pub sessions: BTreeMap<String, BTreeMap<String, u64>>,
    /// Issues per tenant and error code.
    pub issues: BTreeMap<String, BTreeMap<String, u64>>,
    /// Final state of every profile, keyed `tenant/profile`.
    pub profiles: BTreeMap<String, ProfileExpectation>,
    /// Final state of every user, keyed `tenant/user`.
    pub users: BTreeMap<String, UserExpectation>,
}

/// Messages published, by what they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// Every message published (valid, duplicates and malformed).
    pub published: u64,
    /// Distinct valid events.
    pub valid: u64,
    /// Extra copies of valid events.
    pub duplicates: u64,
    /// Valid events held back and published after later ones.
    pub reordered: u64,
    /// Malformed messages per kind of damage (see `faults::Damage`).
    pub malformed: BTreeMap<String, u64>,
}

/// A profile's final state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileExpectation {
    /// Tenant.
    pub tenant_id: String,
    /// Profile.
    pub profile_id: String,
    /// Name.
    pub name: String,
    /// Sync enabled.
    pub sync_enabled: bool,
    /// Deleted.
    pub deleted: bool,
}

/// A user's final state: the raw facts and the statuses derived from them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserExpectation {
    /// Tenant.
    pub tenant_id: String,
    /// User.
    pub user_id: String,
    /// Current profile.
    pub profile_id: String,
    /// Display name.
    pub display_name: String,
    /// Mail account.
    pub mail_account: String,
    /// Deleted.
    pub deleted: bool,
    /// The user's own sync setting.
    pub sync_setting: SyncSetting,
    /// CRM token active.
    pub crm_token_active: bool,
    /// Mail token authorized.
    pub mail_token_authorized: bool,
    /// Sessions started.
    pub sessions_started: u64,
    /// Sessions ended, per status.
    pub sessions_ended: BTreeMap<String, u64>,
    /// Issues reported.
    pub issues: u64,
    /// The latest session by start time.
    pub last_session_id: Option<String>,
    /// Its start, ms since the Unix epoch.
    pub last_session_started_at_ms: Option<i64>,
    /// Its end, when it ended.
    pub last_session_ended_at_ms: Option<i64>,
    /// Status of the latest ended session that was not Skipped.
    pub last_outcome: Option<SessionStatus>,
    /// At least one session succeeded.
    pub ever_succeeded: bool,
    /// Category of the latest Error session.
    pub last_error_category: Option<ErrorCategory>,
    /// Source of the latest Error session.
    pub last_error_source: Option<ErrorSource>,
    /// Message of the latest Error session.
    pub last_error_message: Option<String>,
    /// Error outcomes since the last Success (Skipped and Canceled ignored).
    pub consecutive_failures: u64,
    /// Derived: Enabled, Disabled, DisabledDueToError or Suspended.
    pub effective_status: String,
    /// Derived without a stall limit: NeverSynced, InProgress, LastSyncFailed,
    /// LastSyncSucceeded.
    pub sync_state: String,
}

/// Builds a [`Manifest`] from the events as they are generated (in order, once).
#[derive(Debug, Default)]
pub struct ManifestBuilder {
    manifest: Manifest,
    last_outcome_started: BTreeMap<String, i64>,
    last_error_started: BTreeMap<String, i64>,
}

impl ManifestBuilder {
    /// A builder for a run.
    pub fn new(seed: u64, start_ms: i64, end_ms: i64) -> Self {
        Self {
            manifest: Manifest {
                seed,
                start_ms,
                end_ms,
                ..Manifest::default()
            },
            ..Self::default()
        }
    }

    /// Message counters, for the fault injector.
    pub fn messages(&mut self) -> &mut MessageCounts {
        &mut self.manifest.messages
    }

    /// Applies one valid event, in generation order.
    pub fn apply(&mut self, event: &Event) {
        let m = &mut self.manifest;
        m.messages.valid += 1;
        *m.events
            .entry(event.tenant_id().to_owned())
            .or_default()
            .entry(event.kind().as_str().to_owned())
            .or_default() += 1;
        if let Event::ProfileState(p) = event {
            let key = format!("{}/{}", p.tenant_id, p.profile_id);
            m.profiles.insert(
                key,
                ProfileExpectation {
                    tenant_id: p.tenant_id.clone(),
                    profile_id: p.profile_id.clone(),
                    name: p.name.clone(),
                    sync_enabled: p.sync_enabled,
                    deleted: p.change == schemas::ChangeKind::Deleted,
                },
            );
            return;
        }
        let Some(h) = event.header() else { return };
        let key = format!("{}/{}", h.tenant_id, h.user_id);
        if let Event::UserState(s) = event {
            let user = m
                .users
                .entry(key.clone())
                .or_insert_with(|| UserExpectation {
                    tenant_id: h.tenant_id.clone(),
                    user_id: h.user_id.clone(),
                    profile_id: String::new(),
                    display_name: String::new(),
                    mail_account: String::new(),
                    deleted: false,
                    sync_setting: SyncSetting::Enabled,
                    crm_token_active: true,
                    mail_token_authorized: true,
                    sessions_started: 0,
                    sessions_ended: BTreeMap::new(),
                    issues: 0,
                    last_session_id: None,
                    last_session_started_at_ms: None,
                    last_session_ended_at_ms: None,
                    last_outcome: None,
                    ever_succeeded: false,
                    last_error_category: None,
                    last_error_source: None,
                    last_error_message: None,
                    consecutive_failures: 0,
                    effective_status: String::new(),
                    sync_state: String::new(),
                });
            user.profile_id = h.profile_id.clone();
            user.display_name = s.display_name.clone();
            user.mail_account = s.mail_account.clone();
            user.deleted = s.change == schemas::ChangeKind::Deleted;
            user.sync_setting = s.sync_setting;
            user.crm_token_active = s.crm_token_active;
            user.mail_token_authorized = s.mail_token_authorized;
            return;
        }
        let Some(user) = m.users.get_mut(&key) else {
            return;
        };
        match event {
            Event::SessionStarted(s) => {
                user.sessions_started += 1;
                if user.last_session_started_at_ms < Some(h.occurred_at_ms) {
                    user.last_session_id = Some(s.session_id.clone());
                    user.last_session_started_at_ms = Some(h.occurred_at_ms);
                    user.last_session_ended_at_ms = None;
                }
            }
            Event::SessionEnded(e) => {
                *user
                    .sessions_ended
                    .entry(format!("{:?}", e.status))
                    .or_default() += 1;
                *m.sessions
                    .entry(h.tenant_id.clone())
                    .or_default()
                    .entry(format!("{:?}", e.status))
                    .or_default() += 1;
                if user.last_session_id.as_deref() == Some(e.session_id.as_str())
                    || user.last_session_started_at_ms < Some(e.started_at_ms)
                {
                    user.last_session_id = Some(e.session_id.clone());
                    user.last_session_started_at_ms = Some(e.started_at_ms);
                    user.last_session_ended_at_ms = Some(e.ended_at_ms);
                }
                let outcome_started = self
                    .last_outcome_started
                    .entry(key.clone())
                    .or_insert(i64::MIN);
                if e.status != SessionStatus::Skipped && e.started_at_ms >= *outcome_started {
                    *outcome_started = e.started_at_ms;
                    user.last_outcome = Some(e.status);
                }
                match e.status {
                    SessionStatus::Success => {
                        user.ever_succeeded = true;
                        user.consecutive_failures = 0;
                    }
                    SessionStatus::Error => {
                        user.consecutive_failures += 1;
                        let error_started = self.last_error_started.entry(key).or_insert(i64::MIN);
                        if e.started_at_ms >= *error_started {
                            *error_started = e.started_at_ms;
                            user.last_error_category = e.error_category;
                            user.last_error_source = e.error_source;
                            user.last_error_message = e.message.clone();
                        }
                    }
                    SessionStatus::Canceled | SessionStatus::Skipped => {}
                }
            }
            Event::SyncIssue(i) => {
                user.issues += 1;
                *m.issues
                    .entry(h.tenant_id.clone())
                    .or_default()
                    .entry(i.error_code.to_string())
                    .or_default() += 1;
            }
            _ => {}
        }
    }

    /// Derives the statuses and returns the manifest.
    pub fn finish(mut self) -> Manifest {
        let profiles = &self.manifest.profiles;
        for user in self.manifest.users.values_mut() {
            let profile_enabled = profiles
                .get(&format!("{}/{}", user.tenant_id, user.profile_id))
                .is_none_or(|p| p.sync_enabled && !p.deleted);
            user.effective_status = effective_status(profile_enabled, user.sync_setting).to_owned();
            user.sync_state = sync_state(user).to_owned();
        }
        self.manifest
    }
}

/// Effective status: Disabled when the profile or the user is disabled, then the engine's
/// "disabled due to an error", then Suspended, else Enabled.
pub fn effective_status(profile_enabled: bool, setting: SyncSetting) -> &'static str {
    match setting {
        _ if !profile_enabled => "Disabled",
        SyncSetting::DisabledByAdmin => "Disabled",
        SyncSetting::DisabledDueToError => "DisabledDueToError",
        SyncSetting::Suspended => "Suspended",
        SyncSetting::Enabled => "Enabled",
    }
}

/// Sync state (without a stall limit): the latest session still open is InProgress; else no
/// success ever is NeverSynced; else the last outcome decides (Error and Canceled failed).
pub fn sync_state(user: &UserExpectation) -> &'static str {
    if user.last_session_started_at_ms.is_some() && user.last_session_ended_at_ms.is_none() {
        "InProgress"
    } else if !user.ever_succeeded {
        "NeverSynced"
    } else {
        match user.last_outcome {
            Some(SessionStatus::Error) | Some(SessionStatus::Canceled) => "LastSyncFailed",
            _ => "LastSyncSucceeded",
        }
    }
}
