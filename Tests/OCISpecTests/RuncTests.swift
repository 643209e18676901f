import Foundation
@testable import OCISpec
import TestSupport
import Testing

/// `spec` and `features` against runc 1.1.5 on this machine.
struct RuncTests {
    static let runc = "/usr/sbin/runc"
    static let runcMissing = !FileManager.default.isExecutableFile(atPath: runc)

    /// runc's output for `arguments`, run in `directory`.
    static func run(_ arguments: [String], in directory: String) throws -> String {
        let process = Foundation.Process()
        process.executableURL = URL(fileURLWithPath: runc)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "runc \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    /// runc adds a cgroup namespace on a pure cgroup v2 host.
    static var cgroupNamespace: Bool { FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") }

    static func runcSpec(rootless: Bool) throws -> String {
        let directory = try TemporaryDirectory()
        _ = try run(rootless ? ["spec", "--rootless"] : ["spec"], in: directory.path)
        return try String(contentsOfFile: directory.path + "/config.json", encoding: .utf8)
    }

    @Test(.disabled(if: runcMissing, "runc is not installed at /usr/sbin/runc"))
    func specIsRuncsByteForByte() throws {
        let expected = try Self.runcSpec(rootless: false)
        #expect(ContainerConfig.runcDefault(cgroupNamespace: Self.cgroupNamespace).json() == expected)
    }

    @Test(.disabled(if: runcMissing, "runc is not installed at /usr/sbin/runc"))
    func rootlessSpecIsRuncsByteForByte() throws {
        let expected = try Self.runcSpec(rootless: true)
        let ours = ContainerConfig.runcDefault(rootless: (geteuid(), getegid()), cgroupNamespace: Self.cgroupNamespace)
        #expect(ours.json() == expected)
    }

    /// runc's own spec passes our checks and reads as the values it holds.
    @Test(.disabled(if: runcMissing, "runc is not installed at /usr/sbin/runc"))
    func runcsSpecDecodes() throws {
        for rootless in [false, true] {
            let config = try ContainerConfig.decode(Array(try Self.runcSpec(rootless: rootless).utf8))
            #expect(config == ContainerConfig.runcDefault(rootless: rootless ? (geteuid(), getegid()) : nil, cgroupNamespace: Self.cgroupNamespace))
            #expect(config.process?.args == ["sh"])
            #expect(config.linux?.namespaces.contains { $0.type == .user } == rootless)
            #expect(config.mounts.first { $0.destination == "/dev/pts" }?.options.contains("gid=5") == !rootless)
        }
    }

    /// Our features document has runc's shape: runc's own output, read into
    /// our values, writes back byte for byte.
    @Test(.disabled(if: runcMissing, "runc is not installed at /usr/sbin/runc"))
    func featuresHaveRuncsShape() throws {
        let text = try Self.run(["features"], in: "/")
        let features = try RuntimeFeatures.decode(Array(text.utf8))
        #expect(features.text == text)
        #expect(features.linux?.capabilities == KnownNames.capabilities)
        #expect(features.mountOptions == KnownNames.mountOptions)
        #expect(features.linux?.seccomp?.actions == SeccompAction.allCases.map(\.rawValue).sorted())
        #expect(features.linux?.seccomp?.operators == SeccompOperator.allCases.map(\.rawValue).sorted())
        let archs = Set(features.linux?.seccomp?.archs ?? []), namespaces = Set(features.linux?.namespaces ?? [])
        #expect(!archs.isEmpty && archs.isSubset(of: KnownNames.seccompArchitectureSet))
        #expect(!namespaces.isEmpty && namespaces.isSubset(of: Set(NamespaceType.allCases.map(\.rawValue))))
    }

    @Test func ourFeatures() throws {
        let features = RuntimeFeatures.corebox(version: "0.1.0", libseccompVersion: "2.5.4")
        let text = features.text
        #expect(text.hasPrefix("{\n    \"ociVersionMin\": \"1.0.0\",\n    \"ociVersionMax\": \"1.0.2-dev\",\n    \"hooks\": [\n        \"prestart\","))
        #expect(text.hasSuffix("        \"org.corebox.version\": \"0.1.0\"\n    }\n}\n"))
        #expect(text.contains("\"cgroup\": {\n            \"v1\": true,\n            \"v2\": true,\n            \"systemd\": false,"))
        #expect(features.linux?.namespaces == ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"])
        #expect(try RuntimeFeatures.decode(Array(text.utf8)) == features)
    }
}
