import CContainer
import CoreboxCore
import CoreboxSystem
import Glibc
import OCISpec

extension Cgroups {
    /// Enforces `filter` on the v2 cgroup at `path` with its eBPF program;
    /// removing the cgroup detaches it.
    static func attachDeviceFilter(_ filter: DeviceFilter, to path: String) throws(SystemError) {
        let instructions = filter.program.flatMap(\.bytes)
        let directory = try Syscall.open(path, O_RDONLY | O_DIRECTORY)
        defer { Syscall.close(directory) }
        var log = [CChar](repeating: 0, count: 16 * 1024)
        let result = instructions.withUnsafeBytes { bytes in
            corebox_attach_device_filter(bytes.baseAddress, instructions.count / 8, directory, &log, log.count)
        }
        guard result == 0 else {
            let code = errno
            // The verifier's last line says why it refused the program.
            let verifier = String(decoding: log.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(separator: "\n").last.map { " (verifier: \($0))" } ?? ""
            throw SystemError(errno: code, operation: "attach the device filter program" + verifier, path: path)
        }
    }
}
