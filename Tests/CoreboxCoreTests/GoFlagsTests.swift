import CoreboxCore
import Testing

/// Go's flag syntax, shared by cloud-init and container.
struct GoFlagsTests {
    static func parse(_ arguments: [String]) throws(GoFlags.Invalid) -> GoFlags {
        try GoFlags(arguments, values: ["bundle", "from-file"], flags: ["detach", "validate"], aliases: ["b": "bundle", "d": "detach"])
    }

    @Test func valuesFlagsAndPositionalsInEitherForm() throws {
        let parsed = try Self.parse(["-from-file=/a", "--bundle", "/b", "-d", "id", "--", "-not-a-flag"])
        #expect(parsed.value("from-file") == "/a" && parsed.value("bundle") == "/b")
        #expect(parsed.flag("detach") && !parsed.flag("validate"))
        #expect(parsed.positionals == ["id", "-not-a-flag"])
        #expect(try Self.parse(["-b=/c"]).value("bundle") == "/c")
    }

    @Test func booleansTakeStrconvWords() throws {
        #expect(try Self.parse(["-validate=t"]).flag("validate"))
        #expect(try !Self.parse(["-validate", "-validate=0"]).flag("validate"))
        #expect(throws: GoFlags.Invalid(description: "invalid boolean value \"maybe\" for -validate")) { try Self.parse(["-validate=maybe"]) }
    }

    @Test func errorsInGoFlagsWords() {
        #expect(throws: GoFlags.Invalid(description: "flag provided but not defined: -nope")) { try Self.parse(["-nope"]) }
        #expect(throws: GoFlags.Invalid(description: "flag needs an argument: -from-file")) { try Self.parse(["-from-file"]) }
    }
}
