/* SPDX-License-Identifier: MIT
 *
 * Integers out of a byte buffer, such as a block of memory read from the
 * target: one memcpy each, so neither the buffer nor the offset needs any
 * alignment. cspy runs on a little-endian 64-bit machine (x86-64, aarch64:
 * src/arch/) and reads targets of the same machine, so the host's byte order
 * is the target's. The one copy of these accessors
 * (small static inline functions, the only bodies a header may hold).
 */
#ifndef CSPY_BYTES_H
#define CSPY_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint64_t bytes_u64(const void *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint32_t bytes_u32(const void *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline int32_t bytes_i32(const void *p)
{
	int32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
