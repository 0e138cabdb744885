#!/usr/bin/env bash
# Download, on the host, every wheel an image needs, from the lock and for the image's
# Python and platform; the images then install offline (no index, no TLS from inside).
#   UV=... scripts/wheelhouse.sh build/wheelhouse service locust        # CPython 3.11: OUT/GROUP
#   UV=... PYTHON_VERSION=3.13 scripts/wheelhouse.sh build/wheelhouse service   # OUT/GROUP-py313
set -euo pipefail

UV=${UV:?UV must point at the uv binary}
OUT=${1:?usage: [PYTHON_VERSION=3.x] wheelhouse.sh OUT_DIR GROUP...}
shift
PYTHON_VERSION=${PYTHON_VERSION:-3.11}
[[ "$PYTHON_VERSION" =~ ^3\.[0-9]+$ ]] \
  || { echo "error: PYTHON_VERSION must look like 3.13, got '$PYTHON_VERSION'" >&2; exit 2; }
abi=cp${PYTHON_VERSION/./}
# 3.11 is the images' own Python and keeps the plain folder names the Dockerfiles copy.
suffix=$([ "$PYTHON_VERSION" = 3.11 ] || echo "-py${PYTHON_VERSION/./}")
arch=$(uname -m)
for group in "$@"; do
  dir="$OUT/$group$suffix"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  "$UV" export --frozen --quiet --only-group "$group" --no-emit-project \
    --format requirements.txt -o "$dir.tmp/requirements.txt"
  # --require-hashes: a lock without this Python's wheels fails here, not inside the build.
  python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --python-version "$PYTHON_VERSION" --implementation cp --abi "$abi" \
    --platform "manylinux_2_28_$arch" --platform "manylinux2014_$arch" --platform "manylinux_2_17_$arch" \
    -d "$dir.tmp" -r "$dir.tmp/requirements.txt" 2> >(grep -v 'is ignored' >&2) \
    || { rm -rf "$dir.tmp"
         echo "error: uv.lock lacks $abi wheels for $group (is $PYTHON_VERSION in requires-python?)" >&2
         exit 1; }
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo "wheelhouse: $group: $(find "$dir" -name '*.whl' | wc -l) wheels for $abi" >&2
done
