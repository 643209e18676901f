import Dispatch
import Glibc
import Logging
import Synchronization

/// Runs a long-lived service from a synchronous applet `main` (kvd,
/// locksmithd, update-agent): the stop signals are blocked before any thread
/// exists, the service starts on the concurrency runtime, systemd hears
/// READY once it serves, and SIGTERM or SIGINT stops it cleanly.
///
/// Processes the service spawns inherit the blocked mask; they must reset it.
public enum Daemon {
    /// Starts the service with `start`, which returns once it serves and
    /// hands back how to stop it; returns the applet's exit status.
    public static func run(
        logger: Logger,
        start: @escaping @Sendable () async throws -> @Sendable () async -> Void
    ) -> Int32 {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let stop = wait(logger) { try await start() }
        guard let stop else { return 1 }
        do { try ServiceManager.ready() } catch { logger.warning("sd_notify READY failed", metadata: ["error": "\(error)"]) }

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("stopping", metadata: ["signal": received == SIGTERM ? "SIGTERM" : "SIGINT"])
        _ = try? ServiceManager.stopping()
        _ = wait(logger) { await stop() }
        return 0
    }

    /// Runs `body` as a task and blocks this (non-pool) thread until it ends;
    /// nil when it threw, after logging the error once.
    private static func wait<Value: Sendable>(_ logger: Logger, _ body: @escaping @Sendable () async throws -> Value) -> Value? {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<Value, any Error>?>(nil)
        Task {
            let outcome: Result<Value, any Error>
            do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
            result.withLock { $0 = outcome }
            done.signal()
        }
        done.wait()
        switch result.withLock({ $0 })! {
        case .success(let value): return value
        case .failure(let error):
            logger.error("\(error)")
            return nil
        }
    }
}
