/* A process that becomes a Python process late (--subprocesses test).
 *
 *     late_python GOFILE LIBPYTHON CODE
 *
 * It runs as a plain C program (no libpython mapped: cspy's scan of
 * descendants finds no Python in it) until GOFILE exists, then loads
 * LIBPYTHON with dlopen, as an embedding application does, initialises the
 * interpreter and runs CODE. Its executable never changes: only a scanner
 * that looks at a young non-Python descendant again finds the Python in it.
 * Python's home comes from PYTHONHOME (set by the parent). Ends after 300 s
 * at the latest (alarm), or by its PID. */
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: late_python GOFILE LIBPYTHON CODE\n");
		return 2;
	}
	alarm(300);
	struct timespec tick = { 0, 10000000 };
	while (access(argv[1], F_OK) != 0)
		nanosleep(&tick, NULL);
	void *lib = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
	if (!lib) {
		fprintf(stderr, "late_python: %s\n", dlerror());
		return 1;
	}
	void (*init)(void) = (void (*)(void))dlsym(lib, "Py_Initialize");
	int (*run)(const char *) = (int (*)(const char *))dlsym(lib, "PyRun_SimpleString");
	if (!init || !run) {
		fprintf(stderr, "late_python: no Py_Initialize/PyRun_SimpleString in %s\n", argv[2]);
		return 1;
	}
	init();
	return run(argv[3]) == 0 ? 0 : 1;
}
