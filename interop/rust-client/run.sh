#!/usr/bin/env bash
# The Rust SDK (crates/client) against two targets, the same test body for both
# (crates/client/tests/interop.rs): first the official Apache RocketMQ 5.3.3 name server and
# broker, then ours (`ferrocket namesrv` and `ferrocket broker -c broker.conf`). Each target is started here on free loopback ports
# and handed to `cargo test -p ferrocket-client --test interop` in FERROCKET_CLIENT_NAMESRV; the
# test fails (never skips) without it.
#
#   run.sh [java|ferrocket]...   (default: both, Java first; RUST_CLIENT_FILTER=name runs only matching tests)
#
# Needs java (17+) and mvn for the Java target (the classpath comes from Maven Central or ~/.m2).
# Logs: interop/rust-client/target/<target>/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/target"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(java ferrocket)

# shellcheck source=targets.sh
source "$here/targets.sh"

(cd "$root" && cargo test -q -p ferrocket-client --test interop --no-run) || die "cannot build the interop test"
status=0
for target in "${targets[@]}"; do
  case "$target" in
    java) start_java ;;
    ferrocket) start_ferrocket ;;
    *) die "unknown target $target (java or ferrocket)" ;;
  esac
  started=$SECONDS
  echo "rust-client/run.sh: $target at $namesrv"
  if (cd "$root" && FERROCKET_CLIENT_NAMESRV="$namesrv" FERROCKET_CLIENT_TARGET="$target" \
      FERROCKET_CLIENT_RESTART_BROKER="$work/$target/restart-broker.sh" \
      cargo test -q -p ferrocket-client --test interop -- --ignored --test-threads=1 ${RUST_CLIENT_FILTER:-}); then
    echo "rust-client/run.sh: $target passed in $((SECONDS - started)) s"
  else
    echo "rust-client/run.sh: $target FAILED after $((SECONDS - started)) s; logs in $work/$target" >&2
    status=1
  fi
  cleanup
done
exit $status
