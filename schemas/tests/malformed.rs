//! Malformed input: each case gives its own typed error, and nothing panics.

mod common;

use common::{all_messages, decode_any, framed, read_golden};
use schemas::registry::{self, MessageKind, SCHEMAS};
use schemas::wire::{decode, decode_command, encode, encode_command, HEADER_LEN, MAX_ARRAY_ITEMS};
use schemas::*;

fn zigzag(v: i64) -> Vec<u8> {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut out = Vec::new();
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
    out
}

fn invalid(field: &'static str, offset: usize, problem: AvroProblem) -> DecodeError {
    DecodeError::InvalidAvro {
        field,
        offset,
        problem,
    }
}

#[test]
fn empty_input() {
    assert_eq!(decode(&[]), Err(DecodeError::Empty));
    assert_eq!(decode_command(&[]), Err(DecodeError::Empty));
    assert_eq!(DecodeError::Empty.kind(), "empty");
}

#[test]
fn truncated_at_every_byte() {
    for (name, bytes, is_command) in all_messages() {
        decode_any(&bytes, is_command).unwrap();
        for len in 0..bytes.len() {
            let err = decode_any(&bytes[..len], is_command).unwrap_err();
            match (len, &err) {
                (0, DecodeError::Empty) => {}
                (1..=4, DecodeError::Truncated { field, offset }) => {
                    assert_eq!((*field, *offset), ("schema_id", len), "{name}");
                }
                // The input ended inside a fixed-size value or a varint.
                (_, DecodeError::Truncated { offset, .. }) => assert_eq!(*offset, len, "{name}"),
                // The input ended inside a string or an array: its length prefix is larger
                // than what is left.
                (
                    _,
                    DecodeError::LengthTooLarge {
                        offset,
                        declared,
                        remaining,
                        ..
                    },
                ) => {
                    assert!(*offset < len, "{name}: {err}");
                    assert!(*declared > 0, "{name}: {err}");
                    assert_eq!(offset + zigzag(*declared as i64).len() + remaining, len);
                }
                _ => panic!("{name} truncated to {len}: unexpected {err:?}"),
            }
            assert!(matches!(
                err.kind(),
                "empty" | "truncated" | "length_too_large"
            ));
        }
    }
}

#[test]
fn bad_magic_byte() {
    let mut bytes = encode(&examples::session_queued());
    for b in 1..=255u8 {
        bytes[0] = b;
        assert_eq!(decode(&bytes), Err(DecodeError::BadMagicByte(b)));
        assert_eq!(decode_command(&bytes), Err(DecodeError::BadMagicByte(b)));
    }
    // Even a one-byte message is judged by its magic byte first.
    assert_eq!(decode(&[0x7b]), Err(DecodeError::BadMagicByte(0x7b)));
}

#[test]
fn unknown_schema_id() {
    let body = &encode(&examples::session_queued())[HEADER_LEN..];
    for id in [0, 1, 100, 102, 303, 603, 802, 901, u32::MAX] {
        let err = decode(&framed(id, body)).unwrap_err();
        assert_eq!(err, DecodeError::UnknownSchemaId(id));
        assert_eq!(err.kind(), "unknown_schema_id");
        assert_eq!(
            decode_command(&framed(id, body)),
            Err(DecodeError::UnknownSchemaId(id))
        );
    }
    assert_eq!(
        DecodeError::UnknownSchemaId(999).to_string(),
        "unknown schema id 999"
    );
}

#[test]
fn commands_and_events_are_not_confused() {
    assert_eq!(
        decode(&encode_command(&examples::command())),
        Err(DecodeError::WrongMessageType {
            id: 801,
            expected: "an event"
        })
    );
    assert_eq!(
        decode_command(&encode(&examples::sync_issue())),
        Err(DecodeError::WrongMessageType {
            id: 401,
            expected: "an admin command"
        })
    );
}

#[test]
fn body_of_another_kind_trailing_field() {
    // session_started = session_queued + trigger: one byte too many for session_queued.
    let started = encode(&examples::session_started());
    let err = decode(&framed(101, &started[HEADER_LEN..])).unwrap_err();
    assert_eq!(
        err,
        invalid("", started.len() - 1, AvroProblem::TrailingBytes(1))
    );
    assert_eq!(err.kind(), "invalid_avro");
}

#[test]
fn body_of_another_kind_wrong_type() {
    // A sync issue read as session_started: `issue_id` is taken for the session id, and the
    // real session id's length prefix (36) for the trigger.
    let issue = encode(&examples::sync_issue());
    let queued = encode(&examples::session_queued());
    let trigger_at = queued.len() - 37 + 1 + "iss-7c3d9e1f".len();
    assert_eq!(
        decode(&framed(201, &issue[HEADER_LEN..])),
        Err(invalid(
            "trigger",
            trigger_at,
            AvroProblem::BadEnumIndex {
                index: 36,
                symbols: 4
            }
        ))
    );
}

#[test]
fn body_of_every_other_kind_is_rejected() {
    let messages = all_messages();
    for (name, bytes, _) in &messages {
        let own = u32::from_be_bytes(bytes[1..5].try_into().unwrap());
        for entry in SCHEMAS
            .iter()
            .filter(|e| e.id != own && e.id / 100 != own / 100)
        {
            let b = framed(entry.id, &bytes[HEADER_LEN..]);
            let res = if entry.kind == MessageKind::AdminCommand {
                decode_command(&b).map(drop)
            } else {
                decode(&b).map(drop)
            };
            let err = res.expect_err(&format!("{name} under {}", entry.id));
            assert!(
                matches!(
                    err.kind(),
                    "truncated" | "length_too_large" | "invalid_avro"
                ),
                "{name} under {}: {err:?}",
                entry.id
            );
        }
    }
}

#[test]
fn huge_length_prefix() {
    let good = encode(&examples::session_queued());
    for declared in [i64::MAX, 1 << 40, 1 << 30, 1000] {
        let mut b = good[..HEADER_LEN].to_vec();
        b.extend(zigzag(declared));
        b.extend(&good[HEADER_LEN + 1..]);
        assert_eq!(
            decode(&b),
            Err(DecodeError::LengthTooLarge {
                field: "event_id",
                offset: HEADER_LEN,
                declared: declared as u64,
                remaining: good.len() - HEADER_LEN - 1,
            })
        );
    }
}

fn empty_log() -> (Vec<u8>, Event) {
    let Event::SessionLog(mut log) = examples::session_log() else {
        unreachable!()
    };
    log.lines.clear();
    let e = Event::SessionLog(log);
    let mut b = encode(&e);
    assert_eq!(b.pop(), Some(0)); // the empty `lines` array
    (b, e)
}

#[test]
fn huge_item_counts() {
    let (prefix, _) = empty_log();
    let at = prefix.len();
    for declared in [
        1_000_000_000i64,
        MAX_ARRAY_ITEMS as i64 + 1,
        -(1 << 40),
        i64::MIN,
    ] {
        let mut b = prefix.clone();
        b.extend(zigzag(declared));
        b.extend(zigzag(0)); // block byte size for negative counts
        b.push(0);
        assert_eq!(
            decode(&b),
            Err(DecodeError::TooManyItems {
                field: "lines",
                declared: declared.unsigned_abs(),
                cap: MAX_ARRAY_ITEMS
            }),
            "{declared}"
        );
    }
    // Fewer than the cap, but more than the bytes left could hold.
    let mut b = prefix.clone();
    b.extend(zigzag(1000));
    b.extend([0u8; 10]);
    assert_eq!(
        decode(&b),
        Err(DecodeError::LengthTooLarge {
            field: "lines",
            offset: at,
            declared: 1000,
            remaining: 10
        })
    );
    // A negative-count block whose byte size exceeds the input.
    let mut b = prefix.clone();
    b.extend(zigzag(-1));
    b.extend(zigzag(1 << 20));
    b.extend([0u8; 4]);
    assert!(matches!(
        decode(&b),
        Err(DecodeError::LengthTooLarge {
            field: "lines",
            declared: 1_048_576,
            remaining: 4,
            ..
        })
    ));
}

#[test]
fn negative_length() {
    let good = encode(&examples::session_queued());
    let mut b = good[..HEADER_LEN].to_vec();
    b.extend(zigzag(-5));
    b.extend(&good[HEADER_LEN + 1..]);
    assert_eq!(
        decode(&b),
        Err(invalid(
            "event_id",
            HEADER_LEN,
            AvroProblem::NegativeLength(-5)
        ))
    );
}

#[test]
fn bad_enum_index() {
    let mut b = encode(&examples::session_started());
    let at = b.len() - 1;
    for index in [4i64, 9, -1, 1 << 40] {
        b.truncate(at);
        b.extend(zigzag(index));
        assert_eq!(
            decode(&b),
            Err(invalid(
                "trigger",
                at,
                AvroProblem::BadEnumIndex { index, symbols: 4 }
            ))
        );
    }
}

#[test]
fn bad_union_index() {
    // The skipped session ends with four nulls: error_category, error_source, message,
    // exception.
    let good = encode(&examples::session_ended_skipped());
    assert_eq!(&good[good.len() - 4..], &[0, 0, 0, 0]);
    for (i, field) in ["error_category", "error_source", "message", "exception"]
        .into_iter()
        .enumerate()
    {
        let at = good.len() - 4 + i;
        for index in [2i64, -1] {
            let mut b = good[..at].to_vec();
            b.extend(zigzag(index));
            b.extend(&good[at + 1..]);
            assert_eq!(
                decode(&b),
                Err(invalid(
                    field,
                    at,
                    AvroProblem::BadUnionIndex { index, branches: 2 }
                ))
            );
        }
    }
}

#[test]
fn invalid_utf8() {
    let mut b = encode(&examples::session_queued());
    let n = b.len();
    b[n - 36..].fill(0xff);
    assert_eq!(
        decode(&b),
        Err(invalid("session_id", n - 37, AvroProblem::InvalidUtf8))
    );
}

#[test]
fn invalid_boolean() {
    let mut b = encode(&examples::profile_state());
    let n = b.len();
    assert_eq!(b[n - 1], 1);
    b[n - 1] = 2;
    assert_eq!(
        decode(&b),
        Err(invalid("sync_enabled", n - 1, AvroProblem::InvalidBool(2)))
    );
}

#[test]
fn int_out_of_range_and_varint_overflow() {
    let (mut prefix, _) = empty_log();
    assert_eq!(prefix.pop(), Some(0)); // sequence 0
    let at = prefix.len();
    let too_big = i64::from(i32::MAX) + 1;
    let mut b = prefix.clone();
    b.extend(zigzag(too_big));
    b.push(0);
    assert_eq!(
        decode(&b),
        Err(invalid("sequence", at, AvroProblem::IntOutOfRange(too_big)))
    );
    let mut b = prefix.clone();
    b.extend([0xff; 10]);
    b.extend([0x01, 0]);
    assert_eq!(
        decode(&b),
        Err(invalid("sequence", at, AvroProblem::VarintOverflow))
    );
}

#[test]
fn trailing_garbage() {
    for (name, mut bytes, is_command) in all_messages() {
        let n = bytes.len();
        bytes.extend([0, 0xde, 0xad]);
        assert_eq!(
            decode_any(&bytes, is_command),
            Err(invalid("", n, AvroProblem::TrailingBytes(3))),
            "{name}"
        );
    }
}

#[test]
fn old_version_with_bad_enum_is_rejected_before_resolution() {
    // session_ended v1: ... ended_at, status, objects, 4 counts, 4 unions.
    let mut b = read_golden("session_ended_skipped.v1.hex");
    let Event::SessionEnded(s) = examples::session_ended_skipped() else {
        unreachable!()
    };
    let tail = 1 + 1 + zigzag(s.changes).len() + zigzag(s.total_changes).len() + 1 + 1 + 4;
    let at = b.len() - tail;
    assert_eq!(b[at], 6); // Skipped = 3
    b[at] = 12; // 6
    assert_eq!(
        decode(&b),
        Err(invalid(
            "status",
            at,
            AvroProblem::BadEnumIndex {
                index: 6,
                symbols: 4
            }
        ))
    );
}

#[test]
fn blocked_arrays_with_negative_counts_decode() {
    let Event::SessionLog(full) = examples::session_log() else {
        unreachable!()
    };
    let part = |range: std::ops::Range<usize>| {
        let mut l = full.clone();
        l.lines = l.lines[range].to_vec();
        encode(&Event::SessionLog(l))
    };
    let (prefix, _) = empty_log();
    let first = part(0..2);
    let second = part(2..4);
    // prefix + count + items + 0
    let items = |b: &[u8]| b[prefix.len() + 1..b.len() - 1].to_vec();
    let (a, c) = (items(&first), items(&second));
    let mut b = prefix.clone();
    b.extend(zigzag(-2));
    b.extend(zigzag(a.len() as i64));
    b.extend(&a);
    b.extend(zigzag(2));
    b.extend(&c);
    b.push(0);
    assert_eq!(decode(&b), Ok(Event::SessionLog(full.clone())));
    // apache-avro reads the same bytes the same way.
    let entry = registry::current(MessageKind::Event(EventKind::SessionLog));
    let v = apache_avro::from_avro_datum(entry.schema(), &mut &b[HEADER_LEN..], None).unwrap();
    assert_eq!(v, reference::to_value(&Event::SessionLog(full)));

    // A block byte size that does not match its items.
    let mut b = prefix.clone();
    let at = b.len();
    b.extend(zigzag(-2));
    b.extend(zigzag(a.len() as i64 - 1));
    b.extend(&a);
    b.push(0);
    assert_eq!(
        decode(&b),
        Err(invalid(
            "lines",
            at,
            AvroProblem::BlockSizeMismatch {
                declared: a.len() as u64 - 1,
                actual: a.len()
            }
        ))
    );
}

#[test]
fn invalid_message_labels_are_stable() {
    let cases: Vec<(DecodeError, &str)> = vec![
        (DecodeError::Empty, "empty"),
        (
            DecodeError::Truncated {
                field: "x",
                offset: 1,
            },
            "truncated",
        ),
        (DecodeError::BadMagicByte(1), "bad_magic_byte"),
        (DecodeError::UnknownSchemaId(1), "unknown_schema_id"),
        (
            DecodeError::WrongMessageType {
                id: 1,
                expected: "an event",
            },
            "wrong_message_type",
        ),
        (
            DecodeError::LengthTooLarge {
                field: "x",
                offset: 0,
                declared: 9,
                remaining: 1,
            },
            "length_too_large",
        ),
        (
            DecodeError::TooManyItems {
                field: "x",
                declared: 9,
                cap: 1,
            },
            "too_many_items",
        ),
        (invalid("x", 0, AvroProblem::InvalidUtf8), "invalid_avro"),
        (
            DecodeError::Resolution {
                id: 1,
                reason: "r".into(),
            },
            "resolution_failed",
        ),
    ];
    for (e, label) in cases {
        assert_eq!(InvalidMessage::from(e.clone()).kind(), label);
        let text = InvalidMessage::from(e).to_string();
        assert_eq!(
            text,
            text.to_lowercase(),
            "messages start lowercase: {text}"
        );
    }
    assert_eq!(
        invalid("session_id", 12, AvroProblem::InvalidUtf8).to_string(),
        "invalid avro in `session_id` at byte 12: string is not valid utf-8"
    );
    assert_eq!(
        invalid("", 40, AvroProblem::TrailingBytes(3)).to_string(),
        "invalid avro at byte 40: 3 trailing bytes after the record"
    );
}
