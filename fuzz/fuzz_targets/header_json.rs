//! The json header decoder on its own: the input is the header bytes of a frame of type 0.
#![no_main]
use bytes::{BufMut, Bytes, BytesMut};
use ferrocket_wire::RemotingCommand;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() > 0x00FF_FFFF {
        return;
    }
    let mut content = BytesMut::with_capacity(4 + data.len());
    content.put_u32(((0u32) << 24) | data.len() as u32);
    content.put_slice(data);
    let _ = RemotingCommand::decode_content(Bytes::from(content));
});
