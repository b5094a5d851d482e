/* SPDX-License-Identifier: MIT
 *
 * A tiny single-header unit-test harness. Each test file defines its tests as
 * plain functions, calls them through TEST_RUN(), and ends main() with
 * TEST_REPORT(), which prints "N passed, N failed" and returns the exit code.
 * CHECK() records one assertion; a failed one prints file:line and the
 * expression and marks the current test as failed. A test whose inputs are
 * missing (no such interpreter installed) calls TEST_SKIP("reason", ...) and
 * returns: it prints "skip NAME: skipped: reason" and counts as neither
 * passed nor failed (a failed CHECK before it still fails the test).
 */
#ifndef CSPY_TEST_HARNESS_H
#define CSPY_TEST_HARNESS_H

#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed, harness_cur_failed;
static int harness_skipped, harness_cur_skipped;
static char harness_skip_why[2048];

#define CHECK(expr) do { \
	if (!(expr)) { \
		fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #expr); \
		harness_cur_failed = 1; \
	} \
} while (0)

#define CHECK_STR(a, b) do { \
	const char *ha_ = (a), *hb_ = (b); \
	if (!ha_ || !hb_ || strcmp(ha_, hb_) != 0) { \
		fprintf(stderr, "  FAIL %s:%d: %s == %s: \"%s\" vs \"%s\"\n", __FILE__, __LINE__, \
			#a, #b, ha_ ? ha_ : "(null)", hb_ ? hb_ : "(null)"); \
		harness_cur_failed = 1; \
	} \
} while (0)

#define CHECK_INT(a, b) do { \
	long long ha_ = (long long)(a), hb_ = (long long)(b); \
	if (ha_ != hb_) { \
		fprintf(stderr, "  FAIL %s:%d: %s == %s: %lld vs %lld\n", __FILE__, __LINE__, \
			#a, #b, ha_, hb_); \
		harness_cur_failed = 1; \
	} \
} while (0)

#define TEST_SKIP(...) do { \
	snprintf(harness_skip_why, sizeof(harness_skip_why), __VA_ARGS__); \
	harness_cur_skipped = 1; \
} while (0)

#define TEST_RUN(fn) do { \
	harness_cur_failed = 0; \
	harness_cur_skipped = 0; \
	fn(); \
	if (harness_cur_failed) { harness_failed++; printf("FAIL %s\n", #fn); } \
	else if (harness_cur_skipped) { \
		harness_skipped++; \
		printf("skip %s: skipped: %s\n", #fn, harness_skip_why); \
	} \
	else { harness_passed++; printf("ok   %s\n", #fn); } \
} while (0)

#define TEST_REPORT() ( \
	harness_skipped ? printf("%d skipped\n", harness_skipped) : 0, \
	printf("%d passed, %d failed\n", harness_passed, harness_failed), \
	harness_failed ? 1 : 0)

#endif
