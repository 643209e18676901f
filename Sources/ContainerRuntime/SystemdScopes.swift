import CoreboxSystem
import OCISpec

/// `--systemd-cgroup`'s effects over the system bus: the transient scope
/// that holds the container's cgroup, started around the init once it has
/// joined the cgroup (systemd adopts the directory the runtime made, as it
/// is delegated), and stopped at delete.
enum SystemdScopes {
    static let timeout: Duration = .seconds(30)

    static func start(_ scope: SystemdCgroup, pid: Int32, id: String, limits: [(name: String, value: SystemdProperty)]) throws(CommandError) {
        let outcome: JobOutcome
        do {
            outcome = try SystemdManager(bus: try Bus.system()).startTransientScope(
                name: scope.unit, slice: scope.slice, pids: [UInt32(pid)], description: "container \(id)",
                limits: busValues(limits), timeout: timeout)
        } catch {
            throw CommandError("systemd: start \(scope.unit): \(error)")
        }
        guard outcome == .completed(result: "done") else { throw CommandError("systemd: start \(scope.unit): \(outcome)") }
    }

    /// Gives the scope new limits (`update`), so that systemd keeps them.
    static func setLimits(_ unit: String, _ limits: [(name: String, value: SystemdProperty)]) throws(CommandError) {
        guard !limits.isEmpty else { return }
        do { try SystemdManager(bus: try Bus.system()).setUnitProperties(unit, runtime: true, busValues(limits)) } catch {
            throw CommandError("systemd: set the limits of \(unit): \(error)")
        }
    }

    static func busValues(_ limits: [(name: String, value: SystemdProperty)]) -> [(String, BusValue)] {
        limits.map { limit in
            switch limit.value {
            case .uint64(let value): (limit.name, .uint64(value))
            case .mask(let bytes): (limit.name, .array(elementSignature: "y", bytes.map { .byte($0) }))
            }
        }
    }

    /// Stops the scope; one that is gone already (systemd drops an empty
    /// scope by itself) is no error.
    static func stop(_ unit: String, log: ContainerLog) {
        do { _ = try SystemdManager(bus: try Bus.system()).run(.stop, unit: unit, timeout: timeout) } catch {
            log.debug("systemd: stop \(unit): \(error)")
        }
    }
}
