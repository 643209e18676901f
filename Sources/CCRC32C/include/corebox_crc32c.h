#ifndef COREBOX_CRC32C_H
#define COREBOX_CRC32C_H

#include <stddef.h>
#include <stdint.h>

// CRC-32C with the CPU's own instruction (SSE 4.2 `crc32`), eight bytes a
// step: the WAL checksums every record and a snapshot every byte of the store.

/// Whether this CPU has the instruction; `corebox_crc32c_update` needs it.
int corebox_crc32c_available(void);

/// Continues the CRC register `crc` (not inverted) over `length` bytes.
uint32_t corebox_crc32c_update(uint32_t crc, const void *data, size_t length);

#endif
