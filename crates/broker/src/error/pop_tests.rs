//! POP's failures: code and remark, one example each, as Java 5.3.3 sends them.

use super::*;

fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn every_pop_failure_has_javas_code_and_remark() {
    use BrokerError as E;
    use ResponseCode as C;
    let table = vec![
        (
            E::PopTimeoutTooMuch {
                broker_ip: s("10.0.0.1"),
            },
            C::POLLING_TIMEOUT,
            s("the broker[10.0.0.1] pop message is timeout too much"),
        ),
        (
            E::PopBrokerForbidden {
                broker_ip: s("10.0.0.1"),
            },
            C::NO_PERMISSION,
            s("the broker[10.0.0.1] pop message is forbidden"),
        ),
        (
            E::PeekBrokerForbidden {
                broker_ip: s("10.0.0.1"),
            },
            C::NO_PERMISSION,
            s("the broker[10.0.0.1] peeking message is forbidden"),
        ),
        (
            E::PopTooManyMessages {
                broker_ip: s("10.0.0.1"),
            },
            C::INVALID_PARAMETER,
            s("the broker[10.0.0.1] pop message's num is greater than 32"),
        ),
        (
            E::PopNeedsTimerWheel {
                broker_ip: s("10.0.0.1"),
            },
            C::SYSTEM_ERROR,
            s("the broker[10.0.0.1] pop message is forbidden because timerWheelEnable is false"),
        ),
        (
            E::PopTopicForbidden { topic: s("T") },
            C::NO_PERMISSION,
            s("the topic[T] peeking message is forbidden"),
        ),
        (
            E::OrderAckOffsetIllegal {
                key: s("T@cg@0"),
                old: 5,
                commit: 9,
                peer: s("127.0.0.1:5"),
            },
            C::MESSAGE_ILLEGAL,
            s("offset is illegal, key:T@cg@0, old:5, commit:9, next:-1, /127.0.0.1:5"),
        ),
        (
            E::PopGroupForbidden { group: s("cg") },
            C::NO_PERMISSION,
            s("subscription group no permission, cg"),
        ),
        (
            E::AckQueueIdIllegal {
                topic: s("T"),
                queue_id: 9,
                read_queue_nums: 4,
                consumer: s("127.0.0.1:5"),
            },
            C::MESSAGE_ILLEGAL,
            s("queueId[9] is illegal, topic:[T] topicConfig.readQueueNums:[4] consumer:[/127.0.0.1:5]"),
        ),
        (
            E::AckOffsetIllegal {
                topic: s("T"),
                queue_id: 1,
                offset: 9,
                min: 0,
                max: 3,
            },
            C::NO_MESSAGE,
            s("offset is illegal, key:T@1, commit:9, store:0~3"),
        ),
    ];
    for (error, code, remark) in table {
        assert_eq!(error.response_code(), code, "{error:?}");
        assert_eq!(error.to_string(), remark);
    }
}
