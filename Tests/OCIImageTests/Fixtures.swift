import Foundation
import TestSupport

/// Images made at test time: with umoci (the reference unpacker) and with
/// Python's tarfile for layers no well-behaved tool would write.
enum Fixtures {
    /// Writes an OCI layout (or, with `docker: true`, a docker-archive tar)
    /// from a JSON description: layers of entries {name, type, data, link,
    /// mode, uid, gid, mtime}, each layer gzip'd unless `"plain"`.
    static let builder = #"""
    import gzip, hashlib, io, json, os, sys, tarfile
    spec = json.load(open(sys.argv[1])); out = sys.argv[2]
    def layer_tar(entries):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for e in entries:
                info = tarfile.TarInfo(e["name"]); data = e.get("data", "").encode()
                info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                             "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "char": tarfile.CHRTYPE}[e.get("type", "file")]
                info.linkname = e.get("link", ""); info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
                info.uid = e.get("uid", 0); info.gid = e.get("gid", 0); info.mtime = e.get("mtime", 1700000000)
                info.devmajor = e.get("major", 0); info.devminor = e.get("minor", 0)
                if "xattrs" in e: info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
                info.size = len(data) if info.type == tarfile.REGTYPE else 0
                tar.addfile(info, io.BytesIO(data) if info.type == tarfile.REGTYPE else None)
        return buf.getvalue()
    def sha(b): return hashlib.sha256(b).hexdigest()
    tars = [layer_tar(l["entries"]) for l in spec["layers"]]
    config = {"architecture": "amd64", "os": "linux", "config": spec.get("config", {}),
              "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(t) for t in tars]}}
    cbytes = json.dumps(config).encode()
    if spec.get("docker"):
        members = {"manifest.json": None, sha(cbytes) + ".json": cbytes}
        names = []
        for i, t in enumerate(tars):
            names.append("layer%d/layer.tar" % i); members[names[-1]] = t
        members["manifest.json"] = json.dumps([{"Config": sha(cbytes) + ".json", "RepoTags": ["test/image:v1"], "Layers": names}]).encode()
        with tarfile.open(out, "w") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name); info.size = len(data); tar.addfile(info, io.BytesIO(data))
        sys.exit(0)
    os.makedirs(out + "/blobs/sha256", exist_ok=True)
    def blob(b):
        open(out + "/blobs/sha256/" + sha(b), "wb").write(b); return {"digest": "sha256:" + sha(b), "size": len(b)}
    layers = []
    for l, t in zip(spec["layers"], tars):
        plain = l.get("plain", False); body = t if plain else gzip.compress(t, mtime=0)
        layers.append(dict(blob(body), mediaType="application/vnd.oci.image.layer.v1.tar" + ("" if plain else "+gzip")))
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": dict(blob(cbytes), mediaType="application/vnd.oci.image.config.v1+json"), "layers": layers}
    m = dict(blob(json.dumps(manifest).encode()), mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": "latest"})
    json.dump({"schemaVersion": 2, "manifests": [m]}, open(out + "/index.json", "w"))
    json.dump({"imageLayoutVersion": "1.0.0"}, open(out + "/oci-layout", "w"))
    """#

    /// Builds from `spec` (the builder's JSON) at `output`.
    static func build(_ spec: [String: Any], at output: String, scratch: String) throws {
        let script = scratch + "/builder.py", specFile = scratch + "/spec-\(UUID().uuidString).json"
        try builder.write(toFile: script, atomically: false, encoding: .utf8)
        try JSONSerialization.data(withJSONObject: spec).write(to: URL(fileURLWithPath: specFile))
        try Tools.run(["python3", script, specFile, output])
    }

    /// A listing of a tree, one line a path: type, mode, owner, size and
    /// content digest, link target, and the mtime of files and links: what
    /// two unpackers must agree on.
    static func listing(_ root: String, times: Bool = true) throws -> String {
        let script = #"""
        import hashlib, os, stat, sys
        root = sys.argv[1]; times = sys.argv[2] == "1"
        for dirpath, dirs, files in os.walk(root):
            dirs.sort()
            for name in sorted(dirs + files):
                p = os.path.join(dirpath, name); s = os.lstat(p); rel = os.path.relpath(p, root)
                line = [rel, oct(s.st_mode), str(s.st_uid), str(s.st_gid)]
                if stat.S_ISREG(s.st_mode): line += [str(s.st_size), hashlib.sha256(open(p, "rb").read()).hexdigest()]
                if stat.S_ISLNK(s.st_mode): line.append("-> " + os.readlink(p))
                if stat.S_ISCHR(s.st_mode) or stat.S_ISBLK(s.st_mode): line.append("dev %d,%d" % (os.major(s.st_rdev), os.minor(s.st_rdev)))
                if times and not stat.S_ISDIR(s.st_mode): line.append(str(s.st_mtime_ns))
                print(" ".join(line))
        """#
        return try Tools.run(["python3", "-c", script, root, times ? "1" : "0"])
    }
}
