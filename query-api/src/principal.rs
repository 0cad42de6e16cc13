//! Who is asking: the [`Principal`] behind a token and its [`Role`]. Plain data shared by
//! every layer (the token cache keeps principals; `auth` finds them, `http` and `query`
//! scope requests by them); `auth` adds [`Principal::scope`].

use serde::Serialize;

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
}
