// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "corebox",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "corebox", targets: ["corebox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0",
            // Without its default traits: BinaryDelimitedStreams would link all of Foundation.
            traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        // grpc-swift is the tests' independent gRPC client, never linked into corebox.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
    ],
    targets: [
        // C libraries from Debian. A pkgConfig entry would add `-lsystemd`,
        // `-lcurl`, ... to the link, so none names one: libseccomp and libyaml
        // link their static archives through their module maps; libsystemd and
        // libcurl are declared for their headers only, because CCoreboxShims
        // loads them with dlopen on first use (docs/ARCHITECTURE.md, "Start-up cost").
        .systemLibrary(name: "CSystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CSeccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CYaml", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CCoreboxShims", linkerSettings: [.linkedLibrary("dl")]),
        // The container's first process from clone to exec, in C (no Swift
        // between fork and exec; docs/container.md).
        .target(name: "CContainer"),
        // CRC-32C with the CPU's instruction (CoreboxCore's CRC32C uses it when there).
        .target(name: "CCRC32C"),

        // Pure: layout, config files, applet registry, error types, checksums.
        .target(name: "CoreboxCore", dependencies: ["CCRC32C", "CZlib"]),
        .target(name: "Raft"),
        // Effects: syscalls, files, journal, sd_notify, sd-bus, HTTP.
        .target(
            name: "CoreboxSystem",
            dependencies: [
                "CoreboxCore", "CSystemd", "CCurl", "CCoreboxShims",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),

        // kvd's storage: the write-ahead log (segments, rolling CRC-32C, group commit).
        .target(name: "WriteAheadLog", dependencies: ["CoreboxCore", "CoreboxSystem"]),
        // gRPC over HTTP/2 on SwiftNIO, frame-level, and HTTP/1.1 on the same port (docs/kvd.md).
        .target(
            name: "GRPCWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        // The kvd applet (docs/kvd.md): the replicated store and etcd's services.
        .target(
            name: "KVServer",
            dependencies: [
                "CoreboxCore", "CoreboxSystem", "Raft", "WriteAheadLog", "MVCC", "EtcdAPI", "GRPCWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        // The kvctl applet (docs/kvctl.md): etcdctl's commands and a load generator, on GRPCWire's client.
        .target(name: "KVClient", dependencies: ["CoreboxCore", "CoreboxSystem", "GRPCWire", "EtcdAPI"]),
        .target(name: "MVCC", dependencies: ["CoreboxCore"]),
        // YAML text to nodes with their line and column, on libyaml's event API (cloud-config's parser).
        .target(name: "YAML", dependencies: ["CYaml"]),
        // cloud-config (docs/cloud-init.md), pure: user-data, the schema and its
        // report, metadata, and the planner (config + system snapshot -> steps).
        .target(name: "CloudConfig", dependencies: ["CoreboxCore", "YAML"]),
        // The cloud-init applet: datasources, the snapshot of the system, the
        // applier (files, accounts, systemd over D-Bus), per-instance state.
        .target(name: "CloudInit", dependencies: ["CoreboxCore", "CoreboxSystem", "CloudConfig"]),
        // The container applet's pure half (issue 5, docs/container.md): the
        // runtime-spec's config.json and state as values, checked with the
        // path of every error.
        .target(name: "OCISpec", dependencies: ["CoreboxCore"]),
        // OCI image layouts and docker archives: index, manifests, configs,
        // digests, and layers applied with whiteouts (issue 5).
        .target(name: "OCIImage", dependencies: ["CoreboxCore", "CoreboxSystem"]),
        // The container applet (issue 5): the spec turned into the C child's
        // configuration, seccomp through libseccomp, cgroups, state.
        .target(name: "ContainerRuntime", dependencies: ["CoreboxCore", "CoreboxSystem", "OCISpec", "OCIImage", "CContainer", "CSeccomp"]),
        // etcd 3.4's gRPC API: our .proto files and the messages generated from them
        // (scripts/generate-protos).
        .target(
            name: "EtcdAPI",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["proto"]
        ),
        // grpc-swift's client stubs for the same .proto files: the tests' second
        // gRPC implementation.
        .target(
            name: "EtcdGRPCStubs",
            dependencies: [
                "EtcdAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "Tests/EtcdGRPCStubs"
        ),

        .executableTarget(
            name: "corebox",
            dependencies: ["CoreboxCore", "CoreboxSystem", "KVServer", "KVClient", "CloudInit", "ContainerRuntime", .product(name: "Logging", package: "swift-log")],
            exclude: ["link"],
            // Every exec of every applet starts faster (docs/ARCHITECTURE.md,
            // "Start-up cost"): a position-dependent executable has almost no
            // load-time relocations (21,589 -> 347), and `link/` makes the C++
            // runtime and libgcc static (no libstdc++.so or libgcc_s.so to load).
            linkerSettings: [.unsafeFlags([
                "-Xclang-linker", "-no-pie", "-Xlinker", "--no-export-dynamic",
                "-Xclang-linker", "-L\(Context.packageDirectory)/Sources/corebox/link", "-Xclang-linker", "-static-libgcc",
            ])]
        ),

        .testTarget(name: "CoreboxCoreTests", dependencies: ["CoreboxCore"]),
        .testTarget(name: "RaftTests", dependencies: ["Raft"]),
        .testTarget(
            name: "CoreboxSystemTests",
            dependencies: ["CoreboxSystem", "CoreboxCore", "CSystemd", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "CoreboxCLITests", dependencies: ["CoreboxCore", "CoreboxSystem", "TestSupport"]),
        .testTarget(name: "WriteAheadLogTests", dependencies: ["WriteAheadLog", "CoreboxSystem", "CoreboxCore"]),
        // Child processes and real clients (etcdctl, python-etcd3, curl) for the tests.
        .target(name: "TestSupport", dependencies: ["CoreboxSystem"], path: "Tests/TestSupport"),
        .testTarget(name: "KVServerTests", dependencies: ["TestSupport", "KVServer", "Raft", "WriteAheadLog", "CoreboxCore", "CoreboxSystem", "MVCC", "EtcdAPI", "EtcdGRPCStubs"]),
        .testTarget(name: "MVCCTests", dependencies: ["MVCC", "CoreboxCore"]),
        .testTarget(name: "GRPCWireTests", dependencies: ["GRPCWire"]),
        .testTarget(name: "KVClientTests", dependencies: ["KVClient", "EtcdAPI"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML"]),
        .testTarget(name: "CloudConfigTests", dependencies: ["CloudConfig", "YAML"], exclude: ["Corpus"]),
        .testTarget(name: "CloudInitTests", dependencies: ["CloudInit", "CloudConfig", "CoreboxSystem", "CoreboxCore", "TestSupport"]),
        .testTarget(name: "ContainerChildTests", dependencies: ["CContainer", "ContainerRuntime", "TestSupport"]),
        .testTarget(name: "ContainerRuntimeTests", dependencies: ["ContainerRuntime", "OCISpec", "OCIImage", "CContainer", "CoreboxCore", "CoreboxSystem", "TestSupport"]),
        .testTarget(name: "OCISpecTests", dependencies: ["OCISpec", "CoreboxCore", "TestSupport"]),
        .testTarget(name: "OCIImageTests", dependencies: ["OCIImage", "CoreboxCore", "CoreboxSystem", "TestSupport"]),
        .testTarget(name: "EtcdAPITests", dependencies: ["EtcdAPI", "EtcdGRPCStubs"]),
    ],
    swiftLanguageModes: [.v6]
)

// Concrete generic types' metadata through their accessors, not by mangled
// name: instantiating `[String: String]` from its name checks String's
// Hashable conformance, the runtime's first conformance lookup, which scans
// every conformance record of the binary (about 0.1 ms of every exec;
// docs/ARCHITECTURE.md, "Start-up cost").
for target in package.targets where target.type == .regular || target.type == .executable {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .unsafeFlags(["-Xfrontend", "-disable-concrete-type-metadata-mangled-name-accessors"]),
    ]
}
