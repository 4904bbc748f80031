#!/usr/bin/env bash
# Installs every build and test dependency from Debian packages. Idempotent and
# non-interactive: safe to run on every CI job and on a developer machine.
#
# It never stops or kills a process it did not start. Debian starts a daemon when its package
# is installed; on a firewall where an operator tries the demo, keepalived or conntrackd may
# already run for real, and stopping them "to be safe" would cause a failover. So packages
# are installed under a policy-rc.d that forbids starting services: nothing new runs, and
# nothing that already ran is touched. The tests start their own instances in namespaces.
#
# CTSYNC_DEPS_ASSUME_MISSING="pkg ...": treat these packages as missing (they are installed
# again, which apt does as a no-op): used by the test that checks the above.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: must run as root (apt-get)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive

build_pkgs=(
  build-essential cmake pkg-config ninja-build git debhelper fakeroot
  g++ clang libclang-rt-14-dev clang-format
  libboost-dev
  libnetfilter-conntrack-dev libmnl-dev libnetfilter-queue-dev
  libprotobuf-dev protobuf-compiler
  prometheus-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libsodium-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev
  libsystemd-dev
)
test_pkgs=(
  nftables iptables conntrack iproute2 iputils-ping keepalived procps psmisc conntrackd
  python3 systemd vsftpd ftp dpkg-dev file lintian man-db
)

missing=()
for p in "${build_pkgs[@]}" "${test_pkgs[@]}" prometheus; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
for p in ${CTSYNC_DEPS_ASSUME_MISSING:-}; do missing+=("$p"); done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages already installed"
  exit 0
fi

# invoke-rc.d and deb-systemd-invoke ask /usr/sbin/policy-rc.d; 101 means "do not start".
# An administrator's own policy-rc.d is left as it is (it already decides).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "${policy}" ]; then
  printf '#!/bin/sh\n# ctsyncd install-deps: no service starts while packages install\nexit 101\n' \
    >"${policy}"
  chmod 0755 "${policy}"
  own_policy=1
  trap 'rm -f "${policy}"' EXIT
fi

echo "install-deps: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q "${build_pkgs[@]}" "${test_pkgs[@]}"
# promtool comes with the server package; its recommends pull in a lot we do not need.
apt-get install -y -q --no-install-recommends prometheus
[ "${own_policy}" = 1 ] && rm -f "${policy}"
echo "install-deps: done (no service was started or stopped)"
