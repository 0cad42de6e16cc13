//! The fleet's sync engines obeying the admins (live mode, and the console's browser tests):
//! each [`AdminCommand`] on the commands topic is answered the way a real engine answers it,
//! with the events the event contract defines (`schemas/README.md`):
//!
//! | action | what the engine reports |
//! |---|---|
//! | `Suspend`, `Pause` | a user state with sync setting `Suspended` |
//! | `Disable` | a user state with sync setting `DisabledByAdmin` |
//! | `Enable`, `Resume` | a user state with sync setting `Enabled` |
//! | `UpdateCredentials` | a user state with the new mail account and/or CRM user name |
//! | `DeleteFromMonitor` | a user state with change `Deleted` (the user leaves the monitor) |
//! | `ForceSync` | a session, trigger `ForcedByAdmin`: queued and started at once, ended (`Success`) a few seconds later; `Skipped` when the user's sync is not enabled |
//!
//! [`Engine::obey`] is pure (the events for a command at a time, the user's state updated);
//! a command seen before (by `command_id`) or for a user the fleet does not have is ignored.
//! [`apply`] is the state change alone, which the [`crate::Generator`] applies to its own
//! fleet (through [`Inbox`]) so that its later traffic agrees (no sessions while disabled,
//! the new account in later user states). [`run`] consumes the commands topic and publishes
//! the answers.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};
use schemas::{
    AdminAction, AdminCommand, ChangeKind, DirectionCounts, Event, Header, ObjectReport,
    ObjectType, SessionEnded, SessionQueued, SessionStarted, SessionStatus, SyncSetting, Trigger,
    UserState,
};

use crate::fleet::{Fleet, User};
use crate::record::{Record, Route};

/// Engine id of the answers.
pub const ENGINE_ID: &str = "engine-eu-1";
const ENGINE_VERSION: &str = "5.14.2";
/// A forced session starts this long after the command.
pub const FORCED_START_MS: i64 = 500;
/// And ends this long after it started.
pub const FORCED_DURATION_MS: i64 = 3_000;

/// Commands the generator has not applied to its fleet yet (shared with [`run`]).
pub type Inbox = Arc<Mutex<Vec<AdminCommand>>>;

struct Known<'a> {
    profile_id: String,
    user: &'a mut User,
}

/// What a command does to a user's state; true when it changed anything an engine reports.
pub fn apply(user: &mut User, cmd: &AdminCommand) -> bool {
    match cmd.action {
        AdminAction::Suspend | AdminAction::Pause => user.sync_setting = SyncSetting::Suspended,
        AdminAction::Disable => user.sync_setting = SyncSetting::DisabledByAdmin,
        AdminAction::Enable | AdminAction::Resume => {
            user.sync_setting = SyncSetting::Enabled;
            user.consecutive_errors = 0;
        }
        AdminAction::UpdateCredentials => {
            if let Some(mail) = cmd.new_mail_account.as_ref().filter(|m| !m.is_empty()) {
                user.mail_account = mail.clone();
            }
            if let Some(crm) = cmd.new_crm_user_name.as_ref().filter(|c| !c.is_empty()) {
                user.crm_user_name = crm.clone();
            }
        }
        AdminAction::DeleteFromMonitor => user.deleted = true,
        AdminAction::ForceSync => return false,
    }
    true
}

/// The fleet as the engines see it, shared with the [`crate::Generator`] in live mode.
pub type SharedFleet = Arc<Mutex<Fleet>>;

/// The engines of a fleet.
pub struct Engine {
    fleet: SharedFleet,
    seen: HashSet<String>,
}

impl Engine {
    /// The engines of `fleet` (read and changed at each command).
    pub fn new(fleet: SharedFleet) -> Self {
        Self {
            fleet,
            seen: HashSet::new(),
        }
    }

    /// The events an engine reports for `cmd` received at `now_ms` (empty for a repeated
    /// command or an unknown or deleted user); the user's state is updated.
    pub fn obey(&mut self, cmd: &AdminCommand, now_ms: i64) -> Vec<Event> {
        if !self.seen.insert(cmd.command_id.clone()) {
            return Vec::new();
        }
        let Ok(mut fleet) = self.fleet.lock() else {
            return Vec::new();
        };
        let fleet = &mut *fleet;
        let Some(tenant) = fleet.tenants.iter().position(|t| t.id == cmd.tenant_id) else {
            return Vec::new();
        };
        let Some(user) = fleet
            .users
            .iter_mut()
            .find(|u| u.tenant == tenant && u.id == cmd.user_id)
        else {
            return Vec::new();
        };
        if user.deleted {
            return Vec::new();
        }
        let profile_id = fleet.profiles[user.profile].id.clone();
        let known = Known { profile_id, user };
        let header = |suffix: &str, at: i64| Header {
            event_id: format!("{}-{suffix}", cmd.command_id),
            tenant_id: cmd.tenant_id.clone(),
            profile_id: known.profile_id.clone(),
            user_id: cmd.user_id.clone(),
            occurred_at_ms: at,
            engine_id: ENGINE_ID.to_owned(),
            engine_version: ENGINE_VERSION.to_owned(),
        };
        if cmd.action == AdminAction::ForceSync {
            let session_id = format!("forced-{}", cmd.command_id);
            let started = now_ms + FORCED_START_MS;
            let ended = started + FORCED_DURATION_MS;
            let enabled = known.user.sync_setting == SyncSetting::Enabled;
            let (status, message, synchronized) = if enabled {
                (SessionStatus::Success, "Forced by an admin", 12)
            } else {
                (
                    SessionStatus::Skipped,
                    "Sync is not enabled for this user",
                    0,
                )
            };
            return vec![
                Event::SessionQueued(SessionQueued {
                    header: header("queued", now_ms),
                    session_id: session_id.clone(),
                }),
                Event::SessionStarted(SessionStarted {
                    header: header("started", started),
                    session_id: session_id.clone(),
                    trigger: Trigger::ForcedByAdmin,
                }),
                Event::SessionEnded(SessionEnded {
                    header: header("ended", ended),
                    session_id,
                    started_at_ms: started,
                    ended_at_ms: ended,
                    status,
                    scope_items: synchronized,
                    objects: vec![ObjectReport {
                        object_type: ObjectType::Email,
                        synchronized,
                        mail_to_crm: DirectionCounts {
                            created: synchronized / 4,
                            updated: 0,
                            deleted: 0,
                        },
                        crm_to_mail: DirectionCounts {
                            created: 0,
                            updated: 0,
                            deleted: 0,
                        },
                    }],
                    changes: synchronized / 4,
                    total_changes: synchronized / 4,
                    failures: 0,
                    issues: 0,
                    conflicts: 0,
                    error_category: None,
                    error_source: None,
                    message: Some(message.to_owned()),
                    exception: None,
                }),
            ];
        }
        apply(known.user, cmd);
        let change = if known.user.deleted {
            ChangeKind::Deleted
        } else {
            ChangeKind::Updated
        };
        let user = &*known.user;
        vec![Event::UserState(UserState {
            header: header("state", now_ms),
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
        })]
    }
}

/// Where the engines listen and answer.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Kafka bootstrap servers.
    pub brokers: String,
    /// The admin commands topic.
    pub commands_topic: String,
    /// Where the answers go (user states, sessions).
    pub events_topic: String,
}

/// Errors of [`run`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The consumer or producer could not be made.
    #[error("kafka client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Consumes the commands topic (new commands only: every partition from its end, assigned
/// without a consumer group) until `stop`, answering each as [`Engine::obey`] says, each event when its time comes
/// (a forced session ends a few seconds after it starts); each command also goes to `inbox`
/// for the generator. Undecodable messages are logged and skipped.
pub fn run(
    cfg: &EngineConfig,
    mut engine: Engine,
    inbox: Option<Inbox>,
    stop: &AtomicBool,
) -> Result<(), EngineError> {
    // Every partition of the topic from its end, assigned directly: no consumer group to
    // join (a join takes seconds, on tansu sometimes much longer), so commands sent from
    // now on are read.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("group.id", "fleet-sim-engines")
        .set("enable.auto.commit", "false")
        .create()?;
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(&cfg.commands_topic), timeout)?;
    let mut assignment = TopicPartitionList::new();
    for topic in metadata.topics() {
        for p in topic.partitions() {
            let (_, high) = consumer.fetch_watermarks(&cfg.commands_topic, p.id(), timeout)?;
            assignment.add_partition_offset(&cfg.commands_topic, p.id(), Offset::Offset(high))?;
        }
    }
    consumer.assign(&assignment)?;
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &cfg.brokers)
        .set("linger.ms", "0")
        .set("acks", "all")
        .create()?;
    // Answers not yet due, by time.
    let mut due: Vec<Record> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            match message {
                Ok(m) => match schemas::wire::decode_command(m.payload().unwrap_or_default()) {
                    Ok(cmd) => {
                        let events = engine.obey(&cmd, now_ms());
                        tracing::info!(
                            command_id = %cmd.command_id,
                            user_id = %cmd.user_id,
                            action = ?cmd.action,
                            events = events.len(),
                            "obeying an admin command"
                        );
                        due.extend(events.iter().map(Record::from_event));
                        if let Some(inbox) = &inbox {
                            if let Ok(mut queue) = inbox.lock() {
                                queue.push(cmd);
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "undecodable admin command skipped"),
                },
                Err(e) => tracing::warn!(error = %e, "commands topic"),
            }
        }
        let now = now_ms();
        due.sort_by_key(|r| r.at_ms);
        let ready = due.iter().take_while(|r| r.at_ms <= now).count();
        for record in due.drain(..ready) {
            let topic = match record.route {
                Route::Events => &cfg.events_topic,
                Route::Logs => continue,
            };
            let message = BaseRecord::to(topic)
                .key(&record.key)
                .payload(&record.payload);
            if let Err((e, _)) = producer.send(message) {
                tracing::warn!(error = %e, "an engine answer was not sent");
            }
        }
    }
    let _ = producer.flush(Duration::from_secs(10));
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::SimConfig;
    use rand::SeedableRng;

    const T0: i64 = 1_767_225_600_000;

    fn fleet() -> Fleet {
        let cfg = SimConfig::default();
        Fleet::new(&cfg, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1))
    }

    fn command(fleet: &Fleet, id: &str, action: AdminAction) -> AdminCommand {
        let u = &fleet.users[0];
        AdminCommand {
            command_id: id.to_owned(),
            request_id: format!("r-{id}"),
            tenant_id: fleet.tenants[u.tenant].id.clone(),
            profile_id: fleet.profiles[u.profile].id.clone(),
            user_id: u.id.clone(),
            action,
            issued_by: "tok_test".to_owned(),
            issued_at_ms: 1_000,
            new_mail_account: None,
            new_crm_user_name: None,
        }
    }

    fn setting(events: &[Event]) -> Option<(ChangeKind, SyncSetting)> {
        match events {
            [Event::UserState(s)] => Some((s.change, s.sync_setting)),
            _ => None,
        }
    }

    #[test]
    fn settings_are_reported_as_the_admin_set_them() {
        let f = fleet();
        let mut e = Engine::new(Arc::new(Mutex::new(f.clone())));
        let cases = [
            (AdminAction::Disable, SyncSetting::DisabledByAdmin),
            (AdminAction::Enable, SyncSetting::Enabled),
            (AdminAction::Suspend, SyncSetting::Suspended),
            (AdminAction::Resume, SyncSetting::Enabled),
            (AdminAction::Pause, SyncSetting::Suspended),
        ];
        for (i, (action, want)) in cases.into_iter().enumerate() {
            let events = e.obey(&command(&f, &format!("c{i}"), action), T0 + i as i64);
            assert_eq!(
                setting(&events),
                Some((ChangeKind::Updated, want)),
                "{action:?}"
            );
            assert_eq!(events[0].occurred_at_ms(), T0 + i as i64);
            schemas::validate::validate(&events[0]).unwrap();
        }
        // The same command again: nothing (engines de-duplicate by command id).
        assert!(e
            .obey(&command(&f, "c0", AdminAction::Disable), T0)
            .is_empty());
    }

    #[test]
    fn credentials_deletion_and_forced_sessions() {
        let f = fleet();
        let mut e = Engine::new(Arc::new(Mutex::new(f.clone())));
        let mut c = command(&f, "cred", AdminAction::UpdateCredentials);
        c.new_mail_account = Some("new@example.com".to_owned());
        match e.obey(&c, T0).as_slice() {
            [Event::UserState(s)] => {
                assert_eq!(s.mail_account, "new@example.com");
                assert_eq!(s.crm_user_name, f.users[0].crm_user_name, "unchanged");
            }
            other => panic!("{other:?}"),
        }
        let forced = e.obey(&command(&f, "force", AdminAction::ForceSync), T0);
        assert_eq!(forced.len(), 3);
        match (&forced[1], &forced[2]) {
            (Event::SessionStarted(s), Event::SessionEnded(end)) => {
                assert_eq!(s.trigger, Trigger::ForcedByAdmin);
                assert_eq!(s.header.occurred_at_ms, T0 + FORCED_START_MS);
                assert_eq!(end.status, SessionStatus::Success);
            }
            other => panic!("{other:?}"),
        }
        for ev in &forced {
            schemas::validate::validate(ev).unwrap();
        }
        // Disabled: a forced session is skipped.
        e.obey(&command(&f, "off", AdminAction::Disable), T0);
        match &e.obey(&command(&f, "force2", AdminAction::ForceSync), T0)[2] {
            Event::SessionEnded(end) => assert_eq!(end.status, SessionStatus::Skipped),
            other => panic!("{other:?}"),
        }
        let gone = e.obey(&command(&f, "del", AdminAction::DeleteFromMonitor), T0);
        assert_eq!(
            setting(&gone),
            Some((ChangeKind::Deleted, SyncSetting::DisabledByAdmin))
        );
        assert!(e
            .obey(&command(&f, "after", AdminAction::Enable), T0)
            .is_empty());
    }
}
