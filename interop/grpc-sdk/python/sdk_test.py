"""The official Python 5.x gRPC client (rocketmq-python-client, PyPI) against the endpoint in
FERROCKET_GRPC_ENDPOINT, over plaintext (the client's default; with TLS on it verifies the
certificate, which a self-signed one fails). run.sh starts the target and creates the topics
<prefix>Normal, Fifo, Delay and Tx with their message.type first. Exits non-zero on any failure.
"""
import os
import sys
import time

from rocketmq import (ClientConfiguration, Credentials, FilterExpression, Message, Producer,
                      SimpleConsumer, TransactionChecker)
from rocketmq.grpc_protocol import TransactionResolution

DELAY_SECONDS = 3  # long enough to tell "delayed" from "not"
INVISIBLE_SECONDS = 15  # the proxy's minInvisibleTimeMillsForRecv is 10 s
AWAIT_SECONDS = 5  # the long poll: Java refuses a deadline that leaves under 5 s
RECEIVE_DEADLINE_SECONDS = 60  # every expected message arrives well before this when loaded


class Commit(TransactionChecker):
    def check(self, message):
        return TransactionResolution.COMMIT


def fail(text):
    print(f"FAIL: {text}", flush=True)
    sys.exit(1)


def main():
    endpoint = os.environ.get("FERROCKET_GRPC_ENDPOINT")
    prefix = os.environ.get("FERROCKET_SDK_TOPIC_PREFIX")
    if not endpoint or not prefix:
        fail("FERROCKET_GRPC_ENDPOINT and FERROCKET_SDK_TOPIC_PREFIX must be set (run through run.sh)")
    normal, fifo, delayed, tx = (prefix + name for name in ("Normal", "Fifo", "Delay", "Tx"))
    config = ClientConfiguration(endpoint, Credentials())

    producer = Producer(config, (normal, fifo, delayed, tx), checker=Commit())
    producer.startup()
    expected = {}  # body -> topic
    try:
        def send(message, transaction=None):
            receipt = producer.send(message, transaction)
            if not receipt.message_id:
                fail(f"send {message.body!r}: no message id")
            return receipt

        for i in range(3):
            message = Message()
            message.topic, message.body, message.tag, message.keys = normal, f"py-normal-{i}".encode(), "tagA", f"key-{i}"
            send(message)
            expected[message.body] = normal
        for i in range(2):
            message = Message()
            message.topic, message.body, message.message_group = fifo, f"py-fifo-{i}".encode(), "group-1"
            send(message)
            expected[message.body] = fifo
        # In whole seconds: the client copies delivery_timestamp into Timestamp.seconds as it is
        # (its docstring says milliseconds; Java's proxy refuses that with 50001 "Timestamp is
        # not valid").
        delay_due_seconds = int(time.time()) + DELAY_SECONDS
        delay_due_ms = delay_due_seconds * 1000
        message = Message()
        message.topic, message.body, message.delivery_timestamp = delayed, b"py-delay", delay_due_seconds
        send(message)
        expected[message.body] = delayed
        for resolution in ("commit", "rollback"):
            transaction = producer.begin_transaction()
            message = Message()
            message.topic, message.body = tx, f"py-tx-{resolution}".encode()
            send(message, transaction)
            if resolution == "commit":
                transaction.commit()
                expected[message.body] = tx
            else:
                transaction.rollback()
        print(f"sent {len(expected)} messages to be consumed", flush=True)
    finally:
        producer.shutdown()

    consumer = SimpleConsumer(config, prefix + "Group",
                              {topic: FilterExpression() for topic in (normal, fifo, delayed, tx)},
                              await_duration=AWAIT_SECONDS)
    consumer.startup()
    try:
        changed = False
        deadline = time.monotonic() + RECEIVE_DEADLINE_SECONDS
        while expected and time.monotonic() < deadline:
            asked = time.monotonic()
            messages = consumer.receive(16, INVISIBLE_SECONDS) or []
            print(f"receive: {len(messages)} messages in {time.monotonic() - asked:.3f} s", flush=True)
            for message in messages:
                topic = expected.pop(message.body, None)
                if topic is None:
                    fail(f"unexpected or repeated message {message.body!r} from {message.topic}")
                if message.topic != topic:
                    fail(f"{message.body!r} came from {message.topic}, sent to {topic}")
                if topic == fifo and message.message_group != "group-1":
                    fail(f"{message.body!r} lost its message group: {message.message_group!r}")
                if topic == normal and message.tag != "tagA":
                    fail(f"{message.body!r} lost its tag: {message.tag!r}")
                if topic == delayed and time.time() * 1000 < delay_due_ms - 500:
                    fail(f"the delay message came {delay_due_ms - time.time() * 1000:.0f} ms early")
                if not changed:
                    # The new handle replaces the old one; the ack below must use it.
                    before = message.receipt_handle
                    consumer.change_invisible_duration(message, INVISIBLE_SECONDS + 5)
                    if message.receipt_handle == before:
                        fail("change_invisible_duration left the receipt handle as it was")
                    changed = True
                consumer.ack(message)
        if expected:
            fail(f"never received: {sorted(expected)}")
    finally:
        consumer.shutdown()
    print("PASS", flush=True)


if __name__ == "__main__":
    main()
