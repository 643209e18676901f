import Foundation
import Testing
import TestSupport

/// The journal sink end to end on the host, without a journald: in a private
/// mount namespace, a python receiver binds journald's socket path on a fresh
/// /run, runs the command line it is given and prints the datagram that
/// libsystemd's sd_journal_sendv sends.
/// (The VM test checks the same against the real journald.)
@Suite struct JournalTests {
    static let receiver = #"""
        import os, socket, struct, subprocess, sys
        os.makedirs("/run/systemd/journal")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind("/run/systemd/journal/socket")
        s.settimeout(10)
        env = {"COREBOX_LOG_TARGET": "journal", "PATH": "/usr/bin:/bin"}
        run = subprocess.run(sys.argv[1:], env=env, capture_output=True)
        print("EXIT=%d" % run.returncode)
        print("STDERR=%r" % run.stderr.decode())
        data = s.recv(65536)
        # journald's native format: KEY=value\n, or KEY\n<le64 length>value\n when the value has newlines.
        while data:
            line, _, rest = data.partition(b"\n")
            if b"=" in line:
                print(line.decode())
                data = rest
            else:
                size = struct.unpack("<Q", rest[:8])[0]
                print("%s=%s" % (line.decode(), rest[8:8 + size].decode()))
                data = rest[8 + size + 1:]
        """#

    @Test func installLogsAStructuredEntry() async throws {
        let scratch = try Scratch()
        let run = try await Clients.run("/usr/bin/unshare", [
            "--mount", "sh", "-c", "mount -t tmpfs tmpfs /run && exec python3 -c \"$0\" \"$@\"",
            Self.receiver, CoreboxBinary.path, "--install", "--symlinks", scratch.path,
        ], timeout: .seconds(30))
        let output = run.stdout
        #expect(run.status == 0, "\(output) \(run.stderr)")
        let fields = Set(output.split(separator: "\n").map(String.init))
        for expected in ["EXIT=0", "STDERR=''", "MESSAGE=installed applet links", "PRIORITY=6",
                         "SYSLOG_IDENTIFIER=corebox", "DIRECTORY=\(scratch.path)", "KIND=symbolic", "LOGGER=corebox.install"] {
            #expect(fields.contains(expected), "\(expected) not in:\n\(output)")
        }
        #expect(fields.contains { $0.hasPrefix("CODE_FILE=") && $0.hasSuffix("Multicall.swift") })
        #expect(fields.contains { $0.hasPrefix("CODE_LINE=") && Int($0.dropFirst("CODE_LINE=".count)) != nil })
        #expect(fields.contains { $0.hasPrefix("CODE_FUNC=install(") })
        #expect(fields.contains { $0.hasPrefix("COUNT=") })
    }
}
