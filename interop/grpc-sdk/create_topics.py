#!/usr/bin/env python3
"""Creates topics with a `message.type` attribute on a broker, over remoting.

    create_topics.py NAMESRV_HOST:PORT BROKER_HOST:PORT TOPIC=TYPE...
                                          (TYPE: NORMAL, FIFO, DELAY, TRANSACTION)

The 5.x SDKs cannot create topics, and a gRPC endpoint (ours or the Java proxy) refuses to route
a FIFO, delay or transactional message to a topic whose `message.type` does not allow it, so the
SDK suites create theirs first, the way mqadmin's `updateTopic -a +message.type=FIFO` does: one
UPDATE_AND_CREATE_TOPIC (code 17) request with the attributes as "+key=value". Then it waits
until the name server routes each topic (GET_ROUTEINFO_BY_TOPIC, code 105): the Java broker
registers a new topic with the name server in the background, and a client that asks first is
told TOPIC_NOT_FOUND. Standard library only, so the same helper serves the Java target and ours.
"""
import json
import socket
import struct
import sys
import time

UPDATE_AND_CREATE_TOPIC = 17
GET_ROUTEINFO_BY_TOPIC = 105
SUCCESS = 0
# A broker answers, and registers a topic with the name server, well within this when loaded.
TIMEOUT_SECONDS = 15


def frame(opaque, code, ext_fields):
    header = {
        "code": code,
        "language": "JAVA",
        "version": 479,  # a 5.3.x admin's; neither broker looks at it for this code.
        "opaque": opaque,
        "flag": 0,
        "serializeTypeCurrentRPC": "JSON",
        "extFields": ext_fields,
    }
    encoded = json.dumps(header).encode()
    # total length (header length field + header), then the header length with the JSON type (0).
    return struct.pack(">II", 4 + len(encoded), len(encoded)) + encoded


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def call(address, code, ext_fields):
    """One request on a fresh connection; returns the response header."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT_SECONDS) as sock:
        sock.sendall(frame(1, code, ext_fields))
        total, header_length = struct.unpack(">II", read_exact(sock, 8))
        header = json.loads(read_exact(sock, header_length & 0xFFFFFF))
        read_exact(sock, total - 4 - (header_length & 0xFFFFFF))
        return header


def main(argv):
    if len(argv) < 4:
        print("usage: create_topics.py NAMESRV_HOST:PORT BROKER_HOST:PORT TOPIC=TYPE...", file=sys.stderr)
        return 2
    namesrv, broker, specs = argv[1], argv[2], [spec.split("=", 1) for spec in argv[3:]]
    for topic, message_type in specs:
        header = call(broker, UPDATE_AND_CREATE_TOPIC, {
            "topic": topic,
            "defaultTopic": "TBW102",
            "readQueueNums": "4",
            "writeQueueNums": "4",
            "perm": "6",
            "topicFilterType": "SINGLE_TAG",
            "topicSysFlag": "0",
            "order": "false",
            "attributes": "+message.type=" + message_type,
        })
        if header.get("code") != SUCCESS:
            print(f"create_topics.py: {topic}: code {header.get('code')} {header.get('remark')}", file=sys.stderr)
            return 1
    deadline = time.monotonic() + TIMEOUT_SECONDS
    for topic, _ in specs:
        while call(namesrv, GET_ROUTEINFO_BY_TOPIC, {"topic": topic}).get("code") != SUCCESS:
            if time.monotonic() > deadline:
                print(f"create_topics.py: the name server never routed {topic}", file=sys.stderr)
                return 1
            time.sleep(0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
