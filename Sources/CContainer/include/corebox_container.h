#ifndef COREBOX_CONTAINER_H
#define COREBOX_CONTAINER_H

// The container's first process between clone and exec, in C: no Swift
// runs in the child (DESIGN.md). The parent prepares everything as plain
// data; the child only makes system calls and reports the step that failed
// with its errno over the sync socket.

#include <stddef.h>
#include <stdint.h>
#include <linux/sched.h> // CLONE_NEW*, for the Swift side too
#include <sys/resource.h>
#include <sys/types.h>

struct corebox_mount {
    const char *source;      // NULL for none
    const char *destination; // absolute, inside the root
    const char *type;        // NULL for a bind mount
    const char *data;        // filesystem options, NULL for none
    unsigned long flags;     // MS_* without propagation
    unsigned long propagation; // MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE (| MS_REC); 0 for none
};

struct corebox_device {
    const char *path; // absolute, inside the root
    mode_t mode;      // S_IFCHR, S_IFBLK or S_IFIFO with the permission bits
    unsigned int major, minor;
    uid_t uid;
    gid_t gid;
};

struct corebox_symlink {
    const char *target; // what the link points to, as written
    const char *path;   // absolute, inside the root; whatever is there is replaced
};

struct corebox_rlimit {
    int resource;
    rlim_t soft, hard;
};

struct corebox_namespace_join {
    int type; // CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNS, CLONE_NEWCGROUP
    int fd;
};

struct corebox_container {
    int clone_flags; // the CLONE_NEW* namespaces to create
    const struct corebox_namespace_join *joins;
    size_t join_count;

    const char *rootfs; // absolute, on the host
    int readonly_rootfs;
    int no_pivot;
    unsigned long rootfs_propagation; // for "/" before the mounts; 0: MS_SLAVE | MS_REC

    const struct corebox_mount *mounts;
    size_t mount_count;
    const struct corebox_device *devices;
    size_t device_count;
    const char *const *masked_paths;
    size_t masked_count;
    const char *const *readonly_paths;
    size_t readonly_count;

    const char *hostname;   // NULL: leave
    const char *domainname; // NULL: leave
    const char *const *sysctl_keys;   // "net.ipv4.ip_forward"
    const char *const *sysctl_values;
    size_t sysctl_count;
    const struct corebox_rlimit *rlimits;
    size_t rlimit_count;

    int set_capabilities; // 0: keep what the runtime has
    uint64_t cap_bounding, cap_effective, cap_inheritable, cap_permitted, cap_ambient;
    int no_new_privileges;
    uid_t uid;
    gid_t gid;
    const gid_t *additional_gids;
    size_t additional_gid_count;
    int umask; // -1: leave

    const char *cwd;
    char *const *argv; // argv[0] is looked up in the PATH of envp when it has no '/'
    char *const *envp;

    const void *seccomp_filter; // a struct sock_fprog, NULL for none
    unsigned int seccomp_flags;

    int exec_fifo_fd; // an O_PATH descriptor of the state dir's FIFO; -1: exec at once
    int preserved_fds; // descriptors 3 .. 3 + N - 1 stay open across exec

    const struct corebox_symlink *symlinks; // made after the devices (/dev/fd, /dev/ptmx)
    size_t symlink_count;
};

// What the child sends on the sync socket.
enum corebox_child_message_kind {
    COREBOX_CHILD_READY = 1,  // set up; waiting on the FIFO (or about to exec)
    COREBOX_CHILD_FAILED = 2, // a step failed; nothing after it ran
};

struct corebox_child_message {
    int32_t kind;
    int32_t error; // errno
    char step[232]; // what was being done: "mount proc on /proc", "exec /bin/sh"
};

// Starts the container's first process in new namespaces. Returns its pid
// (-1 with errno on failure) and the parent's end of the sync socket in
// *sync_fd. With CLONE_NEWUSER the child waits for one byte on the socket,
// sent once the parent has written its ID maps.
pid_t corebox_container_spawn(const struct corebox_container *container, int *sync_fd);

#endif
