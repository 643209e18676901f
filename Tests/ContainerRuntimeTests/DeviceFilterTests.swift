import CoreboxCore
import CoreboxSystem
import Foundation
import Glibc
import OCISpec
import Testing

@testable import ContainerRuntime

/// cgroup v2 device rules: the v1 reduction and the eBPF program, run by a
/// small interpreter of the instructions it uses; then the program in the
/// kernel, on a cgroup of this machine's v2 hierarchy.
@Suite struct DeviceFilterTests {
    /// A rule in the devices cgroup's words: `allow c 1:3 rw`, `deny a`.
    static func rule(_ text: String) -> DeviceRule {
        let words = text.split(separator: " ").map(String.init)
        var rule = DeviceRule()
        rule.allow = words[0] == "allow"
        rule.type = words.count > 1 ? words[1] : ""
        if words.count > 2 {
            let numbers = words[2].split(separator: ":")
            rule.major = Int64(numbers[0]) ?? -1
            rule.minor = Int64(numbers[1]) ?? -1
        }
        rule.access = words.count > 3 ? words[3] : ""
        return rule
    }

    static func filter(_ rules: String...) throws -> DeviceFilter {
        try DeviceFilter(rules: rules.map(rule))
    }

    /// Runs the program on one request as the kernel would; nil when it is
    /// not a program this interpreter can run to the end.
    static func run(_ program: [BPFInstruction], _ kind: DeviceFilter.Kind, _ major: UInt32, _ minor: UInt32, _ access: DeviceFilter.Access) -> UInt64? {
        let context: [UInt32] = [UInt32(access.rawValue) << 16 | UInt32(kind.rawValue), major, minor]
        let contextAddress: UInt64 = 0xC0DE_0000
        var registers = [UInt64](repeating: 0, count: 11)
        registers[1] = contextAddress
        var pc = 0
        while pc < program.count {
            let instruction = program[pc]
            let destination = Int(instruction.destination), source = Int(instruction.source)
            let operand = instruction.code & 0x08 == 0 ? UInt32(bitPattern: instruction.immediate) : UInt32(truncatingIfNeeded: registers[source])
            let low = UInt32(truncatingIfNeeded: registers[destination])
            pc += 1
            switch instruction.code {
            case 0x61:  // ldxw dst, [src + off]: only the context's three words
                let offset = Int64(registers[source]) - Int64(contextAddress) + Int64(instruction.offset)
                guard offset >= 0, offset % 4 == 0, offset / 4 < 3 else { return nil }
                registers[destination] = UInt64(context[Int(offset / 4)])
            case 0x54, 0x5C: registers[destination] = UInt64(low & operand)  // and32
            case 0x74: registers[destination] = UInt64(low >> operand)  // rsh32
            case 0xB4, 0xBC: registers[destination] = UInt64(operand)  // mov32
            case 0x16, 0x1E, 0x56, 0x5E:  // jeq32, jne32: forward only
                guard instruction.offset >= 0 else { return nil }
                if (low == operand) == (instruction.code & 0xF0 == 0x10) { pc += Int(instruction.offset) }
            case 0x95: return registers[0]  // exit
            default: return nil
            }
        }
        return nil
    }

    static func allows(_ filter: DeviceFilter, _ kind: DeviceFilter.Kind, _ major: UInt32, _ minor: UInt32, _ access: DeviceFilter.Access) -> Bool? {
        run(filter.program, kind, major, minor, access).map { $0 == 1 }
    }

    // MARK: Pure

    @Test func runcDefaultConfig() throws {
        // `runc spec`'s deny-all plus the devices every container gets.
        let filter = try DeviceFilter(rules: ContainerCreation.resources(ContainerConfig.runcDefault()).devices)
        #expect(!filter.defaultAllow)
        #expect(Self.allows(filter, .char, 1, 3, [.read, .write]) == true)  // /dev/null
        #expect(Self.allows(filter, .char, 1, 9, .read) == true)  // /dev/urandom
        #expect(Self.allows(filter, .char, 136, 4, [.read, .write]) == true)  // a pty
        #expect(Self.allows(filter, .char, 10, 200, .write) == true)  // /dev/net/tun
        #expect(Self.allows(filter, .char, 1, 1, .read) == false)  // /dev/mem
        #expect(Self.allows(filter, .char, 4, 0, .write) == false)  // /dev/tty0
        #expect(Self.allows(filter, .block, 8, 0, .read) == false)  // /dev/sda
        // mknod of any node is allowed, opening it is not.
        #expect(Self.allows(filter, .block, 8, 0, .mknod) == true)
        #expect(Self.allows(filter, .char, 4, 0, .mknod) == true)
    }

    @Test func aConfigWithoutRulesGetsRuncsWhitelist() throws {
        // runc's emulator starts from deny-all: no rules in the config is not "every device".
        var config = ContainerConfig.runcDefault()
        config.linux?.resources = nil
        let filter = try DeviceFilter(rules: ContainerCreation.resources(config).devices)
        #expect(!filter.defaultAllow)
        #expect(Self.allows(filter, .char, 1, 3, [.read, .write]) == true)  // /dev/null
        #expect(Self.allows(filter, .block, 8, 0, .read) == false)  // /dev/sda
        // An allow-all rule still opens everything.
        var privileged = DeviceRule()
        (privileged.allow, privileged.access) = (true, "rwm")
        config.linux?.resources = Resources()
        config.linux?.resources?.devices = [privileged]
        #expect(try DeviceFilter(rules: ContainerCreation.resources(config).devices).defaultAllow)
    }

    @Test func denyList() throws {
        let filter = try Self.filter("allow a", "deny c 1:3 w")
        #expect(filter.defaultAllow)
        #expect(filter.exceptions == [.init(devices: .init(kind: .char, major: 1, minor: 3), access: .write)])
        #expect(Self.allows(filter, .char, 1, 3, .read) == true)
        #expect(Self.allows(filter, .char, 1, 3, .write) == false)
        // A request sharing any access with a denied one is refused: a read-write open too.
        #expect(Self.allows(filter, .char, 1, 3, [.read, .write]) == false)
        #expect(Self.allows(filter, .char, 1, 3, [.read, .mknod]) == true)
        #expect(Self.allows(filter, .char, 1, 5, .write) == true)
        #expect(Self.allows(filter, .block, 1, 3, .write) == true)
    }

    @Test func rulesApplyInOrderAsV1Does() throws {
        // Access of the same devices merges; a deny takes part of it back.
        let merged = try Self.filter("deny a", "allow c 1:3 r", "allow c 1:3 w", "allow c 1:3 m", "deny c 1:3 w")
        #expect(merged.exceptions == [.init(devices: .init(kind: .char, major: 1, minor: 3), access: [.read, .mknod])])
        #expect(Self.allows(merged, .char, 1, 3, .read) == true)
        #expect(Self.allows(merged, .char, 1, 3, .write) == false)
        #expect(Self.allows(merged, .char, 1, 3, [.read, .write]) == false)
        #expect(Self.allows(merged, .char, 1, 3, [.read, .mknod]) == true)
        // A rule for all devices starts over: earlier exceptions go.
        let reset = try Self.filter("deny a", "allow c 1:3 rwm", "allow a", "deny b 8:* rw")
        #expect(reset.defaultAllow)
        #expect(reset.exceptions == [.init(devices: .init(kind: .block, major: 8, minor: nil), access: [.read, .write])])
        #expect(Self.allows(reset, .block, 8, 17, .read) == false)
        #expect(Self.allows(reset, .block, 8, 17, .mknod) == true)
        #expect(Self.allows(reset, .block, 9, 0, .read) == true)
        // An allow that matches the default, or a deny of nothing held, changes nothing.
        #expect(try Self.filter("deny a", "deny c 1:3 rwm").exceptions.isEmpty)
        #expect(try Self.filter().defaultAllow)
        #expect(try Self.filter().program.count == 8)
        // No type is every type.
        #expect(try !Self.filter("deny", "allow c 1:3").defaultAllow)
    }

    @Test func refusesHolesInWiderRules() throws {
        let hole = #expect(throws: CgroupPlanError.self) { try Self.filter("deny a", "allow c *:* rwm", "deny c 1:3 w") }
        #expect(hole?.description == "devices[2] (c 1:3 w) cannot take access out of the wider rule c *:* rwm")
        // A disjoint access is fine.
        #expect(try Self.filter("deny a", "allow c 1:* r", "deny c 1:3 w").exceptions.count == 1)
        let range = #expect(throws: CgroupPlanError.self) { try Self.filter("deny a", "allow c 4294967296:1 r") }
        #expect(range?.description == "devices[1].major: 4294967296 is not a device number (above 2^32-1)")
    }

    @Test func largeNumbersCompareAs32Bits() throws {
        let filter = try Self.filter("deny a", "allow c 4294967295:2147483648 r")
        #expect(Self.allows(filter, .char, 4_294_967_295, 2_147_483_648, .read) == true)
        #expect(Self.allows(filter, .char, 4_294_967_295, 0, .read) == false)
    }

    @Test func instructionBytes() throws {
        let program = try Self.filter("deny a", "allow c 1:3 r").program
        // ldxw r2, [r1 + 0]; and32 r2, 0xffff: struct bpf_insn, little-endian.
        #expect(program[0].bytes == [0x61, 0x12, 0, 0, 0, 0, 0, 0])
        #expect(program[1].bytes == [0x54, 0x02, 0, 0, 0xFF, 0xFF, 0, 0])
        #expect(program.last?.bytes == [0x95, 0, 0, 0, 0, 0, 0, 0])
        // The block: the kind check, the access mask and its check, major,
        // minor, the decision; a failed check jumps to the default (at 14).
        #expect(program.count == 16)
        #expect(program[6].code == 0x56 && program[6].offset == 7)
        #expect(program[11].code == 0x56 && program[11].offset == 2)
    }

    // MARK: In the kernel

    /// The cgroup v2 hierarchy of this machine (pure v2, or hybrid's unified mount).
    static let unified: CgroupHierarchy? = {
        switch (getuid() == 0 ? try? Cgroups.detectLayout() : nil) {
        case .unified(let hierarchy)?, .hybrid(_, let hierarchy)?: hierarchy
        default: nil
        }
    }()

    @Test(.enabled(if: unified != nil)) func kernelEnforcesTheProgram() throws {
        let hierarchy = try #require(Self.unified)
        let id = "corebox-devices-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var resources = Resources()
        resources.devices = [Self.rule("allow a"), Self.rule("deny c 1:3 w")]
        let plan = try CgroupPlanner.plan(resources: resources, cgroupsPath: "/" + id, id: id, layout: .unified(hierarchy))
        defer { try? Cgroups.remove(plan) }
        try Cgroups.apply(plan)
        let cgroup = try #require(plan.directories.first).path

        // The shell moves itself in first; its redirection opens /dev/null O_WRONLY.
        let script = """
            echo $$ > \(cgroup)/cgroup.procs || exit 9
            if echo x > /dev/null; then echo null-writable; fi
            if (: 3<> /dev/null); then echo null-read-writable; fi
            head -c 5 /dev/zero | wc -c
            cat /dev/null && echo null-readable
            """
        let result = try Subprocess.run("/bin/sh", ["-c", script])
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.components(separatedBy: "/dev/null: Operation not permitted").count == 3, "\(result.output)")
        #expect(!result.output.contains("null-writable") && !result.output.contains("null-read-writable"), "\(result.output)")
        #expect(result.output.contains("5\n") && result.output.contains("null-readable"), "\(result.output)")

        try Cgroups.remove(plan)
        #expect(!FileManager.default.fileExists(atPath: cgroup), "\(cgroup) left behind")
    }
}
