#!/usr/bin/env bash
# Print the name of a Python 3.11 bookworm base image the engine has, making one if needed:
# pull the official image where a registry answers, else debootstrap Debian bookworm locally.
set -euo pipefail

OFFICIAL=${BASE_IMAGE_OFFICIAL:-python:3.11-slim-bookworm}
LOCAL=${BASE_IMAGE_LOCAL:-loadlab/python:3.11-bookworm}
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
tarball="$BUILD_DIR/base-bookworm.tar"
if [ ! -s "$tarball" ]; then
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/loadlab-rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  # Debian's default mirror; python3 in bookworm is 3.11, the version the lock is made for.
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$rootfs" >"$BUILD_DIR/debootstrap.log" 2>&1 \
    || { echo "error: debootstrap failed; see $BUILD_DIR/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
fi
docker import "$tarball" "$LOCAL" >/dev/null
echo "$LOCAL"
