import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc

/// Where the child sends its pty master: the caller's `--console-socket`,
/// or (in the foreground, with no socket) a socket pair of ours, whose
/// master the runtime relays to its own stdio as runc does.
final class ConsoleConnection {
    /// The end the child gets.
    let childEnd: Int32
    /// Ours, when we receive the master ourselves.
    private let ourEnd: Int32?

    init(socketPath: String?) throws(CommandError) {
        if let socketPath {
            childEnd = try Self.connect(socketPath)
            ourEnd = nil
            return
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw CommandError("console: \(SystemError(errno: errno, operation: "socketpair"))")
        }
        childEnd = pair[1]
        ourEnd = pair[0]
    }

    deinit {
        Syscall.close(childEnd)
        ourEnd.map(Syscall.close)
    }

    /// Connects a stream socket to the unix socket at `path`.
    static func connect(_ path: String) throws(CommandError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw CommandError("--console-socket: path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CommandError("--console-socket: \(SystemError(errno: errno, operation: "socket"))") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let error = SystemError(errno: errno, operation: "connect", path: path)
            Syscall.close(fd)
            throw CommandError("--console-socket: \(error)")
        }
        return fd
    }

    /// The master the child sent on our end; nil with the caller's socket.
    func receiveMaster() throws(CommandError) -> Int32? {
        guard let ourEnd else { return nil }
        var name = [CChar](repeating: 0, count: 64)
        let fd = corebox_receive_fd(ourEnd, &name, name.count)
        guard fd >= 0 else { throw CommandError("console: receive the pty master: \(String(cString: strerror(errno)))") }
        return fd
    }
}

/// A process the runtime waits for in the foreground (`run`, `exec`):
/// the signals the runtime gets are passed on to it, its terminal (the pty
/// master, if it has one) is relayed to the runtime's stdio, and its exit
/// status becomes the runtime's, 128 + N after signal N as in a shell.
struct ForegroundProcess {
    let pid: Int32
    let master: Int32?

    static let forwarded = [SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU]

    func wait(output: Output) throws(CommandError) -> Int32 {
        // Blocked here and read from a signalfd; not handlers, which would
        // be the whole process's (in-process callers, tests).
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in Self.forwarded { sigaddset(&signals, signal) }
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &signals, &previous)
        let signalFD = signalfd(-1, &signals, Int32(SFD_CLOEXEC | SFD_NONBLOCK))
        let pidFD = corebox_pidfd_open(pid)
        defer {
            if signalFD >= 0 {
                // Taken, not left to act on this process once unblocked; the
                // process is gone (its pid may be another's already).
                forwardPending(signalFD, to: nil)
                Syscall.close(signalFD)
            }
            if pidFD >= 0 { Syscall.close(pidFD) }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        }
        guard pidFD >= 0 else { throw CommandError("wait for pid \(pid): \(SystemError(errno: errno, operation: "pidfd_open"))") }
        if let master {
            let terminal = RawTerminal()
            relay(master: master, pidFD: pidFD, signalFD: signalFD, output: output)
            terminal.restore()
        }
        // Until it exits (at once when the relay saw it exit).
        var entries = [pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0), pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
        while entries[0].revents == 0 {
            if poll(&entries, nfds_t(entries.count), -1) > 0 && entries[1].revents != 0 { forwardPending(signalFD, to: pid) }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw CommandError("waitpid: \(SystemError(errno: errno, operation: "waitpid"))") }
        }
        return Subprocess.shellStatus(status)
    }

    /// Reads the signals received; sends each to `target` when there is one.
    private func forwardPending(_ signalFD: Int32, to target: Int32?) {
        var info = signalfd_siginfo()
        while read(signalFD, &info, MemoryLayout<signalfd_siginfo>.size) == MemoryLayout<signalfd_siginfo>.size {
            if let target { _ = kill(target, Int32(info.ssi_signo)) }
        }
    }

    /// Copies stdin to the master and the master to `output` until the
    /// process has exited and its terminal has nothing more to say, or no
    /// process holds the terminal any more.
    private func relay(master: Int32, pidFD: Int32, signalFD: Int32, output: Output) {
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        var buffer = [UInt8](repeating: 0, count: 16384)
        var stdinOpen = true
        var exited = false
        while true {
            var entries = [pollfd(fd: master, events: Int16(POLLIN), revents: 0), pollfd(fd: pidFD, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: signalFD, events: Int16(POLLIN), revents: 0)]
            if stdinOpen { entries.append(pollfd(fd: 0, events: Int16(POLLIN), revents: 0)) }
            // Once the process is gone, only what its terminal still holds.
            guard poll(&entries, nfds_t(entries.count), exited ? 0 : -1) >= 0 || errno == EINTR else { return }
            if entries[2].revents != 0 { forwardPending(signalFD, to: pid) }
            if entries[1].revents != 0 { exited = true }
            if entries[0].revents != 0 {
                let count = read(master, &buffer, buffer.count)
                if count > 0 {
                    output.out(String(decoding: buffer[..<count], as: UTF8.self))
                    continue
                }
                if count == 0 || (errno != EAGAIN && errno != EINTR) { return } // EIO: no process holds the terminal
            } else if exited {
                return
            }
            if stdinOpen, entries.count > 3, entries[3].revents != 0 {
                let count = read(0, &buffer, buffer.count)
                if count > 0 { try? Syscall.writeAll(master, Array(buffer[..<count])) } else { stdinOpen = false }
            }
        }
    }
}

/// The runtime's stdin in raw mode while it is relayed to a terminal
/// (when it is a terminal), so keys reach the container unprocessed.
private struct RawTerminal {
    private var saved: termios?

    init() {
        var attributes = termios()
        guard isatty(0) != 0, tcgetattr(0, &attributes) == 0 else { return }
        saved = attributes
        cfmakeraw(&attributes)
        _ = tcsetattr(0, TCSANOW, &attributes)
    }

    func restore() {
        guard var saved else { return }
        _ = tcsetattr(0, TCSANOW, &saved)
    }
}
