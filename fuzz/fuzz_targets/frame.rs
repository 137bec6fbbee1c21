//! Whole frames as they arrive on a socket: length prefix, header of either type, body.
#![no_main]
use ferrocket_wire::RemotingCommand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((command, used)) = RemotingCommand::decode(data) {
        assert!(used <= data.len());
        let mut out = bytes::BytesMut::new();
        // What decodes must encode again, and decode to the same command.
        if command.encode(&mut out).is_ok() {
            let (again, _) = RemotingCommand::decode(&out).expect("re-decode of our own encoding");
            assert_eq!(again.code, command.code);
            assert_eq!(
                again.ext_fields.as_ref().map(|f| f.len()),
                command.ext_fields.as_ref().map(|f| f.len())
            );
        }
    }
});
