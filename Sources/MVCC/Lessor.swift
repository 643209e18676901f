/// A reading of the caller's monotonic clock; the store never reads one itself.
/// Only the leader's expiry decisions use it, so replicas need not agree on it.
public struct MonotonicInstant: Hashable, Comparable, Sendable {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) {
        self.nanoseconds = nanoseconds
    }

    public static func seconds(_ seconds: Int64) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: seconds * 1_000_000_000)
    }

    public func adding(seconds: Int64) -> MonotonicInstant {
        MonotonicInstant(nanoseconds: nanoseconds + seconds * 1_000_000_000)
    }

    public static func < (lhs: MonotonicInstant, rhs: MonotonicInstant) -> Bool {
        lhs.nanoseconds < rhs.nanoseconds
    }
}

/// A granted lease: keys attached to it are deleted when it is revoked.
struct Lease: Hashable, Sendable {
    let id: Int64
    /// Granted TTL in seconds, after raising it to the minimum.
    let ttl: Int64
    var expiry: MonotonicInstant
    var keys: Set<[UInt8]> = []
}

/// Makes lease IDs the way etcd's idutil.Generator does (member ID in the top
/// 16 bits, then a millisecond timestamp and a counter), so that IDs from
/// different members and restarts do not collide. The server draws one before
/// proposing a grant with ID 0, so every replica applies the same ID.
public struct LeaseIDGenerator: Sendable {
    private let prefix: UInt64
    private var suffix: UInt64

    public init(memberID: UInt64, unixMilliseconds: UInt64) {
        prefix = (memberID & 0xffff) << 48
        suffix = (unixMilliseconds & (1 << 40 - 1)) << 8
    }

    /// The next non-zero ID, positive as lease IDs must be.
    public mutating func next() -> Int64 {
        while true {
            suffix &+= 1
            let id = Int64(bitPattern: (prefix | (suffix & (1 << 48 - 1))) & (1 << 63 - 1))
            if id != 0 { return id }
        }
    }
}

extension Store {
    /// etcd's MaxLeaseTTL, in seconds.
    public static var maxLeaseTTL: Int64 { 9_000_000_000 }

    /// LeaseGrant with the ID the proposal carries; expiry counts from `now`.
    public mutating func grantLease(id: Int64, ttl: Int64, now: MonotonicInstant) throws(MVCCError) -> LeaseGrantResponse {
        try checkQuota(Self.leaseOverhead)
        if id == 0 { throw .leaseNotFound }
        if ttl > Self.maxLeaseTTL { throw .leaseTTLTooLarge }
        if leases[id] != nil { throw .leaseExists }
        let granted = max(ttl, configuration.minLeaseTTL)
        leases[id] = Lease(id: id, ttl: granted, expiry: now.adding(seconds: granted))
        logicalSize += Self.leaseOverhead
        return LeaseGrantResponse(revision: currentRevision, id: id, ttl: granted)
    }

    /// LeaseRevoke: deletes the attached keys in key order, all in one revision.
    public mutating func revokeLease(id: Int64) throws(MVCCError) -> WriteResult<LeaseRevokeResponse> {
        guard let lease = leases.removeValue(forKey: id) else { throw .leaseNotFound }
        logicalSize -= Self.leaseOverhead
        var write = WriteContext(beginRevision: currentRevision)
        for key in lease.keys.sorted(by: { compareBytes($0, $1) < 0 }) {
            if let previous = latest(key) { deleteKey(previous, in: &write) }
        }
        let events = commit(write)
        return WriteResult(response: LeaseRevokeResponse(revision: currentRevision), events: events)
    }

    /// LeaseKeepAlive: restarts the lease's TTL from `now` and returns it. A lease that
    /// has already expired is only waiting for its revoke, so etcd answers "not found".
    public mutating func renewLease(id: Int64, now: MonotonicInstant) throws(MVCCError) -> Int64 {
        guard let lease = leases[id], lease.expiry > now else { throw .leaseNotFound }
        leases[id]?.expiry = now.adding(seconds: lease.ttl)
        return lease.ttl
    }

    /// LeaseTimeToLive, with the attached keys when asked.
    public func leaseTimeToLive(id: Int64, keys: Bool, now: MonotonicInstant) throws(MVCCError) -> LeaseTimeToLiveResponse {
        guard let lease = leases[id] else { throw .leaseNotFound }
        return LeaseTimeToLiveResponse(
            id: id,
            ttl: (lease.expiry.nanoseconds - now.nanoseconds) / 1_000_000_000,
            grantedTTL: lease.ttl,
            keys: keys ? lease.keys.sorted { compareBytes($0, $1) < 0 } : []
        )
    }

    /// LeaseLeases: every lease ID, soonest expiry first as etcd lists them.
    public var leaseIDs: [Int64] {
        leases.values.sorted { ($0.expiry, $0.id) < ($1.expiry, $1.id) }.map(\.id)
    }

    /// Leases whose TTL has run out at `now`, soonest first: the leader proposes a
    /// revoke for each (the store does not revoke by itself, so replicas stay equal).
    public func expiredLeases(at now: MonotonicInstant) -> [Int64] {
        leases.values.filter { $0.expiry <= now }.sorted { ($0.expiry, $0.id) < ($1.expiry, $1.id) }.map(\.id)
    }

    /// Restarts every lease's TTL from `now` plus `extendSeconds`, as etcd's lessor does
    /// when its member becomes leader, so leases do not expire during the hand-over.
    public mutating func promoteLeases(now: MonotonicInstant, extendSeconds: Int64) {
        for (id, lease) in leases {
            leases[id]?.expiry = now.adding(seconds: extendSeconds + lease.ttl)
        }
    }
}
