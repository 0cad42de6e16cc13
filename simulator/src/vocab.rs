//! Word lists that make simulated traffic look like the real thing.

/// First names for display names and contacts.
pub const FIRST_NAMES: &[&str] = &[
    "Anna",
    "Ben",
    "Carla",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kasia",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Pedro",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Ximena",
    "Yusuf",
    "Zoe",
    "José",
    "Zoë",
    "Øystein",
    "Małgorzata",
];

/// Last names.
pub const LAST_NAMES: &[&str] = &[
    "Andersen",
    "Baker",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Hoffmann",
    "Ivanova",
    "Jensen",
    "Kowalski",
    "López",
    "Müller",
    "Nakamura",
    "O'Brien",
    "Petrov",
    "Rossi",
    "Schmidt",
    "Tanaka",
    "Usman",
    "van Dijk",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmermann",
];

/// Company stems for tenant domains.
pub const COMPANIES: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "vandelay",
];

/// Profile names.
pub const PROFILE_NAMES: &[&str] = &[
    "Sales EMEA",
    "Sales Americas",
    "Support",
    "Executives",
    "Partners",
    "Inside Sales",
    "Marketing",
    "APAC",
];

/// Email and event subjects for issue object names.
pub const SUBJECTS: &[&str] = &[
    "Re: Q3 renewal",
    "Quarterly business review",
    "Intro call",
    "Fwd: pricing proposal",
    "Contract signature",
    "Demo follow-up",
    "Lunch with the account team",
    "RE: Invoice #4411 \"overdue\"",
    "Kick-off, onboarding; next steps",
    "=SUM(A1:A9) looks like a formula",
];

/// Saved search names.
pub const SAVED_SEARCHES: &[&str] = &[
    "My open opportunities",
    "Key accounts",
    "Contacts I own",
    "Tasks due this week",
    "Recent leads",
];

/// Error messages per category, as engines report them.
pub const AUTH_MESSAGES: &[&str] = &[
    "INVALID_SESSION_ID: Session expired or invalid",
    "AADSTS700082: The refresh token has expired due to inactivity",
    "invalid_grant: Token has been expired or revoked",
];
/// Throttling messages.
pub const THROTTLING_MESSAGES: &[&str] = &[
    "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded",
    "ErrorServerBusy: The server cannot service this request right now",
    "429 Too Many Requests",
];
/// Connectivity messages.
pub const CONNECTIVITY_MESSAGES: &[&str] = &[
    "The remote name could not be resolved: 'outlook.office365.com'",
    "Connection timed out after 100000 ms",
    "503 Service Unavailable",
];
/// Configuration messages.
pub const CONFIGURATION_MESSAGES: &[&str] = &[
    "Field Custom_Region__c does not exist on Contact",
    "Impersonation is not configured for the service account",
    "Mailbox not found for user",
];
/// Quota messages.
pub const QUOTA_MESSAGES: &[&str] = &[
    "STORAGE_LIMIT_EXCEEDED: storage limit exceeded",
    "ErrorQuotaExceeded: The mailbox quota has been exceeded",
];
/// Unknown-category messages.
pub const UNKNOWN_MESSAGES: &[&str] = &[
    "Unexpected error",
    "Object reference not set to an instance of an object.",
];

/// Issue descriptions (error texts from the target system).
pub const ISSUE_DESCRIPTIONS: &[&str] = &[
    "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access to this record",
    "ENTITY_IS_DELETED: entity is deleted",
    "INSUFFICIENT_ACCESS_OR_READONLY: insufficient access rights on object id",
    "ErrorItemNotFound: The specified object was not found in the store.",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION: Close date must be in the future",
    "ErrorIrresolvableConflict: The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
];

/// Log line texts.
pub const LOG_TEXTS: &[&str] = &[
    "Session started",
    "Loading sync scope",
    "Fetched changes from mail server",
    "Fetched changes from CRM",
    "Resolving conflicts",
    "Applying changes to CRM",
    "Applying changes to mailbox",
    "Saving sync state",
    "Session finished",
];
