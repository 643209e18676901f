import Foundation
import TestSupport

extension TemporaryDirectory {
    /// A temporary root with what the planner and useradd read: account
    /// files with root, core (500) and wheel (10), the image's update.conf,
    /// and /home.
    static func preparedRoot() throws -> TemporaryDirectory {
        let root = try TemporaryDirectory()
        try root.write("etc/passwd", "root:x:0:0:root:/root:/bin/bash\ncore:x:500:500:Core:/home/core:/bin/bash\n")
        try root.write("etc/group", "root:x:0:\nwheel:x:10:\ncore:x:500:\n")
        try root.write("etc/shadow", "root:*:19000:0:99999:7:::\ncore:*:19000:0:99999:7:::\n")
        try root.write("usr/share/corebox/update.conf", "GROUP=stable\nSERVER=https://update.example/\n")
        try FileManager.default.createDirectory(atPath: root.path + "/home", withIntermediateDirectories: true)
        return root
    }
}
