//! The simulated fleet: tenants, profiles and users with their current state.

use rand::seq::IndexedRandom;
use rand::Rng;
use schemas::{ConflictResolution, CrmSystem, MailSystem, ObjectType, SavedSearch, SyncSetting};

use crate::config::SimConfig;
use crate::vocab;

/// A tenant (customer).
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Tenant id, e.g. `t0001`.
    pub id: String,
    /// Mail domain of its users.
    pub domain: String,
    /// Indexes into [`Fleet::profiles`].
    pub profiles: Vec<usize>,
}

/// A profile (sync configuration).
#[derive(Debug, Clone)]
pub struct Profile {
    /// Index of its tenant in [`Fleet::tenants`].
    pub tenant: usize,
    /// Profile id, e.g. `t0001-p02`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Whether sync is enabled for the profile.
    pub sync_enabled: bool,
}

/// A user and everything the engine knows of them.
#[derive(Debug, Clone)]
pub struct User {
    /// Index of its tenant.
    pub tenant: usize,
    /// Index of its current profile.
    pub profile: usize,
    /// User id, unique within the tenant, e.g. `t0001-u000042`.
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Mail account.
    pub mail_account: String,
    /// CRM login.
    pub crm_user_name: String,
    /// Mail system.
    pub mail_system: MailSystem,
    /// CRM system.
    pub crm_system: CrmSystem,
    /// Sync setting.
    pub sync_setting: SyncSetting,
    /// CRM token active.
    pub crm_token_active: bool,
    /// Mail token authorized.
    pub mail_token_authorized: bool,
    /// Last token error.
    pub last_token_error: Option<String>,
    /// Saved searches.
    pub saved_searches: Vec<SavedSearch>,
    /// Deleted users get no more sessions.
    pub deleted: bool,
    /// This user never completes a successful session.
    pub never_syncs: bool,
    /// Error sessions since the last success.
    pub consecutive_errors: u32,
}

/// Everything simulated.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// Tenants.
    pub tenants: Vec<Tenant>,
    /// Profiles of all tenants.
    pub profiles: Vec<Profile>,
    /// Users of all tenants.
    pub users: Vec<User>,
}

impl Fleet {
    /// Builds the fleet of `cfg` with `rng`; every user starts enabled with valid tokens.
    pub fn new(cfg: &SimConfig, rng: &mut impl Rng) -> Self {
        let mut tenants = Vec::new();
        let mut profiles = Vec::new();
        let mut users = Vec::new();
        for t in 0..cfg.tenants as usize {
            let company = vocab::COMPANIES[t % vocab::COMPANIES.len()];
            let tenant = Tenant {
                id: format!("t{:04}", t + 1),
                domain: format!("{company}-{}.example.com", t + 1),
                profiles: Vec::new(),
            };
            tenants.push(tenant);
            for p in 0..cfg.profiles_per_tenant as usize {
                let index = profiles.len();
                tenants[t].profiles.push(index);
                let name = vocab::PROFILE_NAMES[p % vocab::PROFILE_NAMES.len()];
                profiles.push(Profile {
                    tenant: t,
                    id: format!("t{:04}-p{:02}", t + 1, p + 1),
                    name: if p < vocab::PROFILE_NAMES.len() {
                        name.to_owned()
                    } else {
                        format!("{name} {}", p + 1)
                    },
                    sync_enabled: true,
                });
                for _ in 0..cfg.users_per_profile {
                    let n = users.len() + 1;
                    users.push(new_user(cfg, rng, &tenants[t], t, index, n));
                }
            }
        }
        Self {
            tenants,
            profiles,
            users,
        }
    }
}

fn new_user(
    cfg: &SimConfig,
    rng: &mut impl Rng,
    tenant: &Tenant,
    tenant_index: usize,
    profile: usize,
    n: usize,
) -> User {
    let first = vocab::FIRST_NAMES.choose(rng).copied().unwrap_or("Anna");
    let last = vocab::LAST_NAMES.choose(rng).copied().unwrap_or("Baker");
    let local = format!("{}.{}{}", ascii_lower(first), ascii_lower(last), n);
    let mail_system = *[
        MailSystem::Office365,
        MailSystem::Exchange,
        MailSystem::Gmail,
    ]
    .choose(rng)
    .unwrap_or(&MailSystem::Office365);
    let crm_system = if rng.random_bool(0.85) {
        CrmSystem::Salesforce
    } else {
        *[CrmSystem::Dynamics365, CrmSystem::OracleCxSales]
            .choose(rng)
            .unwrap_or(&CrmSystem::Dynamics365)
    };
    let searches = rng.random_range(1..=3);
    let saved_searches = vocab::SAVED_SEARCHES
        .choose_multiple(rng, searches)
        .map(|name| SavedSearch {
            name: (*name).to_owned(),
            object_type: *[
                ObjectType::Contact,
                ObjectType::Opportunity,
                ObjectType::Task,
            ]
            .choose(rng)
            .unwrap_or(&ObjectType::Contact),
            conflict_resolution: *[
                ConflictResolution::CrmWins,
                ConflictResolution::MailWins,
                ConflictResolution::LatestWins,
            ]
            .choose(rng)
            .unwrap_or(&ConflictResolution::CrmWins),
        })
        .collect();
    User {
        tenant: tenant_index,
        profile,
        id: format!("{}-u{n:06}", tenant.id),
        display_name: format!("{first} {last}"),
        mail_account: format!("{local}@{}", tenant.domain),
        crm_user_name: format!("{local}@crm.{}", tenant.domain),
        mail_system,
        crm_system,
        sync_setting: SyncSetting::Enabled,
        crm_token_active: true,
        mail_token_authorized: true,
        last_token_error: None,
        saved_searches,
        deleted: false,
        never_syncs: rng.random_bool(cfg.never_synced_share),
        consecutive_errors: 0,
    }
}

fn ascii_lower(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}
