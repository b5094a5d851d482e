/* SPDX-License-Identifier: MIT
 *
 * clock_now_ns(): CLOCK_MONOTONIC (a vDSO call) folded into nanoseconds;
 * clock_coarse_ns() the same of CLOCK_MONOTONIC_COARSE.
 */
#include "util/clock.h"

#include <time.h>

uint64_t clock_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t clock_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
