#include <seccomp.h>
#include <linux/filter.h>  // struct sock_fprog, BPF_MAXINSNS
#include <linux/memfd.h>   // MFD_CLOEXEC
#include <linux/seccomp.h> // SECCOMP_FILTER_FLAG_*

// glibc's memfd_create(2), which <sys/mman.h> declares only under
// _GNU_SOURCE (Swift's Glibc module leaves it out). The compiled filter is
// exported into one.
int memfd_create(const char *name, unsigned int flags);
