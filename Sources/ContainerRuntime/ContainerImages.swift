import CoreboxCore
import CoreboxSystem
import Glibc
import OCIImage
import OCISpec

/// Running OCI images directly (as rkt did for CoreOS): `run IMAGE`,
/// `unpack IMAGE DIR` and `pull IMAGE`. An image becomes a bundle (rootfs
/// and a config.json from the image's config and podman's default
/// profile) that the lifecycle commands then run like any other.
extension ContainerCommands {
    /// The image form's flags: all but `--detach` are its own, and tell it from runc's `run`.
    static let imageRunValues: Set<String> = ["name", "env", "creds", "tls-verify"]
    static let imageRunFlags: Set<String> = ["rm", "detach"]
    static let imageRunAliases = ["e": "env", "d": "detach"]

    /// Whether `run`'s arguments are `run [FLAGS] IMAGE [CMD...]` rather
    /// than runc's `run [FLAGS] ID`: an image-only flag, or a first operand
    /// with '/' or ':', which no container ID holds.
    static func isImageRun(_ arguments: [String]) -> Bool {
        func names(_ values: Set<String>, _ flags: Set<String>, _ aliases: [String: String]) -> Set<String> {
            values.union(flags).union(aliases.keys)
        }
        let own = names(imageRunValues, imageRunFlags, imageRunAliases).subtracting(names(runValues, runFlags, runAliases))
        let valueNames = imageRunValues.union(runValues)
        let valued = valueNames.union(imageRunAliases.merging(runAliases) { image, _ in image }.filter { valueNames.contains($0.value) }.keys)
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            if argument == "--" { return rest.first.map(ImageReference.looksLikeImage) ?? false }
            guard argument.hasPrefix("-"), argument != "-" else { return ImageReference.looksLikeImage(argument) }
            let name = String(argument.drop { $0 == "-" }.prefix { $0 != "=" })
            if own.contains(name) { return true }
            if valued.contains(name) && !argument.contains("=") { _ = rest.popFirst() }
        }
        return false
    }

    // MARK: run IMAGE

    func runImage(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try imageFlags("run", arguments, values: Self.imageRunValues, flags: Self.imageRunFlags, aliases: Self.imageRunAliases)
        guard let operand = parsed.positionals.first else { throw CommandError("run: expects an image") }
        let remove = parsed.flag("rm"), detach = parsed.flag("detach")
        if remove && detach { throw CommandError("run: --rm and --detach together are not supported: a detached container's bundle stays until you remove it") }
        let id = parsed.value("name") ?? Self.generatedID()
        try ContainerDirectory.check(id: id)
        let bundle = layout.containerBundles + "/" + id
        let image = try openImage(operand, parsed)
        let variables = Self.resolved(parsed.list("env"), from: environment)
        try makeBundle(image, at: bundle, command: Array(parsed.positionals.dropFirst()), environment: variables, hostname: id)
        let status: Int32
        do {
            status = try run("run", ["--bundle", bundle] + (detach ? ["--detach"] : []) + [id])
        } catch {
            removeBundle(bundle)
            throw error
        }
        if remove { removeBundle(bundle) }
        return status
    }

    /// A fresh container ID: 12 hex digits, as short container IDs are shown.
    static func generatedID() -> String {
        let digits = Array("0123456789abcdef")
        return String((0..<12).map { _ in digits[Int.random(in: 0..<16)] })
    }

    // MARK: unpack, pull

    func unpack(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try imageFlags("unpack", arguments, values: ["creds", "tls-verify"], flags: [])
        guard parsed.positionals.count == 2 else { throw CommandError("unpack: expects IMAGE DIR, got \(parsed.positionals.count) arguments") }
        let image = try openImage(parsed.positionals[0], parsed)
        try makeBundle(image, at: ContainerCreation.absolute(parsed.positionals[1]), command: [], environment: [], hostname: "container")
        return 0
    }

    func pull(_ arguments: [String]) throws(CommandError) -> Int32 {
        let parsed = try imageFlags("pull", arguments, values: ["creds", "tls-verify"], flags: [])
        guard parsed.positionals.count == 1 else { throw CommandError("pull: expects an image") }
        guard case .registry(let reference) = try imageReference(parsed.positionals[0]) else {
            throw CommandError("pull: \(parsed.positionals[0]) is not a registry image (docker://HOST/REPO[:TAG])")
        }
        let options = try registryOptions(parsed)
        do {
            try ImageStore(path: layout.containerImages).pull(reference, options: options, log: log.debug)
        } catch {
            throw CommandError("pull \(reference): \(error)")
        }
        output.out("\(reference)\n")
        return 0
    }

    // MARK: Images to bundles

    private func imageFlags(
        _ command: String, _ arguments: [String], values: Set<String>, flags: Set<String>, aliases: [String: String] = [:]
    ) throws(CommandError) -> GoFlags {
        // Flags stop at the image: what follows is the container's command.
        do { return try GoFlags(arguments, values: values, flags: flags, aliases: aliases, stopAtPositional: true) } catch {
            throw CommandError("\(command): \(error)")
        }
    }

    private func imageReference(_ operand: String) throws(CommandError) -> ImageReference {
        do { return try ImageReference(parsing: operand) } catch { throw CommandError("\(error)") }
    }

    /// `--creds USER:PASSWORD`, else `COREBOX_REGISTRY_CREDS`; `--tls-verify=false`.
    private func registryOptions(_ parsed: GoFlags) throws(CommandError) -> RegistryOptions {
        var options = RegistryOptions()
        if let text = parsed.value("tls-verify") {
            do { options.verifyTLS = try GoSyntax.parseBool(text) } catch { throw CommandError("--tls-verify: not a boolean: \"\(text)\"") }
        }
        if let text = parsed.value("creds") ?? environment["COREBOX_REGISTRY_CREDS"] {
            do { options.credentials = try RegistryCredentials(parsing: text) } catch { throw CommandError("--creds: \(error)") }
        }
        return options
    }

    private func openImage(_ operand: String, _ parsed: GoFlags) throws(CommandError) -> Image {
        let reference = try imageReference(operand), options = try registryOptions(parsed)
        let image: Image
        do {
            image = try reference.open(store: ImageStore(path: layout.containerImages), options: options, log: log.debug)
        } catch {
            throw CommandError("image \(operand): \(error)")
        }
        let host = Platform.host
        if let architecture = image.config.architecture, architecture != host.architecture || (image.config.os ?? host.os) != host.os {
            throw CommandError("image \(operand) is built for \(image.config.os ?? host.os)/\(architecture); this machine runs \(host.os)/\(host.architecture)")
        }
        return image
    }

    /// Writes `bundle`/rootfs and `bundle`/config.json; the directory must
    /// not exist, and is removed again when any step fails.
    private func makeBundle(_ image: Image, at bundle: String, command: [String], environment: [String], hostname: String) throws(CommandError) {
        do {
            try Files.makeDirectories(Files.parentDirectory(of: bundle), mode: 0o711)
            try Syscall.mkdir(bundle, 0o711)
        } catch where error.errno == EEXIST {
            throw CommandError("bundle \(bundle) exists; remove it first")
        } catch {
            throw CommandError("create the bundle: \(error)")
        }
        do throws(CommandError) {
            let rootfs = bundle + "/rootfs"
            do { try Syscall.mkdir(rootfs, 0o755) } catch { throw CommandError("create the bundle: \(error)") }
            let skipped: [String]
            do { skipped = try image.unpack(into: rootfs) } catch { throw CommandError("unpack the image: \(error)") }
            for path in skipped { log.warning("device node \(path) skipped: creating it needs privilege") }
            let config = try Self.bundleConfig(image, rootfs: rootfs, command: command, environment: environment, hostname: hostname)
            do { try Files.writeAtomically(bundle + "/config.json", Array(config.json().utf8), mode: 0o600) } catch {
                throw CommandError("write the bundle's config: \(error)")
            }
        } catch {
            removeBundle(bundle)
            throw error
        }
    }

    private func removeBundle(_ bundle: String) {
        do { try RootFiles.removeTree(bundle) } catch { log.warning("remove the bundle: \(error)") }
    }

    /// runc's default config with the image's process and podman's profile:
    /// a writable root, the default capabilities and seccomp filter, and no
    /// `noNewPrivileges` (so the image's setuid programs work, as in podman).
    static func bundleConfig(
        _ image: Image, rootfs: String, command: [String], environment: [String], hostname: String
    ) throws(CommandError) -> ContainerConfig {
        let process: ImageProcess
        do {
            process = try ImageProcess(
                config: image.config.config, command: command,
                passwd: try RootFiles.read("/etc/passwd", in: rootfs), group: try RootFiles.read("/etc/group", in: rootfs))
        } catch {
            throw CommandError("the image's config: \(error)")
        }
        let unified = (try? Cgroups.detectLayout())??.isUnified ?? false
        var config = ContainerConfig.runcDefault(cgroupNamespace: unified)
        config.root.readonly = false
        config.hostname = hostname
        var spec = config.process ?? ContainerProcess()
        spec.terminal = false
        spec.args = process.args
        spec.env = ChildConfiguration.environment(process.env + environment)
        spec.cwd = process.cwd
        spec.user.uid = process.uid
        spec.user.gid = process.gid
        spec.user.additionalGids = process.additionalGids
        var capabilities = Capabilities()
        (capabilities.bounding, capabilities.effective, capabilities.permitted) =
            (DefaultProfile.capabilities, DefaultProfile.capabilities, DefaultProfile.capabilities)
        spec.capabilities = capabilities
        spec.noNewPrivileges = false
        config.process = spec
        config.linux?.seccomp = DefaultProfile.seccomp()
        return config
    }

    /// `-e` values as entries: `K=V` as given, `K` with the value of K in
    /// `environment` (left out when it has none).
    static func resolved(_ overrides: [String], from environment: [String: String]) -> [String] {
        overrides.compactMap { override in override.contains("=") ? override : environment[override].map { "\(override)=\($0)" } }
    }
}
