#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages. Idempotent and
# non-interactive: safe to run on every CI job and on a developer machine.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

build_pkgs=(
  build-essential cmake pkg-config ninja-build git
  g++ clang libclang-rt-14-dev clang-format
  libboost-dev
  libnetfilter-conntrack-dev libmnl-dev
  libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libsodium-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libsystemd-dev
)
test_pkgs=(
  nftables conntrack iproute2 iputils-ping keepalived procps psmisc conntrackd
  python3 systemd vsftpd ftp dpkg-dev file
)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}" prometheus; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q "${build_pkgs[@]}" "${test_pkgs[@]}"
# promtool comes with the server package; its recommends pull in a lot we do not need.
apt-get install -y -q --no-install-recommends prometheus
# Debian starts daemons on install; tests start their own instances in namespaces.
for svc in keepalived vsftpd prometheus conntrackd; do
  systemctl stop "$svc" >/dev/null 2>&1 || true
  pkill -x "$svc" >/dev/null 2>&1 || true
done
echo "install-deps: done"
