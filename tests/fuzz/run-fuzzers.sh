#!/usr/bin/env bash
# Runs every fuzz target for a bounded time against its committed corpus (copied, so the
# repository's corpus only changes when someone adds inputs on purpose).
# Usage: tests/fuzz/run-fuzzers.sh BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
build=$1
seconds=${2:-45}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
status=0
for bin in "${build}"/tests/fuzz/fuzz_*; do
  [ -x "${bin}" ] || continue
  name=$(basename "${bin}"); name=${name#fuzz_}
  mkdir -p "${work}/${name}"
  [ -d "${here}/corpus/${name}" ] && cp -r "${here}/corpus/${name}/." "${work}/${name}/"
  echo "fuzz ${name}: ${seconds} s"
  if ! "${bin}" -max_total_time="${seconds}" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="${work}/${name}-" "${work}/${name}" >"${work}/${name}.log" 2>&1; then
    echo "fuzz ${name}: FAILED"; tail -40 "${work}/${name}.log"; status=1
    continue
  fi
  grep -E 'stat::number_of_executed_units|cov:' "${work}/${name}.log" | tail -2 | sed "s/^/  ${name}: /"
done
exit "${status}"
