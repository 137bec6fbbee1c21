#!/usr/bin/env bash
# Our store's files against the official Apache RocketMQ 5.3.3 broker and client, both ways.
#
#   store-interop.sh [extra Maven arguments, e.g. -o or -Dtest=StoreInteropTest#javaStore*]
#
# 1. Builds the ferrocket binary (our name server routes the Java client), unless $FERROCKET_BIN
#    names one, and the store's java_store test binary (crates/store/tests/java_store.rs).
# 2. Runs `mvn test` on namesrv-it-support and store-it. StoreInteropTest starts `ferrocket
#    namesrv`, then:
#    - Java to ours: a 5.3.3 broker stores a few hundred varied messages sent by the 5.3.3 client
#      (small segments, so several commit-log, consume-queue and index files), stops cleanly, and
#      `java_store_reads_back_identical` opens a copy with our store and checks every record, every
#      consume-queue entry and every index key against what the client sent and read back;
#    - ours to Java: `write_store_for_java` writes a store with ours (plus config/topics.json and a
#      checkpoint), a 5.3.3 broker opens it and the client pulls every queue from offset 0 and
#      queries keys and ids, every message identical.
#
# Prints Surefire's per-class and summary lines and Maven's errors; the full Maven output is kept in
# interop/java/target/store-interop.log and the processes' logs under store-it/target/it-work/.
# Exits non-zero if a tool is missing, a build fails, any test fails or no test ran.
set -euo pipefail

SUITE=store-interop
source "$(dirname "${BASH_SOURCE[0]}")/suite-lib.sh"

need_java_tools
command -v cargo >/dev/null || die "cargo not found (the Rust half of the test is a cargo test)"
build_ferrocket

# The test binary's path, from cargo's JSON messages (one "executable" for the one test target).
FERROCKET_JAVA_STORE_TEST_BIN="$(cd "$ROOT" && cargo test -q -p ferrocket-store --test java_store --no-run \
  --message-format=json | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)" \
  || die "cargo test -p ferrocket-store --test java_store --no-run failed"
[[ -x "$FERROCKET_JAVA_STORE_TEST_BIN" ]] || die "no java_store test binary found (got '$FERROCKET_JAVA_STORE_TEST_BIN')"
export FERROCKET_JAVA_STORE_TEST_BIN

echo "$SUITE.sh: testing $FERROCKET_JAVA_STORE_TEST_BIN with $FERROCKET_BIN as name server (full Maven log: $LOG)"
run_maven namesrv-it-support,store-it "$@"
