import CoreboxCore
import Glibc
import TestSupport
import Testing
@testable import CoreboxSystem

/// sd_notify reads NOTIFY_SOCKET from the environment, which is shared by the
/// whole test process: these tests run one at a time and restore it.
@Suite(.serialized) struct ServiceManagerTests {
    func withNotifySocket(_ body: (DatagramSocket) throws -> Void) throws {
        let dir = try TemporaryDirectory()
        let socket = try DatagramSocket(path: dir.path + "/notify")
        setenv("NOTIFY_SOCKET", socket.path, 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        try body(socket)
    }

    @Test func readyStatusAndWatchdogReachTheManager() throws {
        try withNotifySocket { socket throws in
            #expect(try ServiceManager.ready(status: "serving on 127.0.0.1:2379"))
            #expect(socket.receive() == "READY=1\nSTATUS=serving on 127.0.0.1:2379")
            #expect(try ServiceManager.status("compacting"))
            #expect(socket.receive() == "STATUS=compacting")
            #expect(try ServiceManager.watchdog())
            #expect(socket.receive() == "WATCHDOG=1")
            #expect(try ServiceManager.stopping())
            #expect(socket.receive() == "STOPPING=1")
        }
    }

    @Test func outsideSystemdNotifyIsANoOp() throws {
        unsetenv("NOTIFY_SOCKET")
        #expect(try ServiceManager.ready() == false)
    }

    @Test func aVanishedManagerIsAnError() throws {
        setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1)
        defer { unsetenv("NOTIFY_SOCKET") }
        #expect {
            try ServiceManager.ready()
        } throws: { error in
            (error as! CoreboxCore.SystemError).description == "sd_notify: No such file or directory (errno 2)"
        }
    }
}
