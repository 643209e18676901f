/// The errors a client can observe, each with etcd 3.4's gRPC status code and
/// exact message (rpctypes/error.go): clients match on the text.
public enum MVCCError: Error, Hashable, Sendable, CustomStringConvertible {
    case emptyKey
    case keyNotFound
    case valueProvided
    case leaseProvided
    case tooManyOperations
    case duplicateKey
    case compacted
    case futureRevision
    case noSpace
    case leaseNotFound
    case leaseExists
    case leaseTTLTooLarge

    /// The gRPC status codes these errors map to.
    public enum StatusCode: Int, Sendable {
        case notFound = 5
        case failedPrecondition = 9
        case invalidArgument = 3
        case outOfRange = 11
        case resourceExhausted = 8
    }

    public var code: StatusCode {
        switch self {
        case .emptyKey, .keyNotFound, .valueProvided, .leaseProvided, .tooManyOperations, .duplicateKey:
            return .invalidArgument
        case .compacted, .futureRevision, .leaseTTLTooLarge: return .outOfRange
        case .noSpace: return .resourceExhausted
        case .leaseNotFound: return .notFound
        case .leaseExists: return .failedPrecondition
        }
    }

    public var message: String {
        switch self {
        case .emptyKey: return "etcdserver: key is not provided"
        case .keyNotFound: return "etcdserver: key not found"
        case .valueProvided: return "etcdserver: value is provided"
        case .leaseProvided: return "etcdserver: lease is provided"
        case .tooManyOperations: return "etcdserver: too many operations in txn request"
        case .duplicateKey: return "etcdserver: duplicate key given in txn request"
        case .compacted: return "etcdserver: mvcc: required revision has been compacted"
        case .futureRevision: return "etcdserver: mvcc: required revision is a future revision"
        case .noSpace: return "etcdserver: mvcc: database space exceeded"
        case .leaseNotFound: return "etcdserver: requested lease not found"
        case .leaseExists: return "etcdserver: lease already exists"
        case .leaseTTLTooLarge: return "etcdserver: too large lease TTL"
        }
    }

    public var description: String { message }
}
