//! The derived statuses of a user, shared by the aggregator (which derives and stores them,
//! `aggregator::rules`) and the query API (which counts and shows them). Stored in
//! ClickHouse as their names ([`EffectiveStatus::as_str`], [`SyncState::as_str`]).

use serde::{Deserialize, Serialize};

/// A user's effective status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EffectiveStatus {
    /// Syncing is allowed.
    Enabled,
    /// The profile or the user is disabled.
    Disabled,
    /// The engine disabled the user after errors.
    DisabledDueToError,
    /// The user is suspended.
    Suspended,
}

/// The monitor's sync state of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncState {
    /// No session ever succeeded (and none is running).
    NeverSynced,
    /// The latest session started and has not ended (yet within the stall limit).
    InProgress,
    /// The latest session started longer ago than the stall limit and never ended.
    Stalled,
    /// The last outcome (Skipped ignored) was Error or Canceled.
    LastSyncFailed,
    /// The last outcome (Skipped ignored) was Success.
    LastSyncSucceeded,
}

macro_rules! named {
    ($ty:ident { $($v:ident),+ }) => {
        impl $ty {
            /// The name stored in ClickHouse and shown by the API.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$v => stringify!($v)),+ }
            }

            /// The value of a stored name, `None` for any other text.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $(stringify!($v) => Some($ty::$v),)+ _ => None }
            }
        }
    };
}
named!(EffectiveStatus {
    Enabled,
    Disabled,
    DisabledDueToError,
    Suspended
});
named!(SyncState {
    NeverSynced,
    InProgress,
    Stalled,
    LastSyncFailed,
    LastSyncSucceeded
});

impl EffectiveStatus {
    /// Every effective status, in display order.
    pub const ALL: [EffectiveStatus; 4] = [
        EffectiveStatus::Enabled,
        EffectiveStatus::Disabled,
        EffectiveStatus::DisabledDueToError,
        EffectiveStatus::Suspended,
    ];
}

impl SyncState {
    /// Every sync state in the display order of the monitor cards.
    pub const ALL: [SyncState; 5] = [
        SyncState::NeverSynced,
        SyncState::InProgress,
        SyncState::LastSyncFailed,
        SyncState::LastSyncSucceeded,
        SyncState::Stalled,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_serialize_as_stored() {
        for s in SyncState::ALL {
            assert_eq!(SyncState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
        for s in EffectiveStatus::ALL {
            assert_eq!(EffectiveStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(SyncState::parse("Unknown"), None);
    }
}
