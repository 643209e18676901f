#ifndef COREBOX_SHIMS_H
#define COREBOX_SHIMS_H

#include <stddef.h>

// libcurl, loaded with dlopen on first use so that applets which never touch
// the network do not pay for its ~30 shared libraries at every exec.

/// A growable byte buffer filled by the transfer callbacks.
typedef struct {
    char *data;
    size_t length;
    size_t capacity;
} corebox_buffer;

void corebox_buffer_free(corebox_buffer *buffer);

/// Loads libcurl.so.4 once; returns 0, or -1 with a message in `error`.
int corebox_curl_load(char *error, size_t error_size);

void *corebox_curl_easy_init(void);
void corebox_curl_easy_cleanup(void *handle);
int corebox_curl_setopt_long(void *handle, int option, long value);
int corebox_curl_setopt_pointer(void *handle, int option, const void *value);
/// Runs the transfer, appending the body and the raw header lines to the buffers.
int corebox_curl_perform(void *handle, corebox_buffer *body, corebox_buffer *headers);
/// Runs the transfer, passing the body to `write` piece by piece (a 0 from
/// it aborts the transfer) and appending the raw header lines to `headers`.
int corebox_curl_perform_sink(void *handle, int (*write)(void *context, const char *data, size_t length), void *context,
                              corebox_buffer *headers);
long corebox_curl_response_code(void *handle);
const char *corebox_curl_strerror(int code);
void *corebox_curl_slist_append(void *list, const char *string);
void corebox_curl_slist_free_all(void *list);

#endif
