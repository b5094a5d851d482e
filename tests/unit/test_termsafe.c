/* SPDX-License-Identifier: MIT
 *
 * util/termsafe: the strict UTF-8 decoder and the readable escaping of
 * terminal control characters (C0, DEL, C1, malformed UTF-8).
 */
#include <stdlib.h>

#include "harness.h"
#include "util/termsafe.h"

static void check_escape(const char *in, const char *want)
{
	char *got = termsafe_escape(in);
	CHECK_STR(got, want);
	free(got);
}

static void test_escape(void)
{
	check_escape("", "");
	check_escape("plain name (file.py:12)", "plain name (file.py:12)");
	check_escape("red\x1b[31m\x07" "bell\nnl\r\t", "red\\x1b[31m\\x07bell\\nnl\\r\\t");
	check_escape("del\x7f", "del\\x7f");
	check_escape("csi\xc2\x9b" "2J", "csi\\u009b2J");                 /* C1 as UTF-8 */
	check_escape("nbsp\xc2\xa0 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d",
		     "nbsp\xc2\xa0 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8d");   /* printable kept */
	check_escape("bad\xff\xc3(", "bad\\xff\\xc3(");                     /* malformed bytes */
	check_escape("overlong\xc0\xaf surrogate\xed\xa0\x80",
		     "overlong\\xc0\\xaf surrogate\\xed\\xa0\\x80");
	check_escape("back\\slash \\x1b", "back\\slash \\x1b");            /* unchanged */
	char *worst = termsafe_escape("\xc2\x9f\xc2\x9f");
	CHECK_STR(worst, "\\u009f\\u009f");
	free(worst);
}

static void test_decoder(void)
{
	size_t len;
	CHECK_INT(termsafe_utf8_next((const unsigned char *)"A", &len), 'A');
	CHECK_INT(len, 1);
	CHECK_INT(termsafe_utf8_next((const unsigned char *)"\xe2\x82\xac", &len), 0x20ac);
	CHECK_INT(len, 3);
	CHECK_INT(termsafe_utf8_next((const unsigned char *)"\xe2\x82", &len), -1);    /* cut by NUL */
	CHECK_INT(len, 1);
	CHECK_INT(termsafe_utf8_next((const unsigned char *)"\xf4\x90\x80\x80", &len), -1);
	CHECK(termsafe_is_control(-1));
	CHECK(termsafe_is_control(0x1b));
	CHECK(termsafe_is_control(0x7f));
	CHECK(termsafe_is_control(0x9b));
	CHECK(!termsafe_is_control(0xa0));
	CHECK(!termsafe_is_control(' '));
}

int main(void)
{
	TEST_RUN(test_escape);
	TEST_RUN(test_decoder);
	return TEST_REPORT();
}
