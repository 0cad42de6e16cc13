//! Bearer tokens and the principal behind them: [`tokens`] (stored hashed; create, list,
//! revoke, look up), [`cookie`] (the console's sign-in cookie), and the extractor that
//! turns a request into a [`Principal`] (`extract`).
//!
//! A token is `sqa_` + 64 hex characters (256 random bits); only its SHA-256 is stored, in
//! `api_tokens` of the secrets database `<database>_secrets` (migrations 0010, 0013), which
//! analysts may not read. The functions here take a client of the services' database and
//! find the secrets database from its name. Plain SHA-256 is enough for tokens of that entropy (no
//! dictionary to guess from), and it lets a request find its row with one indexed lookup.
//! Tokens are managed with `query-api token create|list|revoke`.

pub mod cookie;
mod extract;
pub mod tokens;

use serde::Serialize;

use crate::query::params::Scope;

pub use tokens::{create_token, hash_token, list_tokens, lookup, revoke_token, TokenInfo};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads and exports.
    Viewer,
    /// Reads, exports and admin actions.
    Admin,
}

impl Role {
    /// Parses `viewer` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }
}

/// Who is asking: one tenant, all of its profiles or a list, a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The token's id (not secret; names the principal in logs and the audit trail).
    pub token_id: String,
    /// The only tenant it sees.
    pub tenant_id: String,
    /// The role.
    pub role: Role,
    /// `None`: every profile of the tenant; `Some`: only these.
    pub profiles: Option<Vec<String>>,
}

impl Principal {
    /// Whether the principal may see `profile_id`.
    pub fn sees_profile(&self, profile_id: &str) -> bool {
        self.profiles
            .as_ref()
            .is_none_or(|list| list.iter().any(|p| p == profile_id))
    }

    /// The scope as the SQL files bind it: `all_profiles UInt8, profiles Array(String)`.
    /// The array is never empty (`[]` is `Array(Nothing)` on 18.16, which `has` refuses):
    /// `['']` stands for "none" (profile ids are never empty).
    pub fn scope_binds(&self) -> (u8, Vec<String>) {
        match &self.profiles {
            None => (1, vec![String::new()]),
            Some(list) if list.is_empty() => (0, vec![String::new()]),
            Some(list) => (0, list.clone()),
        }
    }

    /// What the principal sees, as the query files bind it.
    pub fn scope(&self) -> Scope {
        let (all_profiles, profiles) = self.scope_binds();
        Scope {
            tenant_id: self.tenant_id.clone(),
            all_profiles,
            profiles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_roles() {
        let mut p = Principal {
            token_id: "t".into(),
            tenant_id: "a".into(),
            role: Role::Viewer,
            profiles: None,
        };
        assert!(p.sees_profile("x"));
        assert_eq!(p.scope_binds(), (1, vec![String::new()]));
        assert_eq!(p.scope().tenant_id, "a");
        p.profiles = Some(vec!["p1".into()]);
        assert!(p.sees_profile("p1") && !p.sees_profile("p2"));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(tokens::hash_token("x").len(), 64);
    }
}
