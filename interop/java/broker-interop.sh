#!/usr/bin/env bash
# Our broker against the official Apache RocketMQ Java peers from Maven Central.
#
#   broker-interop.sh [extra Maven arguments, e.g. -o, -Dtest=SendTest, -Dbroker.impl=java]
#
# 1. Builds the ferrocket binary (cargo build -p ferrocket), unless $FERROCKET_BIN names one or
#    -Dbroker.impl=java is given (then the official 5.3.3 name server and broker are tested instead,
#    which is how every test is validated before it judges ours).
# 2. Runs `mvn --fail-at-end test` on namesrv-it-support, broker-it (5.3.3 client, admin API, mqadmin and the
#    rocketmq-example benchmark) and broker-it49 (4.9.8 client and admin). Each JUnit test class
#    starts `ferrocket standalone` (or `ferrocket namesrv` + `ferrocket broker -c broker.conf` when
#    it needs other broker settings) as child processes on free loopback ports.
#
# Prints Surefire's per-class and summary lines and Maven's errors; the full Maven output is kept in
# interop/java/target/broker-interop.log and the processes' logs under <module>/target/it-work/.
# Exits non-zero if a tool is missing, the build fails, any test fails or no test ran.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
MODULES="namesrv-it-support,broker-it,broker-it49"
LOG="$HERE/target/broker-interop.log"

die() {
  echo "broker-interop.sh: $*" >&2
  exit 2
}

command -v java >/dev/null || die "java not found (a JDK 17 is needed)"
command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed)"

impl=ferrocket
for arg in "$@"; do
  case "$arg" in
    -Dbroker.impl=*) impl="${arg#-Dbroker.impl=}" ;;
  esac
done
case "$impl" in
  ferrocket)
    if [[ -z "${FERROCKET_BIN:-}" ]]; then
      command -v cargo >/dev/null || die "cargo not found and FERROCKET_BIN not set"
      (cd "$ROOT" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
      FERROCKET_BIN="$ROOT/target/debug/ferrocket"
    fi
    [[ -x "$FERROCKET_BIN" ]] || die "FERROCKET_BIN=$FERROCKET_BIN is not an executable file"
    export FERROCKET_BIN
    what="$FERROCKET_BIN"
    ;;
  java) what="the official Java 5.3.3 name server and broker (-Dbroker.impl=java)" ;;
  *) die "-Dbroker.impl must be ferrocket or java, not $impl" ;;
esac

mkdir -p "$(dirname "$LOG")"
echo "broker-interop.sh: testing $what (full Maven log: $LOG)"
started=$SECONDS
# (Maven 3.8 prints stray ESC[0m resets even with -B; strip them.)
set +e
(cd "$HERE" && mvn -B -ntp -Dstyle.color=never --fail-at-end test -pl "$MODULES" "$@") 2>&1 \
  | sed -u $'s/\e\\[0m//g' \
  | tee "$LOG" \
  | grep --line-buffered -E '^\[INFO\] Running |Tests run:|^\[ERROR\]|^\[WARNING\] Tests|FAIL|BUILD (SUCCESS|FAILURE)'
status=${PIPESTATUS[0]}
set -e
echo "broker-interop.sh: $((SECONDS - started)) s"
if [[ $status -ne 0 ]]; then
  echo "broker-interop.sh: FAILED (Maven exit status $status); see $LOG and */target/it-work/*/logs" >&2
  exit 1
fi
if ! grep -q 'Tests run: [1-9]' "$LOG"; then
  echo "broker-interop.sh: no test ran; see $LOG" >&2
  exit 1
fi
