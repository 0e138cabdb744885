#!/usr/bin/env bash
# Download, on the host, every wheel an image needs, from the lock and for the image's
# Python and platform; the images then install offline (no index, no TLS from inside).
set -euo pipefail

UV=${UV:?UV must point at the uv binary}
OUT=${1:?usage: wheelhouse.sh OUT_DIR GROUP...}
shift
arch=$(uname -m)
for group in "$@"; do
  dir="$OUT/$group"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
  "$UV" export --frozen --quiet --only-group "$group" --no-emit-project \
    --format requirements.txt -o "$dir.tmp/requirements.txt"
  python3 -m pip download --quiet --no-deps --require-hashes --only-binary=:all: \
    --python-version 3.11 --implementation cp --abi cp311 \
    --platform "manylinux_2_28_$arch" --platform "manylinux2014_$arch" --platform "manylinux_2_17_$arch" \
    -d "$dir.tmp" -r "$dir.tmp/requirements.txt" 2> >(grep -v 'is ignored' >&2)
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  echo "wheelhouse: $group: $(find "$dir" -name '*.whl' | wc -l) wheels" >&2
done
