import EtcdAPI

/// `-w json`: etcdctl hands Go's generated structs (or clientv3's wrappers
/// of them) to encoding/json, so member names are the Go struct tags
/// (`cluster_id`, `create_revision`, `dbSize`, `ID`), zero values of
/// `omitempty` members are left out, 64-bit numbers are plain numbers and
/// bytes are base64. `--hex` changes nothing here (as in etcdctl 3.4).
struct JSONPrinter: ResponsePrinter {
    func get(_ response: Etcdserverpb_RangeResponse) -> [UInt8] { document { $0.range(response) } }
    func put(_ response: Etcdserverpb_PutResponse) -> [UInt8] { document { $0.put(response) } }
    func del(_ response: Etcdserverpb_DeleteRangeResponse) -> [UInt8] { document { $0.delete(response) } }
    func txn(_ response: Etcdserverpb_TxnResponse) -> [UInt8] { document { $0.txn(response) } }

    /// clientv3's WatchResponse: exported Go fields without tags, the header
    /// a struct value (always present), the events a slice it always makes.
    func watch(_ response: Etcdserverpb_WatchResponse) -> [UInt8] {
        document { json in
            json.object { json in
                json.key("Header")
                json.header(response.header)
                json.key("Events")
                json.array(response.events) { json, event in
                        json.object { json in
                            json.member("type", Int64(event.type.rawValue))
                            if event.hasKv { json.key("kv"); json.keyValue(event.kv) }
                            if event.hasPrevKv { json.key("prev_kv"); json.keyValue(event.prevKv) }
                        }
                }
                json.member("CompactRevision", response.compactRevision, omitEmpty: false)
                json.member("Canceled", response.canceled, omitEmpty: false)
                json.member("Created", response.created, omitEmpty: false)
            }
        }
    }

    /// clientv3's LeaseGrantResponse: the header's members inline (an
    /// embedded pointer), then ID, TTL and Error untagged.
    func grant(_ response: Etcdserverpb_LeaseGrantResponse) -> [UInt8] {
        document { json in
            json.object { json in
                if response.hasHeader { json.headerMembers(response.header) }
                json.member("ID", response.id, omitEmpty: false)
                json.member("TTL", response.ttl, omitEmpty: false)
                json.member("Error", response.error, omitEmpty: false)
            }
        }
    }

    func revoke(_ id: Int64, _ response: Etcdserverpb_LeaseRevokeResponse) -> [UInt8] {
        document { json in
            json.object { json in
                if response.hasHeader { json.key("header"); json.header(response.header) }
            }
        }
    }

    func keepAlive(_ response: Etcdserverpb_LeaseKeepAliveResponse) -> [UInt8] {
        document { json in
            json.object { json in
                if response.hasHeader { json.headerMembers(response.header) }
                json.member("ID", response.id, omitEmpty: false)
                json.member("TTL", response.ttl, omitEmpty: false)
            }
        }
    }

    func timeToLive(_ response: Etcdserverpb_LeaseTimeToLiveResponse, keys: Bool) -> [UInt8] {
        document { json in
            json.object { json in
                if response.hasHeader { json.headerMembers(response.header) }
                json.member("id", response.id, omitEmpty: false)
                json.member("ttl", response.ttl, omitEmpty: false)
                json.member("granted-ttl", response.grantedTtl, omitEmpty: false)
                json.key("keys")
                if response.keys.isEmpty {
                    json.null()
                } else {
                    json.array(response.keys) { $0.base64($1) }
                }
            }
        }
    }

    func leases(_ response: Etcdserverpb_LeaseLeasesResponse) -> [UInt8] {
        document { json in
            json.object { json in
                if response.hasHeader { json.headerMembers(response.header) }
                json.key("leases")
                json.array(response.leases) { json, lease in
                    json.object { $0.member("id", lease.id, omitEmpty: false) }
                }
            }
        }
    }

    func memberList(_ response: Etcdserverpb_MemberListResponse) -> [UInt8] {
        document { json in
            json.object { json in
                if response.hasHeader { json.key("header"); json.header(response.header) }
                if !response.members.isEmpty {
                    json.key("members")
                    json.array(response.members) { json, member in
                        json.object { json in
                            json.member("ID", member.id)
                            json.member("name", member.name)
                            json.member("peerURLs", strings: member.peerUrls)
                            json.member("clientURLs", strings: member.clientUrls)
                            json.member("isLearner", member.isLearner)
                        }
                    }
                }
            }
        }
    }

    /// etcdctl's own struct: `Endpoint` and the status response as `Status`.
    func endpointStatus(_ statuses: [EndpointStatus]) -> [UInt8] {
        document { json in
            json.array(statuses) { json, entry in
                json.object { json in
                    json.member("Endpoint", entry.endpoint, omitEmpty: false)
                    json.key("Status")
                    let status = entry.status
                    json.object { json in
                        if status.hasHeader { json.key("header"); json.header(status.header) }
                        json.member("version", status.version)
                        json.member("dbSize", status.dbSize)
                        json.member("leader", status.leader)
                        json.member("raftIndex", status.raftIndex)
                        json.member("raftTerm", status.raftTerm)
                        json.member("raftAppliedIndex", status.raftAppliedIndex)
                        json.member("errors", strings: status.errors)
                        json.member("dbSizeInUse", status.dbSizeInUse)
                        json.member("isLearner", status.isLearner)
                    }
                }
            }
        }
    }

    func endpointHealth(_ checks: [EndpointHealth]) -> [UInt8] {
        document { json in
            json.array(checks) { json, check in
                json.object { json in
                    json.member("endpoint", check.endpoint, omitEmpty: false)
                    json.member("health", check.healthy, omitEmpty: false)
                    json.member("took", check.took, omitEmpty: false)
                    json.member("error", check.error)
                }
            }
        }
    }

    var healthGoesToStandardError: Bool { false }

    /// One JSON document and a newline (Go's fmt.Println of the marshalled bytes).
    private func document(_ body: (inout GoJSON) -> Void) -> [UInt8] {
        var json = GoJSON()
        body(&json)
        return json.bytes + [UInt8(ascii: "\n")]
    }
}

/// The generated etcd structs, as encoding/json writes them.
extension GoJSON {
    mutating func header(_ header: Etcdserverpb_ResponseHeader) {
        object { $0.headerMembers(header) }
    }

    mutating func headerMembers(_ header: Etcdserverpb_ResponseHeader) {
        member("cluster_id", header.clusterID)
        member("member_id", header.memberID)
        member("revision", header.revision)
        member("raft_term", header.raftTerm)
    }

    mutating func keyValue(_ kv: Mvccpb_KeyValue) {
        object { json in
            json.member("key", bytes: kv.key)
            json.member("create_revision", kv.createRevision)
            json.member("mod_revision", kv.modRevision)
            json.member("version", kv.version)
            json.member("value", bytes: kv.value)
            json.member("lease", kv.lease)
        }
    }

    mutating func keyValues(_ name: String, _ kvs: [Mvccpb_KeyValue]) {
        guard !kvs.isEmpty else { return }
        key(name)
        array(kvs) { $0.keyValue($1) }
    }

    mutating func range(_ response: Etcdserverpb_RangeResponse) {
        object { json in
            if response.hasHeader { json.key("header"); json.header(response.header) }
            json.keyValues("kvs", response.kvs)
            json.member("more", response.more)
            json.member("count", response.count)
        }
    }

    mutating func put(_ response: Etcdserverpb_PutResponse) {
        object { json in
            if response.hasHeader { json.key("header"); json.header(response.header) }
            if response.hasPrevKv { json.key("prev_kv"); json.keyValue(response.prevKv) }
        }
    }

    mutating func delete(_ response: Etcdserverpb_DeleteRangeResponse) {
        object { json in
            if response.hasHeader { json.key("header"); json.header(response.header) }
            json.member("deleted", response.deleted)
            json.keyValues("prev_kvs", response.prevKvs)
        }
    }

    /// A ResponseOp: its oneof is an interface field `Response` holding a
    /// wrapper struct whose one field is named after the variant.
    mutating func txn(_ response: Etcdserverpb_TxnResponse) {
        object { json in
            if response.hasHeader { json.key("header"); json.header(response.header) }
            json.member("succeeded", response.succeeded)
            guard !response.responses.isEmpty else { return }
            json.key("responses")
            json.array(response.responses) { json, operation in
                json.object { json in
                    json.key("Response")
                    switch operation.response {
                    case .responseRange(let range): json.object { $0.key("ResponseRange"); $0.range(range) }
                    case .responsePut(let put): json.object { $0.key("ResponsePut"); $0.put(put) }
                    case .responseDeleteRange(let delete): json.object { $0.key("ResponseDeleteRange"); $0.delete(delete) }
                    case .responseTxn(let txn): json.object { $0.key("ResponseTxn"); $0.txn(txn) }
                    case nil: json.null()
                    }
                }
            }
        }
    }
}
