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
#include <sys/signalfd.h> // for the runtime's foreground wait
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
    // A CLONE_NEW* flag. After joining CLONE_NEWPID the child forks (only
    // children enter a pid namespace) and the new process, a child of the
    // runtime, goes on.
    int type;
    int fd;
};

// A runtime-spec hook the child runs itself (createContainer, startContainer).
struct corebox_hook {
    const char *path;
    char *const *argv;
    char *const *envp;
    int timeout; // seconds; 0: none
};

struct corebox_container {
    int clone_flags; // the CLONE_NEW* namespaces to create (CLONE_NEWTIME too)
    // For a new time namespace, its clocks' offsets as /proc/PID/timens_offsets
    // takes them ("monotonic SECS NANOSECS\n..."); NULL: none.
    const char *time_offsets;
    const struct corebox_namespace_join *joins;
    // With a user namespace among the joins, the namespaces to create are
    // made by unshare(2) after the joins, so that they belong to it. A time
    // namespace always is (clone cannot), and a pid namespace with it. The
    // pid and time namespaces take only children: with either the child
    // forks as after a pid join.
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

    // Hooks: with `hooks_sync` the child sends COREBOX_CHILD_HOOKS once its
    // mounts are made, before it enters the root, and waits for the answer:
    // the state JSON for the createContainer hooks and the one for the
    // startContainer hooks, each ending in a NUL, read into `state_buffer`.
    // Once `start` opened the FIFO the child writes a corebox_child_message
    // to it: READY when the startContainer hooks succeeded, else the one
    // that failed (and it exits).
    int hooks_sync;
    const struct corebox_hook *create_container_hooks; // run before the root is entered
    size_t create_container_count;
    const struct corebox_hook *start_container_hooks; // run once `start` opened the FIFO, before exec
    size_t start_container_count;
    char *state_buffer;
    size_t state_capacity;

    // cgroup.procs files opened for writing: the child writes "0" to each
    // (moving itself) before anything else, so all it forks is inside.
    const int *cgroup_procs_fds;
    size_t cgroup_procs_count;

    // With `terminal` the child opens a pty in the root it ends in
    // (/dev/ptmx), sends the master over `console_socket_fd`, a connected
    // AF_UNIX socket (SCM_RIGHTS, "/dev/ptmx" as the payload), and makes the
    // slave its controlling terminal and stdio; with CLONE_NEWNS the slave
    // is also bound onto /dev/console.
    int terminal;
    int console_socket_fd;
    unsigned short console_height, console_width; // 0: leave the size
};

// What the child sends on the sync socket.
enum corebox_child_message_kind {
    COREBOX_CHILD_READY = 1,  // set up; waiting on the FIFO (or about to exec)
    COREBOX_CHILD_FAILED = 2, // a step failed; nothing after it ran
    COREBOX_CHILD_HOOKS = 3,  // mounts made: run prestart and createRuntime, then answer
    COREBOX_CHILD_FORKED = 4, // joined a pid namespace: `pid` goes on, the sender exits
};

struct corebox_child_message {
    int32_t kind;
    int32_t error; // errno; 0 when `step` says it all (a hook's exit status)
    int32_t pid;   // COREBOX_CHILD_FORKED: the new process, as the runtime sees it
    char step[228]; // what was being done: "mount proc on /proc", "exec /bin/sh"
};

// Starts the container's first process in new namespaces. Returns its pid
// (-1 with errno on failure) and the parent's end of the sync socket in
// *sync_fd. With CLONE_NEWUSER the child waits for one byte on the socket,
// sent once the parent has written its ID maps.
pid_t corebox_container_spawn(const struct corebox_container *container, int *sync_fd);

// Loads a BPF_PROG_TYPE_CGROUP_DEVICE program (`count` struct bpf_insn) and
// attaches it to the cgroup directory `cgroup_fd` (BPF_CGROUP_DEVICE,
// BPF_F_ALLOW_MULTI). Returns 0, or -1 with errno and, when the kernel
// refused the program, its verifier's message in `log`.
int corebox_attach_device_filter(const void *instructions, size_t count, int cgroup_fd, char *log, size_t log_size);

// getxattr for the Swift side (Glibc's module lacks it): systemd's mark on a delegated cgroup.
#include <sys/xattr.h>

// Receives one descriptor sent with SCM_RIGHTS (close-on-exec) and the
// message's payload into `name` (NUL-terminated). -1 with errno on failure.
int corebox_receive_fd(int socket, char *name, size_t capacity);

// pidfd_open(2), which has no libc wrapper here.
int corebox_pidfd_open(pid_t pid);

#endif
