#!/bin/bash
# `container` on the booted OS (pure cgroup v2, systemd): bundles made from
# the guest's own programs run with a memory limit (memory.max set, the
# allocating process OOM-killed), a pids limit (fork fails past it), device
# rules (the eBPF program refuses /dev/kmsg unless a rule allows it) and a
# seccomp rule (mkdir fails with the rule's errno). Then an OCI image layout
# made here with tar, gzip and sha256sum runs as container@NAME.service: its
# output is in the unit's journal, the runtime's errors carry their fields,
# and `systemctl stop` leaves no state directory, bundle or cgroup.
set -euo pipefail

source "$VMTEST_DISK/checks.bash"

cgroup_root=/sys/fs/cgroup
[ "$(stat -fc %T "$cgroup_root")" = cgroup2fs ] && ok "$cgroup_root is cgroup v2" || fail "$cgroup_root is not cgroup v2"

# A root filesystem of the guest's own programs and the libraries ldd lists.
make_rootfs() {
  local root=$1 program path library
  mkdir -p "$root"/bin "$root"/proc "$root"/dev "$root"/tmp
  for program in sh cat mkdir sleep tail; do
    path=$(command -v "$program")
    cp -L "$path" "$root/bin/$program"
    for library in $(ldd "$path" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
      mkdir -p "$root$(dirname "$library")"
      cp -Ln "$library" "$root$library"
    done
  done
}

# write_config BUNDLE CGROUP ARGS_JSON RESOURCES_JSON [LINUX_EXTRA_JSON [MOUNTS_EXTRA_JSON]]
write_config() {
  cat >"$1/config.json" <<EOF
{
  "ociVersion": "1.0.2-dev",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": $3,
    "env": ["PATH=/bin"],
    "cwd": "/",
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs"},
  "hostname": "vmtest",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}${6:+,
    $6}
  ],
  "linux": {
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}],
    "cgroupsPath": "$2",
    "resources": $4${5:+,
    $5}
  }
}
EOF
}

bundle=$PWD/bundle
make_rootfs "$bundle/rootfs"
deny_all='"devices": [{"allow": false, "access": "rwm"}]'

# Runs the bundle as container NAME in the background, records the
# cgroup's FILES once it exists, then waits: status in $status, output in NAME.out.
declare -A seen
run_watching() {
  local name=$1 cgroup=$2 file tries=0
  shift 2
  container run --bundle "$bundle" "$name" >"$name.out" 2>&1 &
  local pid=$!
  while [ ! -e "$cgroup_root$cgroup/cgroup.procs" ] && [ $tries -lt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
  done
  for file; do seen[$name/$file]=$(cat "$cgroup_root$cgroup/$file" 2>/dev/null || echo missing); done
  set +e
  wait "$pid"
  status=$?
  set -e
  [ ! -e "$cgroup_root$cgroup" ] && ok "$name: its cgroup is gone" || fail "$name: $cgroup_root$cgroup is left"
  [ ! -e "/run/container/$name" ] && ok "$name: its state is gone" || fail "$name: /run/container/$name is left"
}

# (a) Memory: memory.max is the limit; a process that keeps allocating
# (tail keeps a line that never ends) is killed by the OOM killer, the
# shell above it lives on.
write_config "$bundle" /vmtest/memory '["sh", "-c", "sleep 1; tail /dev/zero; echo tail ended with $?"]' \
  "{$deny_all, \"memory\": {\"limit\": 33554432}}"
run_watching memory /vmtest/memory memory.max
expect "memory.max" "${seen[memory/memory.max]}" 33554432
expect "memory: exit status" "$status" 0
# (the shell also reports the kill: "Killed")
expect "memory: the allocating process" "$(tail -n 1 memory.out)" "tail ended with 137"
dmesg | grep -q "Memory cgroup out of memory" && ok "the kernel reports a memory cgroup OOM kill" || fail "no memory cgroup OOM in dmesg"

# (b) pids.max: forks past the limit fail.
write_config "$bundle" /vmtest/pids \
  '["sh", "-c", "sleep 1; i=0; while [ $i -lt 12 ]; do sleep 5 & i=$((i + 1)); echo forked $i; done"]' \
  "{$deny_all, \"pids\": {\"limit\": 6}}"
run_watching pids /vmtest/pids pids.max
expect "pids.max" "${seen[pids/pids.max]}" 6
grep -q "Cannot fork" pids.out && ok "pids: fork fails past the limit" || fail "pids: no fork failed: $(cat pids.out)"
# The shell and five sleeps are six processes: the sixth sleep is one too many.
expect "pids: forks before the limit" "$(grep -c forked pids.out)" 5

# (c) Devices: the host's /dev/kmsg bound in; the default rule denies it, a
# rule allowing writes lets them through. /dev/null stays usable.
kmsg_mount='{"destination": "/dev/kmsg", "type": "bind", "source": "/dev/kmsg", "options": ["bind"]}'
kmsg_script='["sh", "-c", "echo container-vmtest > /dev/kmsg && echo kmsg-written; echo x > /dev/null && echo null-written"]'
write_config "$bundle" /vmtest/devices "$kmsg_script" "{$deny_all}" "" "$kmsg_mount"
run_watching devices /vmtest/devices
grep -q "/dev/kmsg: Operation not permitted" devices.out && ok "devices: /dev/kmsg refused (EPERM)" || fail "devices: /dev/kmsg not refused: $(cat devices.out)"
grep -q kmsg-written devices.out && fail "devices: the write to /dev/kmsg went through" || ok "devices: nothing written to /dev/kmsg"
grep -q null-written devices.out && ok "devices: /dev/null still writable" || fail "devices: /dev/null not writable: $(cat devices.out)"
write_config "$bundle" /vmtest/devices "$kmsg_script" \
  '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]}' "" "$kmsg_mount"
run_watching devices-allowed /vmtest/devices
grep -q kmsg-written devices-allowed.out && ok "devices: a rule allowing c 1:11 w lets the write through" || fail "devices: allowed write failed: $(cat devices-allowed.out)"

# (d) Seccomp: mkdir fails with the rule's errno; the rest is allowed.
seccomp='"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}'
write_config "$bundle" /vmtest/seccomp '["sh", "-c", "mkdir /tmp/made; echo mkdir exited $?"]' "{$deny_all}" "$seccomp"
run_watching seccomp /vmtest/seccomp
grep -q "Operation not permitted" seccomp.out && ok "seccomp: mkdir fails with EPERM" || fail "seccomp: mkdir output: $(cat seccomp.out)"
expect "seccomp: the shell sees the failure" "$(tail -n 1 seccomp.out)" "mkdir exited 1"
[ ! -e "$bundle/rootfs/tmp/made" ] && ok "seccomp: no directory made" || fail "seccomp: the directory was made"
rmdir "$cgroup_root/vmtest" 2>/dev/null || true

# (d2) --systemd-cgroup: the container's cgroup is a transient scope of the
# real systemd's, in the slice the cgroup path names, with the config's
# limit; `update` changes it.
write_config "$bundle" "system.slice:corebox:sdtest" '["sleep", "60"]' '{"memory": {"limit": 33554432}}'
container --systemd-cgroup create --bundle "$bundle" --pid-file sdtest.pid sdtest
scope=$cgroup_root/system.slice/corebox-sdtest.scope
expect "systemd-cgroup: the scope" "$(systemctl is-active corebox-sdtest.scope)" active
expect "systemd-cgroup: the init's cgroup" "$(cat "/proc/$(cat sdtest.pid)/cgroup")" "0::/system.slice/corebox-sdtest.scope"
expect "systemd-cgroup: memory.max" "$(cat "$scope/memory.max")" 33554432
# systemd writes a unit's own limits back at every daemon-reload: the
# container's are the scope's properties too, so they stay.
systemctl daemon-reload
expect "systemd-cgroup: memory.max after a daemon-reload" "$(cat "$scope/memory.max")" 33554432
expect "systemd-cgroup: the scope's MemoryMax" "$(systemctl show -P MemoryMax corebox-sdtest.scope)" 33554432
# update: new limits in the running container's cgroup v2 files, and in
# the scope's properties.
container --systemd-cgroup update --memory 64m --pids-limit 40 sdtest
expect "update: memory.max" "$(cat "$scope/memory.max")" 67108864
expect "update: pids.max" "$(cat "$scope/pids.max")" 40
systemctl daemon-reload
expect "update: memory.max after a daemon-reload" "$(cat "$scope/memory.max")" 67108864
expect "update: pids.max after a daemon-reload" "$(cat "$scope/pids.max")" 40
echo '{"memory": {"limit": -1}}' | container --systemd-cgroup update --resources - sdtest
expect "update --resources -: memory.max" "$(cat "$scope/memory.max")" max
container --systemd-cgroup delete --force sdtest
[ "$(systemctl is-active corebox-sdtest.scope)" != active ] && ok "systemd-cgroup: the scope is stopped" || fail "systemd-cgroup: the scope is still active"
[ ! -e "$scope" ] && ok "systemd-cgroup: its cgroup is gone" || fail "systemd-cgroup: $scope is left"
[ ! -e /run/container/sdtest ] && ok "systemd-cgroup: its state is gone" || fail "systemd-cgroup: /run/container/sdtest is left"

# (e) An OCI image layout made here, run as container@web.service.
# add_blob FILE: moves it into the layout's blobs; prints its digest.
layout=/var/tmp/vmtest-image
add_blob() {
  local digest
  digest=$(sha256sum "$1" | cut -d' ' -f1)
  mkdir -p "$layout/blobs/sha256"
  mv "$1" "$layout/blobs/sha256/$digest"
  echo "$digest"
}
# make_image ROOTFS CMD_JSON: an OCI layout at $layout, tagged latest.
make_image() {
  rm -rf "$layout"
  mkdir -p "$layout"
  tar -C "$1" -cf layer.tar .
  local diff_id layer layer_size config config_size manifest manifest_size
  diff_id=$(sha256sum layer.tar | cut -d' ' -f1)
  gzip -n layer.tar
  layer_size=$(stat -c %s layer.tar.gz)
  layer=$(add_blob layer.tar.gz)
  printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
    "$2" "$diff_id" >config.json
  config_size=$(stat -c %s config.json)
  config=$(add_blob config.json)
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$config" "$config_size" "$layer" "$layer_size" >manifest.json
  manifest_size=$(stat -c %s manifest.json)
  manifest=$(add_blob manifest.json)
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
    "$manifest" "$manifest_size" >"$layout/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$layout/oci-layout"
}
make_image "$bundle/rootfs" \
  '["sh","-c","trap \"echo web stopping; exit 0\" TERM; echo hello from web; while :; do sleep 1; done"]'
[ -f "$layout/index.json" ] && ok "image layout made at $layout" || fail "no image layout"

# journal_has UNIT TEXT: waits up to 30 s for TEXT in the unit's journal.
journal_has() {
  local tries=0 text
  while [ $tries -lt 60 ]; do
    # Not piped into grep -q: its early exit would fail the pipeline (pipefail).
    text=$(journalctl -u "$1" --no-pager -o cat 2>/dev/null || true)
    grep -qF "$2" <<<"$text" && return 0
    sleep 0.5
    tries=$((tries + 1))
  done
  return 1
}

mkdir -p /etc/container
echo "IMAGE=oci:$layout:latest" >/etc/container/web.env
if systemctl start container@web.service; then ok "systemctl start container@web"; else fail "systemctl start container@web exited $?"; fi
journal_has container@web.service "hello from web" && ok "the container's output is in journalctl -u container@web" ||
  fail "no output in the journal: $(journalctl -u container@web.service --no-pager | tail -n 20)"
expect "container@web state" "$(systemctl is-active container@web.service || true)" active
[ -d /run/container/web ] && ok "its state directory while it runs" || fail "no /run/container/web while it runs"
expect "container list" "$(container list -q)" web
web_cgroup=$(find "$cgroup_root" -type d -name web | head -n 1)
# Delegate=yes: the container's cgroup is inside the unit's.
unit_cgroup=$cgroup_root$(systemctl show -P ControlGroup container@web.service)
[ -n "$web_cgroup" ] && [ "${web_cgroup%/web}" = "$unit_cgroup" ] && ok "its cgroup is the unit's: $web_cgroup" ||
  fail "its cgroup '$web_cgroup' is not inside the unit's '$unit_cgroup'"

systemctl stop container@web.service
expect "container@web after stop" "$(systemctl is-active container@web.service || true)" inactive
journal_has container@web.service "web stopping" && ok "the container got SIGTERM and ended itself" || fail "no 'web stopping' in the journal"
[ ! -e /run/container/web ] && ok "no state directory after stop" || fail "/run/container/web is left"
[ ! -e /var/lib/corebox/containers/web ] && ok "no bundle after stop" || fail "/var/lib/corebox/containers/web is left"
[ -z "$web_cgroup" ] || [ ! -e "$web_cgroup" ] && ok "no cgroup after stop" || fail "$web_cgroup is left"
expect "container list after stop" "$(container list -q)" ""

# A container whose init ignores SIGTERM (sleep as PID 1 has no handler):
# after TimeoutStopSec systemd kills `container run`, and ExecStopPost
# still removes the container.
printf 'IMAGE=oci:%s:latest\nARGS=sleep 1000\n' "$layout" >/etc/container/stubborn.env
systemctl start container@stubborn.service
for _ in $(seq 60); do
  [ -d /run/container/stubborn ] && break
  sleep 0.5
done
[ -d /run/container/stubborn ] && ok "container@stubborn runs" || fail "container@stubborn did not start"
systemctl stop container@stubborn.service || true
[ ! -e /run/container/stubborn ] && ok "stubborn: no state directory after stop" || fail "stubborn: /run/container/stubborn is left"
[ ! -e /var/lib/corebox/containers/stubborn ] && ok "stubborn: no bundle after stop" || fail "stubborn: its bundle is left"
left=$(find "$cgroup_root" -type d -name stubborn)
[ -z "$left" ] && ok "stubborn: no cgroup after stop" || fail "stubborn: $left is left"
commands=$(for process in /proc/[0-9]*; do tr '\0' ' ' <"$process/cmdline" 2>/dev/null; echo; done)
grep -qx "sleep 1000 " <<<"$commands" && fail "stubborn: its sleep still runs" || ok "stubborn: its init is gone"
systemctl reset-failed container@stubborn.service 2>/dev/null || true

# (f) The runtime's own error under systemd: a structured journal entry.
printf 'IMAGE=oci:%s:latest\nARGS=/no/such/program\n' "$layout" >/etc/container/broken.env
systemctl start container@broken.service || true
for _ in $(seq 60); do
  state=$(systemctl is-active container@broken.service || true)
  [ "$state" = failed ] || [ "$state" = inactive ] && break
  sleep 0.5
done
expect "container@broken state" "$(systemctl is-active container@broken.service || true)" failed
# The unit's stderr lines carry SYSLOG_IDENTIFIER=container too; CONTAINER_ID is only in entries the runtime sent itself.
entry=$(journalctl -u container@broken.service -o verbose --no-pager)
grep -q "CONTAINER_ID=broken" <<<"$entry" && ok "journal: the error carries CONTAINER_ID=broken" || fail "journal: no CONTAINER_ID=broken entry: $entry"
grep -q "MESSAGE=.*/no/such/program" <<<"$entry" && ok "journal: the error names the program" || fail "journal: the error: $entry"
[ ! -e /run/container/broken ] && [ ! -e /var/lib/corebox/containers/broken ] && ok "nothing left of container@broken" ||
  fail "container@broken left its state or bundle"
systemctl reset-failed container@broken.service || true
rm -rf /etc/container "$layout"

finish
