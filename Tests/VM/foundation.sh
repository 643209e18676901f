#!/bin/bash
# What every applet stands on, checked in the booted OS: the multi-call
# binary and its links, dispatch on argv[0], structured log entries in the
# journal when corebox runs under systemd, and a clean boot. Runs every
# check, then fails if any did not hold.
set -euo pipefail

source "$VMTEST_DISK/checks.bash"

# (a) The binary, its applet links and dispatch through a link.
if version=$(/usr/bin/corebox --version); then
  if [[ $version =~ ^corebox\ [0-9]+\.[0-9]+\.[0-9]+ ]]; then ok "corebox --version: $version"; else fail "corebox --version printed '$version'"; fi
else
  fail "corebox --version exited $?"
fi

if names=$(/usr/bin/corebox --list); then
  count=$(grep -c . <<<"$names" || true)
  ok "corebox --list: $count applets"
else
  fail "corebox --list exited $?"
  names='' count=0
fi
for name in $names; do
  if [ -L "/usr/bin/$name" ] && [ "/usr/bin/$name" -ef /usr/bin/corebox ]; then
    ok "/usr/bin/$name -> corebox"
  else
    fail "/usr/bin/$name is not a link to /usr/bin/corebox"
  fi
done
# The other way round: no link in /usr/bin names an applet corebox lacks.
for link in $(find -L /usr/bin -samefile /usr/bin/corebox ! -name corebox); do
  grep -qx "${link##*/}" <<<"$names" || fail "$link links to corebox, which has no such applet"
done

ln -s /usr/bin/corebox "$PWD/nosuchapplet"
set +e
"$PWD/nosuchapplet" >stdout 2>stderr
status=$?
set -e
expect "exit status through a link named nosuchapplet" "$status" 127
expect "its stderr" "$(cat stderr)" "corebox: applet not found: nosuchapplet"
expect "its stdout" "$(cat stdout)" ""

# (b) Under systemd, with stderr connected to the journal (JOURNAL_STREAM),
# corebox logs through sd_journal_sendv: the entry carries its own fields.
links=/run/vmtest-links
mkdir -p "$links"
if systemd-run --wait --collect --quiet -p StandardError=journal /usr/bin/corebox --install --symlinks "$links"; then
  ok "corebox --install --symlinks $links under systemd-run"
else
  fail "systemd-run corebox --install --symlinks $links exited $?"
fi
expect "links in $links" "$(find "$links" -mindepth 1 | wc -l)" "$count"

# The entry is a datagram: journald may not have written it yet. Only the
# text fields under test (the export format writes others in binary).
fields=MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,CODE_FILE,CODE_LINE,CODE_FUNC,DIRECTORY,COUNT,KIND
entry=
for _ in $(seq 20); do
  journalctl --sync
  entry=$(journalctl -o export --output-fields="$fields" "DIRECTORY=$links")
  [ -z "$entry" ] || break
  sleep 0.5
done
# journalctl -o export: one FIELD=value per line.
field() { sed -n "s/^$1=//p" <<<"$entry" | tail -n1; }
if [ -z "$entry" ]; then
  fail "no journal entry with DIRECTORY=$links; corebox's entries:"
  journalctl -t corebox -o verbose --no-pager || true
else
  ok "journal entry with DIRECTORY=$links"
  expect MESSAGE "$(field MESSAGE)" "installed applet links"
  expect PRIORITY "$(field PRIORITY)" 6
  expect SYSLOG_IDENTIFIER "$(field SYSLOG_IDENTIFIER)" corebox
  expect COUNT "$(field COUNT)" "$count"
  expect KIND "$(field KIND)" symbolic
  if [[ $(field CODE_FILE) == *.swift ]]; then ok "CODE_FILE = $(field CODE_FILE)"; else fail "CODE_FILE is '$(field CODE_FILE)', want a .swift file"; fi
  if [[ $(field CODE_LINE) =~ ^[1-9][0-9]*$ ]]; then ok "CODE_LINE = $(field CODE_LINE)"; else fail "CODE_LINE is '$(field CODE_LINE)', want a line number"; fi
  if [ -n "$(field CODE_FUNC)" ]; then ok "CODE_FUNC = $(field CODE_FUNC)"; else fail "CODE_FUNC is missing"; fi
fi

# (c) The image, corebox's units included, boots without a failed unit.
state=$(timeout 120 systemctl is-system-running --wait || true)
if [ "$state" = running ]; then
  ok "system state: running"
else
  fail "system state is '$state', want 'running'; failed units:"
  systemctl --failed --no-pager --no-legend || true
fi

finish
