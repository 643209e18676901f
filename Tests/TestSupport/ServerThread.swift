import CoreboxSystem
import Foundation
import Synchronization
import Testing

/// A connection serving calls on a thread of its own, as a separate service
/// process would. The `Bus` is made, set up, served and closed on that thread.
public final class ServerThread {
    public let uniqueName: String
    private let control: Control

    /// What the test and the server thread share.
    private final class Control: Sendable {
        let stopping = Atomic<Bool>(false)
        let started = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let startup = Mutex<Result<String, any Error>?>(nil)
        let loopFailure = Mutex<(any Error)?>(nil)

        func serve(_ address: String, _ setup: (Bus) throws -> Void, _ idle: (Bus) throws -> Void) {
            let bus: Bus
            do {
                bus = try Bus(address: address)
                try setup(bus)
            } catch {
                startup.withLock { $0 = .failure(error) }
                started.signal()
                return
            }
            startup.withLock { $0 = .success(bus.uniqueName) }
            started.signal()
            do {
                while !stopping.load(ordering: .relaxed) {
                    try bus.processPending(timeout: .milliseconds(20))
                    try idle(bus)
                }
            } catch {
                loopFailure.withLock { $0 = error }
            }
        }
    }

    /// `idle` runs on the server thread after every turn of its loop (at
    /// least every 20 ms), for work a service does on its own, like a late signal.
    public init(
        address: String, setup: @escaping @Sendable (Bus) throws -> Void,
        idle: @escaping @Sendable (Bus) throws -> Void = { _ in }
    ) throws {
        let control = Control()
        self.control = control
        Thread {
            // serve() has returned, and so closed its bus, before the test hears it finished.
            control.serve(address, setup, idle)
            control.finished.signal()
        }.start()
        guard control.started.wait(timeout: .now() + 10) == .success else {
            control.stopping.store(true, ordering: .relaxed)
            throw SetupError("the server thread did not start within 10 s")
        }
        uniqueName = try control.startup.withLock { $0! }.get()
    }

    /// Ends the loop, waits for the thread and reports a loop that failed.
    public func stop() {
        control.stopping.store(true, ordering: .relaxed)
        control.finished.wait()
        if let failure = control.loopFailure.withLock({ $0 }) {
            Issue.record("server loop failed: \(failure)")
        }
    }
}
