#!/usr/bin/env bash
# A gRPC endpoint against the official RocketMQ 5.x Java client (rocketmq-client-java 5.2.0).
#
#   grpc-interop.sh [extra Maven arguments, e.g. -o, -Dtest=ProducerTest, -Dbroker.impl=java]
#
# Ours by default (`ferrocket standalone`, built unless $FERROCKET_BIN names one); with
# -Dbroker.impl=java the official 5.3.3 proxy in local mode (ProxyStartup -pm local) with its
# name server, which is how every test is validated before it judges ours.
set -euo pipefail

SUITE=grpc-interop
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
  java) what="the official Java 5.3.3 proxy in local mode (-Dbroker.impl=java)" ;;
  *) die "-Dbroker.impl must be ferrocket or java, not $impl" ;;
esac

echo "$SUITE.sh: testing $what (full Maven log: $LOG)"
run_maven namesrv-it-support,grpc-it-proxy,grpc-it "$@"
