import CoreboxCore
import Foundation
import Glibc
import TestSupport
import Testing
@testable import CoreboxSystem

@Suite struct FilesTests {
    @Test func atomicWriteCreatesAndReplacesWithTheModeAndLeavesNoTemporaryFile() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/update.conf"
        try Files.writeAtomically(path, Array("GROUP=alpha\n".utf8), mode: 0o600)
        try Files.writeAtomically(path, Array("GROUP=beta\n".utf8), mode: 0o640)
        #expect(try Files.read(path) == Array("GROUP=beta\n".utf8))
        #expect(try Syscall.fileStatus(path).st_mode & 0o777 == 0o640)
        #expect(try dir.entries() == ["update.conf"])
    }

    @Test func atomicWriteIntoAMissingDirectoryNamesThePath() throws {
        let dir = try TemporaryDirectory()
        #expect {
            try Files.writeAtomically(dir.path + "/absent/file", [1, 2, 3])
        } throws: { error in
            let error = error as! SystemError
            return error.errno == ENOENT && error.operation == "mkstemp"
                && error.description.contains(dir.path + "/absent/")
        }
        #expect(try dir.entries().isEmpty)
    }

    @Test func atomicWriteOverADirectoryFailsAndKeepsIt() throws {
        let dir = try TemporaryDirectory()
        try Files.makeDirectories(dir.path + "/target/inner")
        #expect(throws: SystemError.self) { try Files.writeAtomically(dir.path + "/target", [1]) }
        #expect(try dir.entries() == ["target"])
        #expect(try Syscall.fileStatus(dir.path + "/target/inner").st_mode & S_IFMT == S_IFDIR)
    }

    @Test func readsLargeFilesWhole() throws {
        let dir = try TemporaryDirectory()
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Files.writeAtomically(dir.path + "/big", bytes)
        #expect(try Files.read(dir.path + "/big") == bytes)
    }

    @Test func readIfPresentIsNilOnlyForAMissingFile() throws {
        let dir = try TemporaryDirectory()
        #expect(try Files.readIfPresent(dir.path + "/none") == nil)
        #expect {
            try Files.readIfPresent(dir.path)
        } throws: { error in
            (error as! SystemError).errno == EISDIR
        }
    }

    @Test func makeDirectoriesCreatesParentsAndAcceptsExisting() throws {
        let dir = try TemporaryDirectory()
        try Files.makeDirectories(dir.path + "/a/b/c")
        try Files.makeDirectories(dir.path + "/a/b/c")
        #expect(try Syscall.fileStatus(dir.path + "/a/b/c").st_mode & S_IFMT == S_IFDIR)
    }

    @Test func pathPieces() {
        #expect(Files.parentDirectory(of: "/etc/corebox/update.conf") == "/etc/corebox")
        #expect(Files.parentDirectory(of: "/etc") == "/")
        #expect(Files.parentDirectory(of: "file") == ".")
        #expect(Files.baseName(of: "/etc/corebox/update.conf") == "update.conf")
    }
}

@Suite struct ConfigFilesTests {
    @Test func updateSettingsFollowTheLookupOrder() throws {
        let dir = try TemporaryDirectory()
        try dir.write("etc/corebox/update.conf", "GROUP=beta\n")
        try dir.write("usr/share/corebox/update.conf", "GROUP=stable\nSERVER=https://public.update.example/v1/update/\n")
        try dir.write("usr/share/corebox/release", "COREBOX_RELEASE_VERSION=0.1.0\nCOREBOX_RELEASE_BOARD=amd64-usr\n")
        let config = try ConfigFiles.updateSettings(Layout(root: dir.path))
        #expect(config["GROUP"] == "beta")
        #expect(config.lookup("SERVER")?.file == dir.path + "/usr/share/corebox/update.conf")
        #expect(config["COREBOX_RELEASE_BOARD"] == "amd64-usr")
    }

    @Test func missingFilesAreSkipped() throws {
        let dir = try TemporaryDirectory()
        try dir.write("usr/share/corebox/release", "COREBOX_RELEASE_VERSION=0.1.0\n")
        let config = try ConfigFiles.updateSettings(Layout(root: dir.path))
        #expect(config.files.map(\.name) == [dir.path + "/usr/share/corebox/release"])
        #expect(config["GROUP"] == nil)
    }

    @Test func aMalformedFileIsReportedWithItsPathAndLine() throws {
        let dir = try TemporaryDirectory()
        try dir.write("etc/corebox/update.conf", "GROUP=beta\nREBOOT_STRATEGY=\"etcd-lock\n")
        #expect {
            try ConfigFiles.updateSettings(Layout(root: dir.path))
        } throws: { error in
            "\(error)" == dir.path + "/etc/corebox/update.conf:2: unterminated double quote"
        }
    }

    @Test func anUnreadableFileIsAnErrorNotAMissingOne() throws {
        let dir = try TemporaryDirectory()
        try Files.makeDirectories(dir.path + "/etc/corebox/update.conf")
        #expect {
            try ConfigFiles.updateSettings(Layout(root: dir.path))
        } throws: { error in
            "\(error)".hasPrefix("read('\(dir.path)/etc/corebox/update.conf'): Is a directory")
        }
    }

    @Test func osReleasePrefersEtc() throws {
        let dir = try TemporaryDirectory()
        try dir.write("usr/lib/os-release", "ID=corebox\nVERSION_ID=0.1.0\n")
        #expect(try ConfigFiles.osRelease(Layout(root: dir.path))?["ID"] == "corebox")
        try dir.write("etc/os-release", "ID=override\n")
        #expect(try ConfigFiles.osRelease(Layout(root: dir.path))?["ID"] == "override")
    }
}
