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
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
    ],
    targets: [
        // C libraries from Debian. Only libsystemd is linked as pkg-config says
        // (shared). A pkgConfig entry would add `-lcurl`, `-lseccomp`, `-lyaml`
        // to the link, so the other three name none: libseccomp and libyaml
        // link their static archives through their module maps, and libcurl
        // is declared for its headers only, because CCoreboxShims loads it
        // with dlopen on first use (docs/ARCHITECTURE.md, "Start-up cost").
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CSeccomp", providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CYaml", providers: [.apt(["libyaml-dev"])]),
        .target(name: "CCoreboxShims", linkerSettings: [.linkedLibrary("dl")]),

        // Pure: layout, config files, applet registry, error types.
        .target(name: "CoreboxCore"),
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
        // The kvd applet, built bottom-up (docs/kvd.md): the replicated store and its gRPC services.
        .target(
            name: "KVServer",
            dependencies: [
                "CoreboxCore", "CoreboxSystem", "Raft", "WriteAheadLog", "MVCC", "EtcdAPI",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "MVCC"),
        // etcd 3.4's gRPC API: our .proto files and the Swift generated from them
        // (scripts/generate-protos).
        .target(
            name: "EtcdAPI",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: ["proto"]
        ),

        .executableTarget(
            name: "corebox",
            dependencies: ["CoreboxCore", "CoreboxSystem", "KVServer", .product(name: "Logging", package: "swift-log")]
        ),

        .testTarget(name: "CoreboxCoreTests", dependencies: ["CoreboxCore"]),
        .testTarget(name: "RaftTests", dependencies: ["Raft"]),
        .testTarget(
            name: "CoreboxSystemTests",
            dependencies: ["CoreboxSystem", "CoreboxCore", "CSystemd", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "CoreboxCLITests", dependencies: ["CoreboxCore"]),
        .testTarget(name: "WriteAheadLogTests", dependencies: ["WriteAheadLog", "CoreboxSystem", "CoreboxCore"]),
        .testTarget(name: "KVServerTests", dependencies: ["KVServer", "Raft", "WriteAheadLog", "CoreboxSystem", "MVCC", "EtcdAPI"]),
        .testTarget(name: "MVCCTests", dependencies: ["MVCC"]),
        .testTarget(name: "EtcdAPITests", dependencies: ["EtcdAPI"]),
    ],
    swiftLanguageModes: [.v6]
)
