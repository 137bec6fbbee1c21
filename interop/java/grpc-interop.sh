#!/usr/bin/env bash
# A gRPC endpoint against the official RocketMQ 5.x Java client (rocketmq-client-java 5.2.0).
#
#   grpc-interop.sh [--cluster-proxy] [extra Maven arguments, e.g. -o, -Dtest=ProducerTest, -Dbroker.impl=java]
#
# Ours by default (`ferrocket standalone`, built unless $FERROCKET_BIN names one); with
# -Dbroker.impl=java the official 5.3.3 proxy in local mode (ProxyStartup -pm local) with its
# name server, which is how every test is validated before it judges ours.
#
# --cluster-proxy: the official 5.3.3 proxy in cluster mode (-Dproxy.mode=cluster) in front of our
# `ferrocket namesrv` and `ferrocket broker` (or, with -Dbroker.impl=java, Java's pair), one
# proxy for the whole run, over a subset of the tests (unless -Dtest= names others): sends of
# every type, SimpleConsumer receive/ack/change/redelivery and the DLQ after maxAttempts,
# PushConsumer FIFO, bad input (BadInputTest). The proxy speaks
# remoting and the POP codes to the broker, which proves ours against the proxy that wrote them.
set -euo pipefail

SUITE=grpc-interop
source "$(dirname "${BASH_SOURCE[0]}")/suite-lib.sh"

CLUSTER_PROXY_TESTS='ProducerTest#normalMessagesArriveWithTheirIdsTagsAndKeys+fifoMessagesOfOneGroupShareAQueueInSendOrder+delayMessagesArriveAtTheirDeliveryTime+aCommittedTransactionIsDeliveredAndARolledBackOneIsNot,SimpleConsumerTest#receivesAndAcksEveryMessage+aChangedInvisibleDurationTakesEffect+aMessagePoppedMaxAttemptsTimesGoesToTheDeadLetterQueue,PushConsumerTest#fifoOrderIsKeptPerMessageGroup,BadInputTest'

need_java_tools
impl=ferrocket
cluster=false
tests_named=false
maven_args=()
for arg in "$@"; do
  case "$arg" in
    --cluster-proxy) cluster=true; continue ;;
    -Dbroker.impl=*) impl="${arg#-Dbroker.impl=}" ;;
    -Dtest=*) tests_named=true ;;
  esac
  maven_args+=("$arg")
done
if $cluster; then
  SUITE=grpc-cluster-interop
  LOG="$HERE/target/$SUITE.log"
  maven_args+=(-Dproxy.mode=cluster)
  $tests_named || maven_args+=("-Dtest=$CLUSTER_PROXY_TESTS" -Dsurefire.failIfNoSpecifiedTests=false)
fi
case "$impl" in
  ferrocket)
    build_ferrocket
    what="$FERROCKET_BIN"
    ;;
  java) what="the official Java 5.3.3 proxy in local mode (-Dbroker.impl=java)" ;;
  *) die "-Dbroker.impl must be ferrocket or java, not $impl" ;;
esac
if $cluster; then
  what="the official Java 5.3.3 proxy in cluster mode in front of the $impl name server and broker"
fi

echo "$SUITE.sh: testing $what (full Maven log: $LOG)"
run_maven namesrv-it-support,grpc-it-proxy,grpc-it "${maven_args[@]}"
