// cgroup v2 has no devices files: a BPF_PROG_TYPE_CGROUP_DEVICE program
// attached to the cgroup decides every open and mknod of a device node. The
// rules are first reduced the way v1's devices cgroup would apply them one
// by one (as runc 1.1 does), so a config means the same on both versions;
// the program then checks the remaining exceptions and falls back to the default.

/// The device policy that `linux.resources.devices` leaves, as v1's devices
/// cgroup keeps it: a default and the exceptions to it.
public struct DeviceFilter: Equatable, Sendable {
    /// What the kernel asks for, as the program's context encodes it (BPF_DEVCG_ACC_*).
    public struct Access: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let mknod = Access(rawValue: 1)
        public static let read = Access(rawValue: 2)
        public static let write = Access(rawValue: 4)
        public static let all: Access = [.mknod, .read, .write]

        /// `rwm` letters; empty means all, as in the runtime-spec.
        public init(_ letters: String) {
            self = letters.isEmpty ? .all : []
            if letters.contains("r") { insert(.read) }
            if letters.contains("w") { insert(.write) }
            if letters.contains("m") { insert(.mknod) }
        }

        var letters: String { (contains(.read) ? "r" : "") + (contains(.write) ? "w" : "") + (contains(.mknod) ? "m" : "") }
    }

    /// Device kinds as the program's context encodes them (BPF_DEVCG_DEV_*).
    public enum Kind: UInt8, Sendable {
        case block = 1
        case char = 2
    }

    /// Devices matched by kind and number (nil: any number), exactly as v1 keys its exceptions.
    public struct Devices: Hashable, Sendable {
        public var kind: Kind
        public var major: UInt32?
        public var minor: UInt32?

        public init(kind: Kind, major: UInt32?, minor: UInt32?) {
            self.kind = kind
            self.major = major
            self.minor = minor
        }
    }

    public struct Exception: Equatable, Sendable {
        public var devices: Devices
        public var access: Access

        public init(devices: Devices, access: Access) {
            self.devices = devices
            self.access = access
        }
    }

    /// Whether a device no exception matches may be used.
    public private(set) var defaultAllow = true
    /// Each exception's access goes the other way from the default; ordered by
    /// number, then kind (any order decides the same; this one is runc's).
    public private(set) var exceptions: [Exception] = []

    /// The policy after applying `rules` in order to a new cgroup (which allows everything).
    public init(rules: [DeviceRule]) throws(CgroupPlanError) {
        var table: [Devices: Access] = [:]
        for (index, rule) in rules.enumerated() {
            let access = Access(rule.access)
            guard rule.type == "c" || rule.type == "b" else {
                // A rule for every device resets the policy (whatever its numbers and access).
                defaultAllow = rule.allow
                table = [:]
                continue
            }
            let devices = Devices(
                kind: rule.type == "b" ? .block : .char,
                major: try Self.number(rule.major, field: "devices[\(index)].major"),
                minor: try Self.number(rule.minor, field: "devices[\(index)].minor"))
            if rule.allow != defaultAllow {
                table[devices, default: []].formUnion(access)
                continue
            }
            // Taking back an exception: v1 only removes exact matches, so a
            // narrower rule inside a wildcard exception would silently do
            // nothing there; refuse it (as runc) rather than mislead.
            for wider in [Devices(kind: devices.kind, major: nil, minor: devices.minor),
                          Devices(kind: devices.kind, major: devices.major, minor: nil),
                          Devices(kind: devices.kind, major: nil, minor: nil)] where wider != devices {
                if let held = table[wider], !held.isDisjoint(with: access) {
                    throw CgroupPlanError(
                        "devices[\(index)] (\(Self.describe(devices, access))) cannot take access out of the wider rule \(Self.describe(wider, held))")
                }
            }
            let left = (table[devices] ?? []).subtracting(access)
            table[devices] = left.isEmpty ? nil : left
        }
        exceptions = table.map { Exception(devices: $0.key, access: $0.value) }.sorted { a, b in
            let left = (a.devices.major.map(Int64.init) ?? -1, a.devices.minor.map(Int64.init) ?? -1, a.devices.kind.rawValue)
            let right = (b.devices.major.map(Int64.init) ?? -1, b.devices.minor.map(Int64.init) ?? -1, b.devices.kind.rawValue)
            return left < right
        }
    }

    /// A rule's device number: negative or absent is any; the program's context holds 32 bits.
    static func number(_ value: Int64?, field: String) throws(CgroupPlanError) -> UInt32? {
        guard let value, value >= 0 else { return nil }
        guard let number = UInt32(exactly: value) else { throw CgroupPlanError("\(field): \(value) is not a device number (above 2^32-1)") }
        return number
    }

    /// The devices cgroup's notation: `c 1:3 rw`, `b *:* m`.
    static func describe(_ devices: Devices, _ access: Access) -> String {
        let major = devices.major.map(String.init) ?? "*"
        let minor = devices.minor.map(String.init) ?? "*"
        return "\(devices.kind == .block ? "b" : "c") \(major):\(minor) \(access.letters)"
    }

    // MARK: The program

    /// The eBPF program: load the context, then one block per exception
    /// that returns its decision when the device and the access match,
    /// then the default. Comparisons are 32-bit, as the context's fields are.
    public var program: [BPFInstruction] {
        typealias I = BPFInstruction
        // R1 points at struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }.
        var program: [BPFInstruction] = [
            I.loadWord(.r2, from: .r1, offset: 0), I.and32(.r2, 0xFFFF),  // kind: access_type's low half
            I.loadWord(.r3, from: .r1, offset: 0), I.shiftRight32(.r3, 16),  // access: its high half
            I.loadWord(.r4, from: .r1, offset: 4),  // major
            I.loadWord(.r5, from: .r1, offset: 8),  // minor
        ]
        let decision: Int32 = defaultAllow ? 0 : 1
        for exception in exceptions {
            let devices = exception.devices
            var block = [I.jumpIfNotEqual32(.r2, Int32(devices.kind.rawValue))]
            if exception.access != .all {
                // As v1: an allowed access must cover all that is asked for
                // (a read-write open of a read-only device is refused), a
                // denied one refuses any request it shares a bit with.
                // (runc 1.1 matches both ways as allowed ones, so it lets
                // a read-write open through a rule denying writes.)
                block += defaultAllow
                    ? [I.move32(.r1, .r3), I.and32(.r1, Int32(exception.access.rawValue)), I.jumpIfEqual32(.r1, 0)]
                    : [I.move32(.r1, .r3), I.and32(.r1, Int32(Access.all.subtracting(exception.access).rawValue)),
                       I.jumpIfNotEqual32(.r1, 0)]
            }
            if let major = devices.major { block.append(I.jumpIfNotEqual32(.r4, Int32(bitPattern: major))) }
            if let minor = devices.minor { block.append(I.jumpIfNotEqual32(.r5, Int32(bitPattern: minor))) }
            block += [I.move32(.r0, decision), I.exit]
            // Every check that fails goes to the next block.
            for index in block.indices where block[index].isJump { block[index].offset = Int16(block.count - index - 1) }
            program += block
        }
        return program + [I.move32(.r0, defaultAllow ? 1 : 0), I.exit]
    }
}

/// One eBPF instruction (struct bpf_insn), of the few kinds the device program uses.
public struct BPFInstruction: Equatable, Sendable {
    public enum Register: UInt8, Sendable {
        case r0 = 0, r1, r2, r3, r4, r5
    }

    public var code: UInt8
    public var destination: UInt8
    public var source: UInt8
    public var offset: Int16
    public var immediate: Int32

    // Opcode parts (linux/bpf_common.h, linux/bpf.h).
    static let classLDX: UInt8 = 0x01, classALU: UInt8 = 0x04, classJMP: UInt8 = 0x05, classJMP32: UInt8 = 0x06
    static let sizeWord: UInt8 = 0x00, modeMEM: UInt8 = 0x60
    static let sourceK: UInt8 = 0x00, sourceX: UInt8 = 0x08
    static let opAND: UInt8 = 0x50, opRSH: UInt8 = 0x70, opMOV: UInt8 = 0xB0
    static let opJEQ: UInt8 = 0x10, opJNE: UInt8 = 0x50, opEXIT: UInt8 = 0x90

    static func loadWord(_ destination: Register, from source: Register, offset: Int16) -> Self {
        Self(code: classLDX | modeMEM | sizeWord, destination: destination.rawValue, source: source.rawValue, offset: offset, immediate: 0)
    }

    static func and32(_ register: Register, _ value: Int32) -> Self {
        Self(code: classALU | opAND | sourceK, destination: register.rawValue, source: 0, offset: 0, immediate: value)
    }

    static func shiftRight32(_ register: Register, _ bits: Int32) -> Self {
        Self(code: classALU | opRSH | sourceK, destination: register.rawValue, source: 0, offset: 0, immediate: bits)
    }

    static func move32(_ destination: Register, _ source: Register) -> Self {
        Self(code: classALU | opMOV | sourceX, destination: destination.rawValue, source: source.rawValue, offset: 0, immediate: 0)
    }

    static func move32(_ destination: Register, _ value: Int32) -> Self {
        Self(code: classALU | opMOV | sourceK, destination: destination.rawValue, source: 0, offset: 0, immediate: value)
    }

    /// Skips the next `offset` instructions when the register's low 32 bits
    /// differ from `value`; the caller sets the offset once its target is known.
    static func jumpIfNotEqual32(_ register: Register, _ value: Int32) -> Self {
        Self(code: classJMP32 | opJNE | sourceK, destination: register.rawValue, source: 0, offset: 0, immediate: value)
    }

    /// The same, when they are equal.
    static func jumpIfEqual32(_ register: Register, _ value: Int32) -> Self {
        Self(code: classJMP32 | opJEQ | sourceK, destination: register.rawValue, source: 0, offset: 0, immediate: value)
    }

    var isJump: Bool { code & 0x07 == Self.classJMP32 }

    static let exit = Self(code: classJMP | opEXIT, destination: 0, source: 0, offset: 0, immediate: 0)

    /// The kernel's 8-byte encoding: code, dst_reg (low nibble) and src_reg, off, imm, little-endian.
    public var bytes: [UInt8] {
        let offset = UInt16(bitPattern: self.offset), immediate = UInt32(bitPattern: self.immediate)
        return [code, destination | source << 4, UInt8(offset & 0xFF), UInt8(offset >> 8),
                UInt8(immediate & 0xFF), UInt8(immediate >> 8 & 0xFF), UInt8(immediate >> 16 & 0xFF), UInt8(immediate >> 24)]
    }
}
