import EtcdAPI
import EtcdGRPCStubs
import GRPCCore
import Testing

// The gRPC path of a call is "/" + fullyQualifiedMethod: it must be etcd's.
@Suite struct ServiceDescriptorTests {
    private func paths(_ methods: [MethodDescriptor]) -> [String] {
        methods.map { "/\($0.fullyQualifiedMethod)" }
    }

    @Test func kv() {
        #expect(paths(Etcdserverpb_KV.Method.descriptors) == [
            "/etcdserverpb.KV/Range", "/etcdserverpb.KV/Put", "/etcdserverpb.KV/DeleteRange",
            "/etcdserverpb.KV/Txn", "/etcdserverpb.KV/Compact",
        ])
    }

    @Test func watch() {
        #expect(paths(Etcdserverpb_Watch.Method.descriptors) == ["/etcdserverpb.Watch/Watch"])
        #expect(Etcdserverpb_Watch.Method.Watch.descriptor.type == .bidirectionalStreaming)
    }

    @Test func lease() {
        #expect(paths(Etcdserverpb_Lease.Method.descriptors) == [
            "/etcdserverpb.Lease/LeaseGrant", "/etcdserverpb.Lease/LeaseRevoke",
            "/etcdserverpb.Lease/LeaseKeepAlive", "/etcdserverpb.Lease/LeaseTimeToLive",
            "/etcdserverpb.Lease/LeaseLeases",
        ])
        #expect(Etcdserverpb_Lease.Method.LeaseKeepAlive.descriptor.type == .bidirectionalStreaming)
    }

    @Test func cluster() {
        #expect(paths(Etcdserverpb_Cluster.Method.descriptors) == [
            "/etcdserverpb.Cluster/MemberAdd", "/etcdserverpb.Cluster/MemberRemove",
            "/etcdserverpb.Cluster/MemberUpdate", "/etcdserverpb.Cluster/MemberList",
            "/etcdserverpb.Cluster/MemberPromote",
        ])
    }

    @Test func maintenance() {
        #expect(paths(Etcdserverpb_Maintenance.Method.descriptors) == [
            "/etcdserverpb.Maintenance/Alarm", "/etcdserverpb.Maintenance/Status",
            "/etcdserverpb.Maintenance/Defragment", "/etcdserverpb.Maintenance/Hash",
            "/etcdserverpb.Maintenance/HashKV", "/etcdserverpb.Maintenance/Snapshot",
            "/etcdserverpb.Maintenance/MoveLeader",
        ])
        #expect(Etcdserverpb_Maintenance.Method.Snapshot.descriptor.type == .serverStreaming)
    }

    @Test func auth() {
        let names = Etcdserverpb_Auth.Method.descriptors.map(\.method)
        #expect(names == [
            "AuthEnable", "AuthDisable", "Authenticate", "UserAdd", "UserGet", "UserList",
            "UserDelete", "UserChangePassword", "UserGrantRole", "UserRevokeRole", "RoleAdd",
            "RoleGet", "RoleList", "RoleDelete", "RoleGrantPermission", "RoleRevokePermission",
        ])
        #expect(Etcdserverpb_Auth.descriptor.fullyQualifiedService == "etcdserverpb.Auth")
    }
}
