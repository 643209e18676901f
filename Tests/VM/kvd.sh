#!/bin/bash
# kvd under systemd in the booted OS: kvd.service starts (READY after
# recovery), the real etcdctl and kvctl talk to it and see each other's
# writes, its log is in the journal, SIGTERM stops it cleanly, and the data
# survives a restart.
set -euo pipefail

source "$VMTEST_DISK/checks.bash"
export ETCDCTL_API=3
etcdctl() { command etcdctl --endpoints=127.0.0.1:2379 --dial-timeout=5s --command-timeout=5s "$@"; }

# A Type=notify unit: start returns only after READY=1.
if systemctl start kvd.service; then ok "systemctl start kvd"; else fail "systemctl start kvd exited $?"; fi
expect "kvd.service state" "$(systemctl is-active kvd.service || true)" active
expect "kvd's main process" "$(readlink "/proc/$(systemctl show -P MainPID kvd.service)/exe")" /usr/bin/corebox
[ -d /var/lib/kvd ] && ok "data directory /var/lib/kvd" || fail "no /var/lib/kvd"

expect "etcdctl put" "$(etcdctl put /cluster/greeting hello)" OK
expect "etcdctl get" "$(etcdctl get /cluster/greeting --print-value-only)" hello
status=$(etcdctl endpoint status -w json)
[[ $status == *'"version":"3.4.23"'* ]] && ok "endpoint status reports etcd 3.4.23" || fail "endpoint status: $status"
member=$(etcdctl member list)
[[ $member == *"$(cat /etc/machine-id)"* ]] && ok "member named after the machine id (ETCD_NAME=%m)" || fail "member list: $member"
expect "kvctl get of etcdctl's put" "$(kvctl get /cluster/greeting --print-value-only)" hello
expect "kvctl put" "$(kvctl put /cluster/from-kvctl yes)" OK
expect "etcdctl get of kvctl's put" "$(etcdctl get /cluster/from-kvctl --print-value-only)" yes
kvctl_status=$(kvctl endpoint status)
[[ $kvctl_status == "127.0.0.1:2379, "*", 3.4.23, "* ]] && ok "kvctl endpoint status" || fail "kvctl endpoint status: $kvctl_status"
[[ $(kvd --version) == "kvd Version: "* ]] && ok "kvd --version through its link" || fail "kvd --version: $(kvd --version 2>&1)"

journal=$(journalctl -u kvd.service -o verbose --no-pager)
grep -q "MESSAGE=serving" <<<"$journal" && ok "journal: serving entry" || fail "no 'serving' entry in the journal"
grep -q "SYSLOG_IDENTIFIER=kvd" <<<"$journal" && ok "journal: identifier kvd" || fail "journal entries lack SYSLOG_IDENTIFIER=kvd"

# systemctl stop sends SIGTERM: a clean exit leaves the unit inactive, not failed.
systemctl stop kvd.service
expect "kvd.service after stop" "$(systemctl is-active kvd.service || true)" inactive
expect "kvd's exit status" "$(systemctl show -P ExecMainStatus kvd.service)" 0
systemctl start kvd.service
expect "the value after a restart" "$(etcdctl get /cluster/greeting --print-value-only)" hello
systemctl stop kvd.service

finish
