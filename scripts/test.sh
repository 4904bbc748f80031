#!/usr/bin/env bash
# The project's whole test suite, exactly as CI runs it: installs the dependencies, builds the
# normal, sanitizer and fuzzing configurations, and runs every test label CI covers.
# Usage: scripts/test.sh [--quick]   (--quick: normal build, unit + integration only)
set -euo pipefail
. "$(dirname "$0")/as-root.sh" "$@"
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

jobs=${CTSYNC_JOBS:-2}
start_all=$(date +%s)
stage() {  # stage NAME COMMAND...: runs a stage and prints how long it took
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "==> ${name}"
  if "$@"; then
    echo "==> ${name}: ok in $(( $(date +%s) - t0 )) s"
  else
    local rc=$?
    echo "==> ${name}: FAILED (exit ${rc}) after $(( $(date +%s) - t0 )) s"
    exit "${rc}"
  fi
}

# The normal build is the Debian package's (debian/rules builds in ./build): one compile, and
# the tests run on the binaries the package ships. The .deb and its .buildinfo and .changes
# stay in build/deb (dpkg-buildpackage would write them beside the tree).
package_build() {
  rm -f debian/debhelper-build-stamp  # without it, dh would skip the build of changed sources
  mkdir -p build/deb
  local version; version=$(dpkg-parsechangelog -S Version)
  local arch; arch=$(dpkg-architecture -qDEB_HOST_ARCH)
  CTSYNC_DEB_DIR=build/deb DEB_BUILD_OPTIONS="nocheck parallel=${jobs}" \
    dpkg-buildpackage -us -uc -b -nc \
    --buildinfo-option=-ubuild/deb --buildinfo-file="build/deb/ctsyncd_${version}_${arch}.buildinfo" \
    --changes-option=-ubuild/deb --changes-file="build/deb/ctsyncd_${version}_${arch}.changes"
}

configure_build() {  # configure_build DIR CMAKE-ARGS...
  local dir=$1; shift
  cmake -S . -B "${dir}" -G Ninja "$@" >/dev/null && cmake --build "${dir}" -j"${jobs}"
}

stage "install dependencies" bash scripts/install-deps.sh
stage "format check" bash scripts/check-format.sh
stage "build (the Debian package)" package_build
if [ "${quick}" = 1 ]; then
  stage "unit + integration tests" ctest --test-dir build -L 'unit|integration' --output-on-failure
  echo "all quick stages passed in $(( $(date +%s) - start_all )) s"
  exit 0
fi
stage "unit, integration and e2e tests" \
  ctest --test-dir build -L 'unit|integration|e2e|package' --output-on-failure --timeout 600
stage "build (ASan+UBSan)" configure_build build-asan -DCMAKE_BUILD_TYPE=Debug -DCTSYNC_SANITIZE=ON -DCTSYNC_BENCH=OFF
stage "unit + integration tests under ASan+UBSan" \
  env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  CTSYNC_SIM_SCALE=10 \
  ctest --test-dir build-asan -L 'unit|integration' --output-on-failure --timeout 900
stage "build fuzz targets (clang)" configure_build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCTSYNC_FUZZ=ON
stage "fuzz" bash tests/fuzz/run-fuzzers.sh build-fuzz "${CTSYNC_FUZZ_SECONDS:-50}"
echo "all stages passed in $(( $(date +%s) - start_all )) s"
