//! The closed vocabularies of the contract. Each maps one-to-one to an Avro enum with the
//! same symbols (see `schemas/avro/`).

use serde::{Deserialize, Serialize};

/// What started a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Trigger {
    /// The regular schedule.
    Schedule,
    /// The user pressed "Force sync".
    ForcedByUser,
    /// An admin forced it.
    ForcedByAdmin,
    /// Adaptive scheduling (change notifications).
    Adaptive,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionStatus {
    /// Finished without error.
    Success,
    /// Failed; see the error category and source.
    Error,
    /// Canceled (by the user, an admin or shutdown).
    Canceled,
    /// Nothing to do or not run; does not change a user's last outcome.
    Skipped,
}

/// Category of a session error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCategory {
    /// Credentials or tokens refused.
    Authorization,
    /// The remote system throttled us.
    Throttling,
    /// Network or endpoint unreachable.
    Connectivity,
    /// Bad or missing settings.
    Configuration,
    /// A storage or API quota was exceeded.
    Quota,
    /// Anything else.
    Unknown,
}

/// Which system an error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorSource {
    /// The CRM (Salesforce, ...).
    Crm,
    /// The mail server (Exchange, Office 365, Gmail).
    MailServer,
    /// The sync application itself.
    SyncApplication,
    /// Not known.
    Unknown,
}

/// Type of a synchronized object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ObjectType {
    /// An email.
    Email,
    /// A calendar event / appointment.
    Event,
    /// A contact.
    Contact,
    /// A task.
    Task,
    /// A lead.
    Lead,
    /// An account.
    Account,
    /// An opportunity.
    Opportunity,
    /// Any other type (also the Avro enum default for symbols added later).
    Other,
}

/// Direction of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// From the mail system to the CRM.
    MailToCrm,
    /// From the CRM to the mail system.
    CrmToMail,
}

/// Mail system of a user's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MailSystem {
    /// Microsoft Exchange on premises.
    Exchange,
    /// Office 365 / Microsoft 365.
    Office365,
    /// Gmail / Google Workspace.
    Gmail,
    /// Anything else.
    Other,
}

/// CRM system of a user's login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CrmSystem {
    /// Salesforce.
    Salesforce,
    /// Microsoft Dynamics 365.
    Dynamics365,
    /// Oracle CX Sales.
    OracleCxSales,
    /// Anything else.
    Other,
}

/// Operation attempted on an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Operation {
    /// Create.
    Create,
    /// Update.
    Update,
    /// Delete.
    Delete,
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LogLevel {
    /// Trace.
    Trace,
    /// Debug.
    Debug,
    /// Info.
    Info,
    /// Warning.
    Warn,
    /// Error.
    Error,
}

/// Kind of a state change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// Created.
    Created,
    /// Updated.
    Updated,
    /// Deleted.
    Deleted,
}

/// A user's sync setting, as set by the admin or the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncSetting {
    /// Sync enabled.
    Enabled,
    /// Disabled by an admin.
    DisabledByAdmin,
    /// Suspended (temporarily held).
    Suspended,
    /// Disabled by the engine after repeated errors.
    DisabledDueToError,
}

/// Conflict rule of a saved search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConflictResolution {
    /// The CRM's version wins.
    CrmWins,
    /// The mail system's version wins.
    MailWins,
    /// The most recently modified version wins.
    LatestWins,
}

/// An admin action sent to the engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AdminAction {
    /// Suspend sync.
    Suspend,
    /// Disable sync.
    Disable,
    /// Enable sync.
    Enable,
    /// Start a session now.
    ForceSync,
    /// Pause sync.
    Pause,
    /// Resume after pause.
    Resume,
    /// Remove the user from the monitor.
    DeleteFromMonitor,
    /// Change the mail account or CRM user name.
    UpdateCredentials,
}
