#define _GNU_SOURCE
#include "corebox_container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

// The child runs in a copy of a possibly multi-threaded process: no malloc,
// no stdio, no locks. Paths are built in fixed buffers on its stack.

#define PATH_CAPACITY 4096

struct child_arguments {
    const struct corebox_container *container;
    int sync_fd;
};

static void send_message(int fd, int kind, int error, const char *step, const char *subject) {
    struct corebox_child_message message;
    memset(&message, 0, sizeof message);
    message.kind = kind;
    message.error = error;
    size_t used = 0;
    for (const char *part = step; part && *part && used + 1 < sizeof message.step; part++) message.step[used++] = *part;
    if (subject) {
        if (used + 1 < sizeof message.step) message.step[used++] = ' ';
        for (const char *part = subject; *part && used + 1 < sizeof message.step; part++) message.step[used++] = *part;
    }
    (void)!write(fd, &message, sizeof message);
}

// Reports the failed step with errno and ends the child.
static void __attribute__((noreturn)) fail(int fd, const char *step, const char *subject) {
    send_message(fd, COREBOX_CHILD_FAILED, errno, step, subject);
    _exit(errno == ENOENT ? 127 : 126);
}

// `root` + `path` into `out`; false when it does not fit.
static int join_path(char *out, const char *root, const char *path) {
    size_t a = strlen(root), b = strlen(path);
    if (a + b + 1 > PATH_CAPACITY) return 0;
    memcpy(out, root, a);
    memcpy(out + a, path, b + 1);
    return 1;
}

// mkdir -p, every component with mode 0755.
static int make_directories(char *path) {
    for (char *slash = path + 1; *slash; slash++) {
        if (*slash != '/') continue;
        *slash = 0;
        int result = mkdir(path, 0755);
        *slash = '/';
        if (result < 0 && errno != EEXIST) return -1;
    }
    if (mkdir(path, 0755) < 0 && errno != EEXIST) return -1;
    return 0;
}

// A mount point for `source`: a file for a bind of a file, else a directory.
static int make_mount_point(char *target, const struct corebox_mount *mount) {
    struct stat status;
    if (mount->type == NULL && mount->source && stat(mount->source, &status) == 0 && !S_ISDIR(status.st_mode)) {
        char *slash = strrchr(target, '/');
        if (slash && slash != target) {
            *slash = 0;
            int result = make_directories(target);
            *slash = '/';
            if (result < 0) return -1;
        }
        int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EISDIR) return -1;
        if (fd >= 0) close(fd);
        return 0;
    }
    return make_directories(target);
}

static void mount_one(int sync_fd, const char *rootfs, const struct corebox_mount *entry) {
    char target[PATH_CAPACITY];
    if (!join_path(target, rootfs, entry->destination)) {
        errno = ENAMETOOLONG;
        fail(sync_fd, "mount", entry->destination);
    }
    if (make_mount_point(target, entry) < 0) fail(sync_fd, "create the mount point", entry->destination);
    unsigned long flags = entry->flags;
    int bind = (flags & MS_BIND) != 0;
    // A bind mount takes its other flags only when remounted.
    if (mount(entry->source, target, entry->type, bind ? flags & (MS_BIND | MS_REC) : flags, entry->data) < 0)
        fail(sync_fd, "mount", entry->destination);
    if (bind && (flags & ~(MS_BIND | MS_REC)) != 0) {
        if (mount(NULL, target, NULL, (flags & ~MS_REC) | MS_REMOUNT | MS_BIND, NULL) < 0)
            fail(sync_fd, "remount", entry->destination);
    }
    if (entry->propagation && mount(NULL, target, NULL, entry->propagation, NULL) < 0)
        fail(sync_fd, "set the propagation of", entry->destination);
}

static void make_device(int sync_fd, const char *rootfs, const struct corebox_device *device, int in_user_namespace) {
    char target[PATH_CAPACITY];
    if (!join_path(target, rootfs, device->path)) {
        errno = ENAMETOOLONG;
        fail(sync_fd, "create device", device->path);
    }
    char *slash = strrchr(target, '/');
    *slash = 0;
    if (make_directories(target) < 0) fail(sync_fd, "create the directory of device", device->path);
    *slash = '/';
    if (in_user_namespace) {
        // mknod is not allowed in a user namespace: bind the host's node.
        int fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (fd < 0) fail(sync_fd, "create device", device->path);
        close(fd);
        if (mount(device->path, target, NULL, MS_BIND, NULL) < 0) fail(sync_fd, "bind device", device->path);
        return;
    }
    unlink(target);
    if (mknod(target, device->mode, makedev(device->major, device->minor)) < 0) fail(sync_fd, "create device", device->path);
    if (chown(target, device->uid, device->gid) < 0) fail(sync_fd, "chown device", device->path);
    if (chmod(target, device->mode & 07777) < 0) fail(sync_fd, "chmod device", device->path);
}

static void make_symlink(int sync_fd, const char *rootfs, const struct corebox_symlink *link) {
    char target[PATH_CAPACITY];
    if (!join_path(target, rootfs, link->path)) {
        errno = ENAMETOOLONG;
        fail(sync_fd, "create symlink", link->path);
    }
    if (unlink(target) < 0 && errno != ENOENT) fail(sync_fd, "replace with a symlink", link->path);
    if (symlink(link->target, target) < 0) fail(sync_fd, "create symlink", link->path);
}

static void enter_root(int sync_fd, const struct corebox_container *c) {
    if (c->no_pivot) {
        if (chdir(c->rootfs) < 0) fail(sync_fd, "chdir to", c->rootfs);
        if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) < 0) fail(sync_fd, "move the root onto /", NULL);
        if (chroot(".") < 0) fail(sync_fd, "chroot", c->rootfs);
    } else {
        // pivot_root(".", ".") stacks the old root under the new one; detach it.
        int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (old < 0) fail(sync_fd, "open /", NULL);
        if (chdir(c->rootfs) < 0) fail(sync_fd, "chdir to", c->rootfs);
        if (syscall(SYS_pivot_root, ".", ".") < 0) fail(sync_fd, "pivot_root to", c->rootfs);
        if (fchdir(old) < 0) fail(sync_fd, "fchdir to the old root", NULL);
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail(sync_fd, "make the old root a slave", NULL);
        if (umount2(".", MNT_DETACH) < 0) fail(sync_fd, "detach the old root", NULL);
        close(old);
    }
    if (chdir("/") < 0) fail(sync_fd, "chdir to /", NULL);
}

static void mask_path(int sync_fd, const char *path) {
    struct stat status;
    if (stat(path, &status) < 0) {
        if (errno == ENOENT) return;
        fail(sync_fd, "mask", path);
    }
    int result = S_ISDIR(status.st_mode)
        ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
        : mount("/dev/null", path, NULL, MS_BIND, NULL);
    if (result < 0) fail(sync_fd, "mask", path);
}

static void make_readonly(int sync_fd, const char *path) {
    if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
        if (errno == ENOENT) return;
        fail(sync_fd, "bind read-only path", path);
    }
    if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0)
        fail(sync_fd, "remount read-only", path);
}

static void write_sysctl(int sync_fd, const char *key, const char *value) {
    char path[PATH_CAPACITY] = "/proc/sys/";
    size_t used = strlen(path);
    for (const char *c = key; *c; c++) {
        if (used + 1 >= sizeof path) {
            errno = ENAMETOOLONG;
            fail(sync_fd, "set sysctl", key);
        }
        path[used++] = *c == '.' ? '/' : *c;
    }
    path[used] = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(sync_fd, "set sysctl", key);
    size_t length = strlen(value);
    if (write(fd, value, length) != (ssize_t)length) fail(sync_fd, "set sysctl", key);
    close(fd);
}

static void set_credentials(int sync_fd, const struct corebox_container *c) {
    if (c->set_capabilities) {
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
            if (!(c->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                fail(sync_fd, "drop from the bounding set a capability", NULL);
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(sync_fd, "keep capabilities across setuid", NULL);
    }
    if (setgroups(c->additional_gid_count, c->additional_gids) < 0 && !(errno == EPERM && c->additional_gid_count == 0))
        fail(sync_fd, "setgroups", NULL);
    if (setresgid(c->gid, c->gid, c->gid) < 0) fail(sync_fd, "setgid", NULL);
    if (setresuid(c->uid, c->uid, c->uid) < 0) fail(sync_fd, "setuid", NULL);
    if (c->set_capabilities) {
        struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct data[2] = {
            {(uint32_t)c->cap_effective, (uint32_t)c->cap_permitted, (uint32_t)c->cap_inheritable},
            {(uint32_t)(c->cap_effective >> 32), (uint32_t)(c->cap_permitted >> 32), (uint32_t)(c->cap_inheritable >> 32)},
        };
        if (syscall(SYS_capset, &header, data) < 0) fail(sync_fd, "capset", NULL);
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
            if ((c->cap_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                fail(sync_fd, "raise an ambient capability", NULL);
        }
    }
}

// argv[0], looked up in envp's PATH when it has no '/'. With `execute`,
// execve of the first candidate that works; without, returns once one is
// executable, so that a missing program fails before the exec FIFO wait
// (`create` reports it, as runc does) rather than after `start`.
static void find_program(int sync_fd, const struct corebox_container *c, int execute) {
    const char *file = c->argv[0];
    if (strchr(file, '/')) {
        if (execute) execve(file, c->argv, c->envp);
        else if (access(file, X_OK) == 0) return;
        fail(sync_fd, "exec", file);
    }
    const char *search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char *const *entry = c->envp; *entry; entry++) {
        if (strncmp(*entry, "PATH=", 5) == 0) search = *entry + 5;
    }
    int saved = ENOENT;
    for (const char *start = search;; ) {
        const char *end = strchrnul(start, ':');
        char candidate[PATH_CAPACITY];
        size_t directory = (size_t)(end - start), name = strlen(file);
        if (directory + name + 2 <= sizeof candidate) {
            memcpy(candidate, start, directory);
            size_t used = directory;
            if (used == 0) candidate[used++] = '.';
            candidate[used++] = '/';
            memcpy(candidate + used, file, name + 1);
            if (execute) execve(candidate, c->argv, c->envp);
            else if (access(candidate, X_OK) == 0) return;
            if (errno != ENOENT && errno != ENOTDIR) saved = errno;
        }
        if (*end == 0) break;
        start = end + 1;
    }
    errno = saved;
    fail(sync_fd, "exec", file);
}

static int child_main(void *argument) {
    const struct child_arguments *arguments = argument;
    const struct corebox_container *c = arguments->container;
    int sync_fd = arguments->sync_fd;

    // Not dumpable until exec: no process of the container can open our
    // /proc/PID/exe and write to the runtime's binary (CVE-2019-5736).
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) fail(sync_fd, "prctl(PR_SET_DUMPABLE)", NULL);

    // The process starts clean whatever the runtime blocked or handled:
    // no blocked signals, every disposition the default.
    sigset_t none;
    sigemptyset(&none);
    if (sigprocmask(SIG_SETMASK, &none, NULL) < 0) fail(sync_fd, "unblock signals", NULL);
    for (int number = 1; number < NSIG; number++) {
        if (number != SIGKILL && number != SIGSTOP) signal(number, SIG_DFL);
    }

    if (c->clone_flags & CLONE_NEWUSER) {
        char go;
        if (read(sync_fd, &go, 1) != 1) fail(sync_fd, "wait for the ID maps", NULL);
        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) fail(sync_fd, "become root in the user namespace", NULL);
    }
    for (size_t i = 0; i < c->join_count; i++) {
        if (setns(c->joins[i].fd, c->joins[i].type) < 0) fail(sync_fd, "join a namespace", NULL);
    }
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0) fail(sync_fd, "sethostname", c->hostname);
    if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0) fail(sync_fd, "setdomainname", c->domainname);

    if (c->clone_flags & CLONE_NEWNS) {
        unsigned long propagation = c->rootfs_propagation ? c->rootfs_propagation : MS_SLAVE | MS_REC;
        if (mount(NULL, "/", NULL, propagation, NULL) < 0) fail(sync_fd, "set the propagation of /", NULL);
        if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) fail(sync_fd, "bind the root", c->rootfs);
        for (size_t i = 0; i < c->mount_count; i++) mount_one(sync_fd, c->rootfs, &c->mounts[i]);
        for (size_t i = 0; i < c->device_count; i++) make_device(sync_fd, c->rootfs, &c->devices[i], (c->clone_flags & CLONE_NEWUSER) != 0);
        for (size_t i = 0; i < c->symlink_count; i++) make_symlink(sync_fd, c->rootfs, &c->symlinks[i]);
        enter_root(sync_fd, c);
        for (size_t i = 0; i < c->masked_count; i++) mask_path(sync_fd, c->masked_paths[i]);
        for (size_t i = 0; i < c->readonly_count; i++) make_readonly(sync_fd, c->readonly_paths[i]);
        if (c->readonly_rootfs && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
            fail(sync_fd, "remount the root read-only", NULL);
    } else if (c->rootfs) {
        if (chroot(c->rootfs) < 0 || chdir("/") < 0) fail(sync_fd, "chroot", c->rootfs);
    }
    for (size_t i = 0; i < c->sysctl_count; i++) write_sysctl(sync_fd, c->sysctl_keys[i], c->sysctl_values[i]);
    for (size_t i = 0; i < c->rlimit_count; i++) {
        struct rlimit limit = {c->rlimits[i].soft, c->rlimits[i].hard};
        if (setrlimit(c->rlimits[i].resource, &limit) < 0) fail(sync_fd, "setrlimit", NULL);
    }
    set_credentials(sync_fd, c);
    if (c->umask >= 0) umask((mode_t)c->umask);
    if (c->cwd && chdir(c->cwd) < 0) fail(sync_fd, "chdir to", c->cwd);
    if (c->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(sync_fd, "set no_new_privs", NULL);

    // Everything past the preserved descriptors closes on exec.
    if (syscall(SYS_close_range, 3 + c->preserved_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        fail(sync_fd, "mark descriptors close-on-exec", NULL);
    int fifo_fd = c->exec_fifo_fd;
    if (fifo_fd >= 0 && fifo_fd < 3 + c->preserved_fds) fcntl(fifo_fd, F_SETFD, FD_CLOEXEC);
    if (sync_fd < 3 + c->preserved_fds) fcntl(sync_fd, F_SETFD, FD_CLOEXEC);

    if (fifo_fd >= 0) find_program(sync_fd, c, 0);
    send_message(sync_fd, COREBOX_CHILD_READY, 0, "ready", NULL);
    if (fifo_fd >= 0) {
        // Blocks until `start` opens the FIFO for reading.
        char path[64] = "/proc/self/fd/";
        size_t used = strlen(path);
        char digits[16];
        int count = 0;
        for (int value = fifo_fd; value > 0 || count == 0; value /= 10) digits[count++] = (char)('0' + value % 10);
        while (count > 0) path[used++] = digits[--count];
        path[used] = 0;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) fail(sync_fd, "open the exec FIFO", NULL);
        if (write(fd, "0", 1) != 1) fail(sync_fd, "write the exec FIFO", NULL);
        close(fd);
    }
    if (c->seccomp_filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, c->seccomp_filter) < 0)
        fail(sync_fd, "load the seccomp filter", NULL);
    find_program(sync_fd, c, 1);
    return 127;
}

pid_t corebox_container_spawn(const struct corebox_container *container, int *sync_fd) {
    int sockets[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) < 0) return -1;
    const size_t stack_size = 256 * 1024;
    char *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
        int saved = errno;
        close(sockets[0]);
        close(sockets[1]);
        errno = saved;
        return -1;
    }
    struct child_arguments arguments = {container, sockets[1]};
    pid_t pid = clone(child_main, stack + stack_size, container->clone_flags | SIGCHLD, &arguments);
    int saved = errno;
    munmap(stack, stack_size);
    close(sockets[1]);
    if (pid < 0) {
        close(sockets[0]);
        errno = saved;
        return -1;
    }
    *sync_fd = sockets[0];
    return pid;
}
