import CoreboxCore
import EtcdAPI
import Foundation
import GRPCWire
import Testing
@testable import KVClient

/// kvctl's command line read as etcdctl (cobra, pflag, Go's strconv and
/// time) reads it; the expected messages are etcdctl 3.4.23's.
struct KVCtlCommandLineTests {
    @Test func goNumbersBooleansAndDurations() throws {
        #expect(try GoSyntax.parseInt("0x10", base: 0) == 16)
        #expect(try GoSyntax.parseInt("010", base: 0) == 8)
        #expect(try GoSyntax.parseInt("1_000", base: 0) == 1000)
        #expect(try GoSyntax.parseInt("-5", base: 10) == -5)
        #expect(try GoSyntax.parseInt("390da214506ba10f", base: 16) == 0x390da214506ba10f)
        #expect(throws: GoSyntax.ParseError(description: #"strconv.ParseInt: parsing "abc": invalid syntax"#)) { try GoSyntax.parseInt("abc", base: 0) }
        #expect(throws: GoSyntax.ParseError(description: #"strconv.ParseInt: parsing "0x10": invalid syntax"#)) { try GoSyntax.parseInt("0x10", base: 16) }
        #expect(throws: GoSyntax.ParseError(description: #"strconv.ParseInt: parsing "9223372036854775808": value out of range"#)) {
            try GoSyntax.parseInt("9223372036854775808", base: 10)
        }
        #expect(try GoSyntax.parseInt("-9223372036854775808", base: 10) == .min)
        #expect(try GoSyntax.parseBool("T") && !(try GoSyntax.parseBool("0")))
        #expect(throws: GoSyntax.ParseError(description: #"strconv.ParseBool: parsing "yes": invalid syntax"#)) { try GoSyntax.parseBool("yes") }

        #expect(try GoSyntax.parseDuration("2s") == .seconds(2))
        #expect(try GoSyntax.parseDuration("1m30.5s") == .milliseconds(90_500))
        #expect(try GoSyntax.parseDuration("500ms") == .milliseconds(500))
        #expect(try GoSyntax.parseDuration("0") == .zero)
        #expect(try GoSyntax.parseDuration("1.5h") == .seconds(5400))
        #expect(throws: GoSyntax.ParseError(description: #"time: invalid duration "xx""#)) { try GoSyntax.parseDuration("xx") }
        #expect(throws: GoSyntax.ParseError(description: #"time: missing unit in duration "5""#)) { try GoSyntax.parseDuration("5") }
        #expect(throws: GoSyntax.ParseError(description: #"time: unknown unit "x" in duration "5x""#)) { try GoSyntax.parseDuration("5x") }
    }

    @Test func goDurationStringsAndSizes() {
        #expect(GoSyntax.format(.zero) == "0s")
        #expect(GoSyntax.format(.nanoseconds(812)) == "812ns")
        #expect(GoSyntax.format(.nanoseconds(917_228)) == "917.228\u{00B5}s")
        #expect(GoSyntax.format(.nanoseconds(1_500_000)) == "1.5ms")
        #expect(GoSyntax.format(.nanoseconds(1_000_565_081)) == "1.000565081s")
        #expect(GoSyntax.format(.seconds(3723)) == "1h2m3s")
        #expect(GoSyntax.format(.seconds(-90)) == "-1m30s")
        #expect(GoSyntax.humanBytes(5) == "5 B")
        #expect(GoSyntax.humanBytes(20480) == "20 kB")
        #expect(GoSyntax.humanBytes(15_106_048) == "15 MB")
        // One decimal rounded half up, then Go's %.0f rounding half to even.
        #expect(GoSyntax.humanBytes(1_250_000) == "1.3 MB")
        #expect(GoSyntax.humanBytes(20_500) == "20 kB")
        #expect(GoSyntax.humanBytes(21_500) == "22 kB")
    }

    @Test func goQuoting() {
        #expect(GoSyntax.quote("x") == #""x""#)
        #expect(GoSyntax.quote("a\"b\n\u{01}é") == #""a\"b\n\x01é""#)
        #expect(GoSyntax.quote(bytes: [0xFF]) == #""\xff""#)
        #expect(GoSyntax.unquote(#""a\tb\x41\101\u00e9""#) == Array("a\tbAAé".utf8))
        #expect(GoSyntax.unquote("`raw\\n`") == Array("raw\\n".utf8))
        #expect(GoSyntax.unquote(#""bad\q""#) == nil)
        #expect(GoSyntax.unquote(#""open"#) == nil)
    }

    static let getSpecs = KVRequests.rangeFlags + KVCtlCommand.globalFlags + [FlagSpec.help]

    @Test func flagsAnywhereInPflagsForms() throws {
        let parsed = try ParsedFlags.parse(["foo", "--prefix", "-wjson", "--limit", "0x2", "--rev=7", "--endpoints=a:1,b:2", "--endpoints", "c:3", "--", "--x"], specs: Self.getSpecs)
        #expect(parsed.arguments == ["foo", "--x"])
        #expect(parsed.terminator == 1)
        #expect(parsed.flags.bool("prefix") && parsed.flags.string("write-out") == "json")
        #expect(parsed.flags.int64("limit") == 2 && parsed.flags.int64("rev") == 7)
        #expect(parsed.flags.strings("endpoints") == ["a:1", "b:2", "c:3"])
        #expect(parsed.flags.duration("command-timeout") == .seconds(5) && !parsed.flags.isChanged("command-timeout"))
        #expect(try ParsedFlags.parse(["-w", "json"], specs: Self.getSpecs).flags.string("write-out") == "json")
        #expect(try ParsedFlags.parse(["-w=json", "--prefix=false"], specs: Self.getSpecs).flags.bool("prefix") == false)
        for (arguments, message) in [
            (["--bogus"], "unknown flag: --bogus"),
            (["-5"], "unknown shorthand flag: '5' in -5"),
            (["--limit"], "flag needs an argument: --limit"),
            (["-w"], "flag needs an argument: 'w' in -w"),
            (["--limit=abc"], #"invalid argument "abc" for "--limit" flag: strconv.ParseInt: parsing "abc": invalid syntax"#),
            (["--dial-timeout", "xx"], #"invalid argument "xx" for "--dial-timeout" flag: time: invalid duration "xx""#),
            (["--prefix=maybe"], #"invalid argument "maybe" for "--prefix" flag: strconv.ParseBool: parsing "maybe": invalid syntax"#),
        ] {
            #expect(throws: FlagError(description: message)) { try ParsedFlags.parse(arguments, specs: Self.getSpecs) }
        }
    }

    @Test func commandsAreFoundByWordsAndPrefixesAsCobraFindsThem() {
        let tree = CommandTree(KVCtlCommand.all)
        func found(_ arguments: [String]) -> ([String], [String])? {
            if case .found(let node, let rest) = tree.resolve(arguments) { return (node.path, rest) }
            return nil
        }
        #expect(found(["--endpoints", "x:1", "get", "foo", "-w", "json"])! == (["get"], ["--endpoints", "x:1", "foo", "-w", "json"]))
        #expect(found(["ge", "foo"])! == (["get"], ["foo"]))
        #expect(found(["lease", "keep", "--once", "1"])! == (["lease", "keep-alive"], ["--once", "1"]))
        #expect(found(["lease", "frob"])! == (["lease"], ["frob"]))
        #expect(found(["get", "get"])! == (["get"], ["get"]))
        #expect(found([])! == ([], []))
        guard case .unknown(let message) = tree.resolve(["gte"]) else {
            Issue.record("gte resolved")
            return
        }
        #expect(message == "unknown command \"gte\" for \"kvctl\"\n\nDid you mean this?\n\tget\n")
        guard case .unknown(let bare) = tree.resolve(["frob"]) else { return }
        #expect(bare == "unknown command \"frob\" for \"kvctl\"")
    }

    @Test func usageAlignsFlagsWithTabsAsEtcdctl() {
        let tree = CommandTree(KVCtlCommand.all)
        let usage = String(decoding: tree.usage(of: tree.node(["get"])!), as: UTF8.self)
        #expect(usage.hasPrefix("NAME:\n\tget - Gets the key or a range of keys\n\nUSAGE:\n\tkvctl get [options] <key> [range_end] [flags]\n\nOPTIONS:\n"))
        // etcdctl's own lines for these flags, tabs and all.
        #expect(usage.contains("      --consistency=\"l\"\t\t\tLinearizable(l) or Serializable(s)\n"))
        #expect(usage.contains("      --print-value-only[=false]\tOnly write values when using the \"simple\" output format\n"))
        #expect(usage.contains("  -w, --write-out=\"simple\"\t\t\tset the output format (simple, json)\n"))
        #expect(usage.contains("      --endpoints=[127.0.0.1:2379]\t\tgRPC endpoints\n"))
        #expect(usage.hasSuffix("\n\n"))
        let lease = String(decoding: tree.usage(of: tree.node(["lease"])!), as: UTF8.self)
        #expect(lease.contains("COMMANDS:\n\tgrant\t\tCreates leases\n\tkeep-alive\tKeeps leases alive (renew)\n"))
    }

    @Test func requestsFromArgumentsAndFlags() throws {
        func flags(_ arguments: [String], _ specs: [FlagSpec]) throws -> (arguments: [String], flags: ParsedFlags, terminator: Int?) {
            try ParsedFlags.parse(arguments, specs: specs)
        }
        let prefix = try flags(["foo", "--prefix", "--sort-by=modify", "--order=descend", "--consistency=s", "--keys-only"], KVRequests.rangeFlags)
        let range = try KVRequests.range(prefix.arguments, prefix.flags)
        #expect(range.key == Data("foo".utf8) && range.rangeEnd == Data("fop".utf8))
        #expect(range.sortTarget == .mod && range.sortOrder == .descend && range.serializable && range.keysOnly)
        let ascending = try flags(["a", "z", "--order=ASCEND", "--sort-by=KEY"], KVRequests.rangeFlags)
        #expect(try KVRequests.range(ascending.arguments, ascending.flags).sortOrder == .none)
        let everything = try flags(["", "--prefix"], KVRequests.rangeFlags)
        let all = try KVRequests.range(everything.arguments, everything.flags)
        #expect(all.key == Data([0]) && all.rangeEnd == Data([0]))
        #expect(KVRequests.prefixEnd(Data([0x61, 0xFF])) == Data([0x62]))
        #expect(KVRequests.prefixEnd(Data([0xFF])) == Data([0]))

        let put = try flags(["k", "v", "--lease=390da214506ba10f", "--prev-kv"], KVRequests.putFlags)
        let request = try KVRequests.put(put.arguments, put.flags, standardInput: nil)
        #expect(request.lease == 0x390da214506ba10f && request.prevKv && request.value == Data("v".utf8))

        for (arguments, code, message) in [
            ([String](), KVCtlError.Code.badArgs, "get command needs one argument as key and an optional argument as range_end"),
            (["a", "--prefix", "--from-key"], .badArgs, "`--prefix` and `--from-key` cannot be set at the same time, choose one"),
            (["a", "b", "--prefix"], .badArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set"),
            (["a", "--consistency=x"], .badFeature, #"unknown consistency flag "x""#),
            (["a", "--order=up"], .badFeature, "bad sort order up"),
            (["a", "--sort-by=size"], .badFeature, "bad sort target size"),
        ] {
            let parsed = try flags(arguments, KVRequests.rangeFlags)
            do {
                _ = try KVRequests.range(parsed.arguments, parsed.flags)
                Issue.record("\(arguments) made a request")
            } catch {
                #expect(error.code == code && error.message == message)
            }
        }
        let badLease = try flags(["k", "v", "--lease=zz"], KVRequests.putFlags)
        #expect(throws: KVCtlError.self) { try KVRequests.put(badLease.arguments, badLease.flags, standardInput: nil) }
    }

    @Test func txnComparesAndOperations() throws {
        let value = try TxnInput.compare(#"value("t1") = "v 1""#)
        #expect(value.key == Data("t1".utf8) && value.target == .value && value.result == .equal && value.targetUnion == .value(Data("v 1".utf8)))
        let mod = try TxnInput.compare(#"mod("t1") > "0""#)
        #expect(mod.target == .mod && mod.result == .greater && mod.targetUnion == .modRevision(0))
        #expect(try TxnInput.compare(#"c("k\x41") != "5""#).key == Data("kA".utf8))
        #expect(try TxnInput.compare(#"ver("k") < "2""#).targetUnion == .version(2))
        for (line, message) in [
            ("bogus", "malformed comparison: bogus"),
            (#"value(t1) = "v1""#, #"malformed comparison: value(t1) = "v1"; got value("")  """#),
            (#"value("t1" ) = "v1""#, #"malformed comparison: value("t1" ) = "v1"; got value("t1")  """#),
            (#"ver("t1") = "x""#, #"invalid txn compare request: ver("t1") = "x""#),
            (#"zzz("t1") = "x""#, #"malformed comparison: zzz("t1") = "x" (unknown target zzz)"#),
        ] {
            #expect(throws: KVCtlError.self) { try TxnInput.compare(line) }
            do { _ = try TxnInput.compare(line) } catch { #expect(error.message == message && error.code == .invalidInput) }
        }
        #expect(TxnInput.argify(#"put k "a b\tc" 'x y' -z"#) == ["put", "k", "a b\tc", "x y", "-z"])
        let put = try TxnInput.operation(#"p k "hello world" --prev-kv"#)
        #expect(put.requestPut.value == Data("hello world".utf8) && put.requestPut.prevKv)
        #expect(try TxnInput.operation("get a --prefix").requestRange.rangeEnd == Data("b".utf8))
        #expect(try TxnInput.operation("del a z").requestDeleteRange.rangeEnd == Data("z".utf8))
        do { _ = try TxnInput.operation("put") } catch { #expect(error.message == "invalid txn compare request: put") }
        do { _ = try TxnInput.operation("frob a b") } catch { #expect(error.message == "invalid txn request: frob a b") }
    }

    @Test func endpointsTakeEtcdctlsForms() throws {
        let http = try Endpoint("http://127.0.0.1:2379")
        #expect(http.host == "127.0.0.1" && http.port == 2379 && http.text == "http://127.0.0.1:2379")
        let v6 = try Endpoint("[::1]:23")
        #expect(v6.host == "::1" && v6.port == 23 && v6.text == "[::1]:23")
        #expect(throws: KVCtlError.self) { try Endpoint("https://a:1") }
        #expect(throws: KVCtlError.self) { try Endpoint("nohost") }
    }

    @Test func environmentFillsGlobalFlagsTheCommandLineLeftUnset() throws {
        var flags = try ParsedFlags.parse(["--hex"], specs: KVCtlCommand.globalFlags).flags
        try EnvironmentFlags.apply(
            ["ETCDCTL_ENDPOINTS": "a:1,b:2", "ETCDCTL_DIAL_TIMEOUT": "xx", "ETCDCTL_WATCH_KEY": "k", "PATH": "/bin"],
            to: &flags, globals: KVCtlCommand.globalFlags, accepting: ["ETCDCTL_WATCH_KEY"])
        #expect(flags.strings("endpoints") == ["a:1", "b:2"])
        #expect(flags.duration("dial-timeout") == .seconds(2))
        #expect(throws: KVCtlError.self) {
            try EnvironmentFlags.apply(["ETCDCTL_HEX": "false"], to: &flags, globals: KVCtlCommand.globalFlags, accepting: [])
        }
        #expect(EnvironmentFlags.variable(for: "command-timeout") == "ETCDCTL_COMMAND_TIMEOUT")
    }
}

extension KVCtlCommandLineTests {
    @Test func failuresReadAsClientv3PrintsThem() {
        #expect(EtcdError(GRPCStatus(.notFound, "etcdserver: requested lease not found")).message == "etcdserver: requested lease not found")
        #expect(EtcdError(GRPCStatus(.invalidArgument, "bad")).message == "rpc error: code = InvalidArgument desc = bad")
        #expect(EtcdError(GRPCStatus(.unavailable, "connection closed")).message == "rpc error: code = Unavailable desc = connection closed")
        #expect(EtcdError(GRPCStatus(.internalError, "x")).message == "rpc error: code = Internal desc = x")
        #expect(EtcdError(GRPCStatus(.cancelled, "x")).message == "rpc error: code = Canceled desc = x")
        #expect(EtcdError(GRPCStatus(.deadlineExceeded, "x")).message == "context deadline exceeded")
        #expect(EtcdError(GRPCStatus(.failedPrecondition, "x")).message == "grpc: the client connection is closing")
        #expect(GRPCStatus.Code.resourceExhausted.name == "ResourceExhausted" && GRPCStatus.Code.ok.name == "OK")
    }
}

extension KVCtlCommandLineTests {
    /// A command that reads its own flags (`ownFlags`) gets them as arguments;
    /// the global ones are still taken.
    @Test func ownFlagsPassThroughButGlobalOnesAreTaken() throws {
        let parsed = try ParsedFlags.parse(["put", "--clients=10", "--conns", "2", "-w", "json", "--endpoints=a:1", "-x"],
                                           specs: KVCtlCommand.globalFlags, passingUnknown: true)
        #expect(parsed.arguments == ["put", "--clients=10", "--conns", "2", "-x"])
        #expect(parsed.flags.string("write-out") == "json" && parsed.flags.strings("endpoints") == ["a:1"])
        #expect(throws: FlagError.self) { try ParsedFlags.parse(["--clients=10"], specs: KVCtlCommand.globalFlags) }
    }
}
