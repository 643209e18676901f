// The OCI runtime-spec as values (issue 5; docs/container.md): config.json
// read and checked in one pass, the state JSON, and what `spec` and
// `features` print. Pure: no I/O, no clock.

public enum OCIVersion {
    /// The version we write into specs, states and features: runc 1.1.5's,
    /// so our output and runc's agree byte for byte.
    public static let runtime = "1.0.2-dev"
    /// The oldest config version we read.
    public static let minimum = "1.0.0"
}
