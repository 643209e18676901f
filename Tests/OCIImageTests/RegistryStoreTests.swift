import CoreboxCore
import Foundation
@testable import OCIImage
import TestSupport
import Testing

/// The local store's index and the choice of an image in a layout when the
/// reference names none; files only, no registry.
struct RegistryStoreTests {
    /// A layout built by the fixtures, its index then rewritten to list its
    /// one manifest under each of `names`.
    static func layout(named names: [String], in scratch: TemporaryDirectory) throws -> String {
        let path = scratch.path + "/layout-\(UUID().uuidString)"
        try Fixtures.build(["layers": [["entries": [["name": "hello", "data": "hi"]]]]], at: path, scratch: scratch.path)
        let index = try ImageIndex.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path + "/index.json"))), "index.json")
        var renamed = index
        renamed.manifests = names.map { name in
            var descriptor = index.manifests[0]
            descriptor.annotations = [Descriptor.refNameAnnotation: name]
            return descriptor
        }
        try Data(try ImageStore.encode(renamed)).write(to: URL(fileURLWithPath: path + "/index.json"))
        return path
    }

    @Test func aLayoutWithoutANameGivesItsOnlyImageOrLatest() throws {
        let scratch = try TemporaryDirectory()
        let store = ImageStore(path: scratch.path + "/store")
        for names in [["v1"], ["v1", "latest"]] {
            let path = try Self.layout(named: names, in: scratch)
            #expect(try ImageReference.layout(path: path, reference: nil).open(store: store, options: RegistryOptions()).layerCount == 1)
            #expect(try ImageReference.path(path).open(store: store, options: RegistryOptions()).layerCount == 1)
        }
        let ambiguous = try Self.layout(named: ["v1", "v2"], in: scratch)
        #expect(throws: ImageError("the index holds 2 images; name one: v1, v2")) {
            try ImageReference.layout(path: ambiguous, reference: nil).open(store: store, options: RegistryOptions())
        }
        #expect(throws: ImageError("no image \"v3\" in the index (it has: v1, v2)")) {
            try ImageReference.layout(path: ambiguous, reference: "v3").open(store: store, options: RegistryOptions())
        }
        // Nothing touched the store: only registry images go there.
        #expect(!FileManager.default.fileExists(atPath: store.path))
    }

    @Test func theStoreIndexKeepsOneEntryPerName() throws {
        let scratch = try TemporaryDirectory()
        let store = ImageStore(path: scratch.path + "/images")
        try store.prepare()
        #expect(try store.image(named: "127.0.0.1:5000/app:v1") == nil)
        let first = Descriptor(mediaType: MediaType.ociManifest, digest: Digest(of: [1]), size: 1,
                               annotations: [Descriptor.refNameAnnotation: "127.0.0.1:5000/app:v1"])
        var second = first
        second.digest = Digest(of: [2])
        var other = first
        other.annotations = [Descriptor.refNameAnnotation: "127.0.0.1:5000/app:v2"]
        for descriptor in [first, other, second] { try store.name(descriptor) }
        let layout = try ImageLayout(path: store.path)
        #expect(layout.index.manifests.map(\.refName) == ["127.0.0.1:5000/app:v2", "127.0.0.1:5000/app:v1"])
        #expect(layout.index.manifests.last?.digest == Digest(of: [2]))
        // The index stays an OCI layout's, which other tools read.
        let header = try String(contentsOfFile: store.path + "/oci-layout", encoding: .utf8)
        #expect(header == #"{"imageLayoutVersion":"1.0.0"}"#)
    }
}
