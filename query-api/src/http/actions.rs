//! Admin actions and their audit trail.
//!
//! `POST /api/v1/users/{user_id}/actions` with `{"action", "request_id", "new_mail_account"?,
//! "new_crm_user_name"?}`: viewers get 403; a bad body 400; a user outside the principal's
//! scope 404 (like a missing one). The command ([`schemas::AdminCommand`], Avro via
//! [`schemas::wire::encode_command`]) is published to `kafka.commands_topic` keyed by
//! [`schemas::AdminCommand::partition_key`], and every state of the request is a row of
//! `admin_actions` (ReplacingMergeTree by `version`): `accepted`, then `published` or
//! `failed`.
//!
//! Idempotency by `request_id` per tenant (per token for a token limited to some profiles:
//! [`stored_request_id`]): a request id already `published` (or `accepted`,
//! its outcome unknown) answers 200 with the original command and publishes nothing; one
//! that `failed` is retried with the same `command_id` (nothing was published); the same
//! request id for another user or action is a 409. Concurrent requests with the same id in
//! this process: the second gets 409 while the first runs (several API instances rely on
//! the engines' de-duplication by `command_id`).
//!
//! `GET /api/v1/audit` lists the trail with the list machinery (`specs::AUDIT`).

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Json;
use schemas::avro_enum::AvroEnum;
use schemas::{AdminAction, AdminCommand};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::respond::{ctx, respond, Params};
use super::route::{common_responses, id, list_op, op, Route};
use crate::auth::{Principal, Role};
use crate::commands;
use crate::error::{ApiError, Result};
use crate::query::audit::{self, ActionRow};
use crate::query::list;
use crate::query::specs::AUDIT;
use crate::query::visibility::visible_user;
use crate::state::AppState;

/// The routes of this area.
pub fn routes() -> Vec<Route> {
    vec![
        Route::new("/users/{user_id}/actions", post(post_action), action_op()),
        Route::new(
            "/users/{user_id}/actions/pending",
            get(pending_actions),
            op(
                "the admin actions on a user that the engine has not confirmed yet (published in the last day; newest first)",
                vec![],
                &["user_id"],
            ),
        ),
        Route::new(
            "/audit",
            get(audit_trail),
            list_op("the audit trail of admin actions", &AUDIT, &[]),
        ),
    ]
}

/// `GET /api/v1/users/{user_id}/actions/pending`: `{"pending": [{"request_id", "action",
/// "issued_at_ms", "waiting_for", "state"}]}` (`state`: `pending`, or `no_answer` after 10
/// minutes); empty once the engine reported every action's effect. Viewers may read it.
async fn pending_actions(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
) -> Result<Json<Value>> {
    let scope = p.scope();
    visible_user(&s, &scope, &user_id).await?;
    let now = chrono::Utc::now().timestamp_millis();
    let mut pending = audit::pending_of(&s, &p.tenant_id, &user_id, now).await?;
    // A limited token's own requests read as it sent them (see `stored_request_id`).
    let own = format!("{}/", p.token_id);
    for a in &mut pending {
        if let Some(sent) = a.request_id.strip_prefix(&own) {
            a.request_id = sent.to_owned();
        }
    }
    Ok(Json(json!({ "pending": pending, "as_of_ms": now })))
}

/// The actions of the API, by their names in requests (snake case).
pub const ACTIONS: &[(&str, AdminAction)] = &[
    ("suspend", AdminAction::Suspend),
    ("disable", AdminAction::Disable),
    ("enable", AdminAction::Enable),
    ("force_sync", AdminAction::ForceSync),
    ("pause", AdminAction::Pause),
    ("resume", AdminAction::Resume),
    ("delete_from_monitor", AdminAction::DeleteFromMonitor),
    ("update_credentials", AdminAction::UpdateCredentials),
];

/// The body of `POST /users/{user_id}/actions`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    /// One of [`ACTIONS`].
    pub action: String,
    /// The client's idempotency key.
    pub request_id: String,
    /// New mail account (`update_credentials` only).
    pub new_mail_account: Option<String>,
    /// New CRM user name (`update_credentials` only).
    pub new_crm_user_name: Option<String>,
}

/// Parses and checks a body (pure): the action, and the credential fields only with
/// `update_credentials`.
pub fn parse_request(body: &[u8]) -> Result<(ActionRequest, AdminAction)> {
    let req: ActionRequest =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_value("body", format!("{e}")))?;
    let action = ACTIONS
        .iter()
        .find(|(name, _)| *name == req.action)
        .map(|(_, a)| *a)
        .ok_or_else(|| {
            let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
            ApiError::bad_value(
                "action",
                format!("{:?} is not one of {}", req.action, names.join(", ")),
            )
        })?;
    if req.request_id.is_empty() || req.request_id.len() > schemas::validate::MAX_ID_BYTES {
        return Err(ApiError::bad_value(
            "request_id",
            format!("must be 1 to {} bytes", schemas::validate::MAX_ID_BYTES),
        ));
    }
    if action != AdminAction::UpdateCredentials
        && (req.new_mail_account.is_some() || req.new_crm_user_name.is_some())
    {
        return Err(ApiError::bad_value(
            "new_mail_account",
            "new_mail_account and new_crm_user_name go with update_credentials only",
        ));
    }
    Ok((req, action))
}

fn action_name(action: AdminAction) -> &'static str {
    ACTIONS
        .iter()
        .find(|(_, a)| *a == action)
        .map_or("", |(n, _)| *n)
}

/// The key a request is stored and looked up under: the client's `request_id` for a
/// principal that sees every profile of its tenant; `<token_id>/<request_id>` for one
/// limited to some profiles, so that its ids never meet requests about users it may not
/// see (a 409 there would tell that the id was used outside its profiles).
pub fn stored_request_id(p: &Principal, request_id: &str) -> String {
    match p.profiles {
        None => request_id.to_owned(),
        Some(_) => format!("{}/{request_id}", p.token_id),
    }
}

/// The answer to an admin request.
#[derive(Debug, Serialize)]
struct ActionAnswer<'a> {
    request_id: &'a str,
    command_id: &'a str,
    user_id: &'a str,
    /// The action's name in requests ([`ACTIONS`]).
    action: &'a str,
    issued_by: &'a str,
    issued_at_ms: i64,
    result: &'a str,
}

fn answer(status: StatusCode, row: &ActionRow, request_id: &str) -> Response {
    let action = ACTIONS
        .iter()
        .find(|(_, a)| a.symbol() == row.action)
        .map_or(row.action.as_str(), |(n, _)| *n);
    let body = ActionAnswer {
        request_id,
        command_id: &row.command_id,
        user_id: &row.user_id,
        action,
        issued_by: &row.issued_by,
        issued_at_ms: row.issued_at_ms,
        result: &row.result,
    };
    (status, Json(body)).into_response()
}

/// `POST /api/v1/users/{user_id}/actions`.
async fn post_action(
    State(s): State<AppState>,
    p: Principal,
    Path(user_id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    if p.role != Role::Admin {
        return Err(ApiError::Forbidden(
            "admin actions need a token with the admin role".to_owned(),
        ));
    }
    let (req, action) = parse_request(&body)?;
    let user = visible_user(&s, &p.scope(), &user_id).await?;
    let profile_id = user
        .get("profile_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let stored_id = stored_request_id(&p, &req.request_id);
    let key = (p.tenant_id.clone(), stored_id.clone());
    let Some(_in_flight) = s.begin_action(key)? else {
        return Err(ApiError::Conflict(format!(
            "request_id {:?} is being processed; retry to get its result",
            req.request_id
        )));
    };
    let stored = audit::lookup(&s, &p.tenant_id, &stored_id).await?;
    let (command_id, version) = match stored {
        Some(row) => {
            if row.user_id != user_id || row.action != action.symbol() {
                return Err(ApiError::Conflict(format!(
                    "request_id {:?} was already used for another user or action",
                    req.request_id
                )));
            }
            if row.result != "failed" {
                s.metrics.admin_command("replayed");
                return Ok(answer(StatusCode::OK, &row, &req.request_id));
            }
            // Failed before: nothing was published; try again under the same command id.
            (row.command_id, row.version)
        }
        None => (uuid::Uuid::new_v4().to_string(), 0),
    };
    let command = AdminCommand {
        command_id,
        request_id: req.request_id.clone(),
        tenant_id: p.tenant_id.clone(),
        profile_id,
        user_id: user_id.clone(),
        action,
        issued_by: p.token_id.clone(),
        issued_at_ms: chrono::Utc::now().timestamp_millis(),
        new_mail_account: req.new_mail_account.clone(),
        new_crm_user_name: req.new_crm_user_name.clone(),
    };
    schemas::validate::validate_command(&command)
        .map_err(|e| ApiError::bad_value(e.field(), e.to_string()))?;
    let mut row = ActionRow {
        tenant_id: command.tenant_id.clone(),
        profile_id: command.profile_id.clone(),
        user_id: command.user_id.clone(),
        request_id: stored_id.clone(),
        command_id: command.command_id.clone(),
        action: action.symbol().to_owned(),
        issued_by: command.issued_by.clone(),
        issued_at_ms: command.issued_at_ms,
        result: "accepted".to_owned(),
        detail: String::new(),
        new_mail_account: command.new_mail_account.clone().unwrap_or_default(),
        new_crm_user_name: command.new_crm_user_name.clone().unwrap_or_default(),
        version: version + 1,
    };
    audit::write(&s, &row).await?;
    let published = commands::publish(
        s.producer.as_ref(),
        &s.config.kafka.commands_topic,
        &command,
    )
    .await;
    row.version += 1;
    match &published {
        Ok((partition, offset)) => {
            row.result = "published".to_owned();
            row.detail = format!("partition {partition} offset {offset}");
        }
        Err(e) => {
            row.result = "failed".to_owned();
            row.detail = e.to_string();
        }
    }
    audit::write(&s, &row).await?;
    match published {
        Ok(_) => {
            s.metrics.admin_command("published");
            tracing::info!(
                tenant_id = %row.tenant_id,
                command_id = %row.command_id,
                action = action_name(action),
                issued_by = %row.issued_by,
                "admin command published"
            );
            Ok(answer(StatusCode::ACCEPTED, &row, &req.request_id))
        }
        Err(e) => {
            s.metrics.admin_command("failed");
            Err(ApiError::PublishFailed(e))
        }
    }
}

/// `GET /api/v1/audit`: the audit trail (filters, sort, columns, paging, CSV).
async fn audit_trail(
    State(s): State<AppState>,
    p: Principal,
    Query(q): Params,
) -> Result<Response> {
    let req = list::parse(&AUDIT, &q, ctx(&s))?;
    respond(&s, &p, &AUDIT, req, p.scope().binds(), Vec::new()).await
}

fn action_op() -> Value {
    let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
    let error = json!({"$ref": "#/components/responses/Error"});
    json!({"post": {
        "summary": "an admin action on a user: published as a command to Kafka and audited; idempotent by request_id",
        "security": [{"bearer": []}],
        "parameters": [id("user_id")],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["action", "request_id"],
            "additionalProperties": false,
            "properties": {
                "action": {"type": "string", "enum": names},
                "request_id": {"type": "string", "minLength": 1, "maxLength": 256, "description": "client-chosen idempotency key (1-256 bytes), per tenant (per token for a token limited to some profiles)"},
                "new_mail_account": {"type": "string", "minLength": 1, "description": "update_credentials only"},
                "new_crm_user_name": {"type": "string", "minLength": 1, "description": "update_credentials only"}
            }
        }}}},
        "responses": common_responses(json!({
            "202": {"description": "published: {request_id, command_id, user_id, action, issued_by, issued_at_ms, result}"},
            "200": {"description": "a repeated request_id: the original result, nothing published again"},
            "400": error.clone(),
            "401": error.clone(),
            "403": error.clone(),
            "404": error.clone(),
            "409": error
        }))
    }})
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bodies_are_checked() {
        let ok = br#"{"action": "force_sync", "request_id": "r1"}"#;
        let (r, a) = parse_request(ok).unwrap();
        assert_eq!((r.request_id.as_str(), a), ("r1", AdminAction::ForceSync));
        let err = |b: &[u8]| parse_request(b).unwrap_err().to_string();
        assert!(err(br#"{"action": "reboot", "request_id": "r1"}"#).contains("action"));
        assert!(err(br#"{"request_id": "r1"}"#).contains("action"));
        assert!(err(br#"{"action": "pause"}"#).contains("request_id"));
        assert!(err(br#"{"action": "pause", "request_id": ""}"#).contains("request_id"));
        assert!(err(br#"{"action": "pause", "request_id": "r", "x": 1}"#).contains("x"));
        assert!(
            err(br#"{"action": "pause", "request_id": "r", "new_mail_account": "m"}"#)
                .contains("update_credentials")
        );
        assert!(err(b"not json").contains("body"));
        for (name, action) in ACTIONS {
            assert_eq!(action_name(*action), *name);
        }
    }
}
