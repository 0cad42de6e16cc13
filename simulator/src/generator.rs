//! The traffic itself: a deterministic, time-ordered stream of events for the whole fleet.
//!
//! Each user runs a session every `session_interval_ms` (jittered) while their sync is
//! enabled; state changes (disable, suspend, token expiry, deletion, moves, profile toggles)
//! happen between sessions. Events of one user come out in the order they happened.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use schemas::{
    ChangeKind, Direction, DirectionCounts, ErrorCategory, ErrorSource, Event, Header, LogLevel,
    LogLine, ObjectReport, ObjectType, Operation, ProfileState, SessionEnded, SessionLog,
    SessionQueued, SessionStarted, SessionStatus, SyncIssue, SyncSetting, Trigger, UserState,
};

use crate::config::SimConfig;
use crate::fleet::{Fleet, User};
use crate::vocab;

/// Engine instances that "emit" the traffic.
const ENGINES: &[(&str, &str)] = &[
    ("engine-eu-1", "5.14.2"),
    ("engine-eu-2", "5.14.2"),
    ("engine-us-1", "5.15.0"),
];

/// After this many errors in a row the engine may disable a user's sync.
const ERRORS_BEFORE_DISABLE: u32 = 5;

/// Deterministic event stream; an [`Iterator`] over [`Event`]s.
pub struct Generator {
    cfg: SimConfig,
    rng: ChaCha8Rng,
    fleet: Fleet,
    /// Next session time per user, earliest first.
    schedule: BinaryHeap<Reverse<(i64, usize)>>,
    ready: VecDeque<Event>,
    end_ms: i64,
    initialized: bool,
    /// Admin commands the engines obeyed (live mode), applied to the fleet at the next step,
    /// and the fleet as the engines see it (each user written back after their step).
    engines: Option<(crate::engine::Inbox, crate::engine::SharedFleet)>,
}

impl Generator {
    /// A generator for a validated config.
    pub fn new(cfg: SimConfig) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
        let fleet = Fleet::new(&cfg, &mut rng);
        let end_ms = cfg.start_ms.saturating_add(cfg.span_ms);
        Self {
            cfg,
            rng,
            fleet,
            schedule: BinaryHeap::new(),
            ready: VecDeque::new(),
            end_ms,
            initialized: false,
            engines: None,
        }
    }

    /// The fleet as it is now (after the events generated so far).
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Takes the admin commands that [`crate::engine::run`] obeyed into account: the fleet
    /// changes as they say before each step (the engine already reported it), so later
    /// traffic agrees (no sessions while disabled, the new account in later user states).
    /// Returns the fleet the engines read (and change), kept up to date by the steps.
    pub fn obey_engines(&mut self, inbox: crate::engine::Inbox) -> crate::engine::SharedFleet {
        let shared = std::sync::Arc::new(std::sync::Mutex::new(self.fleet.clone()));
        self.engines = Some((inbox, shared.clone()));
        shared
    }

    fn take_commands(&mut self) {
        let Some((inbox, _)) = &self.engines else {
            return;
        };
        let commands = match inbox.lock() {
            Ok(mut queue) => std::mem::take(&mut *queue),
            Err(_) => return,
        };
        for cmd in commands {
            let tenant = self
                .fleet
                .tenants
                .iter()
                .position(|t| t.id == cmd.tenant_id);
            if let Some(user) = self
                .fleet
                .users
                .iter_mut()
                .find(|u| Some(u.tenant) == tenant && u.id == cmd.user_id)
            {
                crate::engine::apply(user, &cmd);
            }
        }
    }

    /// End of the simulated span, ms since the Unix epoch.
    pub fn end_ms(&self) -> i64 {
        self.end_ms
    }

    fn initialize(&mut self) {
        self.initialized = true;
        let start = self.cfg.start_ms;
        for p in 0..self.fleet.profiles.len() {
            let event = self.profile_event(p, ChangeKind::Created, start - 60_000);
            self.ready.push_back(event);
        }
        for u in 0..self.fleet.users.len() {
            let at = start - 30_000 + self.rng.random_range(0..30_000);
            let event = self.user_event(u, ChangeKind::Created, at);
            self.ready.push_back(event);
            let first = start + self.rng.random_range(0..self.cfg.session_interval_ms);
            self.schedule.push(Reverse((first, u)));
        }
    }

    /// Generates the next user's turn; false when the span is over.
    fn step(&mut self) -> bool {
        self.take_commands();
        let Some(Reverse((at, u))) = self.schedule.pop() else {
            return false;
        };
        if at >= self.end_ms {
            self.schedule.clear();
            return false;
        }
        let mut next_free = at;
        if self.rng.random_bool(self.cfg.state_change_rate) {
            self.change_state(u, at - 1_000);
        }
        if self.fleet.users[u].deleted {
            return true;
        }
        if self.runnable(u) {
            next_free = self.session(u, at);
        }
        if let Some((_, shared)) = &self.engines {
            if let Ok(mut fleet) = shared.lock() {
                fleet.users[u] = self.fleet.users[u].clone();
                let p = self.fleet.users[u].profile;
                fleet.profiles[p] = self.fleet.profiles[p].clone();
            }
        }
        let interval = self.cfg.session_interval_ms;
        let gap = interval / 2 + self.rng.random_range(0..=interval);
        self.schedule.push(Reverse((next_free.max(at) + gap, u)));
        true
    }

    fn runnable(&self, u: usize) -> bool {
        let user = &self.fleet.users[u];
        user.sync_setting == SyncSetting::Enabled && self.fleet.profiles[user.profile].sync_enabled
    }

    fn header(&mut self, u: usize, at: i64) -> Header {
        let user = &self.fleet.users[u];
        let (engine_id, engine_version) = ENGINES[u % ENGINES.len()];
        Header {
            event_id: uuid_from(&mut self.rng),
            tenant_id: self.fleet.tenants[user.tenant].id.clone(),
            profile_id: self.fleet.profiles[user.profile].id.clone(),
            user_id: user.id.clone(),
            occurred_at_ms: at,
            engine_id: engine_id.to_owned(),
            engine_version: engine_version.to_owned(),
        }
    }

    fn user_event(&mut self, u: usize, change: ChangeKind, at: i64) -> Event {
        let header = self.header(u, at);
        let user = &self.fleet.users[u];
        Event::UserState(UserState {
            header,
            change,
            display_name: user.display_name.clone(),
            mail_account: user.mail_account.clone(),
            crm_user_name: user.crm_user_name.clone(),
            mail_system: user.mail_system,
            crm_system: user.crm_system,
            sync_setting: user.sync_setting,
            crm_token_active: user.crm_token_active,
            mail_token_authorized: user.mail_token_authorized,
            last_token_error: user.last_token_error.clone(),
            saved_searches: user.saved_searches.clone(),
        })
    }

    fn profile_event(&mut self, p: usize, change: ChangeKind, at: i64) -> Event {
        let profile = &self.fleet.profiles[p];
        Event::ProfileState(ProfileState {
            event_id: uuid_from(&mut self.rng),
            tenant_id: self.fleet.tenants[profile.tenant].id.clone(),
            profile_id: profile.id.clone(),
            occurred_at_ms: at,
            engine_id: "provisioning".to_owned(),
            engine_version: "1.0.0".to_owned(),
            change,
            name: profile.name.clone(),
            sync_enabled: profile.sync_enabled,
        })
    }

    /// One random state change of the user (or of the user's profile) at `at`.
    fn change_state(&mut self, u: usize, at: i64) {
        let roll = self.rng.random_range(0..100);
        let user = &mut self.fleet.users[u];
        if user.deleted {
            return;
        }
        let profile = user.profile;
        if !self.fleet.profiles[profile].sync_enabled && roll < 50 {
            // Switched-off profiles come back, like switched-off users.
            self.fleet.profiles[profile].sync_enabled = true;
            let event = self.profile_event(profile, ChangeKind::Updated, at);
            self.ready.push_back(event);
            return;
        }
        let change = match roll {
            // Bring back users who were switched off.
            _ if user.sync_setting != SyncSetting::Enabled && roll < 50 => {
                user.sync_setting = SyncSetting::Enabled;
                user.consecutive_errors = 0;
                ChangeKind::Updated
            }
            0..=14 => {
                user.sync_setting = SyncSetting::DisabledByAdmin;
                ChangeKind::Updated
            }
            15..=29 => {
                user.sync_setting = SyncSetting::Suspended;
                ChangeKind::Updated
            }
            30..=44 => {
                if roll % 2 == 0 {
                    user.crm_token_active = false;
                    user.last_token_error = Some(vocab::AUTH_MESSAGES[0].to_owned());
                } else {
                    user.mail_token_authorized = false;
                    user.last_token_error = Some(vocab::AUTH_MESSAGES[1].to_owned());
                }
                ChangeKind::Updated
            }
            45..=69 => {
                user.crm_token_active = true;
                user.mail_token_authorized = true;
                user.last_token_error = None;
                ChangeKind::Updated
            }
            70..=84 => {
                let tenant = &self.fleet.tenants[user.tenant];
                let others: Vec<usize> = tenant
                    .profiles
                    .iter()
                    .copied()
                    .filter(|p| *p != profile)
                    .collect();
                match others.choose(&mut self.rng) {
                    Some(&to) => self.fleet.users[u].profile = to,
                    None => return,
                }
                ChangeKind::Updated
            }
            85..=87 => {
                user.deleted = true;
                ChangeKind::Deleted
            }
            88..=97 => {
                let first = vocab::FIRST_NAMES[roll as usize % vocab::FIRST_NAMES.len()];
                let last = user
                    .display_name
                    .rsplit(' ')
                    .next()
                    .unwrap_or("Baker")
                    .to_owned();
                user.display_name = format!("{first} {last}");
                ChangeKind::Updated
            }
            // Rarely, the whole profile is switched off or back on.
            _ => {
                let p = &mut self.fleet.profiles[profile];
                p.sync_enabled = !p.sync_enabled;
                let event = self.profile_event(profile, ChangeKind::Updated, at);
                self.ready.push_back(event);
                return;
            }
        };
        let event = self.user_event(u, change, at);
        self.ready.push_back(event);
    }

    /// Emits one session of user `u` queued at `at`; returns when the user is free again.
    fn session(&mut self, u: usize, at: i64) -> i64 {
        let session_id = uuid_from(&mut self.rng);
        let header = self.header(u, at);
        self.ready.push_back(Event::SessionQueued(SessionQueued {
            header,
            session_id: session_id.clone(),
        }));
        let started = at + self.rng.random_range(200..3_000);
        let trigger = match self.rng.random_range(0..100) {
            0..=79 => Trigger::Schedule,
            80..=89 => Trigger::Adaptive,
            90..=96 => Trigger::ForcedByUser,
            _ => Trigger::ForcedByAdmin,
        };
        let header = self.header(u, started);
        self.ready.push_back(Event::SessionStarted(SessionStarted {
            header,
            session_id: session_id.clone(),
            trigger,
        }));
        let (status, category, source) = self.outcome(u);
        let duration = match status {
            SessionStatus::Skipped => self.rng.random_range(100..2_000),
            _ => self.rng.random_range(2_000..180_000),
        };
        let ended = started + duration;
        let abandoned = self.rng.random_bool(self.cfg.abandoned_session_rate);
        if abandoned || ended >= self.end_ms {
            // The engine died, or the session is still running when the span ends.
            self.log(u, &session_id, started, started + duration / 3, 0, 3);
            return ended;
        }
        let issues = match status {
            SessionStatus::Success | SessionStatus::Error if self.rng.random_bool(0.15) => {
                self.rng.random_range(1..=4)
            }
            _ => 0,
        };
        for i in 0..issues {
            let at = started + duration * (i + 1) / (issues + 2);
            self.issue(u, &session_id, at);
        }
        let ended_event = self.ended(
            u,
            &session_id,
            started,
            ended,
            status,
            category,
            source,
            issues,
        );
        self.ready.push_back(ended_event);
        let lines = if status == SessionStatus::Skipped {
            2
        } else {
            9
        };
        self.log(u, &session_id, started, ended, 0, lines);
        let user = &mut self.fleet.users[u];
        match status {
            SessionStatus::Success => user.consecutive_errors = 0,
            SessionStatus::Error => user.consecutive_errors += 1,
            _ => {}
        }
        if user.consecutive_errors >= ERRORS_BEFORE_DISABLE && self.rng.random_bool(0.5) {
            self.fleet.users[u].sync_setting = SyncSetting::DisabledDueToError;
            let event = self.user_event(u, ChangeKind::Updated, ended + 1_000);
            self.ready.push_back(event);
        }
        ended
    }

    fn outcome(&mut self, u: usize) -> (SessionStatus, Option<ErrorCategory>, Option<ErrorSource>) {
        let user: &User = &self.fleet.users[u];
        if !user.crm_token_active {
            return auth_error(ErrorSource::Crm);
        }
        if !user.mail_token_authorized {
            return auth_error(ErrorSource::MailServer);
        }
        let roll = self.rng.random_range(0..100);
        let status = if user.never_syncs {
            match roll {
                0..=59 => SessionStatus::Error,
                60..=89 => SessionStatus::Skipped,
                _ => SessionStatus::Canceled,
            }
        } else {
            match roll {
                0..=54 => SessionStatus::Success,
                55..=82 => SessionStatus::Skipped,
                83..=94 => SessionStatus::Error,
                _ => SessionStatus::Canceled,
            }
        };
        if status != SessionStatus::Error {
            return (status, None, None);
        }
        let category = *[
            ErrorCategory::Throttling,
            ErrorCategory::Throttling,
            ErrorCategory::Connectivity,
            ErrorCategory::Connectivity,
            ErrorCategory::Authorization,
            ErrorCategory::Configuration,
            ErrorCategory::Quota,
            ErrorCategory::Unknown,
        ]
        .choose(&mut self.rng)
        .unwrap_or(&ErrorCategory::Unknown);
        let source = *[
            ErrorSource::Crm,
            ErrorSource::MailServer,
            ErrorSource::SyncApplication,
            ErrorSource::Unknown,
        ]
        .choose(&mut self.rng)
        .unwrap_or(&ErrorSource::Unknown);
        (status, Some(category), Some(source))
    }

    #[allow(clippy::too_many_arguments)]
    fn ended(
        &mut self,
        u: usize,
        session_id: &str,
        started: i64,
        ended: i64,
        status: SessionStatus,
        category: Option<ErrorCategory>,
        source: Option<ErrorSource>,
        issues: i64,
    ) -> Event {
        let header = self.header(u, ended);
        let mut objects = Vec::new();
        if status != SessionStatus::Skipped {
            let types = [
                ObjectType::Email,
                ObjectType::Event,
                ObjectType::Contact,
                ObjectType::Task,
            ];
            let n = self.rng.random_range(1..=types.len());
            for object_type in types.into_iter().take(n) {
                let mut counts = || DirectionCounts {
                    created: self.rng.random_range(0..20),
                    updated: self.rng.random_range(0..10),
                    deleted: self.rng.random_range(0..3),
                };
                let mail_to_crm = counts();
                let crm_to_mail = counts();
                objects.push(ObjectReport {
                    object_type,
                    synchronized: self.rng.random_range(0..200),
                    mail_to_crm,
                    crm_to_mail,
                });
            }
        }
        let changes: i64 = objects
            .iter()
            .map(|o| {
                let sum = |d: &DirectionCounts| d.created + d.updated + d.deleted;
                sum(&o.mail_to_crm) + sum(&o.crm_to_mail)
            })
            .sum();
        let (message, exception) = match (status, category) {
            (SessionStatus::Error, Some(category)) => {
                let list = messages_for(category);
                let message = list
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("Unexpected error");
                let exception = self.rng.random_bool(0.4).then(|| {
                    format!(
                        "SyncException: {message}\n   at Engine.Sync.RunSession(SessionContext ctx)\n   at Engine.Scheduler.Execute()"
                    )
                });
                (Some(message.to_owned()), exception)
            }
            (SessionStatus::Canceled, _) => (Some("Session canceled".to_owned()), None),
            (SessionStatus::Skipped, _) => (Some("Nothing to synchronize".to_owned()), None),
            _ => (Some("Synchronization completed".to_owned()), None),
        };
        Event::SessionEnded(SessionEnded {
            header,
            session_id: session_id.to_owned(),
            started_at_ms: started,
            ended_at_ms: ended,
            status,
            scope_items: self.rng.random_range(100..5_000),
            objects,
            changes,
            total_changes: changes + self.rng.random_range(0..5),
            failures: issues,
            issues,
            conflicts: self.rng.random_range(0..3),
            error_category: category,
            error_source: source,
            message,
            exception,
        })
    }

    fn issue(&mut self, u: usize, session_id: &str, at: i64) {
        let header = self.header(u, at);
        let user = &self.fleet.users[u];
        let (mail_system, crm_system) = (user.mail_system, user.crm_system);
        let object_type = *[
            ObjectType::Email,
            ObjectType::Event,
            ObjectType::Contact,
            ObjectType::Task,
        ]
        .choose(&mut self.rng)
        .unwrap_or(&ObjectType::Email);
        let object_name = match object_type {
            ObjectType::Contact => {
                let first = vocab::FIRST_NAMES
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("Anna");
                let last = vocab::LAST_NAMES
                    .choose(&mut self.rng)
                    .copied()
                    .unwrap_or("Baker");
                format!("{first} {last}")
            }
            _ => vocab::SUBJECTS
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("Meeting")
                .to_owned(),
        };
        let direction = if self.rng.random_bool(0.6) {
            Direction::MailToCrm
        } else {
            Direction::CrmToMail
        };
        let error_source = match direction {
            Direction::MailToCrm => ErrorSource::Crm,
            Direction::CrmToMail => ErrorSource::MailServer,
        };
        let target_object_id = self
            .rng
            .random_bool(0.8)
            .then(|| format!("00Q{:012X}", self.rng.random::<u64>() & 0xFFFF_FFFF_FFFF));
        let issue = SyncIssue {
            header,
            issue_id: uuid_from(&mut self.rng),
            session_id: session_id.to_owned(),
            object_type,
            direction,
            mail_system,
            crm_system,
            object_name,
            operation: *[Operation::Create, Operation::Update, Operation::Delete]
                .choose(&mut self.rng)
                .unwrap_or(&Operation::Update),
            error_code: self.rng.random_range(1..=3),
            description: vocab::ISSUE_DESCRIPTIONS
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("error")
                .to_owned(),
            error_source,
            target_object_id,
        };
        self.ready.push_back(Event::SyncIssue(issue));
    }

    fn log(&mut self, u: usize, session_id: &str, from: i64, to: i64, sequence: i32, lines: usize) {
        if !self.cfg.logs {
            return;
        }
        let header = self.header(u, to);
        let step = ((to - from) / lines.max(1) as i64).max(1);
        let lines = (0..lines)
            .map(|i| {
                let text = vocab::LOG_TEXTS[i % vocab::LOG_TEXTS.len()];
                LogLine {
                    at_ms: from + step * i as i64,
                    level: if i == 0 {
                        LogLevel::Info
                    } else {
                        LogLevel::Debug
                    },
                    text: text.to_owned(),
                }
            })
            .collect();
        self.ready.push_back(Event::SessionLog(SessionLog {
            header,
            session_id: session_id.to_owned(),
            sequence,
            lines,
        }));
    }
}

impl Iterator for Generator {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        if !self.initialized {
            self.initialize();
        }
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if !self.step() {
                return None;
            }
        }
    }
}

fn auth_error(source: ErrorSource) -> (SessionStatus, Option<ErrorCategory>, Option<ErrorSource>) {
    (
        SessionStatus::Error,
        Some(ErrorCategory::Authorization),
        Some(source),
    )
}

fn messages_for(category: ErrorCategory) -> &'static [&'static str] {
    match category {
        ErrorCategory::Authorization => vocab::AUTH_MESSAGES,
        ErrorCategory::Throttling => vocab::THROTTLING_MESSAGES,
        ErrorCategory::Connectivity => vocab::CONNECTIVITY_MESSAGES,
        ErrorCategory::Configuration => vocab::CONFIGURATION_MESSAGES,
        ErrorCategory::Quota => vocab::QUOTA_MESSAGES,
        ErrorCategory::Unknown => vocab::UNKNOWN_MESSAGES,
    }
}

/// A version-4 UUID drawn from the simulation's generator (so runs are reproducible).
fn uuid_from(rng: &mut impl Rng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}
