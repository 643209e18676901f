#define _GNU_SOURCE
#include "corebox_container.h"

#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int bpf(int command, union bpf_attr *attributes) {
    return (int)syscall(SYS_bpf, command, attributes, sizeof(*attributes));
}

static int load_program(const void *instructions, size_t count, char *log, size_t log_size) {
    union bpf_attr load;
    memset(&load, 0, sizeof(load));
    load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    load.insns = (uint64_t)(uintptr_t)instructions;
    load.insn_cnt = (uint32_t)count;
    // Only GPL-only helpers care about the license; a device program calls none.
    load.license = (uint64_t)(uintptr_t)"Apache";
    if (log != NULL && log_size > 0) {
        log[0] = '\0';
        load.log_buf = (uint64_t)(uintptr_t)log;
        load.log_size = (uint32_t)log_size;
        load.log_level = 1;
    }
    return bpf(BPF_PROG_LOAD, &load);
}

int corebox_attach_device_filter(const void *instructions, size_t count, int cgroup_fd, char *log, size_t log_size) {
    int program = load_program(instructions, count, NULL, 0);
    if (program < 0) {
        // Again with the verifier's log, for the error message; the first errno stands.
        int saved = errno;
        int retried = load_program(instructions, count, log, log_size);
        if (retried >= 0) close(retried);
        errno = saved;
        return -1;
    }
    union bpf_attr attach;
    memset(&attach, 0, sizeof(attach));
    attach.target_fd = (uint32_t)cgroup_fd;
    attach.attach_bpf_fd = (uint32_t)program;
    attach.attach_type = BPF_CGROUP_DEVICE;
    // As runc: programs of parent cgroups still run, and more can be added here.
    attach.attach_flags = BPF_F_ALLOW_MULTI;
    int result = bpf(BPF_PROG_ATTACH, &attach);
    int saved = errno;
    // The attachment holds the program; it goes when the cgroup is removed.
    close(program);
    errno = saved;
    return result;
}
