# Shared by the *-interop.sh scripts (sourced, not run): the tool checks, the ferrocket build and
# the Maven run with its pass/fail rules. A script sets SUITE (its name) before sourcing this.
#
#   need_java_tools            java and mvn present, else exit 2
#   build_ferrocket            exports FERROCKET_BIN (absolute), building it unless it is set
#   run_maven MODULES ARGS...  runs `mvn test` on MODULES; exits 1 if Maven fails or no test ran

HERE="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
LOG="$HERE/target/$SUITE.log"

die() {
  echo "$SUITE.sh: $*" >&2
  exit 2
}

need_java_tools() {
  command -v java >/dev/null || die "java not found (a JDK 17 is needed)"
  command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed)"
}

build_ferrocket() {
  if [[ -z "${FERROCKET_BIN:-}" ]]; then
    command -v cargo >/dev/null || die "cargo not found and FERROCKET_BIN not set"
    (cd "$ROOT" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
    FERROCKET_BIN="$ROOT/target/debug/ferrocket"
  fi
  [[ -x "$FERROCKET_BIN" ]] || die "FERROCKET_BIN=$FERROCKET_BIN is not an executable file"
  FERROCKET_BIN="$(cd "$(dirname "$FERROCKET_BIN")" && pwd)/$(basename "$FERROCKET_BIN")"
  export FERROCKET_BIN
}

run_maven() {
  local modules="$1"
  shift
  mkdir -p "$(dirname "$LOG")"
  local started=$SECONDS status
  # (Maven 3.8 prints stray ESC[0m resets even with -B; strip them.)
  set +e
  (cd "$HERE" && mvn -B -ntp -Dstyle.color=never --fail-at-end test -pl "$modules" "$@") 2>&1 \
    | sed -u $'s/\e\\[0m//g' \
    | tee "$LOG" \
    | grep --line-buffered -E 'CHAOS RESULT|^\[INFO\] Running |Tests run:|^\[ERROR\]|^\[WARNING\] Tests|FAIL|BUILD (SUCCESS|FAILURE)'
  status=${PIPESTATUS[0]}
  set -e
  echo "$SUITE.sh: $((SECONDS - started)) s"
  if [[ $status -ne 0 ]]; then
    echo "$SUITE.sh: FAILED (Maven exit status $status); see $LOG and */target/it-work/*/logs" >&2
    exit 1
  fi
  if ! grep -q 'Tests run: [1-9]' "$LOG"; then
    echo "$SUITE.sh: no test ran; see $LOG" >&2
    exit 1
  fi
}
