#!/usr/bin/env bash
# Our master and slave against the official Apache RocketMQ 5.3.3 client (issue 6).
#
#   ha-interop.sh [extra Maven arguments, e.g. -o]
#
# Builds the ferrocket binary (cargo build -p ferrocket) unless $FERROCKET_BIN names one, then runs
# `mvn test` on namesrv-it-support and ha-it: our name server, a SYNC_MASTER and its slave as child
# processes on loopback, 10,000 messages sent, the master killed with SIGKILL, every acknowledged
# message consumed from the slave. The full Maven output is kept in interop/java/target/ha-interop.log
# and the processes' logs under ha-it/target/it-work/*/logs.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG="$HERE/target/ha-interop.log"

die() {
  echo "ha-interop.sh: $*" >&2
  exit 2
}

command -v java >/dev/null || die "java not found (a JDK 17 is needed)"
command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed)"
if [[ -z "${FERROCKET_BIN:-}" ]]; then
  command -v cargo >/dev/null || die "cargo not found and FERROCKET_BIN not set"
  (cd "$ROOT" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
  FERROCKET_BIN="$ROOT/target/debug/ferrocket"
fi
[[ -x "$FERROCKET_BIN" ]] || die "FERROCKET_BIN=$FERROCKET_BIN is not an executable file"
export FERROCKET_BIN

mkdir -p "$(dirname "$LOG")"
echo "ha-interop.sh: testing $FERROCKET_BIN (full Maven log: $LOG)"
started=$SECONDS
set +e
(cd "$HERE" && mvn -B -ntp -Dstyle.color=never test -pl namesrv-it-support,ha-it "$@") 2>&1 \
  | sed -u $'s/\e\\[0m//g' \
  | tee "$LOG" \
  | grep --line-buffered -E '^\[INFO\] Running |Tests run:|^\[ERROR\]|FAIL|BUILD (SUCCESS|FAILURE)'
status=${PIPESTATUS[0]}
set -e
echo "ha-interop.sh: $((SECONDS - started)) s"
if [[ $status -ne 0 ]]; then
  echo "ha-interop.sh: FAILED (Maven exit status $status); see $LOG and ha-it/target/it-work/*/logs" >&2
  exit 1
fi
grep -q 'Tests run: [1-9]' "$LOG" || { echo "ha-interop.sh: no test ran; see $LOG" >&2; exit 1; }
