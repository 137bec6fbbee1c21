//! What POP reads from consumers and from the revive log: the receipt (`extraInfo`), the
//! BATCH_ACK, QUERY_ASSIGNMENT and SET_MESSAGE_REQUEST_MODE bodies, and the revive-log records.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use ferrocket_wire::body::{
        AckMsg, BatchAckMessageRequestBody, BatchAckMsg, PopCheckPoint, QueryAssignmentRequestBody,
        SetMessageRequestModeRequestBody,
    };
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(receipt) = ferrocket_wire::pop_receipt::PopReceipt::parse(text) {
            let again = ferrocket_wire::pop_receipt::PopReceipt::parse(&receipt.to_string());
            assert_eq!(again.ok(), Some(receipt), "a receipt we write must read back");
        }
    }
    ferrocket_fuzz::json_body::<BatchAckMessageRequestBody>(data);
    ferrocket_fuzz::json_body::<QueryAssignmentRequestBody>(data);
    ferrocket_fuzz::json_body::<SetMessageRequestModeRequestBody>(data);
    ferrocket_fuzz::json_body::<PopCheckPoint>(data);
    ferrocket_fuzz::json_body::<AckMsg>(data);
    ferrocket_fuzz::json_body::<BatchAckMsg>(data);
});
