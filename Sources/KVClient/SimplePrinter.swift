import CoreboxCore
import EtcdAPI

/// `-w simple`, etcdctl's default: keys and values on lines of their own,
/// one line of text for the other answers.
struct SimplePrinter: ResponsePrinter {
    /// `--hex`: keys and values as `\x..` escapes of every byte.
    var hex = false
    /// `get --print-value-only`: values without their keys.
    var valueOnly = false

    func get(_ response: Etcdserverpb_RangeResponse) -> [UInt8] {
        var out: [UInt8] = []
        for kv in response.kvs { append(kv, to: &out) }
        return out
    }

    /// `get --count-only` (etcdctl 3.5's flag): the count alone.
    func count(_ response: Etcdserverpb_RangeResponse) -> [UInt8] {
        Array("\(response.count)\n".utf8)
    }

    func put(_ response: Etcdserverpb_PutResponse) -> [UInt8] {
        var out = Array("OK\n".utf8)
        if response.hasPrevKv { append(response.prevKv, to: &out) }
        return out
    }

    func del(_ response: Etcdserverpb_DeleteRangeResponse) -> [UInt8] {
        var out = Array("\(response.deleted)\n".utf8)
        for kv in response.prevKvs { append(kv, to: &out) }
        return out
    }

    func txn(_ response: Etcdserverpb_TxnResponse) -> [UInt8] {
        var out = Array((response.succeeded ? "SUCCESS\n" : "FAILURE\n").utf8)
        for operation in response.responses {
            out.append(UInt8(ascii: "\n"))
            switch operation.response {
            case .responseRange(let range): out += get(range)
            case .responsePut(let put): out += self.put(put)
            case .responseDeleteRange(let delete): out += del(delete)
            case .responseTxn, nil: out += Array("unexpected response \(operation)\n".utf8)
            }
        }
        return out
    }

    func watch(_ response: Etcdserverpb_WatchResponse) -> [UInt8] {
        var out: [UInt8] = []
        for event in response.events {
            out += Array((event.type == .delete ? "DELETE\n" : "PUT\n").utf8)
            if event.hasPrevKv { append(event.prevKv, to: &out) }
            append(event.kv, to: &out)
        }
        return out
    }

    func grant(_ response: Etcdserverpb_LeaseGrantResponse) -> [UInt8] {
        line("lease \(Self.leaseID(response.id)) granted with TTL(\(response.ttl)s)")
    }

    func revoke(_ id: Int64, _ response: Etcdserverpb_LeaseRevokeResponse) -> [UInt8] {
        line("lease \(Self.leaseID(id)) revoked")
    }

    func keepAlive(_ response: Etcdserverpb_LeaseKeepAliveResponse) -> [UInt8] {
        line("lease \(Self.leaseID(response.id)) keepalived with TTL(\(response.ttl))")
    }

    func timeToLive(_ response: Etcdserverpb_LeaseTimeToLiveResponse, keys: Bool) -> [UInt8] {
        let id = Self.leaseID(response.id)
        if response.grantedTtl == 0 && response.ttl == -1 { return line("lease \(id) already expired") }
        var out = Array("lease \(id) granted with TTL(\(response.grantedTtl)s), remaining(\(response.ttl)s)".utf8)
        if keys {
            // Go's %v of a []string: the elements between brackets, space-separated.
            out += Array(", attached keys([".utf8)
            for (index, key) in response.keys.enumerated() {
                if index > 0 { out.append(UInt8(ascii: " ")) }
                out += Array(key)
            }
            out += Array("])".utf8)
        }
        return out + [UInt8(ascii: "\n")]
    }

    func leases(_ response: Etcdserverpb_LeaseLeasesResponse) -> [UInt8] {
        var text = "found \(response.leases.count) leases\n"
        for lease in response.leases { text += Self.leaseID(lease.id) + "\n" }
        return Array(text.utf8)
    }

    func memberList(_ response: Etcdserverpb_MemberListResponse) -> [UInt8] {
        var text = ""
        for member in response.members {
            text += [
                String(member.id, radix: 16),
                member.name.isEmpty ? "unstarted" : "started",
                member.name,
                member.peerUrls.joined(separator: ","),
                member.clientUrls.joined(separator: ","),
                String(member.isLearner),
            ].joined(separator: ", ") + "\n"
        }
        return Array(text.utf8)
    }

    func endpointStatus(_ statuses: [EndpointStatus]) -> [UInt8] {
        var text = ""
        for entry in statuses {
            let status = entry.status
            text += [
                entry.endpoint,
                String(status.header.memberID, radix: 16),
                status.version,
                GoSyntax.humanBytes(UInt64(bitPattern: status.dbSize)),
                String(status.leader == status.header.memberID),
                String(status.isLearner),
                String(status.raftTerm),
                String(status.raftIndex),
                String(status.raftAppliedIndex),
                status.errors.joined(separator: ", "),
            ].joined(separator: ", ") + "\n"
        }
        return Array(text.utf8)
    }

    func endpointHealth(_ checks: [EndpointHealth]) -> [UInt8] {
        var text = ""
        for check in checks {
            text += check.error.isEmpty
                ? "\(check.endpoint) is healthy: successfully committed proposal: took = \(check.took)\n"
                : "\(check.endpoint) is unhealthy: failed to commit proposal: \(check.error)\n"
        }
        return Array(text.utf8)
    }

    var healthGoesToStandardError: Bool { true }

    // MARK: Pieces

    /// A key and its value, each on a line (the value alone with `valueOnly`).
    private func append(_ kv: Mvccpb_KeyValue, to out: inout [UInt8]) {
        if !valueOnly {
            out += hex ? Self.hexEscaped(kv.key) : Array(kv.key)
            out.append(UInt8(ascii: "\n"))
        }
        out += hex ? Self.hexEscaped(kv.value) : Array(kv.value)
        out.append(UInt8(ascii: "\n"))
    }

    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    /// A lease ID as etcdctl prints it (Go's `%016x` of an int64): 16 hex
    /// digits, a negative one with its sign among the 16.
    static func leaseID(_ id: Int64) -> String {
        guard id < 0 else { return UInt64(id).paddedHex }
        let digits = String(id.magnitude, radix: 16)
        return "-" + String(repeating: "0", count: max(0, 15 - digits.count)) + digits
    }

    /// `--hex`: every byte as `\x` and two lower-case hex digits.
    static func hexEscaped(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out += [UInt8(ascii: "\\"), UInt8(ascii: "x"), digits[Int(byte >> 4)], digits[Int(byte & 15)]]
        }
        return out
    }
}
