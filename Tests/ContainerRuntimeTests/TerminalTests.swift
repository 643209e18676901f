import CContainer
import CoreboxCore
import Foundation
import Glibc
import OCISpec
import Testing
import TestSupport

@testable import ContainerRuntime

/// A listening unix socket standing for a console socket's owner (what
/// containerd's shim or podman's conmon do): it accepts the runtime's
/// connection and receives the pty master.
final class ConsoleListener {
    let path: String
    private let fd: Int32

    init(directory: String) throws {
        path = directory + "/console.sock"
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(fd >= 0 && bound == 0 && listen(fd, 1) == 0, "listen on \(path): \(String(cString: strerror(errno)))")
    }

    deinit { close(fd) }

    /// The master of the one connection made, and the name sent with it.
    func receive() throws -> (master: Int32, name: String) {
        let connection = accept(fd, nil, nil)
        try #require(connection >= 0)
        defer { close(connection) }
        var name = [CChar](repeating: 0, count: 64)
        let master = corebox_receive_fd(connection, &name, name.count)
        try #require(master >= 0, "receive the master: \(String(cString: strerror(errno)))")
        return (master, String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}

extension LifecycleTests {
    /// Types `input` on the terminal and reads it until `marker` shows (or
    /// the terminal closes, or 10 s pass without output).
    func converse(_ master: Int32, _ input: String, until marker: String) -> String {
        _ = input.withCString { Glibc.write(master, $0, strlen($0)) }
        var text = ""
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !text.contains(marker) {
            var entry = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 10_000) > 0 else { break }
            let count = read(master, &buffer, buffer.count)
            guard count > 0 else { break }
            text += String(decoding: buffer[..<count], as: UTF8.self)
        }
        return text
    }

    /// An interactive `sh` on a terminal of 30 rows and 100 columns.
    func terminalConfig() -> ContainerConfig {
        var config = config("", args: ["sh"])
        config.process!.terminal = true
        var size = ConsoleSize()
        (size.height, size.width) = (30, 100)
        config.process!.consoleSize = size
        return config
    }

    /// What the shell on `master` says about its terminal: `tty`, `stty size`.
    func describeTerminal(_ master: Int32) -> [String] {
        let text = converse(master, "tty; stty size; echo end-$((6*7))\n", until: "end-42")
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        return lines.filter { $0.hasPrefix("/dev/") || $0 == "30 100" || $0 == "end-42" }
    }

    @Test(.enabled(if: canRun)) func createSendsTheMasterToTheConsoleSocket() async throws {
        let config = terminalConfig()
        try write(config)
        let listener = try ConsoleListener(directory: output.path)
        let created = container("create", "--console-socket", listener.path, "-b", bundle.path, "tty")
        try #require(created.status == 0, "\(created.error)")
        _ = track(try state("tty"))
        let (master, name) = try listener.receive()
        defer { close(master) }
        #expect(name == "/dev/ptmx")
        #expect(container("start", "tty").status == 0)
        let ours = describeTerminal(master)
        #expect(ours == ["/dev/pts/0", "30 100", "end-42"])
        _ = converse(master, "exit 3\n", until: "\u{0}")
        #expect(try await wait("tty", for: .stopped).status == .stopped)
        #expect(container("delete", "tty").status == 0)
        try expectGone("tty", config)

        guard Self.hasRunc else { return }
        let runcRoot = try TemporaryDirectory()
        let runcListener = try ConsoleListener(directory: runcRoot.path)
        _ = try await runc(runcRoot.path, "create", "--console-socket", runcListener.path, "-b", bundle.path, "theirs")
        let (runcMaster, runcName) = try runcListener.receive()
        defer { close(runcMaster) }
        _ = try await runc(runcRoot.path, "start", "theirs")
        let theirs = describeTerminal(runcMaster)
        _ = try await runc(runcRoot.path, "delete", "-f", "theirs")
        #expect(runcName == name && theirs == ours)
    }

    @Test(.enabled(if: canRun)) func execWithATerminal() throws {
        let initPID = try sleeper("shell")
        let listener = try ConsoleListener(directory: output.path)
        let process = #"{"terminal": true, "consoleSize": {"height": 30, "width": 100}, "args": ["sh"], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}}"#
        try process.write(toFile: output.path + "/process.json", atomically: false, encoding: .utf8)
        let result = container("exec", "-d", "--console-socket", listener.path, "--pid-file", output.path + "/exec.pid",
                               "-p", output.path + "/process.json", "shell")
        try #require(result.status == 0, "\(result.error)")
        let pid = try #require(outputFile("exec.pid").flatMap { Int32($0) })
        let (master, name) = try listener.receive()
        defer { close(master) }
        #expect(name == "/dev/ptmx")
        let lines = describeTerminal(master)
        // The container's devpts: the init has no terminal, so the shell's is the first.
        #expect(lines == ["/dev/pts/0", "30 100", "end-42"])
        #expect(namespace(pid, "pid") == namespace(initPID, "pid"))
        reap(pid)

        #expect(container("exec", "-t", "--console-socket", listener.path, "shell", "sh").error.contains("--console-socket needs --detach"))
        #expect(container("exec", "-d", "-t", "shell", "sh").error.contains("without --console-socket"))
        #expect(container("exec", "-d", "--console-socket", listener.path, "shell", "sh").error.contains("--console-socket needs"))
        #expect(container("delete", "-f", "shell").status == 0)
    }

    @Test(.enabled(if: canRun)) func runInTheForegroundRelaysTheTerminal() throws {
        var config = terminalConfig()
        config.process!.args = ["sh", "-c", "tty; stty size; exit 4"]
        try write(config)
        let result = container("run", "-b", bundle.path, "relayed")
        #expect(result.status == 4, "\(result.error)")
        #expect(result.out.contains("/dev/pts/0") && result.out.contains("30 100"), "\(result.out)")
        try expectGone("relayed", config)
    }

    @Test(.enabled(if: canRun)) func terminalMisuseIsRefused() throws {
        let config = terminalConfig()
        try write(config)
        let detached = container("create", "-b", bundle.path, "notty")
        #expect(detached.status == 1 && detached.error.contains("needs --console-socket"), "\(detached.error)")
        try expectGone("notty", config)
        try write(self.config("true"))
        let listener = try ConsoleListener(directory: output.path)
        let withoutTerminal = container("create", "--console-socket", listener.path, "-b", bundle.path, "notty")
        #expect(withoutTerminal.status == 1 && withoutTerminal.error.contains("--console-socket needs process.terminal"))
        let missing = container("create", "--console-socket", output.path + "/nobody.sock", "-b", bundle.path, "notty")
        #expect(missing.status == 1 && missing.error.contains("--console-socket needs process.terminal"))
        try write(config)
        let unreachable = container("create", "--console-socket", output.path + "/nobody.sock", "-b", bundle.path, "notty")
        #expect(unreachable.status == 1 && unreachable.error.contains("nobody.sock"), "\(unreachable.error)")
        try expectGone("notty", config)
    }
}
