#!/usr/bin/env bash
# Our broker against the official Apache RocketMQ Java peers from Maven Central.
#
#   broker-interop.sh [extra Maven arguments, e.g. -o, -Dtest=SendTest, -Dbroker.impl=java, -DforkCount=1]
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

SUITE=broker-interop
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
  java)
    # AdminCliTest runs our admin tool against the Java broker too.
    build_ferrocket
    what="the official Java 5.3.3 name server and broker (-Dbroker.impl=java)"
    ;;
  *) die "-Dbroker.impl must be ferrocket or java, not $impl" ;;
esac

# Two test classes at a time (two surefire JVMs): most of a class's time is waiting (rebalance,
# retry back-off, timers), so on 2 cores this takes ~60 % of the sequential time. Every class
# starts its own servers on free ports in its own work directory, so classes do not share state.
# The Java brokers are two JVMs per class: one class at a time there (a later -DforkCount wins).
forks=2
[[ "$impl" == java ]] && forks=1
echo "$SUITE.sh: testing $what, $forks test classes at a time (full Maven log: $LOG)"
run_maven namesrv-it-support,broker-it,broker-it49 "-DforkCount=$forks" "$@"
