#!/usr/bin/env bash
# Make a Debian image with some of Debian's packages in it, offline from any registry:
# debootstrap (minbase) from Debian's mirror with --include, then `docker import`, the way
# scripts/base-image.sh makes the Python base. A target file's `debian_images` entries come here:
#   scripts/debian-image.sh loadlab/postgres:bookworm postgresql    # PostgreSQL 15, a real server
# The release is the tag's own when it names one (bookworm, trixie), else SUITE (bookworm).
# Nothing is done when the engine has the image; the root filesystem is kept as a tarball in
# BUILD_DIR (build/), reused while the package list is the same.
set -euo pipefail

TAG=${1:?usage: debian-image.sh NAME:TAG PACKAGE...}
shift
[ $# -gt 0 ] || { echo "error: debian-image.sh $TAG: name at least one Debian package" >&2; exit 2; }
for pkg in "$@"; do
  [[ "$pkg" =~ ^[a-z0-9][a-z0-9+.-]+$ ]] \
    || { echo "error: '$pkg' is not a Debian package name" >&2; exit 2; }
done
case "${TAG##*:}" in
  bookworm | trixie) SUITE=${TAG##*:} ;;
  *) SUITE=${SUITE:-bookworm} ;;
esac
BUILD_DIR=${BUILD_DIR:-build}

if docker image inspect "$TAG" >/dev/null 2>&1; then echo "$TAG"; exit 0; fi

if ! command -v debootstrap >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null \
    || { echo "error: no debootstrap to build $TAG (install it, as root)" >&2; exit 1; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
mkdir -p "$BUILD_DIR"
# One tarball per image name and release; its package list beside it says what it holds.
slug=$(printf '%s' "${TAG%:*}" | tr -c 'a-zA-Z0-9.-' '-')
tarball="$BUILD_DIR/debian-$slug-$SUITE.tar"
packages=$(printf '%s\n' "$@" | sort -u | paste -sd, -)
log="$BUILD_DIR/debootstrap-$slug-$SUITE.log"
if [ ! -s "$tarball" ] || [ "$(cat "$tarball.packages" 2>/dev/null)" != "$packages" ]; then
  echo "debian-image: building $TAG ($SUITE + $packages) with debootstrap; log in $log" >&2
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/loadlab-rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  # Debian's default mirror (debootstrap's own default): no registry or mirror host written here.
  debootstrap --variant=minbase --include="$packages" "$SUITE" "$rootfs" >"$log" 2>&1 \
    || { echo "error: debootstrap $SUITE with $packages failed; see $log" >&2; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  rm -f "$tarball.packages"
  tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
  printf '%s\n' "$packages" >"$tarball.packages"
fi
docker import "$tarball" "$TAG" >/dev/null
echo "$TAG"
