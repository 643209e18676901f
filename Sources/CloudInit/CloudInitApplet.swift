import CoreboxCore

/// The `cloud-init` applet (alias `coreos-cloudinit`): fetch user-data,
/// validate it whole, plan, then apply (docs/cloud-init.md).
public enum CloudInitApplet {}
