//! Feeds arbitrary bytes to every decoder of the wire format. Any panic, overflow or
//! excessive allocation is a bug. When the bytes decode, re-encoding must decode to the
//! same value (encode/decode are inverse on what decode accepts).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = schemas::wire::decode(data) {
        let again = schemas::wire::encode(&event);
        assert_eq!(schemas::wire::decode(&again).as_ref(), Ok(&event));
        let _ = schemas::validate::validate(&event);
    }
    if let Ok(command) = schemas::wire::decode_command(data) {
        let again = schemas::wire::encode_command(&command);
        assert_eq!(schemas::wire::decode_command(&again).as_ref(), Ok(&command));
        let _ = schemas::validate::validate_command(&command);
    }
    let _ = schemas::decode_valid(data);
});
