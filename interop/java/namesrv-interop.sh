#!/usr/bin/env bash
# Our name server against the official Apache RocketMQ Java peers from Maven Central.
#
#   namesrv-interop.sh [extra Maven arguments, e.g. -o or -Dtest=NamesrvWithJavaBrokerTest]
#
# 1. Builds the ferrocket binary (cargo build -p ferrocket), unless $FERROCKET_BIN names one.
# 2. Runs `mvn test` on namesrv-it-support, namesrv-it (5.3.3 broker, client, mqadmin) and
#    namesrv-it49 (4.9.8 client, admin and mqadmin against a 5.3.3 broker). Each JUnit test class
#    starts `ferrocket namesrv` and an official Java broker as child processes on free loopback ports.
#
# Prints Surefire's per-class and summary lines and Maven's errors; the full Maven output is kept in
# interop/java/target/namesrv-interop.log and the processes' logs under <module>/target/it-work/.
# Exits non-zero if a tool is missing, the build fails or any test fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODULES="namesrv-it-support,namesrv-it,namesrv-it49"
LOG="$HERE/target/namesrv-interop.log"

die() {
  echo "namesrv-interop.sh: $*" >&2
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
echo "namesrv-interop.sh: testing $FERROCKET_BIN (full Maven log: $LOG)"
started=$SECONDS
# (Maven 3.8 prints stray ESC[0m resets even with -B; strip them.)
set +e
(cd "$HERE" && mvn -B -ntp -Dstyle.color=never test -pl "$MODULES" "$@") 2>&1 \
  | sed -u $'s/\e\\[0m//g' \
  | tee "$LOG" \
  | grep --line-buffered -E '^\[INFO\] Running |Tests run:|^\[ERROR\]|^\[WARNING\] Tests|FAIL|BUILD (SUCCESS|FAILURE)'
status=${PIPESTATUS[0]}
set -e
echo "namesrv-interop.sh: $((SECONDS - started)) s"
if [[ $status -ne 0 ]]; then
  echo "namesrv-interop.sh: FAILED (Maven exit status $status); see $LOG and */target/it-work/*/logs" >&2
  exit 1
fi
if ! grep -q 'Tests run: [1-9]' "$LOG"; then
  echo "namesrv-interop.sh: no test ran; see $LOG" >&2
  exit 1
fi
