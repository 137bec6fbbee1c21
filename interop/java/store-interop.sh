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

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODULES="namesrv-it-support,store-it"
LOG="$HERE/target/store-interop.log"

die() {
  echo "store-interop.sh: $*" >&2
  exit 2
}

command -v java >/dev/null || die "java not found (a JDK 17 is needed)"
command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed)"
command -v cargo >/dev/null || die "cargo not found (the Rust half of the test is a cargo test)"

if [[ -z "${FERROCKET_BIN:-}" ]]; then
  (cd "$ROOT" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
  FERROCKET_BIN="$ROOT/target/debug/ferrocket"
fi
[[ -x "$FERROCKET_BIN" ]] || die "FERROCKET_BIN=$FERROCKET_BIN is not an executable file"
FERROCKET_BIN="$(cd "$(dirname "$FERROCKET_BIN")" && pwd)/$(basename "$FERROCKET_BIN")"
export FERROCKET_BIN

# The test binary's path, from cargo's JSON messages (one "executable" for the one test target).
FERROCKET_JAVA_STORE_TEST_BIN="$(cd "$ROOT" && cargo test -q -p ferrocket-store --test java_store --no-run \
  --message-format=json | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)" \
  || die "cargo test -p ferrocket-store --test java_store --no-run failed"
[[ -x "$FERROCKET_JAVA_STORE_TEST_BIN" ]] || die "no java_store test binary found (got '$FERROCKET_JAVA_STORE_TEST_BIN')"
export FERROCKET_JAVA_STORE_TEST_BIN

mkdir -p "$(dirname "$LOG")"
echo "store-interop.sh: testing $FERROCKET_JAVA_STORE_TEST_BIN with $FERROCKET_BIN as name server (full Maven log: $LOG)"
started=$SECONDS
# (Maven 3.8 prints stray ESC[0m resets even with -B; strip them.)
set +e
(cd "$HERE" && mvn -B -ntp -Dstyle.color=never test -pl "$MODULES" "$@") 2>&1 \
  | sed -u $'s/\e\\[0m//g' \
  | tee "$LOG" \
  | grep --line-buffered -E '^\[INFO\] Running |Tests run:|^\[ERROR\]|^\[WARNING\] Tests|FAIL|BUILD (SUCCESS|FAILURE)'
status=${PIPESTATUS[0]}
set -e
echo "store-interop.sh: $((SECONDS - started)) s"
if [[ $status -ne 0 ]]; then
  echo "store-interop.sh: FAILED (Maven exit status $status); see $LOG and store-it/target/it-work/*/logs" >&2
  exit 1
fi
if ! grep -q 'Tests run: [1-9]' "$LOG"; then
  echo "store-interop.sh: no test ran; see $LOG" >&2
  exit 1
fi
