//! Bearer tokens and the principal behind them: [`tokens`] (stored hashed; create, list,
//! revoke, look up), the cached lookup of a request's token and revocation through the
//! process (`cached`: [`crate::AppState::principal`], [`crate::AppState::revoke_token`],
//! over the [`TokenCache`]), [`cookie`] (the console's sign-in cookie), and the extractor
//! that turns a request into a [`Principal`] (`extract`).
//!
//! A token is `sqa_` + 64 hex characters (256 random bits); only its SHA-256 is stored, in
//! `api_tokens` of the secrets database `<database>_secrets` (migrations 0010, 0013), which
//! analysts may not read. The functions here take a client of the services' database and
//! find the secrets database from its name. Plain SHA-256 is enough for tokens of that entropy (no
//! dictionary to guess from), and it lets a request find its row with one indexed lookup.
//! Tokens are managed with `query-api token create|list|revoke`.

mod cached;
pub mod cookie;
mod extract;
pub mod tokens;

use crate::query::params::Scope;

pub use crate::token_cache::TokenCache;
pub use tokens::{create_token, hash_token, list_tokens, lookup, revoke_token, TokenInfo};

pub use crate::principal::{Principal, Role};

/// Here rather than in `crate::principal`, which is below `query`.
impl Principal {
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
