#!/usr/bin/env bash
# scripts/install-deps.sh must never stop or kill a process it did not start: on a staging
# firewall the keepalived and conntrackd that run are the site's own. A keepalived of the
# test's own (in a namespace it creates) plays the site's; the install script runs with
# keepalived reported missing, as on a machine that lacks it, and the test checks that this
# keepalived still runs, that no service was started, and that the script left no
# policy-rc.d behind. Usage: install_deps_test.sh SOURCE_DIR
set -euo pipefail
src=$1
fail() { echo "install-deps test: $*" >&2; exit 1; }

ns="ctsdeps$$"
work=$(mktemp -d)
keepalived_pid=""
cleanup() {
  if [ -n "${keepalived_pid}" ]; then
    kill "${keepalived_pid}" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "${keepalived_pid}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${keepalived_pid}" 2>/dev/null || true
    wait "${keepalived_pid}" 2>/dev/null || true
  fi
  ip netns del "${ns}" 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT

ip netns add "${ns}"
ip -n "${ns}" link set lo up
ip -n "${ns}" link add site0 type veth peer name site1
ip -n "${ns}" link set site1 up
ip -n "${ns}" addr add 192.0.2.2/24 dev site0
ip -n "${ns}" link set site0 up
cat >"${work}/keepalived.conf" <<CONF
vrrp_instance SITE {
  state BACKUP
  interface site0
  virtual_router_id 77
  priority 100
  advert_int 1
  virtual_ipaddress {
    192.0.2.1/24 dev site0
  }
}
CONF
ip netns exec "${ns}" keepalived -n -l -D -f "${work}/keepalived.conf" \
  -p "${work}/keepalived.pid" -r "${work}/vrrp.pid" >"${work}/keepalived.log" 2>&1 &
keepalived_pid=$!
for _ in $(seq 1 50); do [ -s "${work}/vrrp.pid" ] && break; sleep 0.1; done
[ -s "${work}/vrrp.pid" ] || fail "the site's keepalived did not start: $(cat "${work}/keepalived.log")"
vrrp_pid=$(cat "${work}/vrrp.pid")

policy_before=absent
[ -e /usr/sbin/policy-rc.d ] && policy_before=present
daemons() { pgrep -x 'keepalived|conntrackd|vsftpd|prometheus' | sort | tr '\n' ' ' || true; }
before=$(daemons)

CTSYNC_DEPS_ASSUME_MISSING=keepalived bash "${src}/scripts/install-deps.sh" >"${work}/deps.log" 2>&1 ||
  fail "install-deps failed: $(tail -20 "${work}/deps.log")"
grep -q "installing .*keepalived" "${work}/deps.log" || fail "the service handling did not run"

sleep 1  # keepalived takes a moment to act on a SIGTERM: give a kill time to show
kill -0 "${keepalived_pid}" 2>/dev/null || fail "install-deps killed the site's keepalived"
kill -0 "${vrrp_pid}" 2>/dev/null || fail "install-deps killed the site's VRRP process"
after=$(daemons)
# A daemon that was not there before was started by the script. One that went away may be
# another test's, ending on its own (ctest runs this after the keepalived tests): the site's
# own, above, is the one the script must not touch.
for pid in ${after}; do
  case " ${before} " in *" ${pid} "*) ;; *) fail "a daemon was started: $(ps -o pid=,args= -p "${pid}")" ;; esac
done
if [ "${policy_before}" = absent ] && [ -e /usr/sbin/policy-rc.d ]; then
  fail "install-deps left /usr/sbin/policy-rc.d behind"
fi
echo "install-deps test: the site's keepalived (pid ${keepalived_pid}) survived; no daemon started or stopped"
