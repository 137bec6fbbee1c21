#!/usr/bin/env bash
# Fault tests (issue 18): our broker SIGKILLed under load and on a full disk, a SYNC_MASTER killed
# beside its slave, partitions in network namespaces (root needed), all driven by the official
# Apache RocketMQ 5.3.3 client, which logs every acknowledged send and reads everything back.
#
#   chaos-interop.sh [extra Maven arguments, e.g. -o, -Dtest=CrashLoopTest, -Dbroker.impl=java,
#                     -Dchaos.cycles=1000]
#
# 1. Builds the ferrocket binary (cargo build -p ferrocket), unless $FERROCKET_BIN names one or
#    -Dbroker.impl=java is given (then the official 5.3.3 name server and broker are tested instead,
#    which is how every test is validated before it judges ours).
#    It also builds target/debug/lossyfs-mount (crates/lossyfs), which MasterSlavePowerCutTest
#    mounts under the master's store to cut its power.
# 2. Runs `mvn --fail-at-end test` on namesrv-it-support and chaos-it. The disk-full test mounts a
#    small tmpfs, so it needs root (it fails, saying so, otherwise).
#
# Each run's figures (fault, mode, cycles, acknowledged, lost, duplicated, worst recovery time) are
# printed as "CHAOS RESULT" lines and appended to chaos-it/target/chaos-results.txt (RELIABILITY.md).
# The full Maven output is kept in interop/java/target/chaos-interop.log and the processes' logs
# under chaos-it/target/it-work/. Exits non-zero if a tool is missing, the build fails, any test
# fails or no test ran.
set -euo pipefail

SUITE=chaos-interop
source "$(dirname "${BASH_SOURCE[0]}")/suite-lib.sh"

need_java_tools
impl=ferrocket
for arg in "$@"; do
  case "$arg" in
    -Dbroker.impl=*) impl="${arg#-Dbroker.impl=}" ;;
  esac
done
case "$impl" in
  ferrocket)
    build_ferrocket
    what="$FERROCKET_BIN"
    ;;
  java) what="the official Java 5.3.3 name server and broker (-Dbroker.impl=java)" ;;
  *) die "-Dbroker.impl must be ferrocket or java, not $impl" ;;
esac

# The power-cut test mounts the master's store on lossyfs through this helper (both brokers).
(cd "$ROOT" && cargo build -q -p ferrocket-lossyfs --bin lossyfs-mount) || die "cargo build of lossyfs-mount failed"

echo "$SUITE.sh: testing $what (full Maven log: $LOG)"
run_maven namesrv-it-support,chaos-it "$@"
