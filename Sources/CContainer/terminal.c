#define _GNU_SOURCE
#include "corebox_container.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

// The runtime's side of a terminal: receiving the pty master the child
// sends, and a pidfd to wait for the process while relaying it.

int corebox_receive_fd(int socket, char *name, size_t capacity) {
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec payload = {name, capacity > 0 ? capacity - 1 : 0};
    struct msghdr message = {.msg_iov = &payload, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
    ssize_t count;
    do count = recvmsg(socket, &message, MSG_CMSG_CLOEXEC); while (count < 0 && errno == EINTR);
    if (count < 0) return -1;
    if (capacity > 0) name[count] = 0;
    struct cmsghdr *rights = CMSG_FIRSTHDR(&message);
    if (rights == NULL || rights->cmsg_level != SOL_SOCKET || rights->cmsg_type != SCM_RIGHTS || rights->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = count == 0 ? ECONNRESET : EBADMSG;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(rights), sizeof fd);
    return fd;
}

int corebox_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}
