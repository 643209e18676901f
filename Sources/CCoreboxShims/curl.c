#include "corebox_shims.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static char load_error[256];

#define RESOLVE(handle, field, symbol)                                         \
    do {                                                                       \
        *(void **)(&curl.field) = dlsym(handle, symbol);                       \
        if (curl.field == NULL) {                                              \
            snprintf(load_error, sizeof load_error, "libcurl.so.4: missing symbol %s", symbol); \
            return;                                                            \
        }                                                                      \
    } while (0)

static void load(void) {
    void *handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(load_error, sizeof load_error, "%s", dlerror());
        return;
    }
    RESOLVE(handle, global_init, "curl_global_init");
    RESOLVE(handle, easy_init, "curl_easy_init");
    RESOLVE(handle, easy_cleanup, "curl_easy_cleanup");
    RESOLVE(handle, easy_setopt, "curl_easy_setopt");
    RESOLVE(handle, easy_perform, "curl_easy_perform");
    RESOLVE(handle, easy_getinfo, "curl_easy_getinfo");
    RESOLVE(handle, easy_strerror, "curl_easy_strerror");
    RESOLVE(handle, slist_append, "curl_slist_append");
    RESOLVE(handle, slist_free_all, "curl_slist_free_all");
    // curl_global_init is not thread-safe; pthread_once makes this its only call.
    CURLcode code = curl.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "curl_global_init: %s", curl.easy_strerror(code));
    }
}

int corebox_curl_load(char *error, size_t error_size) {
    pthread_once(&load_once, load);
    if (load_error[0] != '\0') {
        snprintf(error, error_size, "%s", load_error);
        return -1;
    }
    return 0;
}

void corebox_buffer_free(corebox_buffer *buffer) {
    free(buffer->data);
    buffer->data = NULL;
    buffer->length = buffer->capacity = 0;
}

static size_t append(char *data, size_t size, size_t count, void *target) {
    corebox_buffer *buffer = target;
    size_t n = size * count;
    if (buffer->length + n > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 4096;
        while (capacity < buffer->length + n) capacity *= 2;
        char *grown = realloc(buffer->data, capacity);
        if (grown == NULL) return 0; // curl reports CURLE_WRITE_ERROR
        buffer->data = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->data + buffer->length, data, n);
    buffer->length += n;
    return n;
}

void *corebox_curl_easy_init(void) { return curl.easy_init(); }
void corebox_curl_easy_cleanup(void *handle) { curl.easy_cleanup(handle); }

int corebox_curl_setopt_long(void *handle, int option, long value) {
    return curl.easy_setopt(handle, (CURLoption)option, value);
}

int corebox_curl_setopt_pointer(void *handle, int option, const void *value) {
    return curl.easy_setopt(handle, (CURLoption)option, value);
}

int corebox_curl_perform(void *handle, corebox_buffer *body, corebox_buffer *headers) {
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, append);
    curl.easy_setopt(handle, CURLOPT_WRITEDATA, body);
    curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, append);
    curl.easy_setopt(handle, CURLOPT_HEADERDATA, headers);
    return curl.easy_perform(handle);
}

struct sink {
    int (*write)(void *context, const char *data, size_t length);
    void *context;
};

static size_t pass_to_sink(char *data, size_t size, size_t count, void *target) {
    struct sink *sink = target;
    size_t n = size * count;
    return sink->write(sink->context, data, n) ? n : 0; // 0: curl reports CURLE_WRITE_ERROR
}

int corebox_curl_perform_sink(void *handle, int (*write)(void *context, const char *data, size_t length), void *context,
                              corebox_buffer *headers) {
    struct sink sink = {write, context};
    curl.easy_setopt(handle, CURLOPT_WRITEFUNCTION, pass_to_sink);
    curl.easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
    curl.easy_setopt(handle, CURLOPT_HEADERFUNCTION, append);
    curl.easy_setopt(handle, CURLOPT_HEADERDATA, headers);
    return curl.easy_perform(handle);
}

long corebox_curl_response_code(void *handle) {
    long code = 0;
    curl.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

const char *corebox_curl_strerror(int code) { return curl.easy_strerror((CURLcode)code); }

void *corebox_curl_slist_append(void *list, const char *string) {
    return curl.slist_append(list, string);
}

void corebox_curl_slist_free_all(void *list) { curl.slist_free_all(list); }
