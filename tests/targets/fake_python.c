/* SPDX-License-Identifier: MIT
 *
 * A process that looks like a Python cspy does not support, for the
 * "unsupported version" error test. Built by the end-to-end suite with
 *   cc -rdynamic -DFAKE_VERSION=0x031000f0 -o python3.16 fake_python.c
 * It exports Py_Version and a _PyRuntime in a .PyRuntime section whose
 * _Py_DebugOffsets header says 3.16, like a real 3.16 would, but whose
 * offsets are all zero (cspy tries a newer minor with its own debug
 * offsets, and must refuse these); with
 * -DFAKE_OLD it instead exports _PyThreadState_Current and writes a
 * "2.6.9 (" version string into its writable memory, like Python 2.6.
 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#ifndef FAKE_VERSION
#define FAKE_VERSION 0x031000f0
#endif

#ifdef FAKE_OLD
void *_PyThreadState_Current;
char version_buffer[256];
#else
const unsigned long Py_Version = FAKE_VERSION;
struct {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
	uint64_t rest[128];
} _PyRuntime __attribute__((section(".PyRuntime"), used)) = {
	{ 'x', 'd', 'e', 'b', 'u', 'g', 'p', 'y' }, FAKE_VERSION, 0, { 0 }
};
#endif

int main(void)
{
#ifdef FAKE_OLD
	strcpy(version_buffer, "2.6.9 (unknown, Jan 1 2010, 00:00:00) [GCC 4.4]");
	_PyThreadState_Current = version_buffer;
#endif
	for (;;)
		pause();
}
