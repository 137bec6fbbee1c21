#!/usr/bin/env bash
# The official RocketMQ 5.x gRPC SDKs other than Java (apache/rocketmq-clients: Go v5, Python,
# Node.js) against a gRPC endpoint: normal, FIFO (message group), delay and transactional sends,
# then a SimpleConsumer that receives, changes one invisible duration and acks.
#
#   run.sh [--langs go,python,node] [java|ferrocket]...   (default: all three languages, ours)
#
# Targets, each started here on free loopback ports:
#   java       the official 5.3.3 name server and proxy in local mode (ProxyStartup -pm local,
#              the broker inside the proxy's JVM): the reference each test is first run against
#   ferrocket  `ferrocket standalone` (built unless FERROCKET_BIN names one)
# Each language's tools install themselves here (go mod download, a pip venv, npm ci); a missing
# go, python3 or npm is a failure, not a skip. The test gets the endpoint in
# FERROCKET_GRPC_ENDPOINT and its topics in FERROCKET_SDK_TOPIC_PREFIX. Logs: target/<target>/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$here/target"
langs=(go python node)
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --langs) IFS=, read -r -a langs <<< "${2:?--langs needs go,python,node}"; shift 2 ;;
    --langs=*) IFS=, read -r -a langs <<< "${1#--langs=}"; shift ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=(ferrocket)

die() { echo "grpc-sdk/run.sh: $*" >&2; exit 2; }
children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
  children=()
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits up to $3 seconds for the regex $2 to appear in file $1; fails with the file's tail.
await_line() {
  local file="$1" pattern="$2" seconds="$3"
  for _ in $(seq "$((seconds * 5))"); do
    if grep -qE "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  tail -n 30 "$file" >&2 || true
  die "no /$pattern/ in $file within $seconds s"
}

proxy_classpath() {
  local file="$root/interop/java/grpc-it-proxy/target/proxy.classpath"
  if [[ ! -s "$file" ]]; then
    command -v mvn >/dev/null || die "mvn not found (Maven 3.8+ is needed for the Java target)"
    (cd "$root/interop/java" && { mvn -B -q -o -pl grpc-it-proxy -am generate-resources \
      || mvn -B -q -ntp -pl grpc-it-proxy -am generate-resources; }) >&2 \
      || die "cannot resolve the RocketMQ 5.3.3 proxy's classpath"
  fi
  cat "$file"
}

start_java() {
  command -v java >/dev/null || die "java not found (a JDK 17 is needed)"
  local dir="$work/java" cp namesrv_port broker_port remoting_port
  rm -rf "$dir"; mkdir -p "$dir/home"
  cp="$(proxy_classpath)"
  namesrv_port="$(free_port)"; broker_port="$(free_port)"; grpc_port="$(free_port)"
  remoting_port="$(free_port)"
  local jvm=(-Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
    "-Duser.home=$dir/home" "-Drocketmq.home.dir=$dir/home"
    --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
    --add-exports=java.base/sun.nio.ch=ALL-UNNAMED)
  printf '%s\n' "listenPort=$namesrv_port" bindAddress=127.0.0.1 "kvConfigPath=$dir/kvConfig.json" \
    "configStorePath=$dir/namesrv.properties" > "$dir/namesrv.conf"
  ROCKETMQ_HOME="$dir/home" java "${jvm[@]/-Xmx512m/-Xmx256m}" -cp "$cp" \
    org.apache.rocketmq.namesrv.NamesrvStartup -c "$dir/namesrv.conf" > "$dir/namesrv.log" 2>&1 &
  children+=($!)
  await_line "$dir/namesrv.log" "The Name Server boot success" 60
  printf '%s\n' "namesrvAddr=127.0.0.1:$namesrv_port" brokerClusterName=DefaultCluster brokerName=broker-a \
    brokerId=0 brokerRole=ASYNC_MASTER flushDiskType=ASYNC_FLUSH brokerIP1=127.0.0.1 bindAddress=127.0.0.1 \
    "listenPort=$broker_port" "storePathRootDir=$dir/store" "storePathCommitLog=$dir/store/commitlog" \
    autoCreateTopicEnable=true "mappedFileSizeCommitLog=$((64 * 1024 * 1024))" \
    mappedFileSizeConsumeQueue=600000 traceTopicEnable=false > "$dir/broker.conf"
  printf '{"rocketMQClusterName":"DefaultCluster","grpcServerPort":%s,"remotingListenPort":%s,"namesrvAddr":"127.0.0.1:%s"}\n' \
    "$grpc_port" "$remoting_port" "$namesrv_port" > "$dir/rmq-proxy.json"
  ROCKETMQ_HOME="$dir/home" java "${jvm[@]}" -cp "$cp" org.apache.rocketmq.proxy.ProxyStartup -pm local \
    -bc "$dir/broker.conf" -pc "$dir/rmq-proxy.json" > "$dir/proxy.log" 2>&1 &
  children+=($!)
  await_line "$dir/proxy.log" "rocketmq-proxy startup successfully" 120
  broker="127.0.0.1:$broker_port"; namesrv="127.0.0.1:$namesrv_port"
}

start_ferrocket() {
  local dir="$work/ferrocket" bin="${FERROCKET_BIN:-$root/target/debug/ferrocket}"
  if [[ -z "${FERROCKET_BIN:-}" ]]; then
    (cd "$root" && cargo build -q -p ferrocket) || die "cargo build -p ferrocket failed"
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  local namesrv_port broker_port
  namesrv_port="$(free_port)"; broker_port="$(free_port)"
  NO_COLOR=1 "$bin" standalone --host 127.0.0.1 --namesrv-port "$namesrv_port" --broker-port "$broker_port" \
    --grpc-port 0 --data-dir "$dir/data" > "$dir/standalone.log" 2>&1 &
  children+=($!)
  await_line "$dir/standalone.log" "^listening grpc " 60
  grpc_port="$(sed -nE 's/^listening grpc \S+:([0-9]+).*/\1/p' "$dir/standalone.log" | head -n 1)"
  broker="127.0.0.1:$broker_port"; namesrv="127.0.0.1:$namesrv_port"
}

# Installs the language's client (a failure if its tool is missing) before any target starts.
prepare() {
  case "$1" in
    go)
      command -v go >/dev/null || die "go not found (Go 1.24+ is needed for the Go v5 client)"
      (cd "$here/go" && go mod download && go test -c -o "$work/go-sdk.test" .) || die "cannot build the Go test"
      ;;
    python)
      command -v python3 >/dev/null || die "python3 not found"
      if [[ ! -x "$work/venv/bin/python" ]]; then
        python3 -m venv "$work/venv" || die "cannot make a venv (apt-get install python3-venv)"
      fi
      "$work/venv/bin/pip" install -q --disable-pip-version-check -r "$here/python/requirements.txt" \
        || die "pip install failed"
      ;;
    node)
      command -v npm >/dev/null || die "npm not found (Node.js 18+ is needed)"
      (cd "$here/node" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
      ;;
    *) die "unknown language $1 (go, python or node)" ;;
  esac
}

# In a subshell: HOME (where the clients write their logs) must not leak into a later cargo.
run_lang() (
  local lang="$1" target="$2" log="$work/$2/$1.log"
  export FERROCKET_GRPC_ENDPOINT="127.0.0.1:$grpc_port" FERROCKET_SDK_TOPIC_PREFIX="Sdk_${lang}_"
  export FERROCKET_SDK_TARGET="$target" HOME="$work/$target/home-$lang"
  mkdir -p "$HOME"
  case "$lang" in
    go) (cd "$here/go" && "$work/go-sdk.test" -test.v -test.count=1 -test.timeout=120s) ;;
    python) "$work/venv/bin/python" "$here/python/sdk_test.py" ;;
    node) (cd "$here/node" && node sdk_test.mjs) ;;
  esac > "$log" 2>&1
)

mkdir -p "$work"
for lang in "${langs[@]}"; do prepare "$lang"; done
status=0
for target in "${targets[@]}"; do
  started=$SECONDS
  case "$target" in
    java) start_java ;;
    ferrocket) start_ferrocket ;;
    *) die "unknown target $target (java or ferrocket)" ;;
  esac
  echo "grpc-sdk/run.sh: $target up in $((SECONDS - started)) s, gRPC on 127.0.0.1:$grpc_port"
  for lang in "${langs[@]}"; do
    python3 "$here/create_topics.py" "$namesrv" "$broker" "Sdk_${lang}_Normal=NORMAL" "Sdk_${lang}_Fifo=FIFO" \
      "Sdk_${lang}_Delay=DELAY" "Sdk_${lang}_Tx=TRANSACTION" || die "cannot create the $lang topics on $target"
    started=$SECONDS
    if run_lang "$lang" "$target"; then
      echo "grpc-sdk/run.sh: $lang against $target passed in $((SECONDS - started)) s"
    else
      echo "grpc-sdk/run.sh: $lang against $target FAILED after $((SECONDS - started)) s:" >&2
      tail -n 25 "$work/$target/$lang.log" >&2
      status=1
    fi
  done
  cleanup
done
exit $status
