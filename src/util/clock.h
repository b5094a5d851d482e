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
/* CLOCK_MONOTONIC_COARSE, in ns: the last scheduler tick's time (a few ms
 * behind), read in a few ns; for ages of seconds read at every sample. */
uint64_t clock_coarse_ns(void);

#endif
