/* SPDX-License-Identifier: MIT
 *
 * The monotonic clock in nanoseconds, in one place: deadlines, sampling
 * ticks, time stamps of samples and re-listing intervals all use it.
 */
#ifndef CSPY_CLOCK_H
#define CSPY_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC, in ns. */
uint64_t clock_now_ns(void);

#endif
