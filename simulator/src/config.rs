//! What to simulate: fleet size, time span, traffic mix and injected faults.

use thiserror::Error;

/// One simulation run, validated by [`SimConfig::validate`] before anything starts.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Seed of the random generator; the same seed and config give the same traffic.
    pub seed: u64,
    /// Number of tenants.
    pub tenants: u32,
    /// Profiles per tenant.
    pub profiles_per_tenant: u32,
    /// Users per profile.
    pub users_per_profile: u32,
    /// Simulated time of the first event, ms since the Unix epoch.
    pub start_ms: i64,
    /// Simulated time span, ms.
    pub span_ms: i64,
    /// Mean time between two sessions of one user, ms (each gap is jittered +-50%).
    pub session_interval_ms: i64,
    /// Share of users that never complete a successful session (0..=1).
    pub never_synced_share: f64,
    /// Probability that a session starts and never ends (engine crash).
    pub abandoned_session_rate: f64,
    /// Probability, per session, of a user or profile state change (disable, suspend,
    /// token expiry, deletion, move, ...).
    pub state_change_rate: f64,
    /// Whether to publish session logs.
    pub logs: bool,
    /// Probability that a message is published twice.
    pub duplicate_rate: f64,
    /// Probability that a message is held back and published after later messages of the
    /// same user (out-of-order delivery).
    pub reorder_rate: f64,
    /// Probability, per valid message, of an extra malformed message next to it.
    pub malformed_rate: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            tenants: 2,
            profiles_per_tenant: 3,
            users_per_profile: 10,
            start_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            span_ms: 3_600_000,
            session_interval_ms: 300_000,
            never_synced_share: 0.05,
            abandoned_session_rate: 0.01,
            state_change_rate: 0.01,
            logs: true,
            duplicate_rate: 0.0,
            reorder_rate: 0.0,
            malformed_rate: 0.0,
        }
    }
}

/// A config value that cannot be simulated.
#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A count that must be at least 1 is 0.
    #[error("{field} must be at least 1")]
    Zero {
        /// The offending field.
        field: &'static str,
    },
    /// A probability outside 0..=1.
    #[error("{field} must be between 0 and 1, got {value}")]
    NotAProbability {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: f64,
    },
    /// A time span or interval that is not positive.
    #[error("{field} must be positive, got {value} ms")]
    NotPositive {
        /// The offending field.
        field: &'static str,
        /// Its value.
        value: i64,
    },
    /// The fleet is too large to simulate.
    #[error("{users} users is more than the supported {max}")]
    TooManyUsers {
        /// Users asked for.
        users: u64,
        /// The limit.
        max: u64,
    },
}

/// The largest fleet one simulator run models (every user's state lives in memory).
pub const MAX_USERS: u64 = 10_000_000;

impl SimConfig {
    /// Total users in the fleet.
    pub fn total_users(&self) -> u64 {
        u64::from(self.tenants)
            * u64::from(self.profiles_per_tenant)
            * u64::from(self.users_per_profile)
    }

    /// Checks every field; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (field, value) in [
            ("tenants", self.tenants),
            ("profiles_per_tenant", self.profiles_per_tenant),
            ("users_per_profile", self.users_per_profile),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero { field });
            }
        }
        for (field, value) in [
            ("span_ms", self.span_ms),
            ("session_interval_ms", self.session_interval_ms),
        ] {
            if value <= 0 {
                return Err(ConfigError::NotPositive { field, value });
            }
        }
        for (field, value) in [
            ("never_synced_share", self.never_synced_share),
            ("abandoned_session_rate", self.abandoned_session_rate),
            ("state_change_rate", self.state_change_rate),
            ("duplicate_rate", self.duplicate_rate),
            ("reorder_rate", self.reorder_rate),
            ("malformed_rate", self.malformed_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::NotAProbability { field, value });
            }
        }
        let users = self.total_users();
        if users > MAX_USERS {
            return Err(ConfigError::TooManyUsers {
                users,
                max: MAX_USERS,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(SimConfig::default().validate(), Ok(()));
    }

    #[test]
    fn names_the_bad_field() {
        let cfg = SimConfig {
            users_per_profile: 0,
            ..SimConfig::default()
        };
        assert_eq!(
            cfg.validate(),
            Err(ConfigError::Zero {
                field: "users_per_profile"
            })
        );
        let cfg = SimConfig {
            reorder_rate: 1.5,
            ..SimConfig::default()
        };
        assert_eq!(
            cfg.validate(),
            Err(ConfigError::NotAProbability {
                field: "reorder_rate",
                value: 1.5
            })
        );
        let cfg = SimConfig {
            span_ms: 0,
            ..SimConfig::default()
        };
        assert!(matches!(
            cfg.validate(),
            Err(ConfigError::NotPositive {
                field: "span_ms",
                ..
            })
        ));
    }
}
