@testable import CloudConfig
import Foundation
import Testing

/// MIME multipart user-data as Flatcar's coreos-cloudinit and cloud-init take it.
struct MultipartTests {
    static func parts(_ text: String) throws(ContentError) -> [MultipartUserData.Part] {
        try MultipartUserData.parts(Array(text.utf8))
    }

    static func text(_ part: MultipartUserData.Part) -> String { String(decoding: part.body, as: UTF8.self) }

    /// The shape of coreos-cloudinit's own test data: Content-Type first,
    /// parts with charset, 7bit and a file name.
    static let flatcarStyle = """
        Content-Type: multipart/mixed; boundary="===============1234=="
        MIME-Version: 1.0

        --===============1234==
        Content-Type: text/cloud-config; charset="us-ascii"
        MIME-Version: 1.0
        Content-Transfer-Encoding: 7bit
        Content-Disposition: attachment; filename="cloud-config"

        hostname: "example"

        --===============1234==
        Content-Type: text/x-shellscript; charset="us-ascii"
        Content-Disposition: attachment; filename="create_file.sh"

        #!/bin/sh
        touch /tmp/x
        --===============1234==
        Content-Type: text/plain

        #cloud-config
        --===============1234==--

        """

    @Test func flatcarStyleParts() throws {
        let parts = try Self.parts(Self.flatcarStyle)
        #expect(parts.map(\.contentType) == ["text/cloud-config", "text/x-shellscript", "text/plain"])
        #expect(parts.map(\.fileName) == ["cloud-config", "create_file.sh", nil])
        // The line break before a delimiter belongs to the delimiter.
        #expect(parts.map(Self.text) == ["hostname: \"example\"\n", "#!/bin/sh\ntouch /tmp/x", "#cloud-config"])
        #expect(parts.map(\.line) == [10, 16, 21])
        #expect(MultipartUserData.isMultipart(Array(Self.flatcarStyle.utf8)))
    }

    @Test func crlfLinesGiveTheSameParts() throws {
        let crlf = Self.flatcarStyle.replacingOccurrences(of: "\n", with: "\r\n")
        let parts = try Self.parts(crlf)
        #expect(parts.map(Self.text) == ["hostname: \"example\"\r\n", "#!/bin/sh\r\ntouch /tmp/x", "#cloud-config"])
        #expect(parts.map(\.line) == [10, 16, 21])
    }

    @Test func whatIsMultipart() {
        let yes = [
            "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n",
            "content-type: Multipart/Mixed;\n boundary=\"b\"\n\n",
            "Content-Type: multipart/alternative; boundary=b\n",
        ]
        for text in yes { #expect(MultipartUserData.isMultipart(Array(text.utf8)), "\(text)") }
        let no = [
            "", "#cloud-config\nhostname: a\n", "#!/bin/sh\n", "Content-Type: text/plain\n\n",
            "\nContent-Type: multipart/mixed; boundary=b\n", "hostname: a\nusers: []\n\n",
            "#cloud-config\nContent-Type: multipart/mixed; boundary=b\n",
        ]
        for text in no { #expect(!MultipartUserData.isMultipart(Array(text.utf8)), "\(text)") }
    }

    @Test func mimeVersionFirstPreambleEpilogueAndPadding() throws {
        let text = """
            MIME-Version: 1.0
            Subject: user-data
            Content-Type: multipart/mixed;
             boundary=frontier

            This is the preamble, not a part.
            --frontier\t
            Content-Type: text/cloud-config

            a: 1
            --frontier-not-a-delimiter
            --frontier--   
            the epilogue
            --frontier
            """
        let parts = try Self.parts(text)
        #expect(parts.count == 1)
        #expect(parts.first.map(Self.text) == "a: 1\n--frontier-not-a-delimiter")
        #expect(parts.first?.line == 10)
    }

    @Test func transferEncodingsAndGzip() throws {
        let cloudConfig = Array("#cloud-config\nhostname: zipped\n".utf8)
        let gzipped = try ExternalTool.gzip(cloudConfig)
        let base64Gzip = Data(gzipped).base64EncodedString(options: .lineLength76Characters)
        let text = """
            Content-Type: multipart/mixed; boundary="b"

            --b
            Content-Type: text/x-shellscript
            Content-Transfer-Encoding: base64

            IyEvYmluL3NoCmVj
              aG8gaGkK
            --b
            Content-Type: application/x-gzip
            Content-Transfer-Encoding: BASE64

            \(base64Gzip)
            --b
            Content-Type: text/cloud-config
            Content-Transfer-Encoding: quoted-printable

            hostname: caf=C3=A9
            ssh_authorized_keys: ["ssh-ed25519 AAAA=
            B key"]
            --b--
            """
        let parts = try Self.parts(text)
        #expect(parts.map(Self.text) == ["#!/bin/sh\necho hi\n", "#cloud-config\nhostname: zipped\n", "hostname: café\nssh_authorized_keys: [\"ssh-ed25519 AAAAB key\"]"])
        #expect(parts.map(\.contentType) == ["text/x-shellscript", "application/x-gzip", "text/cloud-config"])
        #expect(parts.map(\.line) == [7, 13, 18])

        // A gzip body is known by its magic bytes too, whatever its type says.
        let binary = Array("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/cloud-config\n\n".utf8) + gzipped + Array("\n--b--\n".utf8)
        #expect(try MultipartUserData.parts(binary).map(\.body) == [cloudConfig])
    }

    @Test func nestedMultipartPartsComeOutInPlace() throws {
        let text = """
            Content-Type: multipart/mixed; boundary=outer

            --outer
            Content-Type: multipart/alternative; boundary=inner

            --inner
            Content-Type: text/cloud-config

            a: 1
            --inner
            Content-Type: text/x-shellscript

            #!/bin/sh
            --inner--
            --outer

            no headers: this line is body, not a header, only when it is
            #cloud-config
            --outer
            #!/bin/sh
            echo headerless
            --outer--
            """
        let parts = try Self.parts(text)
        #expect(parts.map(\.contentType) == ["text/cloud-config", "text/x-shellscript", "text/plain", "text/plain"])
        #expect(parts.map(Self.text) == ["a: 1", "#!/bin/sh", "no headers: this line is body, not a header, only when it is\n#cloud-config", "#!/bin/sh\necho headerless"])
        #expect(parts.map(\.line) == [9, 13, 17, 20])
    }

    /// What cloud-init's users make: Python's email package (the way
    /// `cloud-init devel make-mime` builds archives).
    @Test func pythonsEmailPackage() throws {
        let script = """
            import gzip, sys
            from email.mime.application import MIMEApplication
            from email.mime.multipart import MIMEMultipart
            from email.mime.text import MIMEText
            message = MIMEMultipart()
            message.attach(MIMEText("#cloud-config\\nhostname: a\\n", "cloud-config"))
            script = MIMEText("#!/bin/sh\\necho h\\u00e9\\n", "x-shellscript", "utf-8")
            script.add_header("Content-Disposition", "attachment", filename="hello.sh")
            message.attach(script)
            message.attach(MIMEApplication(gzip.compress(b"#cloud-config\\nusers: []\\n"), "x-gzip"))
            sys.stdout.write(message.as_string())
            """
        let (output, status) = try ExternalTool.run("/usr/bin/env", ["python3", "-c", script])
        #expect(status == 0)
        #expect(MultipartUserData.isMultipart(output))
        let parts = try MultipartUserData.parts(output)
        #expect(parts.map(\.contentType) == ["text/cloud-config", "text/x-shellscript", "application/x-gzip"])
        #expect(parts.map(Self.text) == ["#cloud-config\nhostname: a\n", "#!/bin/sh\necho hé\n", "#cloud-config\nusers: []\n"])
        #expect(parts.map(\.fileName) == [nil, "hello.sh", nil])
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        for part in parts { #expect(lines[part.line - 2].isEmpty, "a blank line before the body at \(part.line)") }
        #expect(lines[parts[0].line - 1] == "#cloud-config")
    }

    @Test func errorsNameTheLine() {
        func error(_ text: String) -> ContentError? {
            do { _ = try Self.parts(text) } catch { return error }
            return nil
        }
        #expect(error("#cloud-config\n") == ContentError("multipart: no multipart Content-Type header at the top", line: 1))
        #expect(error("MIME-Version: 1.0\nContent-Type: multipart/mixed\n\n--b\n\nx\n--b--\n") == ContentError("multipart: no boundary in Content-Type", line: 2))
        #expect(error("Content-Type: multipart/mixed; boundary=\"\"\n\n") == ContentError("multipart: no boundary in Content-Type", line: 1))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n") == ContentError("multipart: no blank line after the headers of the message", line: 1))
        #expect(error("Content-Type: multipart/mixed; boundary=b\nnot a header\n\n") == ContentError("multipart: malformed header line in the message", line: 2))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--c\n\nx\n--c--\n") == ContentError("multipart: no part starts with \"--b\"", line: 1))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b--\n") == ContentError("multipart: no part starts with \"--b\"", line: 1))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b\n\ny\n") == ContentError("multipart: no closing boundary \"--b--\"", line: 8))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\nx\n\n--b--\n") == ContentError("multipart: malformed header line in the part", line: 5))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b--\n") == ContentError("multipart: no blank line after the headers of the part", line: 4))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\nIyEv!\n--b--\n") == ContentError("multipart: text/plain part: illegal base64 data at input byte 4", line: 6))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/gzip\n\nplain\n--b--\n") == ContentError("multipart: application/gzip part: gzip: invalid header", line: 6))
        #expect(error("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: multipart/mixed\n\n--b--\n") == ContentError("multipart: no boundary in Content-Type", line: 4))
    }

    @Test func emptyPartsAreParts() throws {
        let parts = try Self.parts("Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\nContent-Type: text/cloud-config\n\n--b--\n")
        #expect(parts == [
            MultipartUserData.Part(contentType: "text/plain", fileName: nil, body: [], line: 4),
            MultipartUserData.Part(contentType: "text/cloud-config", fileName: nil, body: [], line: 7),
        ])
    }
}
