@testable import OCISpec
import Testing

/// config.json read into values: everything the spec lets us model, and
/// Go's rules for absent, null and unknown members.
struct ConfigDecodingTests {
    static let rich = """
    {
      "ociVersion": "1.1.0",
      "process": {
        "terminal": true,
        "consoleSize": {"height": 25, "width": 80},
        "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 10]},
        "args": ["/bin/sh", "-c", "echo \\"hi\\" \\u00e9\\ud83d\\ude00"],
        "env": ["PATH=/bin", "EMPTY="],
        "cwd": "/home/user",
        "capabilities": {
          "bounding": ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"],
          "effective": ["CAP_KILL"],
          "inheritable": ["CAP_NET_RAW"],
          "permitted": ["CAP_KILL", "CAP_SYS_ADMIN"],
          "ambient": ["CAP_KILL"]
        },
        "rlimits": [
          {"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024},
          {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}
        ],
        "noNewPrivileges": true,
        "apparmorProfile": "profile",
        "oomScoreAdj": -500,
        "selinuxLabel": "system_u:system_r:container_t:s0",
        "scheduler": {"policy": "SCHED_OTHER"}
      },
      "root": {"path": "/var/lib/bundle/rootfs", "readonly": true},
      "hostname": "box",
      "domainname": "example.org",
      "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "rro", "rprivate", "tmpcopyup"],
         "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
         "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}]},
        {"destination": "/mnt/xfs", "type": "xfs", "source": "/dev/sdb1", "options": ["nouuid", "logbufs=8"]}
      ],
      "hooks": {
        "prestart": [{"path": "/usr/bin/prestart", "args": ["prestart", "a"], "env": ["K=v"], "timeout": 5}],
        "createRuntime": [{"path": "/bin/cr"}],
        "createContainer": [{"path": "/bin/cc"}],
        "startContainer": [{"path": "/bin/sc"}],
        "poststart": [{"path": "/bin/ps1"}, {"path": "/bin/ps2"}],
        "poststop": [{"path": "/bin/stop", "timeout": 1}]
      },
      "annotations": {"org.example.b": "2", "org.example.a": "1"},
      "linux": {
        "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
        "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096"},
        "resources": {
          "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}],
          "memory": {"limit": 536870912, "reservation": 268435456, "swap": 1073741824, "kernel": -1, "kernelTCP": 0,
                     "swappiness": 60, "disableOOMKiller": false, "useHierarchy": true, "checkBeforeUpdate": true},
          "cpu": {"shares": 1024, "quota": 100000, "burst": 1000, "period": 100000, "realtimeRuntime": 950000,
                  "realtimePeriod": 1000000, "cpus": "0-1", "mems": "0", "idle": 0},
          "pids": {"limit": 64},
          "blockIO": {
            "weight": 500, "leafWeight": 300,
            "weightDevice": [{"major": 8, "minor": 0, "weight": 600, "leafWeight": 200}],
            "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
            "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 2097152}],
            "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
            "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]
          },
          "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}],
          "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
          "unified": {"memory.high": "max"},
          "rdma": {"mlx5_1": {"hcaHandles": 3}}
        },
        "cgroupsPath": "/corebox/box",
        "namespaces": [
          {"type": "pid"}, {"type": "network", "path": "/var/run/netns/box"}, {"type": "mount"}, {"type": "ipc"},
          {"type": "uts"}, {"type": "user"}, {"type": "cgroup"}, {"type": "time"}
        ],
        "devices": [
          {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438, "uid": 0, "gid": 0},
          {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
          {"path": "/dev/fifo", "type": "p"}
        ],
        "seccomp": {
          "defaultAction": "SCMP_ACT_ERRNO",
          "defaultErrnoRet": 1,
          "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
          "flags": ["SECCOMP_FILTER_FLAG_LOG"],
          "listenerPath": "/run/seccomp.sock",
          "listenerMetadata": "meta",
          "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}, {"index": 5, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
            {"names": ["ioctl"], "action": "SCMP_ACT_NOTIFY"}
          ]
        },
        "rootfsPropagation": "rslave",
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "mountLabel": "system_u:object_r:container_file_t:s0",
        "personality": {"domain": "LINUX32", "flags": []},
        "intelRdt": {"closID": "x"}
      },
      "windows": {"layerFolders": []}
    }
    """

    @Test func richConfigHasEveryValue() throws {
        let config = try ContainerConfig.decode(Array(Self.rich.utf8))
        #expect(config.ociVersion == "1.1.0")
        let process = try #require(config.process)
        #expect(process.terminal)
        #expect(process.consoleSize?.height == 25 && process.consoleSize?.width == 80)
        #expect(process.user.uid == 1000 && process.user.gid == 1001 && process.user.umask == 18)
        #expect(process.user.additionalGids == [5, 10])
        #expect(process.args == ["/bin/sh", "-c", "echo \"hi\" é😀"])
        #expect(process.env == ["PATH=/bin", "EMPTY="])
        #expect(process.cwd == "/home/user")
        #expect(process.capabilities?.bounding == ["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"])
        #expect(process.capabilities?.inheritable == ["CAP_NET_RAW"])
        #expect(process.capabilities?.permitted == ["CAP_KILL", "CAP_SYS_ADMIN"])
        #expect(process.rlimits.first?.hard == UInt64.max)
        #expect(process.rlimits.map(\.type) == ["RLIMIT_NOFILE", "RLIMIT_CORE"])
        #expect(process.noNewPrivileges && process.apparmorProfile == "profile" && process.oomScoreAdj == -500)
        #expect(process.selinuxLabel == "system_u:system_r:container_t:s0")
        #expect(config.root == { var root = Root(); root.path = "/var/lib/bundle/rootfs"; root.readonly = true; return root }())
        #expect(config.hostname == "box" && config.domainname == "example.org")
        #expect(config.mounts.map(\.destination) == ["/proc", "/data", "/mnt/xfs"])
        #expect(config.mounts[1].options == ["rbind", "rro", "rprivate", "tmpcopyup"])
        #expect(config.mounts[1].uidMappings.first?.hostID == 100000 && config.mounts[1].gidMappings.first?.hostID == 200000)
        let hooks = try #require(config.hooks)
        #expect(hooks.prestart.first?.timeout == 5 && hooks.prestart.first?.args == ["prestart", "a"])
        #expect(hooks.poststart.map(\.path) == ["/bin/ps1", "/bin/ps2"])
        #expect([hooks.createRuntime, hooks.createContainer, hooks.startContainer, hooks.poststop].map { $0.first?.path }
            == ["/bin/cr", "/bin/cc", "/bin/sc", "/bin/stop"])
        #expect(config.annotations == ["org.example.a": "1", "org.example.b": "2"])

        let linux = try #require(config.linux)
        #expect(linux.uidMappings.first?.size == 65536)
        #expect(linux.sysctl["kernel.shmmax"] == "4096")
        #expect(linux.cgroupsPath == "/corebox/box")
        #expect(linux.namespaces.map(\.type) == [.pid, .network, .mount, .ipc, .uts, .user, .cgroup, .time])
        #expect(linux.namespaces[1].path == "/var/run/netns/box")
        #expect(linux.devices.map(\.type) == [.char, .block, .fifo])
        #expect(linux.devices[0].fileMode == 0o666 && linux.devices[0].minor == 229)
        let resources = try #require(linux.resources)
        #expect(resources.devices[1].major == 1 && resources.devices[1].type == "c" && resources.devices[1].access == "rw")
        #expect(resources.memory?.limit == 536870912 && resources.memory?.kernel == -1 && resources.memory?.swappiness == 60)
        #expect(resources.memory?.disableOOMKiller == false && resources.memory?.checkBeforeUpdate == true)
        #expect(resources.cpu?.quota == 100000 && resources.cpu?.cpus == "0-1" && resources.cpu?.idle == 0)
        #expect(resources.pids?.limit == 64)
        #expect(resources.blockIO?.weightDevice.first?.leafWeight == 200)
        #expect(resources.blockIO?.throttleWriteIOPSDevice.first?.rate == 200)
        #expect(resources.hugepageLimits.first?.pageSize == "2MB")
        #expect(resources.network?.classID == 1048577 && resources.network?.priorities.first?.name == "eth0")
        #expect(resources.unified == ["memory.high": "max"])
        let seccomp = try #require(linux.seccomp)
        #expect(seccomp.defaultAction == .errno && seccomp.defaultErrnoRet == 1)
        #expect(seccomp.architectures.count == 3 && seccomp.flags == ["SECCOMP_FILTER_FLAG_LOG"])
        #expect(seccomp.listenerPath == "/run/seccomp.sock" && seccomp.listenerMetadata == "meta")
        #expect(seccomp.syscalls[1].args[1].op == .maskedEqual && seccomp.syscalls[1].args[1].valueTwo == 8)
        #expect(seccomp.syscalls[2].errnoRet == 38 && seccomp.syscalls[3].action == .notify)
        #expect(linux.rootfsPropagation == .rslave)
        #expect(linux.maskedPaths == ["/proc/kcore"] && linux.readonlyPaths == ["/proc/sys"])
        #expect(linux.mountLabel == "system_u:object_r:container_file_t:s0")
        #expect(linux.personality?.domain == .linux32)
    }

    /// What we write reads back as the same values, and writes the same text.
    @Test func richConfigRoundTrips() throws {
        let config = try ContainerConfig.decode(Array(Self.rich.utf8))
        let text = config.json()
        let again = try ContainerConfig.decode(Array(text.utf8))
        #expect(again == config)
        #expect(again.json() == text)
        // Go's order and omission: ociVersion first, user always, empty personality flags left out.
        #expect(text.hasPrefix("{\n\t\"ociVersion\": \"1.1.0\",\n\t\"process\": {\n\t\t\"terminal\": true,"))
        #expect(text.contains("\"personality\": {\n\t\t\t\"domain\": \"LINUX32\"\n\t\t}"))
        #expect(!text.contains("intelRdt") && !text.contains("windows") && !text.contains("scheduler"))
    }

    /// A JSON null is absent, as in Go; unknown members are ignored, as the spec requires.
    @Test func nullIsAbsentAndUnknownIsIgnored() throws {
        let text = #"{"ociVersion": "1.0.0", "root": {"path": "r"}, "process": null, "linux": {"seccomp": null}, "vendor": {"x": [1]}}"#
        let config = try ContainerConfig.decode(Array(text.utf8))
        #expect(config.process == nil)
        #expect(config.linux?.seccomp == nil)
    }

    /// The last of repeated keys wins, as in Go.
    @Test func lastRepeatedKeyWins() throws {
        let config = try ContainerConfig.decode(Array(#"{"ociVersion": "1.0.0", "root": {"path": "a", "path": "b"}}"#.utf8))
        #expect(config.root.path == "b")
    }

    @Test func execProcessFile() throws {
        let process = try ContainerProcess.decode(Array(#"{"args": ["ls"], "cwd": "/", "user": {"uid": 1, "gid": 2}}"#.utf8), file: "process.json")
        #expect(process.args == ["ls"] && process.user.gid == 2)
        #expect(throws: ConfigError(file: "process.json", problems: [Problem(path: "args", message: "must not be empty")])) {
            try ContainerProcess.decode(Array(#"{"args": [], "cwd": "/"}"#.utf8), file: "process.json")
        }
    }
}
