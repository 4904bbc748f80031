#!/usr/bin/env bash
# The Debian package: built from the tree with CPack, installed with dpkg, every file where the
# docs say, the installed configuration valid, the unit accepted by systemd-analyze, and a
# clean purge. Usage: package_test.sh BUILD_DIR
set -euo pipefail
build=$1
fail() { echo "package test: $*" >&2; exit 1; }

if dpkg-query -W -f='${Status}' ctsyncd 2>/dev/null | grep -q "install ok installed"; then
  echo "package test: ctsyncd is installed on this machine already; not touching it (skipped)"
  exit 0
fi
cleanup() { dpkg --purge ctsyncd >/dev/null 2>&1 || true; }
trap cleanup EXIT

cmake --build "${build}" --target package >/dev/null
deb=$(ls -t "${build}"/ctsyncd_*.deb | head -1)
[ -f "${deb}" ] || fail "no package built"
dpkg -i "${deb}" >/dev/null

for f in /usr/sbin/ctsyncd /usr/bin/ctsyncctl /lib/systemd/system/ctsyncd.service \
         /etc/ctsyncd/ctsyncd.toml /etc/ctsyncd/sync.key /usr/lib/ctsyncd/ctsyncd-notify \
         /usr/share/doc/ctsyncd/examples/keepalived.conf.example \
         /usr/share/ctsyncd/grafana/ctsyncd.json /usr/share/ctsyncd/prometheus/ctsyncd-alerts.yml \
         /usr/share/man/man8/ctsyncd.8 /usr/share/man/man8/ctsyncctl.8 /usr/share/man/man5/ctsyncd.toml.5 \
         /usr/share/doc/ctsyncd/operations.md /usr/share/doc/ctsyncd/migrating-from-conntrackd.md; do
  [ -e "$f" ] || fail "missing $f"
done
[ -x /usr/lib/ctsyncd/ctsyncd-notify ] || fail "notify script not executable"
[ -x /usr/lib/ctsyncd/primary-backup.sh ] || fail "primary-backup.sh drop-in not installed"
[ "$(stat -c '%U %a' /etc/ctsyncd/sync.key)" = "root 600" ] || fail "key not root-only: $(stat -c '%U %a' /etc/ctsyncd/sync.key)"
grep -Eq '^[0-9a-f]{64}$' /etc/ctsyncd/sync.key || fail "key is not 64 hex characters"
dpkg-query -W -f='${Conffiles}' ctsyncd | grep -q '/etc/ctsyncd/ctsyncd.toml' || fail "configuration is not a conffile"

/usr/sbin/ctsyncd --check-config >/dev/null || fail "the installed configuration does not pass --check-config"
/usr/sbin/ctsyncd --version | grep -q '^ctsyncd ' || fail "no version"
systemd-analyze verify /lib/systemd/system/ctsyncd.service || fail "systemd-analyze rejects the unit"
for page in ctsyncd ctsyncctl ctsyncd.toml; do
  MANWIDTH=80 man -P cat "${page}" 2>/dev/null | grep -q . || fail "man ${page} shows nothing"
done

# Reinstalling keeps the key (the package never overwrites one).
key=$(cat /etc/ctsyncd/sync.key)
dpkg -i "${deb}" >/dev/null
[ "$(cat /etc/ctsyncd/sync.key)" = "${key}" ] || fail "reinstall replaced the key"

dpkg --purge ctsyncd >/dev/null
for f in /usr/sbin/ctsyncd /usr/bin/ctsyncctl /lib/systemd/system/ctsyncd.service /etc/ctsyncd /var/lib/ctsyncd \
         /usr/lib/ctsyncd /usr/share/ctsyncd; do
  [ ! -e "$f" ] || fail "$f left after purge"
done
echo "package test: ok (${deb##*/})"
