// The container applet: runc's command line over OCISpec, OCIImage and the C child (issue 5; docs/container.md).
