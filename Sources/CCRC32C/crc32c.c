#include "corebox_crc32c.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int corebox_crc32c_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2");
}

__attribute__((target("sse4.2")))
uint32_t corebox_crc32c_update(uint32_t crc, const void *data, size_t length) {
    const unsigned char *bytes = data;
    uint64_t wide = crc;
    for (; length >= 8; bytes += 8, length -= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        wide = _mm_crc32_u64(wide, word);
    }
    uint32_t narrow = (uint32_t)wide;
    for (; length > 0; bytes++, length--) narrow = _mm_crc32_u8(narrow, *bytes);
    return narrow;
}
#else
int corebox_crc32c_available(void) { return 0; }

uint32_t corebox_crc32c_update(uint32_t crc, const void *data, size_t length) {
    (void)data;
    (void)length;
    return crc;
}
#endif
