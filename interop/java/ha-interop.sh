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

SUITE=ha-interop
source "$(dirname "${BASH_SOURCE[0]}")/suite-lib.sh"

need_java_tools
build_ferrocket
echo "$SUITE.sh: testing $FERROCKET_BIN (full Maven log: $LOG)"
# Two test classes at a time against ours, as broker-interop.sh (each class has its own servers,
# ports and directories); one at a time for the Java pair. A later -DforkCount wins.
forks=2
[[ " $* " == *" -Dbroker.impl=java "* ]] && forks=1
run_maven namesrv-it-support,ha-it "-DforkCount=$forks" "$@"
