import FoundationEssentials

/// A `WWW-Authenticate` challenge (RFC 7235): a scheme and its
/// parameters, as registries send them: `Bearer realm="https://auth.example/token",
/// service="registry.example",scope="repository:app:pull"` or `Basic realm="x"`.
public struct AuthChallenge: Equatable, Sendable {
    /// Lower-cased (`bearer`, `basic`).
    public var scheme: String
    /// Names lower-cased, values unquoted.
    public var parameters: [String: String]

    public init(scheme: String, parameters: [String: String] = [:]) {
        self.scheme = scheme
        self.parameters = parameters
    }

    /// The first challenge of a header value; nil when it has no scheme.
    /// A malformed parameter list ends the parameters where it breaks.
    public init?(header: String) {
        var rest = Substring(header).drop { $0 == " " }
        let scheme = rest.prefix { $0 != " " && $0 != "," }
        guard !scheme.isEmpty else { return nil }
        self.scheme = scheme.lowercased()
        rest = rest.dropFirst(scheme.count)
        var parameters: [String: String] = [:]
        while true {
            rest = rest.drop { $0 == " " || $0 == "," }
            let name = rest.prefix { $0 != "=" && $0 != " " && $0 != "," }
            guard !name.isEmpty else { break }
            rest = rest.dropFirst(name.count).drop { $0 == " " }
            guard rest.first == "=" else { break }
            rest = rest.dropFirst().drop { $0 == " " }
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var closed = false
                while let character = rest.popFirst() {
                    if character == "\\", let escaped = rest.popFirst() {
                        value.append(escaped)
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        value.append(character)
                    }
                }
                guard closed else { break }
            } else {
                let token = rest.prefix { $0 != "," && $0 != " " }
                value = String(token)
                rest = rest.dropFirst(token.count)
            }
            parameters[name.lowercased()] = value
        }
        self.parameters = parameters
    }

    public var realm: String? { parameters["realm"] }

    /// The URL a bearer token is asked for: the realm with `service` and
    /// `scope` as query parameters (the challenge's scope, else `scope`).
    public func tokenURL(scope fallback: String) throws(ImageError) -> String {
        guard let realm, realm.hasPrefix("https://") || realm.hasPrefix("http://") else {
            throw ImageError("registry authentication: the Bearer challenge has no http(s) realm (got \(parameters["realm"].map { "\"\($0)\"" } ?? "none"))")
        }
        var query: [String] = []
        if let service = parameters["service"] { query.append("service=" + Self.percentEncoded(service)) }
        query.append("scope=" + Self.percentEncoded(parameters["scope"] ?? fallback))
        return realm + (realm.contains("?") ? "&" : "?") + query.joined(separator: "&")
    }

    /// RFC 3986's unreserved characters kept, every other byte %XX.
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || "-._~".utf8.contains(byte) {
                result.append(Character(Unicode.Scalar(byte)))
            } else {
                let digits = Array("0123456789ABCDEF")
                result += "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 15)])"
            }
        }
        return result
    }
}

/// A user name and password for a registry or its token service.
public struct RegistryCredentials: Equatable, Sendable {
    public var user: String
    public var password: String

    /// `USER:PASS` (the password may hold colons; neither part may be empty).
    public init(parsing text: String) throws(ImageError) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex, text.index(after: colon) != text.endIndex else {
            throw ImageError("credentials: want USER:PASSWORD")
        }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }

    /// The `Authorization` value for HTTP Basic authentication.
    public var basicAuthorization: String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }
}

/// A token service's answer: `token`, or OAuth2's `access_token`.
public struct BearerToken: Equatable, Sendable {
    public var token: String

    public static func parse(_ bytes: [UInt8]) throws(ImageError) -> BearerToken {
        struct Answer: Decodable {
            var token: String?
            var access_token: String?
        }
        let answer: Answer = try decodeJSON(bytes, "token response")
        guard let token = answer.token ?? answer.access_token, !token.isEmpty else {
            throw ImageError("token response: no \"token\" or \"access_token\"")
        }
        return BearerToken(token: token)
    }
}
