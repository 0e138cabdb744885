#!/usr/bin/env bash
# Print the name of a Debian-based Python base image the engine has, making one if needed:
# pull the official image where a registry answers, else debootstrap Debian locally.
#   scripts/base-image.sh        # 3.11: python:3.11-slim-bookworm or loadlab/python:3.11-bookworm
#   scripts/base-image.sh 3.13   # 3.13: python:3.13-slim-trixie or loadlab/python:3.13-trixie
set -euo pipefail

PYTHON_VERSION=${1:-3.11}
# The Debian release whose python3 is that version, so the image needs no other Python.
case "$PYTHON_VERSION" in
  3.11) SUITE=bookworm ;;
  3.13) SUITE=trixie ;;
  *) echo "error: no Debian release ships Python $PYTHON_VERSION as python3 (3.11, 3.13)" >&2
     exit 2 ;;
esac
OFFICIAL=${BASE_IMAGE_OFFICIAL:-python:$PYTHON_VERSION-slim-$SUITE}
LOCAL=${BASE_IMAGE_LOCAL:-loadlab/python:$PYTHON_VERSION-$SUITE}
BUILD_DIR=${BUILD_DIR:-build}

have() { docker image inspect "$1" >/dev/null 2>&1; }

if have "$OFFICIAL"; then echo "$OFFICIAL"; exit 0; fi
if have "$LOCAL"; then echo "$LOCAL"; exit 0; fi
if timeout 120 docker pull -q "$OFFICIAL" >/dev/null 2>&1; then echo "$OFFICIAL"; exit 0; fi

echo "base-image: $OFFICIAL cannot be pulled; building $LOCAL with debootstrap" >&2
if ! command -v debootstrap >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || { echo "error: no registry and no debootstrap to build a base image" >&2; exit 1; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
mkdir -p "$BUILD_DIR"
tarball="$BUILD_DIR/base-$SUITE.tar"
log="$BUILD_DIR/debootstrap-$SUITE.log"
if [ ! -s "$tarball" ]; then
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/loadlab-rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  # Debian's default mirror (debootstrap's own default): no registry or mirror host written here.
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$rootfs" >"$log" 2>&1 \
    || { echo "error: debootstrap $SUITE failed; see $log" >&2; exit 1; }
  # A release that moved to another python3 would build an image the wheelhouse does not fit.
  [ -x "$rootfs/usr/bin/python$PYTHON_VERSION" ] \
    || { echo "error: $SUITE's python3 is not $PYTHON_VERSION" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
docker import "$tarball" "$LOCAL" >/dev/null
echo "$LOCAL"
