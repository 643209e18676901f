import CoreboxCore
@testable import OCIImage
import Testing

struct ParsingTests {
    static let a = "sha256:" + String(repeating: "a", count: 64), b = "sha256:" + String(repeating: "b", count: 64)

    @Test func digestsAreStrict() throws {
        #expect(try Digest(parsing: Self.a).hex == String(repeating: "a", count: 64))
        #expect(throws: ImageError.self) { try Digest(parsing: "sha256:../../etc/passwd") }
        #expect(throws: ImageError.self) { try Digest(parsing: "sha256:" + String(repeating: "A", count: 64)) }
        #expect(throws: ImageError("unsupported digest algorithm \"md5\" in \"md5:00\" (only sha256)")) { try Digest(parsing: "md5:00") }
        #expect(Digest(of: Array("abc".utf8)).description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func indexSelectsByNameAndPlatform() throws {
        let json = """
            {"schemaVersion":2,"manifests":[
             {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(Self.a)","size":1,
              "platform":{"architecture":"arm64","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"v1"}},
             {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(Self.b)","size":2,
              "platform":{"architecture":"amd64","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"v1"}},
             {"mediaType":"application/vnd.oci.image.index.v1+json","digest":"\(Self.a)","size":3,
              "annotations":{"org.opencontainers.image.ref.name":"v2"}}]}
            """
        let index = try ImageIndex.parse(Array(json.utf8), "index.json")
        #expect(try index.select(reference: "v1", platform: .host).digest.description == Self.b)
        #expect(try index.select(reference: "v2", platform: .host).size == 3)
        #expect(throws: ImageError("no image \"v3\" in the index (it has: v1, v2)")) { try index.select(reference: "v3", platform: .host) }
        #expect(throws: ImageError("the index holds 2 images; name one: v1, v2")) { try index.select(reference: nil, platform: .host) }
        #expect(throws: ImageError.self) { try ImageIndex.parse(Array(#"{"schemaVersion":2,"manifests":[{"digest":"x"}]}"#.utf8), "index.json") }
    }

    @Test func manifestsRefuseZstdByName() throws {
        let json = """
            {"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(Self.a)","size":1},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"\(Self.b)","size":1}]}
            """
        #expect(throws: ImageError("m: layer \(Self.b): layer media type application/vnd.oci.image.layer.v1.tar+zstd: zstd-compressed layers are not supported")) {
            try ImageManifest.parse(Array(json.utf8), "m")
        }
        #expect(try LayerCompression(mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip") == .gzip)
    }

    @Test func configFields() throws {
        let json = #"""
            {"config":{"User":"1:2","ExposedPorts":{"80/tcp":{},"53/udp":{}},"Env":["A=b"],"Entrypoint":null,"Cmd":["sh"],
             "WorkingDir":"/w","Labels":{"k":"v"}},"rootfs":{"type":"layers","diff_ids":[]}}
            """#
        let config = try #require(try ImageConfig.parse(Array(json.utf8), "c").config)
        #expect(config.exposedPorts == ["53/udp", "80/tcp"])
        #expect(config.entrypoint == nil && config.cmd == ["sh"] && config.labels == ["k": "v"] && config.user == "1:2")
    }

    static let passwd = "root:x:0:0:root:/root:/bin/sh\n# comment\nweb:x:33:34::/var/www:/bin/false\nbad:x:z:1::/:/bin/sh\n"
    static let group = "root:x:0:\nwww:x:34:\nadm:x:4:web,other\nweb2:x:35:web\n"

    @Test(arguments: [
        ("", 0, 0, [] as [UInt32]), ("web", 33, 34, [4, 35]), ("33", 33, 34, [4, 35]), ("web:adm", 33, 4, [35]),
        ("500", 500, 0, []), ("500:77", 500, 77, []), ("0:www", 0, 34, []),
    ])
    func users(spec: String, uid: UInt32, gid: UInt32, extra: [UInt32]) throws {
        let process = try ImageProcess(config: .init(user: spec, cmd: ["x"]), passwd: Self.passwd, group: Self.group)
        #expect((process.uid, process.gid, process.additionalGids) == (uid, gid, extra))
    }

    @Test func unknownNamesAndEmptyCommandsFail() {
        #expect(throws: ImageError("User \"nobody\": no user \"nobody\" in the image's /etc/passwd")) {
            try ImageProcess(config: .init(user: "nobody", cmd: ["x"]), passwd: Self.passwd, group: Self.group)
        }
        #expect(throws: ImageError("User \"web:staff\": no group \"staff\" in the image's /etc/group")) {
            try ImageProcess(config: .init(user: "web:staff", cmd: ["x"]), passwd: Self.passwd, group: nil)
        }
        #expect(throws: ImageError.self) { try ImageProcess(config: .init(entrypoint: []), passwd: nil, group: nil) }
    }

    @Test func commandReplacesCmdNotEntrypoint() throws {
        let config = ImageConfig.Execution(env: ["PATH=/x", "HOME=/h"], entrypoint: ["/init"], cmd: ["a"], workingDir: "rel")
        let process = try ImageProcess(config: config, command: ["b", "c"], passwd: nil, group: nil)
        #expect(process.args == ["/init", "b", "c"] && process.env == ["PATH=/x", "HOME=/h"] && process.cwd == "/rel")
        #expect(try ImageProcess(config: config, passwd: nil, group: nil).args == ["/init", "a"])
    }

    @Test func accountFilesParse() {
        #expect(AccountFile.users(Self.passwd).map(\.name) == ["root", "web"])
        #expect(AccountFile.groups(Self.group).last == GroupEntry(name: "web2", gid: 35, members: ["web"]))
    }
}
