import CloudConfig
import CoreboxCore
import CoreboxSystem
import Glibc

/// Where user-data and metadata come from, with coreos-cloudinit's
/// contract: a source may not be there yet (a config drive not mounted, a
/// metadata service not answering), so the caller polls `isAvailable`
/// before it fetches.
public protocol Datasource: Sendable {
    /// The type coreos-cloudinit logs for it: "local-file", "url",
    /// "cloud-drive", "ec2-metadata-service", "proc-cmdline"; ours "nocloud".
    var kind: String { get }
    /// Whether it is there now; probes the disk or the network.
    func isAvailable() -> Bool
    /// Whether waiting can make an unavailable source available: false only
    /// where the answer is fixed for the boot (the kernel command line).
    var availabilityChanges: Bool { get }
    /// The directory or URL the source's other files live under (coreos-cloudinit's
    /// ConfigRoot), "" when it has none.
    var configRoot: String { get }
    func fetchUserData() throws(DatasourceError) -> [UInt8]
    func fetchMetadata() throws(DatasourceError) -> Metadata
}

/// A datasource that could not deliver, in one sentence naming what failed.
public struct DatasourceError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

extension DatasourceError {
    init(_ error: SystemError) { self.init(error.description) }
    init(_ error: MetadataError) { self.init(error.description) }
}

/// How `selectDatasource` waits: coreos-cloudinit probes each source, then
/// waits 100 ms, doubling up to 30 s, and gives up on all after 5 minutes.
public struct WaitSchedule: Sendable {
    public var initialInterval: Duration
    public var maximumInterval: Duration
    public var timeout: Duration

    public init(initialInterval: Duration, maximumInterval: Duration, timeout: Duration) {
        self.initialInterval = initialInterval
        self.maximumInterval = maximumInterval
        self.timeout = timeout
    }

    public static let coreosCloudinit = WaitSchedule(
        initialInterval: .milliseconds(100), maximumInterval: .seconds(30), timeout: .seconds(300))
}

/// The first source found available, each polled on its own backoff, or nil
/// when the timeout passes or every source has said it never will be.
/// coreos-cloudinit polls in one goroutine per source and takes whichever
/// answers first; polling in turn gives the same result, and when two are
/// available at once, the earlier in `sources` wins rather than a race.
public func selectDatasource(_ sources: [any Datasource], schedule: WaitSchedule = .coreosCloudinit) -> (any Datasource)? {
    let clock = ContinuousClock()
    let deadline = clock.now + schedule.timeout
    var waiting = sources.map { (source: $0, next: clock.now, interval: schedule.initialInterval) }
    while true {
        var index = 0
        while index < waiting.count {
            if waiting[index].next <= clock.now {
                if waiting[index].source.isAvailable() { return waiting[index].source }
                if !waiting[index].source.availabilityChanges {
                    waiting.remove(at: index)
                    continue
                }
                waiting[index].next = clock.now + waiting[index].interval
                waiting[index].interval = min(waiting[index].interval * 2, schedule.maximumInterval)
            }
            index += 1
        }
        guard let soonest = waiting.map(\.next).min(), clock.now < deadline else { return nil }
        pause(clock.now.duration(to: min(soonest, deadline)))
    }
}

/// Sleeps the calling thread (the applet is single-threaded while it waits).
func pause(_ duration: Duration) {
    guard duration > .zero else { return }
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1, errno == EINTR { request = remaining }
}
