#!/usr/bin/env bash
# Builds the container image (deploy/Containerfile, FROM scratch: no base image is pulled) with
# podman and smoke-tests it: `--version`, an unprivileged user, `standalone` starting, its broker
# registering with its name server, the name server answering on TCP, and `podman stop`
# (SIGTERM) ending it gracefully with status 0. Installs podman (and runc) from Debian if missing.
#
# FERROCKET_BIN: the binary to package (default target/release/ferrocket, built by
# `make container`). The image is tagged localhost/ferrocket:latest.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${FERROCKET_BIN:-target/release/ferrocket}"
image=localhost/ferrocket:latest
stage="$PWD/target/container"

if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi

# The root file system: the binary, every library `ldd` names (at the same paths), the loader,
# and the user and group the image runs as.
rm -rf "$stage" && mkdir -p "$stage/rootfs/usr/local/bin" "$stage/rootfs/etc" "$stage/data"
install -m 0755 "$bin" "$stage/rootfs/usr/local/bin/ferrocket"
for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
  mkdir -p "$stage/rootfs$(dirname "$lib")"
  cp -L "$lib" "$stage/rootfs$lib"
done
echo 'ferrocket:x:10001:10001:ferrocket:/data:/nonexistent' > "$stage/rootfs/etc/passwd"
echo 'ferrocket:x:10001:' > "$stage/rootfs/etc/group"
echo 'hosts: files dns' > "$stage/rootfs/etc/nsswitch.conf"
touch "$stage/data/.keep"
podman build -q -t "$image" -f deploy/Containerfile "$stage"
echo "image: $(podman image inspect --format '{{.Size}}' "$image") bytes"

# Some machines (containers themselves) cannot let crun set rlimits or use hybrid cgroups: fall
# back to runc on cgroupfs, with the host's rlimits, and say so.
run_opts=()
global_opts=()
if ! podman run --rm "$image" --version >/dev/null 2>"$stage/run.err"; then
  echo "plain podman run failed: $(tail -1 "$stage/run.err")"
  echo "retrying with runc, cgroupfs and the host's rlimits"
  printf '[containers]\ndefault_ulimits = []\n' > "$stage/containers.conf"
  export CONTAINERS_CONF="$stage/containers.conf"
  global_opts=(--runtime runc --cgroup-manager cgroupfs)
  run_opts=(--ulimit host)
fi
version=$(podman "${global_opts[@]}" run --rm "${run_opts[@]}" "$image" --version)
echo "$version"
[[ "$version" == ferrocket\ * ]] || { echo "unexpected --version: $version"; exit 1; }
user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ "$user" == 10001:10001 ]] || { echo "the image runs as $user, not the unprivileged user"; exit 1; }

name="ferrocket-smoke-$$"
cleanup() { podman "${global_opts[@]}" rm -f -v "$name" >/dev/null 2>&1 || true; }
trap cleanup EXIT
podman "${global_opts[@]}" run -d --name "$name" --network host "${run_opts[@]}" "$image" \
  standalone --host 127.0.0.1 --namesrv-port 0 --broker-port 0 --grpc-port 0 --data-dir /data >/dev/null
for _ in $(seq 1 100); do
  podman logs "$name" 2>&1 | grep -q 'registered with the name server' && break
  sleep 0.2
done
logs=$(podman logs "$name" 2>&1)
grep -q 'registered with the name server' <<<"$logs" || { echo "$logs"; echo "no registration"; exit 1; }
namesrv=$(grep -o 'listening namesrv [0-9.:]*' <<<"$logs" | awk '{print $3}')
(exec 3<>"/dev/tcp/${namesrv%:*}/${namesrv##*:}") || { echo "name server $namesrv not reachable"; exit 1; }
started=$(date +%s%N)
podman "${global_opts[@]}" stop -t 30 "$name" >/dev/null
stopped_ms=$(( ($(date +%s%N) - started) / 1000000 ))
status=$(podman "${global_opts[@]}" inspect --format '{{.State.ExitCode}}' "$name")
logs=$(podman logs "$name" 2>&1)
grep -q 'unregistered from the name server' <<<"$logs" || { echo "$logs"; echo "no unregistration"; exit 1; }
[[ "$status" == 0 ]] || { echo "$logs"; echo "exit status $status after SIGTERM"; exit 1; }
echo "container smoke test passed: name server $namesrv, graceful stop in ${stopped_ms} ms"

# The compose file: a name server, a master and its slave on a compose network; the slave must
# connect to the master's HA port (found through the name server), and all three stop with 0.
if command -v podman-compose >/dev/null || apt-get install -y -qq podman-compose >/dev/null; then
  project="ferrocket-compose-$$"
  compose=(podman-compose -p "$project" -f deploy/compose.yaml)
  [[ ${#global_opts[@]} -gt 0 ]] && compose=(podman-compose --podman-args="${global_opts[*]}" -p "$project" -f deploy/compose.yaml)
  compose_down() { "${compose[@]}" down -v >/dev/null 2>&1 || true; }
  trap 'cleanup; compose_down' EXIT
  "${compose[@]}" up -d >/dev/null 2>&1
  for _ in $(seq 1 100); do
    podman "${global_opts[@]}" logs "${project}_broker-a-s_1" 2>&1 | grep -q 'ha connected to master' && break
    sleep 0.3
  done
  podman "${global_opts[@]}" logs "${project}_broker-a-s_1" 2>&1 | grep -q 'ha connected to master' \
    || { podman "${global_opts[@]}" logs "${project}_broker-a-s_1"; echo "compose: the slave never reached its master"; exit 1; }
  podman "${global_opts[@]}" stop -t 30 "${project}_broker-a-s_1" "${project}_broker-a_1" "${project}_namesrv_1" >/dev/null
  for service in namesrv broker-a broker-a-s; do
    status=$(podman "${global_opts[@]}" inspect --format '{{.State.ExitCode}}' "${project}_${service}_1")
    [[ "$status" == 0 ]] || { echo "compose: $service exited with $status"; exit 1; }
  done
  echo "compose smoke test passed: name server, master and slave replicating, all stopped with 0"
fi
