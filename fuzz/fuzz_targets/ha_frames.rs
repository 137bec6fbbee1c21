//! The HA port's bytes, both directions: the slave's offset reports and the master's transfer
//! frames, fed through the slave's reassembly exactly as the socket loop feeds them.
#![no_main]
use ferrocket_replication::{OffsetReport, ReplicaStream, TransferFrame};
use ferrocket_store::CommitLogOffset;

/// Small segments so fillers and segment ends are reachable.
const SEGMENT_BYTES: u64 = 4096;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = OffsetReport::decode(data);
    let mut stream = ReplicaStream::new(CommitLogOffset(0), SEGMENT_BYTES);
    let mut rest = data;
    while let Ok((frame, used)) = TransferFrame::decode(rest) {
        assert!(used > 0 && used <= rest.len());
        rest = &rest[used..];
        if stream.accept(frame.offset, &frame.body).is_err() {
            break;
        }
    }
});
