#!/bin/bash
# Builds the ctsyncd binary of an earlier commit of this repository (a previous release) into
# OUT_DIR/ctsyncd, for the tests that run it beside this one. Kept between runs: a binary
# built from the same commit is not built again.
#   build_release.sh SOURCE_DIR COMMIT OUT_DIR
set -euo pipefail
src=$1 rev=$2 out=$3
mkdir -p "$out"
if [ -x "$out/ctsyncd" ] && [ "$(cat "$out/commit" 2>/dev/null)" = "$rev" ]; then
  echo "ctsyncd of $rev already built in $out"
  exit 0
fi
git -C "$src" rev-parse --verify --quiet "$rev^{commit}" >/dev/null || {
  echo "commit $rev is not in $src (a shallow clone?): fetch the history to run this test" >&2
  exit 1
}
tree=$(mktemp -d /tmp/ctsync-release.XXXXXX)
trap 'git -C "$src" worktree remove --force "$tree/src" >/dev/null 2>&1 || true; rm -rf "$tree"' EXIT
git -C "$src" worktree add --detach "$tree/src" "$rev" >/dev/null
cmake -S "$tree/src" -B "$tree/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$tree/build" --target ctsyncd -j "${CTSYNC_JOBS:-2}" >/dev/null
cp "$tree/build/daemon/ctsyncd" "$out/ctsyncd.new"
mv "$out/ctsyncd.new" "$out/ctsyncd"
echo "$rev" >"$out/commit"
echo "ctsyncd of $rev built in $out"
