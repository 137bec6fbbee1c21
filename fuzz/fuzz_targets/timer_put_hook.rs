//! The timer put hook and the recall handle: any properties on a message rewrite it into the
//! timer topic or leave it, or refuse it, never panic; the due time of what was parked is
//! defined; any text decodes as a recall handle or is refused. The input's first line is a
//! recall handle; each further line `name=value` is a property of the message.
#![no_main]
use bytes::Bytes;
use ferrocket_broker::state::timer::{self, TimerSettings, recall};
use ferrocket_wire::message::{MessageProperties, MessageVersion, StoredMessage};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut lines = text.split('\n');
    let _ = recall::decode(lines.next().unwrap_or(""));
    let properties: MessageProperties = lines.filter_map(|line| line.split_once('=')).collect();
    let mut message = StoredMessage {
        version: MessageVersion::V1,
        body_crc: 0,
        queue_id: 1,
        flag: 0,
        queue_offset: 0,
        physical_offset: 0,
        sys_flag: 0,
        born_timestamp_ms: 0,
        born_host: ([127, 0, 0, 1], 1).into(),
        store_timestamp_ms: 1_700_000_000_000,
        store_host: ([127, 0, 0, 1], 2).into(),
        reconsume_times: 0,
        prepared_transaction_offset: 0,
        body: Bytes::new(),
        topic: "T".into(),
        properties,
    };
    let settings = TimerSettings {
        enabled: true,
        precision_ms: 1_000,
        max_delay_ms: 259_200_000,
    };
    if timer::park_if_timer(&mut message, &settings, 1_700_000_000_000, || 0) == Ok(true) {
        assert!(timer::due_ms(&message, settings.precision_ms).is_some());
        let _ = recall::handle_of(&message, "broker-a");
    }
    let _ = timer::due_ms(&message, settings.precision_ms);
    let _ = timer::delivered_message(&message, 1, 2);
});
