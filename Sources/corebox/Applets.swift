import CloudInit
import ContainerRuntime
import CoreboxCore
import KVClient
import KVServer

/// The applet table: every name corebox answers to. `symlinks/` holds one
/// link per entry (a test keeps the two in step). An applet is listed here
/// only once it does its job.
let applets = AppletTable([
    Applet(name: "cloud-init", summary: "first-boot provisioning from cloud-config (coreos-cloudinit compatible)", main: CloudInitApplet.main),
    Applet(name: "container", summary: "OCI runtime with runc's command line; runs OCI images", main: ContainerApplet.main),
    Applet(name: "coreos-cloudinit", summary: "alias of cloud-init", main: CloudInitApplet.main),
    Applet(name: "kvctl", summary: "etcdctl-compatible client for kvd and etcd", main: KVCtlApplet.main),
    Applet(name: "kvd", summary: "etcd-compatible key-value server (Raft, etcd v3 API)", main: KVDApplet.main),
])
