import CSystemd
import CoreboxCore

/// sd_notify(3): tells systemd about a service's state. Outside systemd
/// (no NOTIFY_SOCKET) every call is a no-op that returns false.
public enum ServiceManager {
    /// Sends `assignments` (`READY=1`, `STATUS=...`) in one datagram; true when systemd got it.
    @discardableResult
    public static func notify(_ assignments: [String]) throws(SystemError) -> Bool {
        let result = sd_notify(0, assignments.joined(separator: "\n"))
        if result < 0 { throw SystemError(errno: -result, operation: "sd_notify") }
        return result > 0
    }

    /// Start-up is complete (Type=notify services).
    @discardableResult
    public static func ready(status: String? = nil) throws(SystemError) -> Bool {
        try notify(["READY=1"] + (status.map { ["STATUS=\($0)"] } ?? []))
    }

    /// A one-line status shown by `systemctl status`.
    @discardableResult
    public static func status(_ text: String) throws(SystemError) -> Bool {
        try notify(["STATUS=\(text)"])
    }

    /// Keep-alive for services with WatchdogSec=.
    @discardableResult
    public static func watchdog() throws(SystemError) -> Bool {
        try notify(["WATCHDOG=1"])
    }

    @discardableResult
    public static func stopping() throws(SystemError) -> Bool {
        try notify(["STOPPING=1"])
    }
}
