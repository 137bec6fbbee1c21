#!/usr/bin/env bash
# SYNC_MASTER beside ASYNC_MASTER on a master/slave pair, ours and the official Java 5.3.3 pair,
# in one run (issue 13: "SYNC_MASTER >= 0.8 of ASYNC_MASTER"). Per round, per broker (the order
# alternates A B, B A so a drifting machine load favours neither), per role: a name server, a
# master and its slave on free loopback ports, both with inSyncReplicas=2 (so a SYNC_MASTER send
# waits for the slave, as in the partition test), then `ferrocket bench producer` (the same
# client, the first binary named, for every pair) at each thread count: sends/s, p50/p99
# (RESULT lines). Each pair is stopped before the next starts; each round starts one target
# later than the one before (A B C, B C A, ...).
#
#   scripts/ha-bench.sh [java | LABEL=path-to-ferrocket]...
#     default: `ferrocket=target/release/ferrocket java` (the release build, built first);
#     e.g. `before=/tmp/ferrocket-main after=target/release/ferrocket java` for a fix's A/B.
#   env: THREADS="3 64" ROUNDS=2 SECONDS_PER_CASE=8 BODY_BYTES=200 ROLES="SYNC_MASTER ASYNC_MASTER"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# targets.sh resolves the Java classpath with this Maven project (the 5.3.3 broker and client).
here="$root/interop/rust-client"
work="$root/target/ha-bench"
targets=("$@")
threads_list=(${THREADS:-3 64})
roles=(${ROLES:-SYNC_MASTER ASYNC_MASTER})
rounds="${ROUNDS:-2}"
seconds="${SECONDS_PER_CASE:-8}"
body="${BODY_BYTES:-200}"

# shellcheck source=../interop/rust-client/targets.sh
source "$here/targets.sh"

if [[ ${#targets[@]} -eq 0 ]]; then
  (cd "$root" && cargo build -q --release -p ferrocket) || die "cargo build --release -p ferrocket failed"
  targets=("ferrocket=$root/target/release/ferrocket" java)
fi
declare -A bins=()
for target in "${targets[@]}"; do
  [[ "$target" == java ]] && continue
  [[ "$target" == *=* && -x "${target#*=}" ]] || die "$target: expected java or LABEL=path-to-ferrocket"
  bins[${target%%=*}]="${target#*=}"
  FERROCKET_BIN="${FERROCKET_BIN:-${target#*=}}"
done
[[ -n "${FERROCKET_BIN:-}" ]] || die "name at least one ferrocket binary: it is the client too"
mkdir -p "$work"
results="$work/results.txt"
echo "ha-bench.sh: $(date -u '+%F %T UTC'); load before: $(uptime)" | tee -a "$results"

java_jvm() { # dir heap
  echo "-Xms$2 -Xmx$2 -XX:MaxDirectMemorySize=256m -XX:+UseSerialGC -Djava.awt.headless=true" \
    "-Duser.home=$1/home -Drocketmq.home.dir=$1/home --add-opens=java.base/java.nio=ALL-UNNAMED" \
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED"
}

# broker.conf lines both brokers share (role-specific ones are added per node).
common_conf() { # namesrv_port
  printf '%s\n' "namesrvAddr=127.0.0.1:$1" brokerClusterName=HaBenchCluster brokerName=broker-ha \
    flushDiskType=ASYNC_FLUSH brokerIP1=127.0.0.1 brokerIP2=127.0.0.1 bindAddress=127.0.0.1 \
    inSyncReplicas=2 autoCreateTopicEnable=true autoCreateSubscriptionGroup=true \
    "mappedFileSizeCommitLog=$((64 * 1024 * 1024))" mappedFileSizeConsumeQueue=600000 \
    traceTopicEnable=false timerWheelEnable=false
}

start_pair() { # label role
  local impl="$1" role="$2" dir="$work/$1-$2" namesrv_port master_port slave_port cp="" bin="${bins[$1]:-}"
  rm -rf "$dir"; mkdir -p "$dir/master/home" "$dir/slave/home"
  namesrv_port="$(free_port)"; master_port="$(free_port)"; slave_port="$(free_port)"
  if [[ "$impl" == java ]]; then
    cp="$(java_classpath)"
    printf '%s\n' "listenPort=$namesrv_port" bindAddress=127.0.0.1 "kvConfigPath=$dir/kvConfig.json" \
      "configStorePath=$dir/namesrv.properties" > "$dir/namesrv.conf"
    # shellcheck disable=SC2046 # java_jvm is a list of flags
    ROCKETMQ_HOME="$dir/master/home" java $(java_jvm "$dir/master" 256m) -cp "$cp" \
      org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" > "$dir/namesrv.log" 2>&1 &
    children+=($!)
    await_line "$dir/namesrv.log" "The Name Server boot success" 90
  else
    NO_COLOR=1 "$bin" namesrv --host 127.0.0.1 --port "$namesrv_port" --data-dir "$dir/namesrv" \
      > "$dir/namesrv.log" 2>&1 &
    children+=($!)
    await_line "$dir/namesrv.log" "^listening namesrv " 60
  fi
  local node port id node_role
  for node in master slave; do
    if [[ "$node" == master ]]; then port="$master_port"; id=0; node_role="$role"
    else port="$slave_port"; id=1; node_role=SLAVE; fi
    { common_conf "$namesrv_port"
      printf '%s\n' "brokerId=$id" "brokerRole=$node_role" "listenPort=$port" "haListenPort=$((port + 1))" \
        "storePathRootDir=$dir/$node/store" "storePathCommitLog=$dir/$node/store/commitlog"
    } > "$dir/$node/broker.conf"
    if [[ "$impl" == java ]]; then
      # shellcheck disable=SC2046
      ROCKETMQ_HOME="$dir/$node/home" java $(java_jvm "$dir/$node" 1g) -cp "$cp" \
        org.apache.rocketmq.broker.BrokerStartup -c "$dir/$node/broker.conf" > "$dir/$node/broker.log" 2>&1 &
      children+=($!)
      await_line "$dir/$node/broker.log" "The broker\[.*\] boot success" 120
    else
      # Our broker also serves gRPC (default 8081, taken by the first broker on the machine).
      echo "grpcServerPort=$(free_port)" >> "$dir/$node/broker.conf"
      NO_COLOR=1 "$bin" broker -c "$dir/$node/broker.conf" > "$dir/$node/broker.log" 2>&1 &
      children+=($!)
      await_line "$dir/$node/broker.log" "^listening broker " 60
    fi
  done
  namesrv="127.0.0.1:$namesrv_port"
  # A Java master says it booted before its first registration reaches the name server: retry.
  for attempt in $(seq 60); do
    "$FERROCKET_BIN" admin updateTopic -n "$namesrv" -c HaBenchCluster -t HaBench -r 8 -w 8 >/dev/null 2>&1 \
      && break
    [[ $attempt -lt 60 ]] || die "cannot create HaBench on $impl"
    sleep 1
  done
  # Until the slave is connected a SYNC_MASTER send is answered FLUSH_SLAVE_TIMEOUT after the
  # 3 s slaveTimeout (the client counts it as sent): wait for a send answered well before that.
  local probe
  for _ in $(seq 30); do
    probe="$(NO_COLOR=1 "$FERROCKET_BIN" bench producer -n "$namesrv" -t HaBench -w 1 -s "$body" --messages 1 \
      --warmup-seconds 0 --broker probe 2>/dev/null | grep '^RESULT' || true)"
    if [[ "$probe" == *" failed=0 "* && "$probe" =~ p50_us=([0-9]+) ]] && ((BASH_REMATCH[1] < 1000000)); then
      return 0
    fi
    sleep 0.5
  done
  die "$impl $role: no send acknowledged within 30 s (is the slave connected?)"
}

for round in $(seq "$rounds"); do
  for i in "${!targets[@]}"; do
    target="${targets[$(( (i + round - 1) % ${#targets[@]} ))]}"
    label="${target%%=*}"
    for role in "${roles[@]}"; do
      start_pair "$label" "$role"
      NO_COLOR=1 "$FERROCKET_BIN" bench producer -n "$namesrv" -t HaBench -w "$(IFS=,; echo "${threads_list[*]}")" \
        -s "$body" --seconds "$seconds" --broker "$label" \
        | grep '^RESULT' | sed "s/^RESULT /RESULT role=$role round=$round /" | tee -a "$results"
      cleanup
    done
  done
done
echo "ha-bench.sh: done $(date -u '+%F %T UTC'); load after: $(uptime)" | tee -a "$results"
