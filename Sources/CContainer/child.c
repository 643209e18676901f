#define _GNU_SOURCE
#include "corebox_container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
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
    // No SIGPIPE when `create` has gone (after READY).
    (void)!send(fd, &message, sizeof message, MSG_NOSIGNAL);
}

// Set once READY is sent: `create` has returned and reads no more messages.
static int ready_sent;

static void write_text(int fd, const char *text) { (void)!write(fd, text, strlen(text)); }

// Reports the failed step with errno and ends the child. After READY
// nobody reads the sync socket, so the report goes to the container's
// stderr too (runc's init also tells it there).
static void __attribute__((noreturn)) fail(int fd, const char *step, const char *subject) {
    int error = errno;
    send_message(fd, COREBOX_CHILD_FAILED, error, step, subject);
    if (ready_sent) {
        write_text(2, "container: ");
        write_text(2, step);
        if (subject) {
            write_text(2, " ");
            write_text(2, subject);
        }
        write_text(2, ": ");
        const char *description = strerrordesc_np(error);
        write_text(2, description ? description : "unknown error");
        write_text(2, "\n");
    }
    _exit(error == ENOENT ? 127 : 126);
}

// glibc's setgroups and set*id act on every thread it believes the
// process has: a copy of the runtime's, whose locks (held by threads that
// are not here) can never be taken. The raw calls change this thread, the
// child's only one.
static int raw_setgroups(size_t count, const gid_t *groups) { return (int)syscall(SYS_setgroups, count, groups); }
static int raw_setresgid(gid_t gid) { return (int)syscall(SYS_setresgid, gid, gid, gid); }
static int raw_setresuid(uid_t uid) { return (int)syscall(SYS_setresuid, uid, uid, uid); }

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

// Writes `text` to `fd` in one write(2); a failure is `step subject`.
static void write_all(int sync_fd, int fd, const char *text, const char *step, const char *subject) {
    size_t length = strlen(text);
    if (write(fd, text, length) != (ssize_t)length) fail(sync_fd, step, subject);
}

static void write_file(int sync_fd, const char *path, const char *text, const char *step, const char *subject) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(sync_fd, step, subject);
    write_all(sync_fd, fd, text, step, subject);
    close(fd);
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
    write_file(sync_fd, path, value, "set sysctl", key);
}

static void load_seccomp(int sync_fd, const struct corebox_container *c) {
    if (c->seccomp_filter && syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, c->seccomp_filter) < 0)
        fail(sync_fd, "load the seccomp filter", NULL);
}

static void write_sysctls(int sync_fd, const struct corebox_container *c) {
    for (size_t i = 0; i < c->sysctl_count; i++) write_sysctl(sync_fd, c->sysctl_keys[i], c->sysctl_values[i]);
}

static int capset_sets(uint64_t effective, uint64_t permitted, uint64_t inheritable) {
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {
        {(uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable},
        {(uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32)},
    };
    return (int)syscall(SYS_capset, &header, data);
}

static void set_credentials(int sync_fd, const struct corebox_container *c) {
    if (c->set_capabilities) {
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
            if (!(c->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                fail(sync_fd, "drop from the bounding set a capability", NULL);
        }
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail(sync_fd, "keep capabilities across setuid", NULL);
    }
    if (raw_setgroups(c->additional_gid_count, c->additional_gids) < 0 && !(errno == EPERM && c->additional_gid_count == 0))
        fail(sync_fd, "setgroups", NULL);
    if (raw_setresgid(c->gid) < 0) fail(sync_fd, "setgid", NULL);
    if (raw_setresuid(c->uid) < 0) fail(sync_fd, "setuid", NULL);
    if (c->set_capabilities) {
        // Without no_new_privs only CAP_SYS_ADMIN may load a seccomp filter,
        // which comes last: keep it until then. execve computes the new
        // sets from the bounding, inheritable and ambient ones alone, so it
        // does not outlive the exec unless the config grants it.
        uint64_t admin = c->seccomp_filter && !c->no_new_privileges ? 1ULL << CAP_SYS_ADMIN : 0;
        if (capset_sets(c->cap_effective | admin, c->cap_permitted | admin, c->cap_inheritable) < 0 &&
            (admin == 0 || capset_sets(c->cap_effective, c->cap_permitted, c->cap_inheritable) < 0))
            fail(sync_fd, "capset", NULL);
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++) {
            if ((c->cap_ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                fail(sync_fd, "raise an ambient capability", NULL);
        }
    }
}

// execve, again while it fails with ETXTBSY: a multi-threaded process that
// wrote the program (an in-process unpack) may have a fork of another
// thread holding its descriptor until that fork's own exec, microseconds.
// The seccomp filter is in place by now, so the pause is a spin, not a
// system call the profile might refuse.
static void execute_program(const char *file, const struct corebox_container *c) {
    for (int attempt = 0; attempt < 20; attempt++) {
        execve(file, c->argv, c->envp);
        if (errno != ETXTBSY) return;
        for (volatile int spin = 0; spin < 200000; spin++) {}
    }
}

// argv[0], looked up in envp's PATH when it has no '/'. With `execute`,
// execve of the first candidate that works; without, returns once one is
// executable, so that a missing program fails before READY: `create`
// reports it rather than `start`, `exec` as its own error (as runc).
static void find_program(int sync_fd, const struct corebox_container *c, int execute) {
    const char *file = c->argv[0];
    if (strchr(file, '/')) {
        if (execute) execute_program(file, c);
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
            if (execute) execute_program(candidate, c);
            else if (access(candidate, X_OK) == 0) return;
            if (errno != ENOENT && errno != ENOTDIR) saved = errno;
        }
        if (*end == 0) break;
        start = end + 1;
    }
    errno = saved;
    fail(sync_fd, "exec", file);
}

// setns(CLONE_NEWPID) moves only the children: fork one, a child of the
// runtime (CLONE_PARENT) so that the runtime waits for it, report its pid
// and leave. The new process goes on once the report is written.
static void enter_pid_namespace(int sync_fd) {
    int reported[2];
    if (pipe2(reported, O_CLOEXEC) < 0) fail(sync_fd, "pipe", NULL);
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (pid < 0) fail(sync_fd, "fork into the pid namespace", NULL);
    if (pid == 0) {
        char byte;
        close(reported[1]);
        while (read(reported[0], &byte, 1) < 0 && errno == EINTR) {}
        close(reported[0]);
        return;
    }
    struct corebox_child_message message;
    memset(&message, 0, sizeof message);
    message.kind = COREBOX_CHILD_FORKED;
    message.pid = pid;
    (void)!write(sync_fd, &message, sizeof message);
    _exit(0); // closes the pipe: the new process goes on
}

// A pty from the root the process ends in; the master goes to the console
// socket, the slave becomes the controlling terminal and stdio.
static void setup_console(int sync_fd, const struct corebox_container *c) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) fail(sync_fd, "open", "/dev/ptmx");
    int unlock = 0, number;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &number) < 0) fail(sync_fd, "unlock the pty", NULL);
    char slave_path[32] = "/dev/pts/", digits[16];
    size_t used = strlen(slave_path);
    int count = 0;
    for (int value = number; value > 0 || count == 0; value /= 10) digits[count++] = (char)('0' + value % 10);
    while (count > 0) slave_path[used++] = digits[--count];
    slave_path[used] = 0;
    if (c->console_height && c->console_width) {
        struct winsize size = {.ws_row = c->console_height, .ws_col = c->console_width};
        if (ioctl(master, TIOCSWINSZ, &size) < 0) fail(sync_fd, "set the console size", NULL);
    }
    if (c->clone_flags & CLONE_NEWNS) {
        int console = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (console < 0) fail(sync_fd, "create", "/dev/console");
        close(console);
        if (mount(slave_path, "/dev/console", NULL, MS_BIND, NULL) < 0) fail(sync_fd, "bind the console onto", "/dev/console");
    }
    char name[] = "/dev/ptmx";
    struct iovec payload = {name, sizeof name - 1};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {.msg_iov = &payload, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    struct cmsghdr *rights = CMSG_FIRSTHDR(&message);
    rights->cmsg_level = SOL_SOCKET;
    rights->cmsg_type = SCM_RIGHTS;
    rights->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(rights), &master, sizeof(int));
    if (sendmsg(c->console_socket_fd, &message, MSG_NOSIGNAL) < 0) fail(sync_fd, "send the pty master to the console socket", NULL);
    close(master);
    close(c->console_socket_fd);

    int slave = open(slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) fail(sync_fd, "open", slave_path);
    // The process's user owns its terminal, as with a login.
    if (fchown(slave, c->uid, (gid_t)-1) < 0) fail(sync_fd, "chown", slave_path);
    for (int fd = 0; fd < 3; fd++) {
        if (dup2(slave, fd) < 0) fail(sync_fd, "make the pty the stdio", NULL);
    }
    close(slave);
    if (ioctl(0, TIOCSCTTY, 0) < 0) fail(sync_fd, "make the pty the controlling terminal", NULL);
}

// MARK: Namespaces after the joins

static int joins_user_namespace(const struct corebox_container *c) {
    for (size_t i = 0; i < c->join_count; i++) {
        if (c->joins[i].type == CLONE_NEWUSER) return 1;
    }
    return 0;
}

// Whether the child is in a user namespace other than the runtime's.
static int in_user_namespace(const struct corebox_container *c) {
    return (c->clone_flags & CLONE_NEWUSER) || joins_user_namespace(c);
}

// The namespaces clone(2) makes; the child unshares the others. A time
// namespace takes only children, so the pid namespace is made with it: the
// one fork is the init of both (an init cannot fork with CLONE_PARENT).
static int namespaces_at_clone(const struct corebox_container *c) {
    if (joins_user_namespace(c)) return 0;
    if (c->clone_flags & CLONE_NEWTIME) return c->clone_flags & ~(CLONE_NEWTIME | CLONE_NEWPID);
    return c->clone_flags;
}

// Makes the namespaces clone did not; returns whether the child must fork
// to be in them.
// With `offsets_fd` (/proc/self/timens_offsets, open) the new time
// namespace's clocks move: only possible until a process is in it.
static int unshare_namespaces(int sync_fd, const struct corebox_container *c, int offsets_fd) {
    int later = c->clone_flags & ~namespaces_at_clone(c);
    if (later == 0) return 0;
    if (unshare(later) < 0) fail(sync_fd, "unshare the namespaces", NULL);
    if (offsets_fd >= 0) {
        write_all(sync_fd, offsets_fd, c->time_offsets, "set the time namespace's offsets", NULL);
        close(offsets_fd);
    }
    return (later & (CLONE_NEWPID | CLONE_NEWTIME)) != 0;
}

// MARK: Hooks

// Text built in a fixed buffer, cut when it is full.
struct text {
    char *buffer;
    size_t capacity, used;
};

static void append(struct text *text, const char *part) {
    for (; *part && text->used + 1 < text->capacity; part++) text->buffer[text->used++] = *part;
    text->buffer[text->used] = 0;
}

static void append_number(struct text *text, long long value) {
    char digits[24], *start = digits + sizeof digits - 1;
    *start = 0;
    do *--start = (char)('0' + value % 10); while ((value /= 10) > 0);
    append(text, start);
}

// Reads a chunk of a hook's output, keeping what fits; false at its end
// (or when nothing is left to read without waiting).
static int keep_output(int fd, struct text *kept) {
    char chunk[512];
    ssize_t count = read(fd, chunk, sizeof chunk - 1);
    if (count <= 0) return 0;
    chunk[count] = 0;
    append(kept, chunk);
    return 1;
}

static long long monotonic_milliseconds(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec * 1000LL + now.tv_nsec / 1000000;
}

// Runs hooks.KIND[index]: `state` on its stdin, the start of its stdout and
// stderr kept for the error, killed once its timeout has passed. Returns 0
// when it exits with 0; else -1 with the failure in `failure` (its errno,
// or 0 when the hook itself failed).
static int run_hook(const char *kind, size_t index, const struct corebox_hook *hook, const char *state,
                    struct corebox_child_message *failure) {
    memset(failure, 0, sizeof *failure);
    failure->kind = COREBOX_CHILD_FAILED;
    struct text step = {failure->step, sizeof failure->step, 0};
    append(&step, "hooks.");
    append(&step, kind);
    append(&step, "[");
    append_number(&step, (long long)index);
    append(&step, "] (");
    append(&step, hook->path);
    append(&step, ")");

    // stdin is a socket: a hook that exits unread must not raise SIGPIPE here.
    int input[2] = {-1, -1}, output[2] = {-1, -1}, exec_error[2] = {-1, -1};
    pid_t pid = -1;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, input) == 0 && pipe2(output, O_CLOEXEC) == 0 &&
        pipe2(exec_error, O_CLOEXEC) == 0)
        pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); // fork(2) without glibc's atfork handlers
    if (pid == 0) {
        if (dup2(input[1], 0) >= 0 && dup2(output[1], 1) >= 0 && dup2(output[1], 2) >= 0)
            execve(hook->path, hook->argv, hook->envp);
        int error = errno;
        (void)!write(exec_error[1], &error, sizeof error);
        _exit(127);
    }
    int spawn_error = errno;
    close(input[1]);
    close(output[1]);
    close(exec_error[1]);
    if (pid < 0) {
        close(input[0]);
        close(output[0]);
        close(exec_error[0]);
        failure->error = errno = spawn_error;
        return -1;
    }

    size_t length = strlen(state), sent = 0;
    char caught[128];
    struct text kept = {caught, sizeof caught, 0};
    caught[0] = 0;
    long long deadline = hook->timeout > 0 ? monotonic_milliseconds() + hook->timeout * 1000LL : -1;
    int timed_out = 0;
    // Until the hook exits (not until its output closes: what it leaves
    // in the background may hold that open).
    int exited = (int)syscall(SYS_pidfd_open, pid, 0);
    while (exited >= 0) {
        struct pollfd entries[3] = {{input[0], POLLOUT, 0}, {output[0], POLLIN, 0}, {exited, POLLIN, 0}};
        long long left = deadline < 0 ? -1 : deadline - monotonic_milliseconds();
        int ready = deadline >= 0 && left <= 0 ? 0 : poll(entries, 3, left > INT_MAX ? INT_MAX : (int)left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (entries[0].revents) {
            ssize_t count = send(input[0], state + sent, length - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (count > 0) sent += (size_t)count;
            if ((count < 0 && errno != EAGAIN) || sent == length) {
                close(input[0]);
                input[0] = -1;
            }
        }
        if (entries[1].revents && !keep_output(output[0], &kept)) {
            close(output[0]);
            output[0] = -1;
        }
        if (entries[2].revents) break;
    }
    int watch_error = exited < 0 ? errno : 0;
    if (watch_error) kill(pid, SIGKILL);
    // What it wrote before it exited.
    if (output[0] >= 0 && fcntl(output[0], F_SETFL, O_NONBLOCK) == 0) {
        while (keep_output(output[0], &kept)) {}
    }
    close(exited);
    close(input[0]);
    close(output[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    int error = 0;
    int exec_failed = read(exec_error[0], &error, sizeof error) == sizeof error;
    close(exec_error[0]);
    if (exec_failed || watch_error) {
        failure->error = errno = exec_failed ? error : watch_error;
        return -1;
    }
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    if (timed_out) {
        append(&step, ": timed out after ");
        append_number(&step, hook->timeout);
        append(&step, "s");
    } else if (WIFEXITED(status)) {
        append(&step, ": exit status ");
        append_number(&step, WEXITSTATUS(status));
    } else {
        append(&step, ": killed by signal ");
        append_number(&step, WTERMSIG(status));
    }
    while (kept.used > 0 && (caught[kept.used - 1] == '\n' || caught[kept.used - 1] == ' ')) caught[--kept.used] = 0;
    if (kept.used > 0) {
        append(&step, ": ");
        append(&step, caught);
    }
    return -1;
}

static int run_hooks(const char *kind, const struct corebox_hook *hooks, size_t count, const char *state,
                     struct corebox_child_message *failure) {
    for (size_t i = 0; i < count; i++) {
        if (run_hook(kind, i, &hooks[i], state, failure) < 0) return -1;
    }
    return 0;
}

// With hooks: lets the parent run prestart and createRuntime (the mounts
// are made, the root not yet entered), takes the states it answers with,
// and runs createContainer here, in the container's namespaces.
static void run_create_hooks(int sync_fd, const struct corebox_container *c) {
    if (!c->hooks_sync) return;
    send_message(sync_fd, COREBOX_CHILD_HOOKS, 0, "run the hooks", NULL);
    ssize_t count;
    do count = recv(sync_fd, c->state_buffer, c->state_capacity, 0); while (count < 0 && errno == EINTR);
    // Two states, each ending in a NUL.
    if (count <= 0 || c->state_buffer[count - 1] != 0 || strlen(c->state_buffer) + 1 >= (size_t)count) {
        if (count >= 0) errno = EPROTO;
        fail(sync_fd, "receive the state for the hooks", NULL);
    }
    struct corebox_child_message failure;
    if (run_hooks("createContainer", c->create_container_hooks, c->create_container_count, c->state_buffer, &failure) < 0) {
        (void)!write(sync_fd, &failure, sizeof failure);
        _exit(1);
    }
}

// The startContainer hooks, once `start` has opened the FIFO (`fifo`,
// open for writing), and `start`'s answer: READY, or the hook that failed.
static void run_start_hooks(int sync_fd, int fifo, const struct corebox_container *c) {
    struct corebox_child_message answer;
    const char *state = c->hooks_sync ? c->state_buffer + strlen(c->state_buffer) + 1 : "";
    if (run_hooks("startContainer", c->start_container_hooks, c->start_container_count, state, &answer) < 0) {
        (void)!write(fifo, &answer, sizeof answer);
        _exit(1);
    }
    memset(&answer, 0, sizeof answer);
    answer.kind = COREBOX_CHILD_READY;
    if (write(fifo, &answer, sizeof answer) != sizeof answer) fail(sync_fd, "write the exec FIFO", NULL);
}

static void keep_lowest(long *lowest, long fd, long from) {
    if (fd >= from && (*lowest < 0 || fd < *lowest)) *lowest = fd;
}

// The lowest descriptor at or past `from` that the child was handed (the
// sync socket, the exec FIFO, the console socket, the namespaces to join,
// the cgroup.procs files); -1 if none.
static long lowest_handed(long from, int sync_fd, const struct corebox_container *c) {
    long lowest = -1;
    keep_lowest(&lowest, sync_fd, from);
    keep_lowest(&lowest, c->exec_fifo_fd, from);
    if (c->terminal) keep_lowest(&lowest, c->console_socket_fd, from);
    for (size_t i = 0; i < c->join_count; i++) keep_lowest(&lowest, c->joins[i].fd, from);
    for (size_t i = 0; i < c->cgroup_procs_count; i++) keep_lowest(&lowest, c->cgroup_procs_fds[i], from);
    return lowest;
}

// Closes every descriptor past the preserved ones that the child was not
// handed. The clone copied the runtime's whole table, and close-on-exec
// alone would keep it until exec: an init waiting at the FIFO would hold
// whatever another thread of the runtime had open at the clone (a program
// being written, so ETXTBSY; a server's sockets), as runc's freshly
// executed init never does. The handed ones, and all the child opens, are
// close-on-exec: the program starts with stdio and the preserved ones.
static void close_inherited_descriptors(int sync_fd, const struct corebox_container *c) {
    long from = 3 + c->preserved_fds;
    for (long handed; (handed = lowest_handed(from, sync_fd, c)) >= 0; from = handed + 1) {
        if (handed > from && syscall(SYS_close_range, (unsigned int)from, (unsigned int)handed - 1, 0) < 0)
            fail(sync_fd, "close the runtime's descriptors", NULL);
    }
    if (syscall(SYS_close_range, (unsigned int)from, ~0U, 0) < 0) fail(sync_fd, "close the runtime's descriptors", NULL);
}

static int child_main(void *argument) {
    const struct child_arguments *arguments = argument;
    const struct corebox_container *c = arguments->container;
    int sync_fd = arguments->sync_fd;

    close_inherited_descriptors(sync_fd, c);
    // Opened while the child is the runtime's root and dumpable: once it is
    // not, its /proc files belong to the host's root, whom a new user
    // namespace does not map, and its root there could not open them.
    int offsets_fd = -1;
    if (c->time_offsets && (offsets_fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC)) < 0)
        fail(sync_fd, "open /proc/self/timens_offsets", NULL);
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
    for (size_t i = 0; i < c->cgroup_procs_count; i++) {
        if (write(c->cgroup_procs_fds[i], "0", 1) != 1) fail(sync_fd, "join the container's cgroups", NULL);
    }

    if (c->clone_flags & CLONE_NEWUSER) {
        char go;
        if (read(sync_fd, &go, 1) != 1) fail(sync_fd, "wait for the ID maps", NULL);
        if (raw_setresgid(0) < 0 || raw_setresuid(0) < 0) fail(sync_fd, "become root in the user namespace", NULL);
    }
    // /proc/self/fd of the host when the root is only chrooted to: -1 else.
    int descriptors = -1;
    int joins_pid = 0;
    for (size_t i = 0; i < c->join_count; i++) {
        if (setns(c->joins[i].fd, c->joins[i].type) < 0) fail(sync_fd, "join a namespace", NULL);
        joins_pid |= c->joins[i].type == CLONE_NEWPID;
    }
    // The joined user namespace's root, as with a new one once its maps are written.
    if (joins_user_namespace(c) && (raw_setresgid(0) < 0 || raw_setresuid(0) < 0))
        fail(sync_fd, "become root in the user namespace", NULL);
    if (unshare_namespaces(sync_fd, c, offsets_fd) || joins_pid) enter_pid_namespace(sync_fd);
    // A session of its own, as runc gives every process (and a terminal needs).
    if (setsid() < 0) fail(sync_fd, "setsid", NULL);
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0) fail(sync_fd, "sethostname", c->hostname);
    if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) < 0) fail(sync_fd, "setdomainname", c->domainname);

    if (c->clone_flags & CLONE_NEWNS) {
        unsigned long propagation = c->rootfs_propagation ? c->rootfs_propagation : MS_SLAVE | MS_REC;
        // pivot_root and MS_MOVE refuse a shared root or parent, and an
        // unbindable root cannot be bound: either is private for the switch
        // and set on the new root after it.
        int after_switch = (propagation & (MS_SHARED | MS_UNBINDABLE)) != 0;
        if (mount(NULL, "/", NULL, after_switch ? MS_PRIVATE | MS_REC : propagation, NULL) < 0)
            fail(sync_fd, "set the propagation of /", NULL);
        if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) fail(sync_fd, "bind the root", c->rootfs);
        for (size_t i = 0; i < c->mount_count; i++) mount_one(sync_fd, c->rootfs, &c->mounts[i]);
        for (size_t i = 0; i < c->device_count; i++) make_device(sync_fd, c->rootfs, &c->devices[i], in_user_namespace(c));
        for (size_t i = 0; i < c->symlink_count; i++) make_symlink(sync_fd, c->rootfs, &c->symlinks[i]);
        run_create_hooks(sync_fd, c);
        enter_root(sync_fd, c);
        if (after_switch && mount(NULL, "/", NULL, propagation, NULL) < 0) fail(sync_fd, "set the propagation of the root", NULL);
        // Before /proc/sys turns read-only (runc's order too).
        write_sysctls(sync_fd, c);
        for (size_t i = 0; i < c->masked_count; i++) mask_path(sync_fd, c->masked_paths[i]);
        for (size_t i = 0; i < c->readonly_count; i++) make_readonly(sync_fd, c->readonly_paths[i]);
        if (c->readonly_rootfs && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
            fail(sync_fd, "remount the root read-only", NULL);
    } else if (c->rootfs) {
        run_create_hooks(sync_fd, c);
        // The root has no /proc of its own to reopen the exec FIFO through.
        descriptors = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (descriptors < 0) fail(sync_fd, "open /proc/self/fd", NULL);
        if (chroot(c->rootfs) < 0 || chdir("/") < 0) fail(sync_fd, "chroot", c->rootfs);
        write_sysctls(sync_fd, c);
    } else {
        write_sysctls(sync_fd, c);
    }
    if (c->terminal) setup_console(sync_fd, c);
    for (size_t i = 0; i < c->rlimit_count; i++) {
        struct rlimit limit = {c->rlimits[i].soft, c->rlimits[i].hard};
        if (setrlimit(c->rlimits[i].resource, &limit) < 0) fail(sync_fd, "setrlimit", NULL);
    }
    set_credentials(sync_fd, c);
    if (c->umask >= 0) umask((mode_t)c->umask);
    if (c->cwd && chdir(c->cwd) < 0) fail(sync_fd, "chdir to", c->cwd);
    if (c->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(sync_fd, "set no_new_privs", NULL);

    int fifo_fd = c->exec_fifo_fd;
    find_program(sync_fd, c, 0);
    send_message(sync_fd, COREBOX_CHILD_READY, 0, "ready", NULL);
    ready_sent = 1;
    if (fifo_fd >= 0) {
        // Blocks until `start` opens the FIFO for reading.
        char path[64] = "/proc/self/fd/";
        size_t used = strlen(path);
        char digits[16];
        int count = 0;
        for (int value = fifo_fd; value > 0 || count == 0; value /= 10) digits[count++] = (char)('0' + value % 10);
        while (count > 0) path[used++] = digits[--count];
        path[used] = 0;
        int fd = descriptors >= 0 ? openat(descriptors, path + strlen("/proc/self/fd/"), O_WRONLY | O_CLOEXEC)
                                  : open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0) fail(sync_fd, "open the exec FIFO", NULL);
        run_start_hooks(sync_fd, fd, c);
        close(fd);
    }
    // Last, so the filter sees no call of the runtime's but execve.
    load_seccomp(sync_fd, c);
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
    pid_t pid = clone(child_main, stack + stack_size, namespaces_at_clone(container) | SIGCHLD, &arguments);
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
