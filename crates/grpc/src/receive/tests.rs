use super::*;

const HANDLE: &str = "5 1700000000001 60000 3 1 broker-a 2 6 12345";

#[test]
fn a_handle_is_the_pop_receipt_and_the_commit_log_offset() {
    let handle = ReceiptHandle::decode(HANDLE).unwrap_or_else(|s| panic!("{s:?}"));
    assert_eq!(handle.commit_log_offset, 12345);
    assert_eq!(handle.offset(), 6);
    assert_eq!(handle.receipt.queue_id, 2);
    assert_eq!(
        handle.real_topic("T", "G"),
        "%RETRY%G_T",
        "retry mark 1: the pop retry topic"
    );
    let ack = handle.ack_header("T", "G");
    assert_eq!(
        (ack.topic.as_str(), ack.queue_id, ack.offset, ack.extra_info.as_str()),
        ("%RETRY%G_T", 2, 6, HANDLE)
    );
    let eight = ReceiptHandle::decode("5 1 60000 3 0 b 2 6").unwrap_or_else(|s| panic!("{s:?}"));
    assert_eq!(eight.commit_log_offset, -1, "Java's default without the ninth field");
}

#[test]
fn a_short_or_garbled_handle_fails_as_javas_decode() {
    let short = ReceiptHandle::decode("5 1 60000 3 0 b 2").err();
    assert_eq!(
        short.map(|s| (s.code, s.message)),
        Some((
            Code::InternalServerError as i32,
            "Parse failed, dataList size 7".to_owned()
        ))
    );
    assert!(ReceiptHandle::decode("5 x 60000 3 0 b 2 6 1").is_err());
}

#[test]
fn a_handle_past_its_invisible_time_is_expired() {
    let handle = ReceiptHandle::decode(HANDLE).unwrap_or_else(|s| panic!("{s:?}"));
    assert!(handle.check_fresh(1_700_000_060_000).is_ok());
    let expired = handle.check_fresh(1_700_000_060_001).err();
    assert_eq!(expired.map(|s| s.code), Some(Code::InvalidReceiptHandle as i32));
}

#[test]
fn a_changed_handle_is_a_one_message_checkpoint() {
    let handle = ReceiptHandle::decode(HANDLE).unwrap_or_else(|s| panic!("{s:?}"));
    assert_eq!(
        handle.changed(1_700_000_100_000, 30_000, 4),
        "6 1700000100000 30000 4 1 broker-a 2 6 12345"
    );
}

#[test]
fn invisible_time_bounds_are_javas() {
    assert_eq!(
        check_invisible(9_999, RECEIVE_INVISIBLE_MS_MIN)
            .err()
            .map(|s| (s.code, s.message)),
        Some((
            Code::IllegalInvisibleTime as i32,
            "the invisibleTime is too small. min is 10000".to_owned()
        ))
    );
    assert!(check_invisible(10_000, RECEIVE_INVISIBLE_MS_MIN).is_ok());
    assert!(check_invisible(INVISIBLE_MS_MAX + 1, 0).is_err());
}

#[test]
fn pop_codes_map_as_javas_pop_status() {
    assert_eq!(pop_status(ResponseCode::SUCCESS, 2).code, Code::Ok as i32);
    assert_eq!(
        pop_status(ResponseCode::SUCCESS, 0).message,
        "no match message",
        "found but filtered"
    );
    let full = pop_status(ResponseCode::POLLING_FULL, 0);
    assert_eq!(
        (full.code, full.message.as_str()),
        (Code::TooManyRequests as i32, "polling full")
    );
    let none = pop_status(ResponseCode::POLLING_TIMEOUT, 0);
    assert_eq!(
        (none.code, none.message.as_str()),
        (Code::MessageNotFound as i32, "no new message")
    );
}

fn asking(ms: Option<i64>) -> ReceiveMessageRequest {
    ReceiveMessageRequest {
        long_polling_timeout: ms.map(|ms| prost_types::Duration {
            seconds: ms / 1000,
            nanos: 0,
        }),
        ..ReceiveMessageRequest::default()
    }
}

fn budget(remaining_ms: Option<i64>, request_timeout_ms: i64, client_version: &str) -> CallBudget<'_> {
    CallBudget {
        remaining_ms,
        request_timeout_ms,
        client_version,
    }
}

fn polled(request: &ReceiveMessageRequest, budget: CallBudget<'_>) -> i64 {
    polling_ms(request, budget).unwrap_or_else(|s| panic!("{s:?}"))
}

#[test]
fn polling_time_is_clamped() {
    let roomy = budget(Some(60_000), 3_000, "5.1.4");
    assert_eq!(polled(&asking(Some(1_000)), roomy), LONG_POLLING_MS_MIN);
    assert_eq!(polled(&asking(Some(15_000)), roomy), 15_000);
    assert_eq!(polled(&asking(Some(60_000)), roomy), LONG_POLLING_MS_MAX);
    assert_eq!(polled(&asking(None), budget(None, 3_000, "5.1.4")), LONG_POLLING_MS_MAX);
}

#[test]
fn without_a_polling_timeout_the_deadline_less_half_the_request_timeout_is_polled() {
    // The Go v5 client: no long_polling_timeout, deadline = await (5 s) + request timeout (3 s).
    assert_eq!(polled(&asking(None), budget(Some(7_990), 3_000, "5.1.4")), 6_490);
    assert_eq!(
        polled(&asking(None), budget(Some(60_000), 3_000, "5.1.4")),
        LONG_POLLING_MS_MAX
    );
    // Raised to the shortest poll, which the deadline still allows.
    assert_eq!(polled(&asking(None), budget(Some(5_500), 3_000, "5.1.4")), 5_000);
}

#[test]
fn polling_never_outlasts_the_deadline() {
    assert_eq!(
        polled(&asking(Some(20_000)), budget(Some(9_000), 3_000, "5.1.4")),
        9_000
    );
}

#[test]
fn a_deadline_shorter_than_the_shortest_poll_is_refused_as_java_does() {
    let message = "The deadline time remaining is not enough for polling, please check network condition";
    let refused = |version| {
        polling_ms(&asking(None), budget(Some(4_900), 3_000, version))
            .map(|ms| panic!("polled {ms} ms"))
            .unwrap_or_else(|s| (s.code, s.message))
    };
    assert_eq!(refused("5.1.4"), (Code::IllegalPollingTime as i32, message.to_owned()));
    assert_eq!(refused("5.0.3"), (Code::IllegalPollingTime as i32, message.to_owned()));
    assert_eq!(refused("5.0.2"), (Code::BadRequest as i32, message.to_owned()));
    assert_eq!(refused(""), (Code::BadRequest as i32, message.to_owned()));
}

#[test]
fn grpc_timeout_headers_are_read_in_milliseconds() {
    assert_eq!(grpc_timeout_ms("7999911u"), Some(7_999));
    assert_eq!(grpc_timeout_ms("8S"), Some(8_000));
    assert_eq!(grpc_timeout_ms("250m"), Some(250));
    assert_eq!(grpc_timeout_ms("2M"), Some(120_000));
    assert_eq!(grpc_timeout_ms("1H"), Some(3_600_000));
    assert_eq!(grpc_timeout_ms("999999999n"), None, "nine digits");
    assert_eq!(grpc_timeout_ms("99999999n"), Some(99));
    for bad in ["", "S", "12", "1x", "-1S", "1.5S", "１S"] {
        assert_eq!(grpc_timeout_ms(bad), None, "{bad:?}");
    }
}

#[test]
fn the_pop_header_reads_every_queue_with_the_filter() {
    let request = ReceiveMessageRequest {
        batch_size: 16,
        filter_expression: Some(FilterExpression {
            r#type: FilterType::Tag as i32,
            expression: "a||b".to_owned(),
        }),
        ..ReceiveMessageRequest::default()
    };
    let header = pop_header(&request, ("G", "T"), (30_000, 5_000), true, 42);
    assert_eq!(
        (
            header.queue_id,
            header.max_msg_nums,
            header.invisible_time,
            header.poll_time
        ),
        (-1, 16, 30_000, 5_000)
    );
    assert_eq!(
        (header.exp_type.as_deref(), header.exp.as_deref()),
        (Some("TAG"), Some("a||b"))
    );
    assert!(header.order);
    let plain = pop_header(&ReceiveMessageRequest::default(), ("G", "T"), (1, 1), false, 42);
    assert_eq!(plain.exp.as_deref(), Some("*"));
}

#[test]
fn ack_status_is_one_code_or_multiple_results() {
    let ok_entry = ack_entry("m1", "h1", Ok(()));
    let failed = ack_entry("m2", "h2", Err(status(Code::InvalidReceiptHandle, "x")));
    assert_eq!(ack_status(std::slice::from_ref(&ok_entry)).message, "OK");
    assert_eq!(ack_status(&[ok_entry, failed]).code, Code::MultipleResults as i32);
    assert_eq!(ack_status(&[]).code, Code::InternalServerError as i32);
}

#[test]
fn a_forward_to_the_dlq_sends_back_by_commit_log_offset() {
    let handle = ReceiptHandle::decode(HANDLE).unwrap_or_else(|s| panic!("{s:?}"));
    let header = send_back_header(&handle, ("T", "G"), "M1").unwrap_or_else(|s| panic!("{s:?}"));
    assert_eq!(
        (header.offset, header.delay_level, header.max_reconsume_times),
        (12345, -1, Some(0))
    );
    assert_eq!(header.origin_topic.as_deref(), Some("%RETRY%G_T"));
    assert_eq!(header.origin_msg_id.as_deref(), Some("M1"));
    let eight = ReceiptHandle::decode("5 1 60000 3 0 b 2 6").unwrap_or_else(|s| panic!("{s:?}"));
    assert_eq!(
        send_back_header(&eight, ("T", "G"), "M1").err().map(|s| s.code),
        Some(Code::InvalidReceiptHandle as i32)
    );
    let refused = remoting_status(ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST, 26, None);
    assert_eq!(
        (refused.code, refused.message.as_str()),
        (Code::ConsumerGroupNotFound as i32, "26")
    );
}

#[test]
fn a_message_popped_max_attempts_times_is_dead() {
    let attempt = |n: i32| Message {
        system_properties: Some(crate::proto::SystemProperties {
            delivery_attempt: Some(n),
            ..crate::proto::SystemProperties::default()
        }),
        ..Message::default()
    };
    let (live, dead) = split_dead(vec![attempt(1), attempt(2), attempt(3)], 2);
    let attempts = |list: &[Message]| -> Vec<Option<i32>> {
        list.iter()
            .map(|m| m.system_properties.as_ref().and_then(|s| s.delivery_attempt))
            .collect()
    };
    assert_eq!(attempts(&live), vec![Some(1), Some(2)]);
    assert_eq!(attempts(&dead), vec![Some(3)], "reconsume times 2 >= max attempts 2");
}

#[test]
fn an_orderly_pops_queue_count_is_the_reconsume_times() {
    let info = Some("0 qo1%5 2;0 1 3;1 1 4");
    assert_eq!(
        queue_count(info, "0", 1),
        Some(3),
        "the queue entry, not the per-offset one"
    );
    assert_eq!(queue_count(info, "1", 1), Some(4));
    assert_eq!(queue_count(info, "0", 2), None);
    assert_eq!(queue_count(Some("0 1 0"), "0", 1), None, "a first pop counts 0");
    assert_eq!(queue_count(None, "0", 1), None);
}
