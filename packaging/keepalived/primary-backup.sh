#!/bin/sh
# A drop-in for conntrack-tools' primary-backup.sh: a keepalived.conf that runs
#   notify_master "/etc/conntrackd/primary-backup.sh primary"
#   notify_backup "/etc/conntrackd/primary-backup.sh backup"
#   notify_fault  "/etc/conntrackd/primary-backup.sh fault"
# keeps working when that path runs this script instead (a symlink to
# /usr/lib/ctsyncd/primary-backup.sh). Same arguments, same exit codes:
#   primary -> ctsyncctl promote, backup -> demote, fault -> fault (through ctsyncd-notify,
#   which logs every action); exit 0, as conntrackd's script, even when the action failed
#   (it is logged), except: backup with no daemon to reach exits 1 (conntrackd's script
#   exits 1 when it cannot start conntrackd), and an unknown argument prints the usage and
#   exits 1.
# Options of ctsyncd-notify (--socket, --ctsyncctl, --log) may come before the state.
set -u

here=$(dirname "$0")
notify=${CTSYNCD_NOTIFY:-/usr/lib/ctsyncd/ctsyncd-notify}
[ -x "${notify}" ] || notify="${here}/ctsyncd-notify"

options=""
while [ $# -gt 1 ]; do
  case "$1" in
    --socket|--ctsyncctl|--log) options="${options} $1 $2"; shift 2 ;;
    *) break ;;
  esac
done

case "${1:-}" in
  primary) state=master ;;
  backup) state=backup ;;
  fault) state=fault ;;
  *)
    command -v logger >/dev/null 2>&1 && logger -t primary-backup.sh "ERROR: unknown state transition"
    echo "Usage: primary-backup.sh {primary|backup|fault}"
    exit 1
    ;;
esac

# shellcheck disable=SC2086 # options are words by construction
"${notify}" ${options} "${state}"
rc=$?
# ctsyncctl exits 3 when the daemon cannot be reached.
if [ "${state}" = backup ] && [ "${rc}" -eq 3 ]; then
  command -v logger >/dev/null 2>&1 && logger -t primary-backup.sh "ERROR: ctsyncd is not running"
  exit 1
fi
exit 0
