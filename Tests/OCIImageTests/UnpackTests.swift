import CoreboxCore
import Foundation
@testable import OCIImage
import TestSupport
import Testing

@Suite(.serialized) struct UnpackTests {
    static func makeDirectory(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Unpacks a layout built from `layers` into a fresh root; the error, if any.
    static func unpack(_ layers: [[[String: Any]]], in scratch: TemporaryDirectory) throws -> (root: String, error: ImageError?) {
        let layout = scratch.path + "/layout-\(UUID().uuidString)", root = scratch.path + "/root-\(UUID().uuidString)"
        try Fixtures.build(["layers": layers.map { ["entries": $0] }], at: layout, scratch: scratch.path)
        try makeDirectory(root)
        let result = Result { () throws(ImageError) in try Image.open(layout).unpack(into: root) }
        if case .failure(let error) = result { return (root, error) }
        return (root, nil)
    }

    /// An image made and unpacked by umoci; the same image unpacked here
    /// must give the same tree, and a second layer that deletes and
    /// replaces (umoci writes the whiteouts) too.
    @Test func agreesWithUmoci() throws {
        let scratch = try TemporaryDirectory()
        let layout = scratch.path + "/image"
        try Tools.run(["umoci", "init", "--layout", layout])
        try Tools.run(["umoci", "new", "--image", layout + ":v1"])
        try Tools.run(["umoci", "unpack", "--image", layout + ":v1", scratch.path + "/bundle"])
        let rootfs = scratch.path + "/bundle/rootfs"
        try Tools.run(["sh", "-c", """
            set -e; cd \(rootfs)
            mkdir -p etc usr/bin srv/data/deep var/empty; printf 'root:x:0:0:root:/root:/bin/sh\\napp:x:1000:1000::/home/app:/bin/sh\\n' > etc/passwd
            printf 'root:x:0:\\napp:x:1000:\\nextra:x:2000:app\\n' > etc/group
            head -c 300000 /dev/urandom > usr/bin/tool; chmod 4755 usr/bin/tool; ln usr/bin/tool usr/bin/tool-link
            ln -s /usr/bin/tool usr/bin/abs; ln -s ../data srv/data/deep/rel; echo hi > srv/data/file; chown 1000:2000 srv/data/file
            chmod 0555 var/empty; mkfifo srv/fifo; mknod srv/null c 1 3; touch -d @1600000000 srv/data/file
            setfattr -n user.note -v hello srv/data/file 2>/dev/null || true
            """])
        try Tools.run(["umoci", "repack", "--image", layout + ":v1", scratch.path + "/bundle"])
        // repack diffs against the bundle's own base: a second layer needs a fresh unpack.
        try Tools.run(["umoci", "unpack", "--image", layout + ":v1", scratch.path + "/bundle2"])
        let rootfs2 = scratch.path + "/bundle2/rootfs"
        try Tools.run(["sh", "-c", "set -e; cd \(rootfs2); rm -r srv/data/deep; rm usr/bin/abs; echo new > usr/bin/abs"])
        try Tools.run(["umoci", "repack", "--image", layout + ":v1", scratch.path + "/bundle2"])
        try Tools.run(["umoci", "config", "--image", layout + ":v1", "--config.entrypoint", "/usr/bin/tool", "--config.cmd", "serve",
                          "--config.env", "A=1", "--config.user", "app", "--config.workingdir", "/srv"])
        try Tools.run(["umoci", "unpack", "--image", layout + ":v1", scratch.path + "/reference"])

        let image = try Image.open(layout, reference: "v1")
        #expect(image.layerCount == 2)
        let ours = scratch.path + "/ours"
        try Self.makeDirectory(ours)
        #expect(try image.unpack(into: ours) == [])
        let expected = try Fixtures.listing(scratch.path + "/reference/rootfs")
        #expect(expected.contains("srv/data/file 0o100644 1000 2000 3"))
        #expect(!expected.contains("srv/data/deep"))
        #expect(try Fixtures.listing(ours) == expected)

        let process = try ImageProcess(
            config: image.config.config, passwd: String(contentsOfFile: ours + "/etc/passwd", encoding: .utf8),
            group: String(contentsOfFile: ours + "/etc/group", encoding: .utf8))
        #expect(process.args == ["/usr/bin/tool", "serve"])
        #expect(process.cwd == "/srv")
        #expect((process.uid, process.gid, process.additionalGids) == (1000, 1000, [2000]))
        #expect(process.env.contains("A=1") && process.env.contains("HOME=/home/app") && process.env.contains { $0.hasPrefix("PATH=") })
    }

    @Test func whiteoutsAndOpaqueDirectories() throws {
        let scratch = try TemporaryDirectory()
        let (root, error) = try Self.unpack([
            [["name": "a", "type": "dir"], ["name": "a/old", "data": "1"], ["name": "a/sub", "type": "dir"], ["name": "a/sub/x", "data": "x"],
             ["name": "b", "type": "dir"], ["name": "b/gone", "data": "2"], ["name": "b/kept", "data": "3"]],
            // The new file comes before the opaque marker: it must survive it.
            [["name": "a/new", "data": "4"], ["name": "a/.wh..wh..opq"], ["name": "b/.wh.gone"], ["name": ".wh.never-there"]],
        ], in: scratch)
        #expect(error == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/a") == ["new"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/b") == ["kept"])
    }

    @Test func pathsThatClimbOutAreRefused() throws {
        let scratch = try TemporaryDirectory()
        let (_, error) = try Self.unpack([[["name": "../escaped", "data": "x"]]], in: scratch)
        #expect(error?.message.hasSuffix("entry \"../escaped\": path escapes the root") == true, "\(String(describing: error))")
        #expect(!FileManager.default.fileExists(atPath: scratch.path + "/escaped"))
        let (_, link) = try Self.unpack([[["name": "a", "data": "x"], ["name": "l", "type": "hardlink", "link": "../../etc/passwd"]]], in: scratch)
        #expect(link?.message.contains("entry \"l\": path escapes the root") == true, "\(String(describing: link))")
    }

    /// Symlinks are followed as if the root were `/`: writes through them stay inside.
    @Test func symlinksResolveInsideTheRoot() throws {
        let scratch = try TemporaryDirectory()
        let outside = scratch.path + "/outside"
        try Self.makeDirectory(outside)
        let (root, error) = try Self.unpack([
            [["name": "abs", "type": "symlink", "link": outside], ["name": "rel", "type": "symlink", "link": "../../../../outside"],
             ["name": "root", "type": "symlink", "link": "/"]],
            [["name": "abs/a", "data": "1"], ["name": "rel/b", "data": "2"], ["name": "root/c", "data": "3"],
             ["name": "hl", "type": "hardlink", "link": "root/c"]],
        ], in: scratch)
        #expect(error == nil, "\(String(describing: error))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside) == [])
        #expect(FileManager.default.fileExists(atPath: root + outside + "/a"))
        #expect(try String(contentsOfFile: root + "/outside/b", encoding: .utf8) == "2")
        #expect(try String(contentsOfFile: root + "/hl", encoding: .utf8) == "3")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/abs") == outside)
    }

    @Test func tamperedBlobsAreNamed() throws {
        let scratch = try TemporaryDirectory()
        let layout = scratch.path + "/layout"
        try Fixtures.build(["layers": [["entries": [["name": "f", "data": String(repeating: "z", count: 5000)]], "plain": true]]],
                           at: layout, scratch: scratch.path)
        let image = try Image.open(layout)
        let layer = try #require(image.manifest?.layers.first)
        let path = layout + "/blobs/sha256/" + layer.digest.hex
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[600] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try Self.makeDirectory(scratch.path + "/root")
        #expect(throws: ImageError("blob \(layer.digest): content has digest \(Digest(of: bytes))")) {
            try image.unpack(into: scratch.path + "/root")
        }
        let configPath = layout + "/blobs/sha256/" + image.configDigest.hex
        try Data("{}".utf8).write(to: URL(fileURLWithPath: configPath))
        #expect(throws: ImageError.self) { try Image.open(layout) }
        if case .failure(let error) = Result(catching: { () throws(ImageError) in try Image.open(layout) }) {
            #expect(error.message.contains("blob \(image.configDigest): size 2"))
        }
    }

    @Test func dockerArchives() throws {
        let scratch = try TemporaryDirectory()
        let archive = scratch.path + "/image.tar"
        try Fixtures.build(["docker": true, "config": ["Cmd": ["/bin/sh"], "Env": ["X=1"]],
                            "layers": [["entries": [["name": "etc", "type": "dir"], ["name": "etc/hostname", "data": "box\n"]]],
                                       ["entries": [["name": "etc/.wh.hostname"], ["name": "etc/motd", "data": "hi"]]]]],
                           at: archive, scratch: scratch.path)
        let image = try Image.open(archive, reference: "test/image:v1")
        #expect(image.config.config?.cmd == ["/bin/sh"])
        try Self.makeDirectory(scratch.path + "/root")
        _ = try image.unpack(into: scratch.path + "/root")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/root/etc") == ["motd"])
        #expect(throws: ImageError("no image tagged \"other\" in the archive")) { try Image.open(archive, reference: "other") }

        // A changed byte in a layer member: caught by the config's diff_id.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
        let marker = Array("box\n".utf8)
        let at = try #require((0..<(bytes.count - 4)).first { Array(bytes[$0..<($0 + 4)]) == marker })
        bytes[at] = UInt8(ascii: "f")
        try Data(bytes).write(to: URL(fileURLWithPath: archive))
        try Self.makeDirectory(scratch.path + "/again")
        #expect(throws: ImageError.self) { try Image.open(archive).unpack(into: scratch.path + "/again") }
        if case .failure(let error) = Result(catching: { () throws(ImageError) in try Image.open(archive).unpack(into: scratch.path + "/again") }) {
            #expect(error.message.hasPrefix("layer layer0/layer.tar: uncompressed content has digest"), "\(error)")
        }
    }
}
