import CoreboxCore

/// The applet table: every name corebox answers to. `symlinks/` holds one
/// link per entry (a test keeps the two in step). An applet is listed here
/// only once it does its job.
let applets = AppletTable([])
