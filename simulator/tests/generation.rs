//! Pure tests of the generated traffic: determinism, realism, faults and the manifest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};

use schemas::{Event, SessionStatus};
use simulator::{simulate, Route, SimConfig};

fn small() -> SimConfig {
    SimConfig {
        seed: 7,
        tenants: 2,
        profiles_per_tenant: 3,
        users_per_profile: 20,
        span_ms: 6 * 3_600_000,
        state_change_rate: 0.05,
        ..SimConfig::default()
    }
}

fn decode_all(records: &[simulator::Record]) -> Vec<Event> {
    records
        .iter()
        .map(|r| schemas::wire::decode(&r.payload).expect("valid record"))
        .collect()
}

#[test]
fn same_seed_same_traffic_other_seed_other_traffic() {
    let (a, ma) = simulate(&small());
    let (b, mb) = simulate(&small());
    assert_eq!(a, b);
    assert_eq!(ma, mb);
    let (c, _) = simulate(&SimConfig { seed: 8, ..small() });
    assert_ne!(a, c);
}

#[test]
fn every_record_is_valid_and_keyed_by_user() {
    let (records, manifest) = simulate(&small());
    assert_eq!(manifest.messages.published, records.len() as u64);
    assert_eq!(manifest.messages.valid, records.len() as u64);
    for (record, event) in records.iter().zip(decode_all(&records)) {
        schemas::validate::validate(&event).expect("contract holds");
        assert_eq!(record.key, event.partition_key());
        let expect_logs = matches!(event, Event::SessionLog(_));
        assert_eq!(record.route == Route::Logs, expect_logs);
    }
}

#[test]
fn traffic_has_the_realistic_mix() {
    let (records, manifest) = simulate(&small());
    let events = decode_all(&records);
    let mut statuses: HashMap<SessionStatus, u64> = HashMap::new();
    let mut categories = HashSet::new();
    let mut sources = HashSet::new();
    let mut settings = HashSet::new();
    let mut starts = HashSet::new();
    let mut ends = HashSet::new();
    for event in &events {
        match event {
            Event::SessionEnded(e) => {
                *statuses.entry(e.status).or_default() += 1;
                categories.extend(e.error_category);
                sources.extend(e.error_source);
                ends.insert(e.session_id.clone());
            }
            Event::SessionStarted(s) => {
                starts.insert(s.session_id.clone());
            }
            Event::UserState(u) => {
                settings.insert(u.sync_setting);
            }
            _ => {}
        }
    }
    let total: u64 = statuses.values().sum();
    let share = |s| statuses.get(&s).copied().unwrap_or(0) as f64 / total as f64;
    assert!(share(SessionStatus::Success) > 0.35, "{statuses:?}");
    assert!(share(SessionStatus::Skipped) > 0.15, "{statuses:?}");
    assert!(share(SessionStatus::Error) > 0.05, "{statuses:?}");
    assert!(share(SessionStatus::Canceled) > 0.01, "{statuses:?}");
    assert_eq!(categories.len(), 6, "every error category appears");
    assert_eq!(sources.len(), 4, "every error source appears");
    assert!(settings.len() >= 3, "state changes happen: {settings:?}");
    assert!(
        starts.difference(&ends).count() > 0,
        "some sessions never end"
    );
    let kinds: HashSet<&str> = manifest
        .events
        .values()
        .flat_map(|k| k.keys().map(String::as_str))
        .collect();
    assert_eq!(kinds.len(), schemas::EventKind::ALL.len(), "{kinds:?}");
    let never = manifest
        .users
        .values()
        .filter(|u| u.sync_state == "NeverSynced")
        .count();
    assert!(never > 0, "some users never synced");
    assert!(
        manifest.users.values().any(|u| u.deleted),
        "some users are deleted"
    );
}

#[test]
fn faults_are_injected_at_their_rates_and_counted() {
    let cfg = SimConfig {
        duplicate_rate: 0.05,
        reorder_rate: 0.05,
        malformed_rate: 0.05,
        ..small()
    };
    let (clean, clean_manifest) = simulate(&small());
    let (records, manifest) = simulate(&cfg);
    let m = &manifest.messages;
    let malformed: u64 = m.malformed.values().sum();
    assert_eq!(
        m.valid, clean_manifest.messages.valid,
        "faults add, never replace"
    );
    assert_eq!(m.published, m.valid + m.duplicates + malformed);
    assert_eq!(records.len() as u64, m.published);
    let rate = |n: u64| n as f64 / m.valid as f64;
    for (name, n) in [
        ("duplicates", m.duplicates),
        ("reordered", m.reordered),
        ("malformed", malformed),
    ] {
        assert!((0.03..0.07).contains(&rate(n)), "{name}: {}", rate(n));
    }
    assert_eq!(
        m.malformed.len(),
        simulator::Damage::ALL.len(),
        "{:?}",
        m.malformed
    );
    // Malformed records fail decoding or validation; the rest are the clean traffic.
    let mut valid_payloads: BTreeMap<Vec<u8>, u64> = BTreeMap::new();
    let mut bad = 0;
    for r in &records {
        match schemas::decode_valid(&r.payload) {
            Ok(_) => *valid_payloads.entry(r.payload.clone()).or_default() += 1,
            Err(_) => bad += 1,
        }
    }
    assert_eq!(bad, malformed);
    let clean_set: BTreeMap<Vec<u8>, u64> = clean.iter().map(|r| (r.payload.clone(), 1)).collect();
    assert_eq!(valid_payloads.len(), clean_set.len());
    assert!(valid_payloads.keys().eq(clean_set.keys()));
    assert_eq!(
        manifest.users, clean_manifest.users,
        "expectations ignore faults"
    );
}

#[test]
fn out_of_order_delivery_reorders_within_a_user() {
    let cfg = SimConfig {
        reorder_rate: 0.2,
        ..small()
    };
    let (records, _) = simulate(&cfg);
    let mut last_seen: HashMap<String, i64> = HashMap::new();
    let mut backwards = 0;
    for event in decode_all(&records) {
        let key = event.partition_key();
        let at = event.occurred_at_ms();
        if let Some(prev) = last_seen.insert(key, at) {
            if at < prev {
                backwards += 1;
            }
        }
    }
    assert!(
        backwards > 10,
        "only {backwards} events arrived before earlier ones"
    );
}

#[test]
fn manifest_counts_match_the_events() {
    let (records, manifest) = simulate(&small());
    let mut per_tenant: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for e in decode_all(&records) {
        *per_tenant
            .entry(e.tenant_id().to_owned())
            .or_default()
            .entry(e.kind().as_str().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_tenant, manifest.events);
    assert_eq!(manifest.users.len(), 2 * 3 * 20);
    for user in manifest.users.values() {
        let ended: u64 = user.sessions_ended.values().sum();
        assert!(ended <= user.sessions_started);
        if user.ever_succeeded {
            assert!(user.sessions_ended.contains_key("Success"));
        }
    }
}
