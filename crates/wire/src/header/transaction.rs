//! Transaction headers (remoting.md §4.5): END_TRANSACTION (37, producer → broker, oneway) and
//! CHECK_TRANSACTION_STATE (39, broker → producer, oneway).

use crate::error::{WireError, WireResult};
use crate::header::RpcFields;
use crate::message::sysflag::{TRANSACTION_COMMIT_TYPE, TRANSACTION_NOT_TYPE, TRANSACTION_ROLLBACK_TYPE};

custom_header! {
    /// END_TRANSACTION: `EndTransactionRequestHeader`. `commitOrRollback` must be 0 (unknown,
    /// a no-op), 8 (commit) or 12 (rollback), as Java's `checkFields()` insists.
    pub struct EndTransactionRequestHeader {
        "topic" => topic: Option<String>,
        "producerGroup" => producer_group: String,
        /// The half message's queue offset (SendResult.queueOffset).
        "tranStateTableOffset" => tran_state_table_offset: i64,
        /// The half message's commit-log offset.
        "commitLogOffset" => commit_log_offset: i64,
        "commitOrRollback" => commit_or_rollback: i32,
        /// Java's field starts `false` and is always sent; "true" when answering a check.
        "fromTransactionCheck" => from_transaction_check: bool = false,
        /// The message's UNIQ_KEY.
        "msgId" => msg_id: String,
        "transactionId" => transaction_id: Option<String>,
    }
    base rpc: RpcFields;
    check check_commit_or_rollback;
}

custom_header! {
    /// CHECK_TRANSACTION_STATE: `CheckTransactionStateRequestHeader`; the body is the half
    /// message with its real topic and queue restored.
    pub struct CheckTransactionStateRequestHeader {
        "topic" => topic: Option<String>,
        "tranStateTableOffset" => tran_state_table_offset: i64,
        "commitLogOffset" => commit_log_offset: i64,
        /// The message's UNIQ_KEY.
        "msgId" => msg_id: Option<String>,
        "transactionId" => transaction_id: Option<String>,
        /// The offset message id of the half record.
        "offsetMsgId" => offset_msg_id: Option<String>,
    }
    base rpc: RpcFields;
}

fn check_commit_or_rollback(header: &EndTransactionRequestHeader) -> WireResult<()> {
    match header.commit_or_rollback {
        TRANSACTION_NOT_TYPE | TRANSACTION_COMMIT_TYPE | TRANSACTION_ROLLBACK_TYPE => Ok(()),
        other => Err(WireError::BadField {
            field: "commitOrRollback",
            value: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ext_fields::ExtFields;
    use crate::header::CustomHeader;
    use crate::header::testing::{check_header, required_keys};

    /// The keys Java annotates `@CFNotNull`, in Java's declaration order.
    #[test]
    fn required_keys_are_javas_cf_not_null_fields() {
        assert_eq!(
            required_keys::<EndTransactionRequestHeader>(&[]),
            [
                "producerGroup",
                "tranStateTableOffset",
                "commitLogOffset",
                "commitOrRollback",
                "msgId"
            ]
        );
        assert_eq!(
            required_keys::<CheckTransactionStateRequestHeader>(&[]),
            ["tranStateTableOffset", "commitLogOffset"]
        );
    }

    fn end_fields(commit_or_rollback: &'static str) -> Vec<(&'static str, &'static str)> {
        vec![
            ("topic", "TopicTest"),
            ("producerGroup", "pg"),
            ("tranStateTableOffset", "5"),
            ("commitLogOffset", "4096"),
            ("commitOrRollback", commit_or_rollback),
            ("fromTransactionCheck", "true"),
            ("msgId", "AC11000100012A9F0000000000000001"),
            ("transactionId", "AC11000100012A9F0000000000000001"),
            ("bname", "broker-a"),
        ]
    }

    #[test]
    fn end_transaction_accepts_unknown_commit_and_rollback() {
        for (text, value) in [("0", 0), ("8", 8), ("12", 12)] {
            let end: EndTransactionRequestHeader = check_header(&end_fields(text));
            assert_eq!(end.commit_or_rollback, value);
            assert!(end.from_transaction_check);
        }
    }

    #[test]
    fn end_transaction_rejects_other_commit_values() {
        for bad in ["4", "-1", "9"] {
            let fields: ExtFields = end_fields(bad).into_iter().collect();
            assert_eq!(
                EndTransactionRequestHeader::read_from(&fields),
                Err(WireError::BadField {
                    field: "commitOrRollback",
                    value: bad.into()
                })
            );
        }
    }

    #[test]
    fn check_transaction_state_round_trips() {
        let check: CheckTransactionStateRequestHeader = check_header(&[
            ("topic", "TopicTest"),
            ("tranStateTableOffset", "5"),
            ("commitLogOffset", "4096"),
            ("msgId", "AC11000100012A9F0000000000000001"),
            ("transactionId", "AC11000100012A9F0000000000000001"),
            ("offsetMsgId", "0A00000100002A9F0000000000001000"),
            ("bname", "broker-a"),
        ]);
        assert_eq!((check.tran_state_table_offset, check.commit_log_offset), (5, 4096));
        assert_eq!(check.rpc.broker_name.as_deref(), Some("broker-a"));
    }
}
