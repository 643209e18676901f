// libsystemd, loaded with dlopen on the first call of one of its functions.
//
// Swift calls the sd_* functions through CSystemd's headers as if linked;
// the definitions below are what it links to. Each one resolves its
// namesake in libsystemd.so.0 once and forwards the call. A command that
// never touches the journal, sd_notify or sd-bus (most of them: `container
// state`, `kvctl get`, `--version`) so no longer maps libsystemd and its
// five libraries at exec (docs/ARCHITECTURE.md, "Start-up cost").

// Swift sees sd_journal_sendv itself, not the header's macro that adds the
// caller's file and line.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

static void *library;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) { library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL); }

// The address of `symbol` in libsystemd. Without the library corebox exits
// as the dynamic loader would have before main had it been linked.
static void *resolve(const char *symbol) {
    pthread_once(&load_once, load);
    void *address = library ? dlsym(library, symbol) : NULL;
    if (address == NULL) {
        fprintf(stderr, "corebox: libsystemd.so.0: %s\n", library ? symbol : dlerror());
        exit(127);
    }
    return address;
}

// The address of `name` in libsystemd, of type `type (*) parameters`,
// resolved on the first call. Racing first calls resolve the same address;
// the store publishes it.
#define RESOLVED(type, name, parameters)                                            \
    ({                                                                              \
        static type(*real) parameters;                                              \
        type(*target) parameters = __atomic_load_n(&real, __ATOMIC_ACQUIRE);        \
        if (target == NULL) {                                                       \
            *(void **)&target = resolve(#name);                                     \
            __atomic_store_n(&real, target, __ATOMIC_RELEASE);                      \
        }                                                                           \
        target;                                                                     \
    })

// Defines `name` to forward to libsystemd's.
#define FORWARD(type, name, parameters, arguments) \
    type name parameters { return RESOLVED(type, name, parameters) arguments; }

FORWARD(int, sd_notify, (int unset_environment, const char *state), (unset_environment, state))
FORWARD(int, sd_journal_sendv, (const struct iovec *iov, int n), (iov, n))
FORWARD(int, sd_journal_stream_fd, (const char *identifier, int priority, int level_prefix),
        (identifier, priority, level_prefix))

FORWARD(int, sd_bus_new, (sd_bus **ret), (ret))
FORWARD(int, sd_bus_set_address, (sd_bus *bus, const char *address), (bus, address))
FORWARD(int, sd_bus_set_bus_client, (sd_bus *bus, int b), (bus, b))
FORWARD(int, sd_bus_start, (sd_bus *bus), (bus))
FORWARD(sd_bus *, sd_bus_unref, (sd_bus *bus), (bus))
FORWARD(sd_bus *, sd_bus_flush_close_unref, (sd_bus *bus), (bus))
FORWARD(int, sd_bus_get_unique_name, (sd_bus *bus, const char **unique), (bus, unique))
FORWARD(int, sd_bus_request_name, (sd_bus *bus, const char *name, uint64_t flags), (bus, name, flags))
FORWARD(int, sd_bus_process, (sd_bus *bus, sd_bus_message **r), (bus, r))
FORWARD(int, sd_bus_wait, (sd_bus *bus, uint64_t timeout_usec), (bus, timeout_usec))
FORWARD(int, sd_bus_send, (sd_bus *bus, sd_bus_message *m, uint64_t *cookie), (bus, m, cookie))
FORWARD(int, sd_bus_call, (sd_bus *bus, sd_bus_message *m, uint64_t usec, sd_bus_error *ret_error, sd_bus_message **reply),
        (bus, m, usec, ret_error, reply))
FORWARD(int, sd_bus_add_object,
        (sd_bus *bus, sd_bus_slot **slot, const char *path, sd_bus_message_handler_t callback, void *userdata),
        (bus, slot, path, callback, userdata))
FORWARD(int, sd_bus_match_signal,
        (sd_bus *bus, sd_bus_slot **ret, const char *sender, const char *path, const char *interface,
         const char *member, sd_bus_message_handler_t callback, void *userdata),
        (bus, ret, sender, path, interface, member, callback, userdata))

FORWARD(sd_bus_slot *, sd_bus_slot_unref, (sd_bus_slot *slot), (slot))
FORWARD(int, sd_bus_slot_set_floating, (sd_bus_slot *slot, int b), (slot, b))
FORWARD(int, sd_bus_slot_set_destroy_callback, (sd_bus_slot *s, sd_bus_destroy_t callback), (s, callback))

FORWARD(int, sd_bus_message_new_method_call,
        (sd_bus *bus, sd_bus_message **m, const char *destination, const char *path, const char *interface,
         const char *member),
        (bus, m, destination, path, interface, member))
FORWARD(int, sd_bus_message_new_method_return, (sd_bus_message *call, sd_bus_message **m), (call, m))
FORWARD(int, sd_bus_message_new_signal,
        (sd_bus *bus, sd_bus_message **m, const char *path, const char *interface, const char *member),
        (bus, m, path, interface, member))
FORWARD(sd_bus_message *, sd_bus_message_unref, (sd_bus_message *m), (m))
FORWARD(const char *, sd_bus_message_get_interface, (sd_bus_message *m), (m))
FORWARD(const char *, sd_bus_message_get_member, (sd_bus_message *m), (m))
FORWARD(const char *, sd_bus_message_get_path, (sd_bus_message *m), (m))
FORWARD(const char *, sd_bus_message_get_sender, (sd_bus_message *m), (m))
FORWARD(int, sd_bus_message_append_basic, (sd_bus_message *m, char type, const void *p), (m, type, p))
FORWARD(int, sd_bus_message_read_basic, (sd_bus_message *m, char type, void *p), (m, type, p))
FORWARD(int, sd_bus_message_peek_type, (sd_bus_message *m, char *type, const char **contents), (m, type, contents))
FORWARD(int, sd_bus_message_open_container, (sd_bus_message *m, char type, const char *contents), (m, type, contents))
FORWARD(int, sd_bus_message_close_container, (sd_bus_message *m), (m))
FORWARD(int, sd_bus_message_enter_container, (sd_bus_message *m, char type, const char *contents), (m, type, contents))
FORWARD(int, sd_bus_message_exit_container, (sd_bus_message *m), (m))

FORWARD(int, sd_bus_error_set, (sd_bus_error *e, const char *name, const char *message), (e, name, message))

void sd_bus_error_free(sd_bus_error *e) { RESOLVED(void, sd_bus_error_free, (sd_bus_error *))(e); }
