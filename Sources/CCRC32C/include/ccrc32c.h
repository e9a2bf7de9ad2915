#ifndef CCRC32C_H
#define CCRC32C_H

#include <stddef.h>
#include <stdint.h>

/// 1 when the CPU has the SSE4.2 CRC32 instruction (x86-64), 0 otherwise.
int ccrc32c_hardware_available(void);

/// CRC-32C of `length` bytes continuing from `crc` (pre- and post-inverted like the software one),
/// with the CPU's CRC32 instruction. Call only when ccrc32c_hardware_available() is 1.
uint32_t ccrc32c_hardware(uint32_t crc, const void *bytes, size_t length);

#endif
