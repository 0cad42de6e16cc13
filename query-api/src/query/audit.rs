//! The audit trail of admin requests: every state of a request is a row of `admin_actions`
//! (ReplacingMergeTree by `version`): `accepted`, then `published` or `failed`. Read back
//! by `admin_action_lookup.sql` (idempotency) and listed by `audit.sql`.

use serde::{Deserialize, Serialize};

use super::params::ActionLookup;
use super::{run, sql};
use crate::error::Result;
use crate::state::AppState;

/// A row of `admin_actions` (`issued_at` is its default).
#[derive(Debug, Clone, Serialize, Deserialize, clickhouse::Row)]
pub struct ActionRow {
    /// The tenant.
    pub tenant_id: String,
    /// The user's profile.
    pub profile_id: String,
    /// The user.
    pub user_id: String,
    /// The stored request id (see `stored_request_id` of the actions route).
    pub request_id: String,
    /// The command's id (the engines de-duplicate by it).
    pub command_id: String,
    /// The action's Avro symbol.
    pub action: String,
    /// The token id of the principal.
    pub issued_by: String,
    /// When, ms since the epoch.
    pub issued_at_ms: i64,
    /// `accepted`, `published` or `failed`.
    pub result: String,
    /// Where it was published, or why it failed.
    pub detail: String,
    /// `update_credentials` only.
    pub new_mail_account: String,
    /// `update_credentials` only.
    pub new_crm_user_name: String,
    /// Version of the request's row.
    pub version: u64,
}

/// A row of `admin_action_lookup.sql`: [`ActionRow`] without the keys looked up by.
#[derive(Debug, Deserialize, clickhouse::Row)]
struct StoredRow {
    profile_id: String,
    user_id: String,
    command_id: String,
    action: String,
    issued_by: String,
    issued_at_ms: i64,
    result: String,
    detail: String,
    new_mail_account: String,
    new_crm_user_name: String,
    version: u64,
}

/// The current row of a tenant's request, if it was seen before.
pub async fn lookup(
    state: &AppState,
    tenant_id: &str,
    request_id: &str,
) -> Result<Option<ActionRow>> {
    let binds = ActionLookup {
        tenant_id,
        request_id,
    }
    .binds();
    let stored: Option<StoredRow> =
        run::bind_all(state.client.query(sql::ADMIN_ACTION_LOOKUP), &binds)
            .fetch_optional()
            .await?;
    Ok(stored.map(|old| ActionRow {
        tenant_id: tenant_id.to_owned(),
        profile_id: old.profile_id,
        user_id: old.user_id,
        request_id: request_id.to_owned(),
        command_id: old.command_id,
        action: old.action,
        issued_by: old.issued_by,
        issued_at_ms: old.issued_at_ms,
        result: old.result,
        detail: old.detail,
        new_mail_account: old.new_mail_account,
        new_crm_user_name: old.new_crm_user_name,
        version: old.version,
    }))
}

/// Writes one state of a request.
pub async fn write(state: &AppState, row: &ActionRow) -> Result<()> {
    let mut insert = state.client.insert::<ActionRow>("admin_actions").await?;
    insert.write(row).await?;
    insert.end().await?;
    Ok(())
}

/// A published action of `pending_actions.sql`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct Sent {
    /// The stored request id.
    pub request_id: String,
    /// The action's Avro symbol (`Disable`, ...).
    pub action: String,
    /// When it was issued, ms.
    pub issued_at_ms: i64,
    /// `UpdateCredentials`: the new mail account, or empty.
    pub new_mail_account: String,
    /// `UpdateCredentials`: the new CRM user name, or empty.
    pub new_crm_user_name: String,
}

/// What the engine reported (a row of `user_reports.sql`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct Report {
    /// `state` (a user state) or `session` (a session started).
    pub kind: String,
    /// When, ms.
    pub occurred_at_ms: i64,
    /// `state`: `Created`, `Updated`, `Deleted`.
    pub change: String,
    /// `state`: the sync setting.
    pub sync_setting: String,
    /// `state`: the mail account.
    pub mail_account: String,
    /// `state`: the CRM user name.
    pub crm_user_name: String,
    /// `session`: the trigger.
    pub trigger: String,
}

/// An action the engine has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// The stored request id.
    pub request_id: String,
    /// The action, as in requests (`disable`, `force_sync`, ...).
    pub action: String,
    /// When it was issued, ms.
    pub issued_at_ms: i64,
    /// What the engine will report when it took effect, in words.
    pub waiting_for: String,
    /// `pending`, or `no_answer` once [`NO_ANSWER_AFTER_MS`] passed without one.
    pub state: &'static str,
}

/// Whether a report answers an action.
type Answers = Box<dyn Fn(&Report) -> bool>;

/// An action unconfirmed this long is `no_answer` (the engine may be down or not obey).
pub const NO_ANSWER_AFTER_MS: i64 = 10 * 60_000;

/// The actions of a user that are waiting for the engine: each `sent` action with no report
/// since it was issued that shows its effect (a setting action: a user state with the
/// setting it asks for; `ForceSync`: a session started with trigger `ForcedByAdmin`;
/// `UpdateCredentials`: a user state with the new account and/or CRM user name;
/// `DeleteFromMonitor`: a user state with change `Deleted`). A setting action followed by a
/// newer one (disable, then enable) waits no longer: the newer one says what is expected.
/// Pure: `sent` newest first, `reports` in any order.
pub fn pending(sent: &[Sent], reports: &[Report], now_ms: i64) -> Vec<Pending> {
    let is_setting = |a: &str| {
        matches!(
            a,
            "Suspend" | "Pause" | "Disable" | "Enable" | "Resume" | "DeleteFromMonitor"
        )
    };
    let mut newer_setting = false;
    let mut out = Vec::new();
    for s in sent {
        let superseded = is_setting(&s.action) && newer_setting;
        if is_setting(&s.action) {
            newer_setting = true;
        }
        if superseded {
            continue;
        }
        let setting = |want: &'static str| {
            move |r: &Report| r.kind == "state" && r.sync_setting == want && r.change != "Deleted"
        };
        let (test, waiting_for): (Answers, String) = match s.action.as_str() {
            "Suspend" | "Pause" => (
                Box::new(setting("Suspended")),
                "the engine to report the sync as suspended".to_owned(),
            ),
            "Disable" => (
                Box::new(setting("DisabledByAdmin")),
                "the engine to report the sync as disabled by admin".to_owned(),
            ),
            "Enable" | "Resume" => (
                Box::new(setting("Enabled")),
                "the engine to report the sync as enabled".to_owned(),
            ),
            "ForceSync" => (
                Box::new(|r: &Report| r.kind == "session" && r.trigger == "ForcedByAdmin"),
                "a session forced by an admin to start".to_owned(),
            ),
            "DeleteFromMonitor" => (
                Box::new(|r: &Report| r.kind == "state" && r.change == "Deleted"),
                "the engine to report the user deleted".to_owned(),
            ),
            "UpdateCredentials" => {
                let (mail, crm) = (s.new_mail_account.clone(), s.new_crm_user_name.clone());
                let what = match (mail.is_empty(), crm.is_empty()) {
                    (false, false) => format!("mail account {mail} and CRM user {crm}"),
                    (false, true) => format!("mail account {mail}"),
                    _ => format!("CRM user {crm}"),
                };
                (
                    Box::new(move |r: &Report| {
                        r.kind == "state"
                            && (mail.is_empty() || r.mail_account == mail)
                            && (crm.is_empty() || r.crm_user_name == crm)
                    }),
                    format!("the engine to report {what}"),
                )
            }
            _ => continue,
        };
        let answered = reports
            .iter()
            .any(|r| r.occurred_at_ms >= s.issued_at_ms && test(r));
        if answered {
            continue;
        }
        let action = api_name(&s.action);
        out.push(Pending {
            request_id: s.request_id.clone(),
            action,
            issued_at_ms: s.issued_at_ms,
            waiting_for,
            state: if now_ms - s.issued_at_ms > NO_ANSWER_AFTER_MS {
                "no_answer"
            } else {
                "pending"
            },
        });
    }
    out
}

/// `ForceSync` -> `force_sync`.
pub fn api_name(symbol: &str) -> String {
    let mut out = String::new();
    for (i, c) in symbol.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The pending actions of a user (visible to the caller: checked before), as of now.
pub async fn pending_of(
    state: &AppState,
    tenant_id: &str,
    user_id: &str,
    now_ms: i64,
) -> Result<Vec<Pending>> {
    let since = super::params::UserSince {
        tenant_id,
        user_id,
        since_ms: now_ms - 86_400_000,
    };
    let sent: Vec<Sent> = run::typed(state, sql::PENDING_ACTIONS, &since.binds()).await?;
    let Some(oldest) = sent.iter().map(|s| s.issued_at_ms).min() else {
        return Ok(Vec::new());
    };
    let since = super::params::UserSince {
        since_ms: oldest,
        ..since
    };
    let reports: Vec<Report> = run::typed(state, sql::USER_REPORTS, &since.report_binds()).await?;
    Ok(pending(&sent, &reports, now_ms))
}

#[cfg(test)]
mod pending_tests {
    use super::*;

    fn sent(action: &str, at: i64) -> Sent {
        Sent {
            request_id: format!("r-{action}-{at}"),
            action: action.to_owned(),
            issued_at_ms: at,
            new_mail_account: String::new(),
            new_crm_user_name: String::new(),
        }
    }

    fn state(at: i64, setting: &str) -> Report {
        Report {
            kind: "state".to_owned(),
            occurred_at_ms: at,
            change: "Updated".to_owned(),
            sync_setting: setting.to_owned(),
            mail_account: "a@x".to_owned(),
            crm_user_name: "crm".to_owned(),
            trigger: String::new(),
        }
    }

    #[test]
    fn an_action_waits_until_the_engine_reports_its_effect() {
        let now = 100_000;
        let d = [sent("Disable", 50_000)];
        let p = pending(&d, &[], now);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].action, "disable");
        assert_eq!(p[0].state, "pending");
        // A report before the action, or of another setting, does not answer it.
        let old = [state(49_999, "DisabledByAdmin"), state(60_000, "Suspended")];
        assert_eq!(pending(&d, &old, now).len(), 1);
        assert!(pending(&d, &[state(50_000, "DisabledByAdmin")], now).is_empty());
        // Long without an answer.
        let late = pending(&d, &[], 50_000 + NO_ANSWER_AFTER_MS + 1);
        assert_eq!(late[0].state, "no_answer");
    }

    #[test]
    fn force_sync_credentials_deletion_and_superseded_settings() {
        let now = 100_000;
        let mut session = state(70_000, "");
        session.kind = "session".to_owned();
        session.trigger = "Schedule".to_owned();
        let f = [sent("ForceSync", 60_000)];
        assert_eq!(
            pending(&f, &[session.clone()], now).len(),
            1,
            "a scheduled one"
        );
        session.trigger = "ForcedByAdmin".to_owned();
        assert!(pending(&f, &[session], now).is_empty());

        let mut c = sent("UpdateCredentials", 60_000);
        c.new_mail_account = "new@x".to_owned();
        let c = [c];
        assert_eq!(pending(&c, &[state(61_000, "Enabled")], now).len(), 1);
        let mut moved = state(61_000, "Enabled");
        moved.mail_account = "new@x".to_owned();
        assert!(pending(&c, &[moved], now).is_empty());
        assert_eq!(
            pending(&c, &[], now)[0].waiting_for,
            "the engine to report mail account new@x"
        );

        let gone = [sent("DeleteFromMonitor", 60_000)];
        let mut deleted = state(61_000, "Enabled");
        deleted.change = "Deleted".to_owned();
        assert!(pending(&gone, &[deleted], now).is_empty());

        // Disable then enable (newest first): only the enable waits.
        let both = [sent("Enable", 70_000), sent("Disable", 60_000)];
        let p = pending(&both, &[], now);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].action, "enable");
        assert_eq!(api_name("DeleteFromMonitor"), "delete_from_monitor");
    }
}
