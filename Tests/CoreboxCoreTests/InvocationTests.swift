import Testing
@testable import CoreboxCore

@Suite struct InvocationTests {
    let names = ["kvd", "kvctl", "update_engine"]

    @Test(arguments: [
        (["/usr/bin/kvd", "--data-dir", "x"], Invocation.applet(name: "kvd", arguments: ["--data-dir", "x"])),
        (["-kvctl"], .applet(name: "kvctl", arguments: [])),
        (["update_engine"], .applet(name: "update_engine", arguments: [])),
        (["/usr/bin/nosuch", "a"], .notFound("nosuch")),
        (["corebox"], .help),
        (["/usr/bin/corebox", "kvctl", "get", "k"], .applet(name: "kvctl", arguments: ["get", "k"])),
        (["corebox", "nosuch"], .notFound("nosuch")),
        (["corebox", "--list"], .list),
        (["corebox", "--list", "x"], .usage("--list takes no arguments")),
        (["corebox", "--version"], .version),
        (["corebox", "--help"], .help),
        (["corebox", "--install", "/usr/bin"], .install(directory: "/usr/bin", symbolic: false)),
        (["corebox", "--install", "--symlinks", "/usr/bin"], .install(directory: "/usr/bin", symbolic: true)),
        (["corebox", "--install", "/usr/bin", "-s"], .install(directory: "/usr/bin", symbolic: true)),
        (["corebox", "--install"], .usage("--install takes exactly one directory")),
        (["corebox", "--install", "a", "b"], .usage("--install takes exactly one directory")),
        (["corebox", "--install", "--force", "a"], .usage("unknown option --force for --install")),
        (["corebox", "--frobnicate"], .usage("unknown option --frobnicate")),
        ([], .help),
    ])
    func parses(argv: [String], expected: Invocation) {
        #expect(Invocation(arguments: argv, names: names) == expected)
    }

    @Test func identifierIsTheAppletOrCorebox() {
        #expect(Invocation(arguments: ["kvd"], names: names).identifier == "kvd")
        #expect(Invocation(arguments: ["corebox", "--install", "d"], names: names).identifier == "corebox")
        #expect(Invocation(arguments: ["nosuch"], names: names).identifier == "corebox")
    }
}

@Suite struct AppletTableTests {
    static func applet(_ name: String) -> Applet {
        Applet(name: name, summary: "does \(name)") { _ in 0 }
    }

    @Test func listsNamesSortedAndLooksThemUp() {
        let table = AppletTable([Self.applet("zeta"), Self.applet("alpha")])
        #expect(table.names == ["alpha", "zeta"])
        #expect(table["zeta"]?.summary == "does zeta")
        #expect(table["beta"] == nil)
    }

    @Test func aDuplicateNameIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) {
            _ = AppletTable([AppletTableTests.applet("kvd"), AppletTableTests.applet("kvd")])
        }
    }

    @Test func theBinaryNameIsNotAnApplet() async {
        await #expect(processExitsWith: .failure) {
            _ = AppletTable([AppletTableTests.applet("corebox")])
        }
    }
}
