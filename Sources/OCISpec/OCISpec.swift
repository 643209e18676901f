// The OCI runtime-spec as values (issue 5; docs/container.md).
