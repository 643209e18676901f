import CoreboxCore
import KVClient
import KVServer

/// The applet table: every name corebox answers to. `symlinks/` holds one
/// link per entry (a test keeps the two in step). An applet is listed here
/// only once it does its job.
let applets = AppletTable([
    Applet(name: "kvctl", summary: "etcdctl-compatible client for kvd and etcd", main: KVCtlApplet.main),
    Applet(name: "kvd", summary: "etcd-compatible key-value server (Raft, etcd v3 API)", main: KVDApplet.main),
])
