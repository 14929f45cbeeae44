#!/usr/bin/env bash
# A Docker engine for the image smoke run (`bun run test:images`), on machines without one: Debian's
# docker.io, started by hand with everything under one folder, no iptables, no bridge (containers run
# with --network host), and the vfs storage driver (no overlayfs needed inside a VM or container).
#
#   infra/images/engine.sh            # idempotent: installs docker.io if missing, starts dockerd if not
#                                     # running, prints `DOCKER_HOST=unix://...` as the last stdout line
#   infra/images/engine.sh stop       # stops the dockerd this script started (by its pid file)
#
# VEHICLES_DOCKER_DIR (default /var/tmp/vehicles-docker) holds data-root, exec-root, pid file, socket and
# log; it is outside the repository so images survive worktrees and builds stay cached between runs.
set -euo pipefail

dir="${VEHICLES_DOCKER_DIR:-/var/tmp/vehicles-docker}"
socket="$dir/docker.sock"
pidfile="$dir/dockerd.pid"
log="$dir/dockerd.log"

say() { echo "engine: $*" >&2; }

running() {
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null &&
    DOCKER_HOST="unix://$socket" docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

if [[ "${1:-}" == stop ]]; then
  if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    pid="$(cat "$pidfile")"
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    say "stopped dockerd $pid"
  else
    say "no dockerd running from $dir"
  fi
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || { say "dockerd is missing; run as root to install Debian's docker.io"; exit 1; }
  say "installing docker.io (Debian)"
  # Keep the package from starting its own systemd-managed daemon on the default socket.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=true; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >&2
  if $own_policy; then rm -f "$policy"; fi
fi
command -v docker >/dev/null 2>&1 || { say "no docker client on PATH"; exit 1; }

if ! running; then
  [[ $(id -u) -eq 0 ]] || { say "dockerd must run as root"; exit 1; }
  mkdir -p "$dir/data" "$dir/exec"
  rm -f "$socket" "$pidfile"
  say "starting dockerd (log: $log)"
  # setsid: the daemon outlives this script and is not in the caller's process group.
  setsid dockerd \
    --storage-driver vfs --iptables=false --ip6tables=false --bridge=none \
    --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$pidfile" \
    --host "unix://$socket" >>"$log" 2>&1 </dev/null &
  for _ in $(seq 1 120); do running && break; sleep 0.5; done
  running || { say "dockerd did not come up; last log lines:"; tail -20 "$log" >&2; exit 1; }
fi
say "dockerd $(DOCKER_HOST="unix://$socket" docker version --format '{{.Server.Version}}') on $socket"
echo "DOCKER_HOST=unix://$socket"
