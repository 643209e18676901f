import CoreboxCore
import Foundation
import Testing
import TestSupport

@Suite struct MulticallTests {
    @Test func versionAndHelp() async throws {
        let version = try await CoreboxBinary.run(["--version"])
        #expect(version.status == 0)
        #expect(version.stdout == "corebox \(Corebox.version)\n")
        let help = try await CoreboxBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("corebox --install [--symlinks] DIR"))
    }

    /// `symlinks/` is what the image installs: one link per registered applet, all to corebox.
    @Test func symlinksDirectoryMatchesTheAppletTable() async throws {
        let directory = CoreboxBinary.packageRoot + "/symlinks"
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
        let list = try await CoreboxBinary.run(["--list"])
        #expect(list.status == 0)
        #expect(list.stdout.split(separator: "\n").map(String.init) == entries)
        for entry in entries {
            #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/" + entry) == "corebox")
        }
    }

    @Test func everyListedAppletAnswersThroughItsLink() async throws {
        let scratch = try Scratch()
        for name in try await CoreboxBinary.run(["--list"]).stdout.split(separator: "\n") {
            let result = try await CoreboxBinary.run(["--help"], executable: try scratch.link(String(name)))
            #expect(result.status == 0, "\(name) --help: \(result.stderr)")
            #expect(!result.stderr.contains("applet not found"))
        }
    }

    @Test(arguments: ["nosuchapplet", "-nosuchapplet"])
    func anUnknownLinkNameExits127(linkName: String) async throws {
        let scratch = try Scratch()
        let result = try await CoreboxBinary.run(["--help"], executable: try scratch.link(linkName))
        #expect(result.status == 127)
        #expect(result.stderr == "corebox: applet not found: nosuchapplet\n")
        #expect(result.stdout.isEmpty)
    }

    @Test func anUnknownAppletArgumentExits127() async throws {
        let result = try await CoreboxBinary.run(["kvdd", "get"])
        #expect(result.status == 127)
        #expect(result.stderr == "corebox: applet not found: kvdd\n")
    }

    @Test(arguments: [
        (["--bogus"], "corebox: unknown option --bogus"),
        (["--install"], "corebox: --install takes exactly one directory"),
        (["--list", "extra"], "corebox: --list takes no arguments"),
    ])
    func usageErrorsExit2(arguments: [String], message: String) async throws {
        let result = try await CoreboxBinary.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix(message + "\n"))
        #expect(result.stdout.isEmpty)
    }

    @Test(arguments: [true, false])
    func installLinksEveryAppletAndSaysSo(symbolic: Bool) async throws {
        let scratch = try Scratch()
        let names = try await CoreboxBinary.run(["--list"]).stdout.split(separator: "\n").map(String.init)
        let result = try await CoreboxBinary.run(["--install"] + (symbolic ? ["--symlinks"] : []) + [scratch.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted() == names)
        let binary = try FileManager.default.attributesOfItem(atPath: CoreboxBinary.path)[.systemFileNumber] as? Int
        for name in names {
            let inode = try FileManager.default.attributesOfItem(atPath: scratch.path + "/" + name)[.systemFileNumber] as? Int
            #expect(symbolic || inode == binary)
            #expect(try await CoreboxBinary.run(["--help"], executable: scratch.path + "/" + name).status == 0)
        }
        #expect(result.stderr.hasPrefix("corebox: installed applet links "))
        #expect(result.stderr.contains("count=\(names.count)"))
        #expect(result.stderr.contains("directory=\(scratch.path)"))
        #expect(result.stderr.contains("kind=\(symbolic ? "symbolic" : "hard")"))
    }

    @Test func installIntoAMissingDirectoryNamesItAndFails() async throws {
        let result = try await CoreboxBinary.run(["--install", "/nonexistent/bin"])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("corebox: --install: "))
        #expect(result.stderr.contains("'/nonexistent/bin"))
        #expect(result.stderr.hasSuffix("No such file or directory (errno 2)\n"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func badLogSettingsStopStartWithOneLine() async throws {
        let result = try await CoreboxBinary.run(["--version"], environment: ["COREBOX_LOG_LEVEL": "chatty"])
        #expect(result.status == 1)
        #expect(result.stderr == "corebox: COREBOX_LOG_LEVEL: unknown level \"chatty\" (trace|debug|info|notice|warning|error|critical)\n")
        #expect(result.stdout.isEmpty)
    }

    /// What ships: no Swift runtime library and no C++ runtime or libgcc_s
    /// (linked statically), no libcurl or libsystemd (loaded on first use;
    /// JournalTests goes through the loaded libsystemd), libyaml and
    /// libseccomp from their archives.
    @Test func sharedLibrariesOfTheBinary() async throws {
        let libraries = try await Clients.run("/usr/bin/ldd", [CoreboxBinary.path]).stdout
        #expect(libraries.contains("libc.so.6"))
        for unwanted in ["libswift", "libFoundation", "libstdc++", "libgcc_s", "libcurl", "libsystemd", "libyaml", "libseccomp"] {
            #expect(!libraries.contains(unwanted), "\(unwanted) in:\n\(libraries)")
        }
    }
}
