#!/usr/bin/env bash
# Our name server against the official Apache RocketMQ Java peers from Maven Central.
#
#   namesrv-interop.sh [extra Maven arguments, e.g. -o or -Dtest=NamesrvWithJavaBrokerTest]
#
# LargeRegistrationTest takes -Dnamesrv.impl=java to run against the official 5.3.3 name server
# (the reference its expectations are checked on) instead of ours.
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

SUITE=namesrv-interop
source "$(dirname "${BASH_SOURCE[0]}")/suite-lib.sh"

need_java_tools
build_ferrocket
echo "$SUITE.sh: testing $FERROCKET_BIN (full Maven log: $LOG)"
# Two test classes at a time against ours, as broker-interop.sh (each class has its own servers,
# ports and directories); one at a time for the Java pair. A later -DforkCount wins.
forks=2
[[ " $* " == *" -Dbroker.impl=java "* || " $* " == *" -Dnamesrv.impl=java "* ]] && forks=1
run_maven namesrv-it-support,namesrv-it,namesrv-it49 "-DforkCount=$forks" "$@"
