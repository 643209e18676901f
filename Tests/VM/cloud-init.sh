#!/bin/bash
# cloud-init at boot: scripts/vm-test attaches a config drive (label
# config-2, from Tests/VM/configdrive/), udev starts
# cloud-init-configdrive.service for it, which mounts it read-only and
# applies it before multi-user.target. Checked from inside the guest: the
# service and the mount, the user with its groups, password hash and key,
# the metadata's key for core, the files byte for byte with owner and mode,
# the unit it started, the host name (user-data's, not the metadata's),
# the result file, the journal (with no secret in it), that running it
# again, dry or real, changes nothing, and the OEM unit.
set -euo pipefail

source "$VMTEST_DISK/checks.bash"

drive=/media/configdrive
service=cloud-init-configdrive.service
# What Tests/VM/configdrive/ says, written out again here so the test
# compares against its own copy rather than reading the drive's.
ada_key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAUwEYne9pFjr+sCSW4djGyu/igqImo9dTPzU5N6jLi7 ada@vmtest'
core_key='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTNkapBpLndLxgsxF1y9qwehNV3+ODcQHlte1N+PmZU core@metadata'
hash='$6$Qm9vdGNsb3VkSW5p$ySU2rf3mgSz18orct.TGY86yDExh0QhvJnmr3P4xPEuwcBnomW8B/lK3ZdGiwWL34r/fuBS3OTn5PdH9In0DK0'
instance=46b7ceeb-1f48-4c14-ae59-1e2f236365ad

# The drive is applied during boot; wait for the boot to settle rather than
# racing it (a drive that udev reported late would still be starting).
state=$(timeout 120 systemctl is-system-running --wait || true)
expect "system state" "$state" running
[ "$state" = running ] || systemctl --failed --no-pager --no-legend || true

# (a) The device, the mount and the units.
[ -L /dev/disk/by-label/config-2 ] && ok "udev made /dev/disk/by-label/config-2 -> $(readlink /dev/disk/by-label/config-2)" ||
  fail "no /dev/disk/by-label/config-2; labels: $(ls /dev/disk/by-label 2>&1 | tr '\n' ' ')"
expect "$drive mounted from" "$(findmnt -n -o SOURCE "$drive" || true)" "$(readlink -f /dev/disk/by-label/config-2)"
options=$(findmnt -n -o OPTIONS "$drive" || true)
[[ ,$options, == *,ro,* ]] && ok "$drive is read-only ($options)" || fail "$drive mount options are '$options', want ro"
expect "$service ActiveState" "$(systemctl show -P ActiveState "$service")" active
expect "$service Result" "$(systemctl show -P Result "$service")" success
expect "$service exit status" "$(systemctl show -P ExecMainStatus "$service")" 0
expect "$service ran (condition held)" "$(systemctl show -P ConditionResult "$service")" yes
expect "cloud-config.target" "$(systemctl is-active cloud-config.target || true)" active
# The others have nothing to read in this guest: skipped, not failed.
for unit in cloud-init-oem.service cloud-init-cmdline.service cloud-init-nocloud.service; do
  expect "$unit Result" "$(systemctl show -P Result "$unit")" success
  [ "$(systemctl show -P ActiveState "$unit")" != failed ] && ok "$unit not failed" || fail "$unit failed"
done
# Provisioned before the services of multi-user.target start.
done_at=$(systemctl show -P ExecMainExitTimestampMonotonic "$service")
multi_user_at=$(systemctl show -P ActiveEnterTimestampMonotonic multi-user.target)
if [ "${done_at:-0}" -gt 0 ] && [ "${multi_user_at:-0}" -gt "$done_at" ]; then
  ok "$service finished ($done_at us) before multi-user.target ($multi_user_at us)"
else
  fail "$service finished at '$done_at' us, multi-user.target reached at '$multi_user_at' us"
fi

# (b) The user: account, groups, password hash, key.
if entry=$(getent passwd ada); then
  ok "user ada: $entry"
  IFS=: read -r _ _ ada_uid ada_gid gecos home shell <<<"$entry"
  expect "ada's gecos" "$gecos" "Ada Lovelace"
  expect "ada's home" "$home" /home/ada
  expect "ada's shell" "$shell" /bin/bash
  expect "ada's primary group" "$(getent group "$ada_gid" | cut -d: -f1)" ada
  [ -d /home/ada ] && expect "owner of /home/ada" "$(stat -c %U /home/ada)" ada || fail "no /home/ada"
else
  fail "no user ada"
fi
groups=$(id -nG ada 2>/dev/null || true)
for group in adm systemd-journal; do
  [[ " $groups " == *" $group "* ]] && ok "ada is in $group" || fail "ada's groups are '$groups', want $group among them"
done
expect "ada's password hash in /etc/shadow" "$(getent shadow ada | cut -d: -f2)" "$hash"
keys=/home/ada/.ssh/authorized_keys
if [ -f "$keys" ]; then
  expect "$keys" "$(cat "$keys")" "$ada_key"
  expect "$keys mode and owner" "$(stat -c '%a %U:%G' "$keys")" "600 ada:ada"
  expect "/home/ada/.ssh mode and owner" "$(stat -c '%a %U' /home/ada/.ssh)" "700 ada"
else
  fail "no $keys"
fi
# meta_data.json's public_keys go to core, as on CoreOS.
core_home=$(getent passwd core | cut -d: -f6 || true)
if [ -n "$core_home" ]; then
  expect "core's groups" "$(id -nG core)" "core sudo"
  expect "$core_home/.ssh/authorized_keys" "$(cat "$core_home/.ssh/authorized_keys" 2>&1)" "$core_key"
  expect "its mode and owner" "$(stat -c '%a %U' "$core_home/.ssh/authorized_keys" 2>&1)" "600 core"
else
  fail "no user core"
fi

# (c) write_files: the exact bytes, mode and owner.
printf 'provisioned from a config drive\n  indented, with a tab\tand a trailing space \n' >motd.expected
if cmp motd.expected /etc/vmtest/motd; then ok "/etc/vmtest/motd has the exact bytes"; else fail "/etc/vmtest/motd: $(od -c /etc/vmtest/motd 2>&1 | head -n 8)"; fi
expect "/etc/vmtest/motd mode and owner" "$(stat -c '%a %U:%G' /etc/vmtest/motd 2>&1)" "640 ada:adm"
expect "/etc/vmtest mode" "$(stat -c %a /etc/vmtest 2>&1)" 755
printf 'corebox\0\001\002\377\376 binary\n' >blob.expected
if cmp blob.expected /var/lib/vmtest/blob.bin; then ok "/var/lib/vmtest/blob.bin decoded from base64"; else fail "/var/lib/vmtest/blob.bin: $(od -c /var/lib/vmtest/blob.bin 2>&1 | head -n 4)"; fi
expect "/var/lib/vmtest/blob.bin mode and owner" "$(stat -c '%a %U:%G' /var/lib/vmtest/blob.bin 2>&1)" "600 root:root"
leftovers=$(find /etc/vmtest /var/lib/vmtest -mindepth 1 ! -name motd ! -name blob.bin 2>/dev/null || true)
expect "temporary files left beside them" "$leftovers" ""

# (d) The unit: written, started once.
unit=/etc/systemd/system/cloudinit-marker.service
[ -f "$unit" ] && ok "$unit written" || fail "no $unit"
grep -qxF "ExecStart=/bin/sh -c 'echo ran >>/run/cloudinit-unit-ran'" "$unit" 2>/dev/null && ok "$unit has the content" || fail "$unit lacks its ExecStart line"
expect "cloudinit-marker.service" "$(systemctl is-active cloudinit-marker.service || true)" active
expect "/run/cloudinit-unit-ran" "$(cat /run/cloudinit-unit-ran 2>&1)" ran

# (e) The host name: user-data's wins over meta_data.json's.
expect "hostname" "$(hostname)" ada-vmtest
expect "/etc/hostname" "$(cat /etc/hostname)" ada-vmtest

# (f) The result file.
result=/var/lib/cloud-init/result.json
if [ -f "$result" ]; then
  ok "$result exists ($(stat -c '%a %U' "$result"))"
  json=$(cat "$result")
  [[ $json == *'"instance_id":"'"$instance"'"'* ]] && ok "result: instance_id $instance" || fail "result has no instance_id $instance: $json"
  [[ $json == *'"outcome":"done"'* ]] && ok "result: steps done" || fail "result has no step done: $json"
  for word in failed not-run; do
    [[ $json != *'"outcome":"'$word'"'* ]] && ok "result: no step $word" || fail "result has a step $word: $json"
  done
else
  fail "no $result"
fi

# (g) The journal: entries from the run, and no secret anywhere in it.
journalctl --sync
entries=$(journalctl -b -t cloud-init -o cat --no-pager)
count=$(grep -c . <<<"$entries" || true)
[ "$count" -gt 0 ] && ok "journalctl -t cloud-init: $count entries" || fail "no journal entries with identifier cloud-init"
[ -n "$(journalctl -b -u "$service" -o cat --no-pager)" ] && ok "journal entries of $service" || fail "no journal entries of $service"
salt=${hash:3:16}
if journalctl -b -o export --no-pager | grep -aqF -e "$salt" -e "${hash: -24}"; then
  fail "the password hash (or its salt) is in the journal:"
  journalctl -b -o cat --no-pager | grep -aF -e "$salt" -e "${hash: -24}" | head -n 5
else
  ok "the password hash is nowhere in the journal"
fi
grep -qF "$salt" "$result" 2>/dev/null && fail "the password hash is in $result" || ok "the password hash is not in $result"

# (h) Again: a dry run has nothing to do, a real run changes nothing.
watched=(/etc/passwd /etc/group /etc/shadow /etc/hostname /home/ada/.ssh /home/ada/.ssh/authorized_keys
  /etc/vmtest/motd /var/lib/vmtest/blob.bin "$unit" /run/cloudinit-unit-ran)
[ -n "$core_home" ] && watched+=("$core_home/.ssh/authorized_keys")
# Inode, size, modification and change times (nanoseconds), mode and owner.
snapshot() { stat -c '%n %i %s %.9Y %.9Z %a %u:%g' "${watched[@]}" 2>&1; }
before=$(snapshot)
invocation=$(systemctl show -P InvocationID cloudinit-marker.service)
set +e
dry=$(cloud-init --from-configdrive "$drive" --dry-run 2>dry.err)
status=$?
set -e
expect "cloud-init --dry-run exit status" "$status" 0
expect "cloud-init --dry-run output" "$dry" "nothing to do"
[ -s dry.err ] && echo "(its stderr: $(head -c 2000 dry.err))"
grep -qF "$salt" <<<"$dry$(cat dry.err)" && fail "the dry run printed the password hash" || ok "the dry run did not print the password hash"
set +e
cloud-init --from-configdrive "$drive" >again.out 2>again.err
status=$?
set -e
expect "second cloud-init run exit status" "$status" 0
[ "$status" -eq 0 ] || { echo "its stdout:"; cat again.out; echo "its stderr:"; cat again.err; }
after=$(snapshot)
if [ "$before" = "$after" ]; then
  ok "the second run left ${#watched[@]} files as they were"
else
  fail "the second run changed files:"
  diff <(echo "$before") <(echo "$after") || true
fi
expect "cloudinit-marker.service's invocation (not restarted)" "$(systemctl show -P InvocationID cloudinit-marker.service)" "$invocation"
expect "/run/cloudinit-unit-ran after the second run" "$(cat /run/cloudinit-unit-ran 2>&1)" ran
expect "hostname after the second run" "$(hostname)" ada-vmtest
if [ -f "$result" ]; then
  json=$(cat "$result")
  [[ $json != *'"outcome":"failed"'* ]] && ok "second result: no step failed" || fail "second result has a failed step: $json"
fi

# (i) The OEM unit: skipped at boot (no file), applies the file once it is
# there. Last, since its run becomes the latest result.json.
oem=/usr/share/oem/cloud-config.yml
expect "cloud-init-oem.service at boot (no $oem)" "$(systemctl show -P ConditionResult cloud-init-oem.service)" no
mkdir -p /usr/share/oem
printf '#cloud-config\nwrite_files:\n  - path: /run/vmtest-oem\n    content: from the OEM partition\n' >"$oem"
if systemctl start cloud-init-oem.service; then ok "systemctl start cloud-init-oem.service"; else fail "systemctl start cloud-init-oem.service exited $?"; fi
expect "cloud-init-oem.service Result" "$(systemctl show -P Result cloud-init-oem.service)" success
expect "/run/vmtest-oem" "$(cat /run/vmtest-oem 2>&1)" "from the OEM partition"
rm -f "$oem"

finish
