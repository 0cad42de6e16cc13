//! One test per contract rule, each asserting the typed error and the field it names.

use schemas::examples::{self, T0_MS};
use schemas::validate::{
    validate_at, validate_command_at, MAX_CLOCK_SKEW_MS, MAX_EXCEPTION_BYTES, MAX_ID_BYTES,
    MAX_LOG_LINES, MAX_NAME_BYTES, MAX_OBJECT_REPORTS, MAX_SAVED_SEARCHES, MAX_TEXT_BYTES,
    MIN_TIMESTAMP_MS,
};
use schemas::*;

/// "Now" for these tests: an hour after the examples.
const NOW: i64 = T0_MS + 3_600_000;

fn check(event: &Event) -> Result<(), ContractError> {
    validate_at(event, NOW)
}

fn ended(f: impl FnOnce(&mut SessionEnded)) -> Event {
    let Event::SessionEnded(mut e) = examples::session_ended_error() else {
        unreachable!()
    };
    f(&mut e);
    Event::SessionEnded(e)
}

fn issue(f: impl FnOnce(&mut SyncIssue)) -> Event {
    let Event::SyncIssue(mut e) = examples::sync_issue() else {
        unreachable!()
    };
    f(&mut e);
    Event::SyncIssue(e)
}

fn log(f: impl FnOnce(&mut SessionLog)) -> Event {
    let Event::SessionLog(mut e) = examples::session_log() else {
        unreachable!()
    };
    f(&mut e);
    Event::SessionLog(e)
}

fn user(f: impl FnOnce(&mut UserState)) -> Event {
    let Event::UserState(mut e) = examples::user_state() else {
        unreachable!()
    };
    f(&mut e);
    Event::UserState(e)
}

fn profile(f: impl FnOnce(&mut ProfileState)) -> Event {
    let Event::ProfileState(mut e) = examples::profile_state() else {
        unreachable!()
    };
    f(&mut e);
    Event::ProfileState(e)
}

fn command(f: impl FnOnce(&mut AdminCommand)) -> Result<(), ContractError> {
    let mut c = examples::command();
    f(&mut c);
    validate_command_at(&c, NOW)
}

type HeaderField = (&'static str, fn(&mut Header) -> &mut String);

const HEADER_IDS: [HeaderField; 6] = [
    ("event_id", |h| &mut h.event_id),
    ("tenant_id", |h| &mut h.tenant_id),
    ("profile_id", |h| &mut h.profile_id),
    ("user_id", |h| &mut h.user_id),
    ("engine_id", |h| &mut h.engine_id),
    ("engine_version", |h| &mut h.engine_version),
];

fn with_header(event: &Event, f: impl FnOnce(&mut Header)) -> Event {
    let mut e = event.clone();
    let h = match &mut e {
        Event::SessionQueued(x) => &mut x.header,
        Event::SessionStarted(x) => &mut x.header,
        Event::SessionEnded(x) => &mut x.header,
        Event::SyncIssue(x) => &mut x.header,
        Event::SessionLog(x) => &mut x.header,
        Event::UserState(x) => &mut x.header,
        Event::ProfileState(_) => unreachable!(),
    };
    f(h);
    e
}

#[test]
fn examples_pass() {
    for e in examples::all() {
        assert_eq!(check(&e), Ok(()), "{:?}", e.kind());
    }
    assert_eq!(command(|_| {}), Ok(()));
}

#[test]
fn empty_ids_are_rejected_and_named() {
    for event in examples::all().iter().filter(|e| e.header().is_some()) {
        for (field, get) in HEADER_IDS {
            let e = with_header(event, |h| get(h).clear());
            assert_eq!(check(&e), Err(ContractError::EmptyField { field }));
        }
    }
    for (field, e) in [
        ("session_id", ended(|e| e.session_id.clear())),
        ("issue_id", issue(|e| e.issue_id.clear())),
        ("session_id", issue(|e| e.session_id.clear())),
        (
            "target_object_id",
            issue(|e| e.target_object_id = Some(String::new())),
        ),
        ("session_id", log(|e| e.session_id.clear())),
        ("event_id", profile(|e| e.event_id.clear())),
        ("tenant_id", profile(|e| e.tenant_id.clear())),
        ("profile_id", profile(|e| e.profile_id.clear())),
        ("engine_id", profile(|e| e.engine_id.clear())),
        ("engine_version", profile(|e| e.engine_version.clear())),
        (
            "saved_searches.name",
            user(|e| e.saved_searches[1].name.clear()),
        ),
    ] {
        assert_eq!(check(&e), Err(ContractError::EmptyField { field }));
    }
}

#[test]
fn command_ids_must_not_be_empty() {
    type F = fn(&mut AdminCommand) -> &mut String;
    let fields: [(&str, F); 6] = [
        ("command_id", |c| &mut c.command_id),
        ("request_id", |c| &mut c.request_id),
        ("tenant_id", |c| &mut c.tenant_id),
        ("profile_id", |c| &mut c.profile_id),
        ("user_id", |c| &mut c.user_id),
        ("issued_by", |c| &mut c.issued_by),
    ];
    for (field, get) in fields {
        assert_eq!(
            command(|c| get(c).clear()),
            Err(ContractError::EmptyField { field })
        );
    }
    assert_eq!(
        command(|c| c.new_mail_account = Some(String::new())),
        Err(ContractError::EmptyField {
            field: "new_mail_account"
        })
    );
}

#[test]
fn ids_longer_than_the_cap_are_rejected() {
    let long = "x".repeat(MAX_ID_BYTES + 1);
    let e = with_header(&examples::session_queued(), |h| h.tenant_id = long.clone());
    assert_eq!(
        check(&e),
        Err(ContractError::FieldTooLong {
            field: "tenant_id",
            len: MAX_ID_BYTES + 1,
            max: MAX_ID_BYTES
        })
    );
    // Exactly at the cap is fine.
    let e = with_header(&examples::session_queued(), |h| {
        h.tenant_id = "x".repeat(MAX_ID_BYTES)
    });
    assert_eq!(check(&e), Ok(()));
    assert_eq!(
        command(|c| c.request_id = long.clone()),
        Err(ContractError::FieldTooLong {
            field: "request_id",
            len: MAX_ID_BYTES + 1,
            max: MAX_ID_BYTES
        })
    );
}

#[test]
fn names_and_texts_longer_than_their_caps_are_rejected() {
    let too_long = |max: usize| "é".repeat(max / 2 + 1);
    let cases = [
        (
            "object_name",
            MAX_NAME_BYTES,
            issue(|e| e.object_name = too_long(MAX_NAME_BYTES)),
        ),
        (
            "description",
            MAX_TEXT_BYTES,
            issue(|e| e.description = too_long(MAX_TEXT_BYTES)),
        ),
        (
            "message",
            MAX_TEXT_BYTES,
            ended(|e| e.message = Some(too_long(MAX_TEXT_BYTES))),
        ),
        (
            "exception",
            MAX_EXCEPTION_BYTES,
            ended(|e| e.exception = Some(too_long(MAX_EXCEPTION_BYTES))),
        ),
        (
            "lines.text",
            MAX_TEXT_BYTES,
            log(|e| e.lines[2].text = too_long(MAX_TEXT_BYTES)),
        ),
        (
            "display_name",
            MAX_NAME_BYTES,
            user(|e| e.display_name = too_long(MAX_NAME_BYTES)),
        ),
        (
            "mail_account",
            MAX_NAME_BYTES,
            user(|e| e.mail_account = too_long(MAX_NAME_BYTES)),
        ),
        (
            "crm_user_name",
            MAX_NAME_BYTES,
            user(|e| e.crm_user_name = too_long(MAX_NAME_BYTES)),
        ),
        (
            "last_token_error",
            MAX_TEXT_BYTES,
            user(|e| e.last_token_error = Some(too_long(MAX_TEXT_BYTES))),
        ),
        (
            "saved_searches.name",
            MAX_NAME_BYTES,
            user(|e| e.saved_searches[0].name = too_long(MAX_NAME_BYTES)),
        ),
        (
            "name",
            MAX_NAME_BYTES,
            profile(|e| e.name = too_long(MAX_NAME_BYTES)),
        ),
    ];
    for (field, max, e) in cases {
        let len = (max / 2 + 1) * 2;
        assert_eq!(
            check(&e),
            Err(ContractError::FieldTooLong { field, len, max }),
            "{field}"
        );
    }
}

#[test]
fn end_before_start_is_rejected() {
    let e = ended(|e| e.ended_at_ms = e.started_at_ms - 1);
    let Event::SessionEnded(s) = &e else {
        unreachable!()
    };
    assert_eq!(
        check(&e),
        Err(ContractError::EndBeforeStart {
            started_at_ms: s.started_at_ms,
            ended_at_ms: s.started_at_ms - 1
        })
    );
    assert_eq!(check(&e).unwrap_err().field(), "ended_at");
    // A zero-length session is fine.
    assert_eq!(check(&ended(|e| e.ended_at_ms = e.started_at_ms)), Ok(()));
}

#[test]
fn negative_counts_are_rejected_and_named() {
    type F = fn(&mut SessionEnded) -> &mut i64;
    let fields: [(&str, F); 13] = [
        ("scope_items", |e| &mut e.scope_items),
        ("changes", |e| &mut e.changes),
        ("total_changes", |e| &mut e.total_changes),
        ("failures", |e| &mut e.failures),
        ("issues", |e| &mut e.issues),
        ("conflicts", |e| &mut e.conflicts),
        ("objects.synchronized", |e| &mut e.objects[1].synchronized),
        ("objects.mail_to_crm.created", |e| {
            &mut e.objects[1].mail_to_crm.created
        }),
        ("objects.mail_to_crm.updated", |e| {
            &mut e.objects[1].mail_to_crm.updated
        }),
        ("objects.mail_to_crm.deleted", |e| {
            &mut e.objects[1].mail_to_crm.deleted
        }),
        ("objects.crm_to_mail.created", |e| {
            &mut e.objects[1].crm_to_mail.created
        }),
        ("objects.crm_to_mail.updated", |e| {
            &mut e.objects[1].crm_to_mail.updated
        }),
        ("objects.crm_to_mail.deleted", |e| {
            &mut e.objects[1].crm_to_mail.deleted
        }),
    ];
    for (field, get) in fields {
        let e = ended(|e| *get(e) = -3);
        assert_eq!(
            check(&e),
            Err(ContractError::NegativeCount { field, value: -3 })
        );
    }
    assert_eq!(
        check(&log(|e| e.sequence = -1)),
        Err(ContractError::NegativeCount {
            field: "sequence",
            value: -1
        })
    );
}

#[test]
fn error_code_outside_0_to_3_is_rejected() {
    for code in 0..=3 {
        assert_eq!(check(&issue(|e| e.error_code = code)), Ok(()));
    }
    for code in [-1, 4, i32::MAX, i32::MIN] {
        let err = check(&issue(|e| e.error_code = code)).unwrap_err();
        assert_eq!(err, ContractError::ErrorCodeOutOfRange(code));
        assert_eq!(err.field(), "error_code");
    }
}

#[test]
fn timestamps_outside_2000_to_now_plus_a_day_are_rejected() {
    let too_early = MIN_TIMESTAMP_MS - 1;
    let too_late = NOW + MAX_CLOCK_SKEW_MS + 1;
    for value in [too_early, too_late, i64::MIN, i64::MAX] {
        let cases = [
            (
                "occurred_at",
                with_header(&examples::session_queued(), |h| h.occurred_at_ms = value),
            ),
            ("occurred_at", profile(|e| e.occurred_at_ms = value)),
            ("started_at", ended(|e| e.started_at_ms = value)),
            ("ended_at", ended(|e| e.ended_at_ms = value)),
            ("lines.at", log(|e| e.lines[0].at_ms = value)),
        ];
        for (field, e) in cases {
            assert_eq!(
                check(&e),
                Err(ContractError::TimestampOutOfRange { field, value })
            );
        }
        assert_eq!(
            command(|c| c.issued_at_ms = value),
            Err(ContractError::TimestampOutOfRange {
                field: "issued_at",
                value
            })
        );
    }
    // The bounds themselves are accepted.
    for value in [MIN_TIMESTAMP_MS, NOW + MAX_CLOCK_SKEW_MS] {
        let e = with_header(&examples::session_queued(), |h| h.occurred_at_ms = value);
        assert_eq!(check(&e), Ok(()));
    }
}

#[test]
fn too_many_log_lines_in_a_chunk_are_rejected() {
    let e = log(|e| {
        let line = e.lines[0].clone();
        e.lines = vec![line; MAX_LOG_LINES + 1];
    });
    assert_eq!(
        check(&e),
        Err(ContractError::TooManyItems {
            field: "lines",
            count: MAX_LOG_LINES + 1,
            max: MAX_LOG_LINES
        })
    );
}

#[test]
fn too_many_objects_report_lines_are_rejected() {
    let e = ended(|e| {
        let o = e.objects[0];
        e.objects = vec![o; MAX_OBJECT_REPORTS + 1];
    });
    assert_eq!(
        check(&e),
        Err(ContractError::TooManyItems {
            field: "objects",
            count: MAX_OBJECT_REPORTS + 1,
            max: MAX_OBJECT_REPORTS
        })
    );
}

#[test]
fn too_many_saved_searches_are_rejected() {
    let e = user(|e| {
        let s = e.saved_searches[0].clone();
        e.saved_searches = vec![s; MAX_SAVED_SEARCHES + 1];
    });
    assert_eq!(
        check(&e),
        Err(ContractError::TooManyItems {
            field: "saved_searches",
            count: MAX_SAVED_SEARCHES + 1,
            max: MAX_SAVED_SEARCHES
        })
    );
}

#[test]
fn error_sessions_need_a_category_and_a_source() {
    assert_eq!(
        check(&ended(|e| e.error_category = None)),
        Err(ContractError::MissingField {
            field: "error_category",
            when: "when status is Error"
        })
    );
    assert_eq!(
        check(&ended(|e| e.error_source = None)),
        Err(ContractError::MissingField {
            field: "error_source",
            when: "when status is Error"
        })
    );
    // Other statuses may omit them.
    let ok = ended(|e| {
        e.status = SessionStatus::Success;
        e.error_category = None;
        e.error_source = None;
    });
    assert_eq!(check(&ok), Ok(()));
}

#[test]
fn update_credentials_needs_new_credentials() {
    let err = command(|c| {
        c.new_mail_account = None;
        c.new_crm_user_name = None;
    })
    .unwrap_err();
    assert!(matches!(
        err,
        ContractError::MissingField {
            field: "new_mail_account",
            ..
        }
    ));
    assert_eq!(
        command(|c| {
            c.new_mail_account = None;
            c.new_crm_user_name = Some("jane@crm".into());
        }),
        Ok(())
    );
    assert_eq!(
        command(|c| {
            c.action = AdminAction::Suspend;
            c.new_mail_account = None;
        }),
        Ok(())
    );
}

#[test]
fn decode_valid_reports_contract_violations_as_such() {
    let bad = issue(|e| e.error_code = 7);
    let err = decode_valid_at(&wire::encode(&bad), NOW).unwrap_err();
    assert_eq!(
        err,
        InvalidMessage::Contract(ContractError::ErrorCodeOutOfRange(7))
    );
    assert_eq!(err.kind(), "contract_violation");
    assert_eq!(
        err.to_string(),
        "contract violation: `error_code` 7 is outside 0..=3"
    );
    let err = decode_valid_at(&[7, 0, 0, 0, 101], NOW).unwrap_err();
    assert_eq!(err, InvalidMessage::Decode(DecodeError::BadMagicByte(7)));
    assert_eq!(err.kind(), "bad_magic_byte");
    assert_eq!(err.to_string(), "bad magic byte 0x07, expected 0x00");
}
