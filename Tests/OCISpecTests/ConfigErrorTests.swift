@testable import OCISpec
import Testing

/// Every kind of problem, with its exact text and path, and all of a
/// file's problems from one pass.
struct ConfigErrorTests {
    /// A valid config's members with `extra` after them.
    static func config(_ extra: String = "") -> [UInt8] {
        Array(#"{"ociVersion": "1.0.2", "root": {"path": "rootfs"}\#(extra.isEmpty ? "" : ", " + extra)}"#.utf8)
    }

    static func problems(_ bytes: [UInt8]) -> String? {
        do {
            _ = try ContainerConfig.decode(bytes)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func minimalConfigIsValid() {
        #expect(Self.problems(Self.config()) == nil)
    }

    @Test(arguments: [
        (#""linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "foo"}]}"#,
         #"linux.namespaces[2].type: unknown namespace "foo""#),
        (#""linux": {"namespaces": [{"type": "pid"}, {"type": "uts"}, {"type": "pid"}]}"#,
         #"linux.namespaces[2].type: duplicate namespace "pid" (also namespaces[0])"#),
        (#""linux": {"namespaces": [{"type": "network", "path": "run/netns/x"}]}"#,
         #"linux.namespaces[0].path: must be an absolute path, got "run/netns/x""#),
        (#""linux": {"namespaces": [{"path": "/proc/1/ns/net"}]}"#, "linux.namespaces[0].type: is required"),
        (#""process": {"cwd": "/", "args": []}"#, "process.args: must not be empty"),
        (#""process": {"cwd": "/"}"#, "process.args: is required"),
        (#""process": {"args": ["sh"], "cwd": "tmp"}"#, #"process.cwd: must be an absolute path, got "tmp""#),
        (#""process": {"args": ["sh"]}"#, "process.cwd: is required"),
        (#""process": {"args": ["sh"], "cwd": "/", "env": ["A=1", "NOEQUALS", "=x"]}"#,
         "process.env[1]: must be NAME=value, got \"NOEQUALS\"\nconfig.json: process.env[2]: must be NAME=value, got \"=x\""),
        (#""process": {"args": ["sh"], "cwd": "/", "capabilities": {"bounding": ["CAP_KILL", "CAP_FOO"]}}"#,
         #"process.capabilities.bounding[1]: unknown capability "CAP_FOO""#),
        (#""process": {"args": ["sh"], "cwd": "/", "capabilities": {"ambient": ["kill"]}}"#,
         #"process.capabilities.ambient[0]: unknown capability "kill""#),
        (#""process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_FOO", "hard": 1, "soft": 1}]}"#,
         #"process.rlimits[0].type: unknown rlimit "RLIMIT_FOO""#),
        (#""process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1, "soft": 1}, {"type": "RLIMIT_NOFILE", "hard": 2, "soft": 2}]}"#,
         #"process.rlimits[1].type: duplicate rlimit "RLIMIT_NOFILE" (also rlimits[0])"#),
        (#""process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 10, "soft": 20}]}"#,
         "process.rlimits[0].soft: 20 is above the hard limit 10"),
        (#""process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 20}]}"#,
         "process.rlimits[0].hard: is required"),
        (#""process": {"args": ["sh"], "cwd": "/", "oomScoreAdj": 1001}"#, "process.oomScoreAdj: must be from -1000 to 1000, got 1001"),
        (#""process": {"args": ["sh"], "cwd": "/", "user": {"uid": "0"}}"#,
         #"process.user.uid: expected an integer from 0 to 4294967295, got "0""#),
        (#""process": {"args": ["sh"], "cwd": "/", "user": {"gid": -1}}"#,
         "process.user.gid: expected an integer from 0 to 4294967295, got -1"),
        (#""process": {"args": ["sh"], "cwd": "/", "user": {"uid": 4294967296}}"#,
         "process.user.uid: expected an integer from 0 to 4294967295, got 4294967296"),
        (#""process": {"args": ["sh"], "cwd": "/", "user": {"uid": 1.5}}"#,
         "process.user.uid: expected an integer from 0 to 4294967295, got 1.5"),
        (#""process": {"args": ["sh", 7], "cwd": "/"}"#, "process.args[1]: expected a string, got 7"),
        (#""process": {"args": ["sh"], "cwd": "/", "terminal": "yes"}"#, #"process.terminal: expected true or false, got "yes""#),
        (#""process": ["sh"]"#, "process: expected an object, got an array"),
        (#""mounts": {"destination": "/proc"}"#, "mounts: expected an array, got an object"),
        (#""mounts": [{"destination": "/a", "type": "tmpfs"}, {"destination": "/b", "type": "tmpfs"}, {"destination": "/c", "type": "tmpfs"}, {"destination": "/d", "type": "bind", "source": "/x", "options": ["ro", "rbindd"]}]"#,
         #"mounts[3].options[1]: unknown mount option "rbindd""#),
        (#""mounts": [{"destination": "/dev/pts", "type": "devpts", "options": ["newinstance", "nosiud"]}]"#,
         #"mounts[0].options[1]: unknown mount option "nosiud""#),
        (#""mounts": [{"destination": "proc", "type": "proc", "source": "proc"}]"#,
         #"mounts[0].destination: must be an absolute path, got "proc""#),
        (#""mounts": [{"type": "proc"}]"#, "mounts[0].destination: is required"),
        (#""mounts": [{"destination": "/m", "uidMappings": [{"containerID": 0, "hostID": 1, "size": 0}]}]"#,
         "mounts[0].uidMappings[0].size: must be at least 1"),
        (#""linux": {"devices": [{"path": "/dev/x", "type": "x", "major": 1, "minor": 2}]}"#,
         #"linux.devices[0].type: unknown device type "x""#),
        (#""linux": {"devices": [{"path": "dev/x", "type": "c"}]}"#, #"linux.devices[0].path: must be an absolute path, got "dev/x""#),
        (#""linux": {"resources": {"devices": [{"allow": true, "type": "z"}]}}"#,
         #"linux.resources.devices[0].type: unknown device type "z" (want a, c or b)"#),
        (#""linux": {"resources": {"devices": [{"allow": true, "access": "rwx"}]}}"#,
         #"linux.resources.devices[0].access: must be made of r, w and m, got "rwx""#),
        (#""linux": {"resources": {"devices": [{"access": "rwm"}]}}"#, "linux.resources.devices[0].allow: is required"),
        (#""linux": {"resources": {"memory": {"swappiness": 101}}}"#, "linux.resources.memory.swappiness: must be from 0 to 100, got 101"),
        (#""linux": {"resources": {"blockIO": {"weight": 70000}}}"#, "linux.resources.blockIO.weight: expected an integer from 0 to 65535, got 70000"),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_NOPE"}}"#, #"linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_NOPE""#),
        (#""linux": {"seccomp": {}}"#, "linux.seccomp.defaultAction: is required"),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}}"#,
         #"linux.seccomp.architectures[0]: unknown seccomp architecture "SCMP_ARCH_VAX""#),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]}}"#,
         #"linux.seccomp.flags[0]: unknown seccomp flag "SECCOMP_FILTER_FLAG_FAST""#),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_XX"}]}]}}"#,
         #"linux.seccomp.syscalls[0].args[0].op: unknown seccomp operator "SCMP_CMP_XX""#),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}}"#,
         "linux.seccomp.syscalls[0].args[0].index: must be from 0 to 5, got 6"),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]}}"#,
         "linux.seccomp.syscalls[0].names: must not be empty"),
        (#""linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_NOTIFY"}]}}"#,
         "linux.seccomp.listenerPath: is required by SCMP_ACT_NOTIFY"),
        (#""linux": {"rootfsPropagation": "rshard"}"#, #"linux.rootfsPropagation: unknown propagation "rshard""#),
        (#""linux": {"personality": {"domain": "LINUX64"}}"#, #"linux.personality.domain: unknown personality domain "LINUX64""#),
        (#""linux": {"maskedPaths": ["/proc/kcore", "proc/keys"]}"#, #"linux.maskedPaths[1]: must be an absolute path, got "proc/keys""#),
        (#""linux": {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}"#,
         "linux.uidMappings: needs a user namespace in linux.namespaces"),
        (#""hostname": "box""#, "hostname: needs a uts namespace in linux.namespaces"),
        (#""linux": {"timeOffsets": {"monotonic": {"secs": 1}}}"#,
         "linux.timeOffsets: needs a new time namespace in linux.namespaces (not one joined by path)"),
        (#""linux": {"namespaces": [{"type": "time", "path": "/proc/1/ns/time"}], "timeOffsets": {"boottime": {"secs": 1}}}"#,
         "linux.timeOffsets: needs a new time namespace in linux.namespaces (not one joined by path)"),
        (#""linux": {"namespaces": [{"type": "time"}], "timeOffsets": {"realtime": {"secs": 1}}}"#,
         #"linux.timeOffsets.realtime: unknown clock "realtime" (monotonic or boottime)"#),
        (#""linux": {"namespaces": [{"type": "time"}], "timeOffsets": {"boottime": {"secs": -5, "nanosecs": 1000000000}}}"#,
         "linux.timeOffsets.boottime.nanosecs: must be below 1000000000"),
        (#""hooks": {"prestart": [{"path": "hook.sh"}]}"#, #"hooks.prestart[0].path: must be an absolute path, got "hook.sh""#),
        (#""hooks": {"poststop": [{"path": "/bin/true", "timeout": 0}]}"#, "hooks.poststop[0].timeout: must be greater than zero, got 0"),
        (#""hooks": {"poststop": [{"args": ["x"]}]}"#, "hooks.poststop[0].path: is required"),
        (#""annotations": {"a": 1}"#, "annotations.a: expected a string, got 1"),
    ])
    func eachProblem(extra: String, message: String) {
        #expect(Self.problems(Self.config(extra)) == "config.json: " + message)
    }

    @Test(arguments: [
        (#"{"root": {"path": "rootfs"}}"#, "ociVersion: is required"),
        (#"{"ociVersion": "1.0.2"}"#, "root: is required"),
        (#"{"ociVersion": "1.0.2", "root": {}}"#, "root.path: is required"),
        (#"{"ociVersion": "1.0.2", "root": {"path": ""}}"#, "root.path: must not be empty"),
        (#"{"ociVersion": "2.0.0", "root": {"path": "r"}}"#, #"ociVersion: unsupported version "2.0.0" (want 1.x.y)"#),
        (#"{"ociVersion": "1.0", "root": {"path": "r"}}"#, #"ociVersion: must be a SemVer version such as "1.0.2", got "1.0""#),
        (#"[]"#, "expected an object, got an array"),
    ])
    func documentProblems(text: String, message: String) {
        #expect(Self.problems(Array(text.utf8)) == "config.json: " + message)
    }

    /// Good JSON text is the first thing checked; its error names line and column.
    @Test(arguments: [
        ("{\n  \"ociVersion\": \"1.0.2\",\n  \"root\": {\"path\": \"r\",}\n}", "line 3, column 24: expected a string key"),
        ("{\"a\": tru}", "line 1, column 7: invalid literal, expected true"),
        ("{\"a\": \"x\ty\"}", "line 1, column 9: control character 0x9 in a string"),
        ("{\"a\": \"\\q\"}", "line 1, column 9: invalid escape \\q in a string"),
        ("{\"a\": 01}", "line 1, column 8: expected ',' or '}' after an object member"),
        ("{\"a\": [1 2]}", "line 1, column 10: expected ',' or ']' after an array element"),
        ("{} {}", "line 1, column 4: unexpected text after the top-level value"),
        ("", "line 1, column 1: unexpected end of input"),
        ("{\"a\": \"open", "line 1, column 12: unterminated string"),
        (String(repeating: "[", count: 600), "line 1, column 513: nested more than 512 levels deep"),
    ])
    func syntaxErrors(text: String, message: String) {
        #expect(Self.problems(Array(text.utf8)) == "config.json: " + message)
    }

    /// One pass finds every problem, in document order, and a bad value
    /// does not hide the problems after it.
    @Test func allProblemsInOnePass() {
        let text = """
        {
          "ociVersion": "1.0.2",
          "process": {"args": [], "cwd": "relative", "user": {"uid": -5},
                      "capabilities": {"effective": ["CAP_NOPE"]}, "rlimits": [{"type": "RLIMIT_BOGUS", "hard": 1, "soft": 1}]},
          "root": {},
          "mounts": [{"destination": "/x", "type": "tmpfs", "options": ["nodev", "bogus"]}],
          "linux": {
            "namespaces": [{"type": "pid"}, {"type": "pid"}, {"type": "foo"}],
            "devices": [{"path": "/dev/q", "type": "q"}],
            "seccomp": {"defaultAction": "SCMP_ACT_MAYBE", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"]}
          }
        }
        """
        let expected = """
        config.json: process.user.uid: expected an integer from 0 to 4294967295, got -5
        config.json: process.args: must not be empty
        config.json: process.cwd: must be an absolute path, got "relative"
        config.json: process.capabilities.effective[0]: unknown capability "CAP_NOPE"
        config.json: process.rlimits[0].type: unknown rlimit "RLIMIT_BOGUS"
        config.json: root.path: is required
        config.json: mounts[0].options[1]: unknown mount option "bogus"
        config.json: linux.namespaces[2].type: unknown namespace "foo"
        config.json: linux.namespaces[1].type: duplicate namespace "pid" (also namespaces[0])
        config.json: linux.devices[0].type: unknown device type "q"
        config.json: linux.seccomp.defaultAction: unknown seccomp action "SCMP_ACT_MAYBE"
        config.json: linux.seccomp.architectures[1]: unknown seccomp architecture "SCMP_ARCH_Z80"
        """
        #expect(Self.problems(Array(text.utf8)) == expected)
    }

    /// Data options (`key=value`) pass; so does any word for a filesystem
    /// whose options we do not know.
    @Test func mountDataOptions() {
        let mounts = #""mounts": [{"destination": "/t", "type": "tmpfs", "options": ["mode=1777", "size=1g", "noswap"]}, {"destination": "/x", "type": "xfs", "options": ["nouuid"]}, {"destination": "/c", "type": "cgroup", "options": ["memory", "ro"]}]"#
        #expect(Self.problems(Self.config(mounts)) == nil)
    }
}
