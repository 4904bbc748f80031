#!/usr/bin/env bash
# The Debian package as an operator meets it: lintian finds no error or warning; dpkg installs
# it, creates the system user, the directories with their modes and a key, and starts and
# enables nothing; the installed example passes `ctsyncd --check-config --strict` (and the
# check the unit runs as the service user); systemd accepts the unit and rates its exposure
# no worse than docs/security.md says; a reinstall keeps the key; a removal keeps the
# configuration; a purge leaves nothing behind, the user included.
# Usage: package_test.sh DEB_DIR   (where dpkg-buildpackage left the .deb: scripts/test.sh)
set -euo pipefail
debdir=$1
fail() { echo "package test: $*" >&2; exit 1; }

# The exposure score docs/security.md states; a change that raises it fails here.
max_exposure=1.5

if dpkg-query -W -f='${Status}' ctsyncd 2>/dev/null | grep -q "install ok installed"; then
  echo "package test: ctsyncd is installed on this machine already; not touching it (skipped)"
  exit 0
fi
getent passwd ctsyncd >/dev/null && fail "a user ctsyncd exists without the package; not touching it"
deb=$(ls -t "${debdir}"/ctsyncd_*.deb 2>/dev/null | head -1 || true)
[ -n "${deb}" ] || fail "no package in ${debdir}: build it first (scripts/test.sh does, with dpkg-buildpackage)"
changes=$(ls -t "${debdir}"/ctsyncd_*.changes 2>/dev/null | head -1 || true)

# The example names its sync interface sync0: the checks run in a namespace that has one.
ns="ctsync-pkg-$$"
cleanup() { dpkg --purge ctsyncd >/dev/null 2>&1 || true; ip netns del "${ns}" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add "${ns}"
ip -n "${ns}" link add sync0 type veth peer name sync0p
ip -n "${ns}" link set lo up
ip -n "${ns}" link set sync0 up
ip -n "${ns}" addr add 192.0.2.1/24 dev sync0

# lintian: errors and warnings fail; the overrides it used are listed with their reasons in
# debian/ctsyncd.lintian-overrides.
lintian --fail-on error,warning --display-info --show-overrides "${changes:-${deb}}" ||
  fail "lintian reports errors or warnings (above)"

dpkg -i "${deb}" >/dev/null

for f in /usr/sbin/ctsyncd /usr/bin/ctsyncctl /lib/systemd/system/ctsyncd.service \
         /etc/ctsyncd/ctsyncd.toml /etc/ctsyncd/sync.key /usr/lib/ctsyncd/ctsyncd-notify \
         /usr/lib/ctsyncd/primary-backup.sh \
         /usr/share/doc/ctsyncd/examples/keepalived.conf.example \
         /usr/share/doc/ctsyncd/copyright /usr/share/doc/ctsyncd/changelog.gz \
         /usr/share/ctsyncd/grafana/ctsyncd.json /usr/share/ctsyncd/prometheus/ctsyncd-alerts.yml \
         /usr/share/ctsyncd/prometheus/ctsyncd-keepalived-alerts.yml \
         /usr/share/man/man8/ctsyncd.8.gz /usr/share/man/man8/ctsyncctl.8.gz \
         /usr/share/man/man5/ctsyncd.toml.5.gz; do
  [ -e "$f" ] || fail "missing $f"
done
ls /usr/share/doc/ctsyncd/operations.md* /usr/share/doc/ctsyncd/migrating-from-conntrackd.md* \
  >/dev/null || fail "the operator's guides are not installed"
[ -x /usr/lib/ctsyncd/ctsyncd-notify ] || fail "notify script not executable"
[ -x /usr/lib/ctsyncd/primary-backup.sh ] || fail "primary-backup.sh drop-in not executable"
file -L /usr/sbin/ctsyncd | grep -q 'stripped' && ! file -L /usr/sbin/ctsyncd | grep -q 'not stripped' ||
  fail "ctsyncd is not stripped"

# The system user and what it may touch.
IFS=: read -r _ _ uid gid _ home shell < <(getent passwd ctsyncd) || fail "no user ctsyncd"
[ "${uid}" -lt 1000 ] || fail "ctsyncd is not a system user (uid ${uid})"
[ "$(getent group ctsyncd | cut -d: -f3)" = "${gid}" ] || fail "no group ctsyncd as the user's group"
[ "${shell}" = /usr/sbin/nologin ] || fail "the user has a login shell: ${shell}"
[ "${home}" = /var/lib/ctsyncd ] || fail "home ${home}"
check_mode() {  # check_mode PATH "OWNER GROUP MODE"
  local got; got=$(stat -c '%U %G %a' "$1")
  [ "${got}" = "$2" ] || fail "$1 is ${got}, expected $2"
}
check_mode /etc/ctsyncd "root ctsyncd 750"
check_mode /etc/ctsyncd/sync.key "root ctsyncd 640"
check_mode /etc/ctsyncd/ctsyncd.toml "root root 644"
check_mode /var/lib/ctsyncd "ctsyncd ctsyncd 700"
grep -Eq '^[0-9a-f]{64}$' /etc/ctsyncd/sync.key || fail "key is not 64 hex characters"
dpkg-query -W -f='${Conffiles}' ctsyncd | grep -q '/etc/ctsyncd/ctsyncd.toml' || fail "configuration is not a conffile"

# Nothing started, nothing enabled: the example configuration is not a site's.
[ ! -e /etc/systemd/system/multi-user.target.wants/ctsyncd.service ] || fail "the service was enabled"
if pgrep -u ctsyncd >/dev/null; then fail "something runs as ctsyncd after installation"; fi

ip netns exec "${ns}" /usr/sbin/ctsyncd --check-config --strict -c /etc/ctsyncd/ctsyncd.toml >/dev/null ||
  fail "the installed configuration does not pass --check-config --strict"
# The unit's ExecStartPre runs as the service user with its one capability: the same check.
ip netns exec "${ns}" setpriv --reuid=ctsyncd --regid=ctsyncd --init-groups --inh-caps=-all,+net_admin \
  --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin --no-new-privs \
  /usr/sbin/ctsyncd --check-config -c /etc/ctsyncd/ctsyncd.toml >/dev/null ||
  fail "the service user cannot read its configuration or key"
/usr/sbin/ctsyncd --version | grep -q '^ctsyncd ' || fail "no version"

systemd-analyze verify /lib/systemd/system/ctsyncd.service || fail "systemd-analyze rejects the unit"
exposure=$(systemd-analyze security --offline=yes /lib/systemd/system/ctsyncd.service 2>/dev/null |
  sed -n 's/.*Overall exposure level for ctsyncd.service: \([0-9.]*\).*/\1/p')
[ -n "${exposure}" ] || fail "systemd-analyze security gave no score"
awk -v e="${exposure}" -v m="${max_exposure}" 'BEGIN { exit !(e <= m) }' ||
  fail "exposure ${exposure} is above ${max_exposure} (docs/security.md)"
for page in ctsyncd ctsyncctl ctsyncd.toml; do
  MANWIDTH=80 man -P cat "${page}" 2>/dev/null | grep -q . || fail "man ${page} shows nothing"
done

# Reinstalling keeps the key (the package never overwrites one) and the modes.
key=$(cat /etc/ctsyncd/sync.key)
dpkg -i "${deb}" >/dev/null
[ "$(cat /etc/ctsyncd/sync.key)" = "${key}" ] || fail "reinstall replaced the key"
check_mode /etc/ctsyncd/sync.key "root ctsyncd 640"

# Removal keeps what the operator configured; purge takes everything.
files=$(dpkg -L ctsyncd)
dpkg --remove ctsyncd >/dev/null
[ ! -e /usr/sbin/ctsyncd ] || fail "remove left the daemon"
[ -e /etc/ctsyncd/ctsyncd.toml ] && [ -e /etc/ctsyncd/sync.key ] || fail "remove took the configuration"
getent passwd ctsyncd >/dev/null || fail "remove took the user (a reinstall would lose file ownership)"

dpkg --purge ctsyncd >/dev/null
while read -r f; do
  [ -d "$f" ] && continue  # shared directories (/usr/share/doc, ...) stay
  [ ! -e "$f" ] || fail "$f left after purge"
done <<<"${files}"
for f in /etc/ctsyncd /var/lib/ctsyncd /usr/lib/ctsyncd /usr/share/ctsyncd /usr/share/doc/ctsyncd \
         /var/lib/systemd/deb-systemd-helper-enabled/ctsyncd.service.dsh-also; do
  [ ! -e "$f" ] || fail "$f left after purge"
done
if getent passwd ctsyncd >/dev/null; then fail "user ctsyncd left after purge"; fi
if getent group ctsyncd >/dev/null; then fail "group ctsyncd left after purge"; fi
if dpkg-statoverride --list | grep -q ctsyncd; then fail "a stat override left after purge"; fi
echo "package test: ok (${deb##*/}, exposure ${exposure})"
