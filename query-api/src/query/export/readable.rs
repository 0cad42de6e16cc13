//! `readable=true` on a CSV export: the same rows for a person with a spreadsheet rather than
//! a program. Times as `2026-12-05 08:30:00` (UTC, said in the header), durations as
//! `h:mm:ss` (a spreadsheet reads both as date/time values), flags as yes/no, the codes of
//! the event contract as words (`MailToCrm` -> `Mail to CRM`, error code 1 -> `1 locked or
//! operation error`), and headers in words (`Last session started (UTC)`). It rewrites
//! the export's stream chunk by chunk (each chunk holds whole records), so it streams
//! like the export itself.

use bytes::Bytes;
use futures_util::StreamExt;

use crate::query::export::Download;
use crate::query::list::Kind;

/// How one column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Text,
    Time,
    Duration,
    Flag,
    Code,
    ErrorCode,
    Number,
}

fn style(name: &str, kind: Kind) -> Style {
    match kind {
        Kind::Time => Style::Time,
        Kind::Flag => Style::Flag,
        Kind::Int if name.ends_with("duration_ms") => Style::Duration,
        Kind::Int if name == "error_code" => Style::ErrorCode,
        Kind::Int => Style::Number,
        Kind::Text if is_code_column(name) => Style::Code,
        _ => Style::Text,
    }
}

fn is_code_column(name: &str) -> bool {
    matches!(
        name,
        "status"
            | "profile_status"
            | "effective_status"
            | "sync_setting"
            | "sync_state"
            | "last_session_status"
            | "last_outcome"
            | "last_error_category"
            | "last_error_source"
            | "error_category"
            | "error_source"
            | "trigger"
            | "direction"
            | "mail_system"
            | "crm_system"
            | "object_type"
            | "operation"
            | "action"
            | "result"
    )
}

/// Words for a value of the event contract or the derived state; other text as it is.
pub fn code_words(value: &str) -> &str {
    match value {
        "NeverSynced" => "Never synced",
        "InProgress" => "In progress",
        "LastSyncFailed" => "Last sync failed",
        "LastSyncSucceeded" => "Last sync succeeded",
        "DisabledDueToError" => "Disabled due to an error",
        "DisabledByAdmin" => "Disabled by admin",
        "MailToCrm" => "Mail to CRM",
        "CrmToMail" => "CRM to mail",
        "SyncApplication" => "Sync application",
        "MailServer" => "Mail server",
        "Crm" => "CRM",
        "ForcedByUser" => "Forced by user",
        "ForcedByAdmin" => "Forced by admin",
        "OracleCxSales" => "Oracle CX Sales",
        "Dynamics365" => "Dynamics 365",
        "Office365" => "Office 365",
        "ForceSync" | "force_sync" => "Force sync",
        "DeleteFromMonitor" | "delete_from_monitor" => "Delete from monitor",
        "UpdateCredentials" | "update_credentials" => "Update credentials",
        other => other,
    }
}

/// What error codes 0-3 mean (the event contract's).
pub fn error_code_words(code: &str) -> String {
    let meaning = match code {
        "0" => "object active / success",
        "1" => "object locked / operation error",
        "2" => "object already removed in storage",
        "3" => "object inaccessible or updated prematurely",
        _ => return code.to_owned(),
    };
    format!("{code} {meaning}")
}

/// A column name in words: `last_session_started_at_ms` -> `Last session started (UTC)`.
pub fn header_words(name: &str, kind: Kind) -> String {
    let known = match name {
        "user_id" => Some("User ID"),
        "profile_id" => Some("Profile ID"),
        "session_id" => Some("Session ID"),
        "issue_id" => Some("Issue ID"),
        "request_id" => Some("Request ID"),
        "command_id" => Some("Command ID"),
        "crm_token_active" => Some("CRM token active"),
        "mail_token_authorized" => Some("Mail authorized"),
        "crm_user_name" => Some("CRM user"),
        "new_crm_user_name" => Some("New CRM user"),
        "crm_system" => Some("CRM system"),
        "last_outcome" => Some("Last outcome (not counting Skipped)"),
        "last_outcome_session_id" => Some("Last outcome session ID"),
        "last_error_session_id" => Some("Last error session ID"),
        "no_recent_session" => Some("No recent session"),
        _ => None,
    };
    let mut text = match known {
        Some(k) => k.to_owned(),
        None => {
            let base = name
                .strip_suffix("_at_ms")
                .or_else(|| name.strip_suffix("_ms"))
                .unwrap_or(name)
                .replace('_', " ");
            let mut chars = base.chars();
            match chars.next() {
                Some(f) => f.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        }
    };
    text = text.replace(" crm", " CRM");
    match style(name, kind) {
        Style::Time => text.push_str(" (UTC)"),
        Style::Duration => text.push_str(" (h:mm:ss)"),
        _ => {}
    }
    text
}

/// `2026-12-05 08:30:00` in UTC; empty for 0 (never) and for what is not a time.
fn time_cell(ms: &str) -> String {
    match ms.parse::<i64>() {
        Ok(0) | Err(_) => String::new(),
        Ok(n) => chrono::DateTime::from_timestamp_millis(n)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default(),
    }
}

/// `h:mm:ss`, rounded to the second; empty for 0 or less.
fn duration_cell(ms: &str) -> String {
    match ms.parse::<i64>() {
        Ok(n) if n > 0 => {
            let s = (n + 500) / 1000;
            format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
        }
        _ => String::new(),
    }
}

fn cell(style: Style, text: &str) -> String {
    match style {
        Style::Time => time_cell(text),
        Style::Duration => duration_cell(text),
        Style::Flag => match text {
            "1" | "true" => "yes".to_owned(),
            "0" | "false" => "no".to_owned(),
            other => other.to_owned(),
        },
        Style::Code => code_words(text).to_owned(),
        Style::ErrorCode => error_code_words(text),
        Style::Text | Style::Number => text.to_owned(),
    }
}

/// The rewriter of one export: the styles of its columns.
pub struct Readable {
    styles: Vec<Style>,
    headers: Vec<String>,
}

impl Readable {
    /// For the export's columns (name and kind, in order).
    pub fn new(columns: &[(&str, Kind)]) -> Self {
        Self {
            styles: columns.iter().map(|(n, k)| style(n, *k)).collect(),
            headers: columns.iter().map(|(n, k)| header_words(n, *k)).collect(),
        }
    }

    /// One chunk of the export (whole records; the first starts with the BOM, if any, and
    /// the header) rewritten.
    pub fn chunk(&self, bytes: &[u8], first: bool) -> std::io::Result<Vec<u8>> {
        let (bom, body) = match bytes.strip_prefix(b"\xEF\xBB\xBF".as_slice()) {
            Some(rest) if first => (true, rest),
            _ => (false, bytes),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body);
        let mut buf = Vec::with_capacity(body.len() + body.len() / 4);
        if bom {
            buf.extend_from_slice(b"\xEF\xBB\xBF");
        }
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(buf);
        for (i, record) in reader.records().enumerate() {
            let record = record.map_err(std::io::Error::other)?;
            if first && i == 0 {
                out.write_record(&self.headers)
                    .map_err(std::io::Error::other)?;
                continue;
            }
            let cells = record
                .iter()
                .enumerate()
                .map(|(j, v)| cell(self.styles.get(j).copied().unwrap_or(Style::Text), v));
            out.write_record(cells).map_err(std::io::Error::other)?;
        }
        out.into_inner()
            .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// The download rewritten.
    pub fn apply(self, download: Download) -> Download {
        let mut first = true;
        let body = download
            .body
            .map(move |chunk| {
                let chunk = chunk?;
                let out = self.chunk(&chunk, first)?;
                first = false;
                Ok(Bytes::from(out))
            })
            .boxed();
        Download { body, ..download }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cells_become_words_times_and_durations() {
        let r = Readable::new(&[
            ("user_id", Kind::Text),
            ("last_session_started_at_ms", Kind::Time),
            ("last_session_duration_ms", Kind::Int),
            ("crm_token_active", Kind::Flag),
            ("sync_state", Kind::Text),
            ("error_code", Kind::Int),
            ("direction", Kind::Text),
            ("display_name", Kind::Text),
        ]);
        let raw = "\u{feff}user_id,last_session_started_at_ms,last_session_duration_ms,crm_token_active,sync_state,error_code,direction,display_name\r\n\
                   u1,1764923400000,160400,1,LastSyncSucceeded,1,MailToCrm,\"Crm, Ann\"\r\n\
                   u2,0,0,0,NeverSynced,3,CrmToMail,'=x\r\n";
        let out = String::from_utf8(r.chunk(raw.as_bytes(), true).unwrap()).unwrap();
        assert_eq!(
            out,
            "\u{feff}User ID,Last session started (UTC),Last session duration (h:mm:ss),CRM token active,Sync state,Error code,Direction,Display name\r\n\
             u1,2025-12-05 08:30:00,0:02:40,yes,Last sync succeeded,1 object locked / operation error,Mail to CRM,\"Crm, Ann\"\r\n\
             u2,,,no,Never synced,3 object inaccessible or updated prematurely,CRM to mail,'=x\r\n"
        );
        // A later chunk has no header.
        let later = r
            .chunk(
                b"u3,1764923400000,3600000,0,InProgress,0,MailToCrm,x\r\n",
                false,
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(later).unwrap(),
            "u3,2025-12-05 08:30:00,1:00:00,no,In progress,0 object active / success,Mail to CRM,x\r\n"
        );
    }
}
