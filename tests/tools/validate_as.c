/* SPDX-License-Identifier: MIT
 *
 * validate_as: the live checks cspy runs on a newer minor than it knows
 * (pyproc__validate), on a real process read with the built-in table of a
 * minor version of your choice (no _Py_DebugOffsets applied), to show on
 * real memory that a layout which does not fit is refused and one that
 * fits passes:
 *
 *   build/tools/validate_as PID X.Y[t]
 *
 * Prints "PID as X.Y: pass (N threads)" or "PID as X.Y: refused: <why>".
 * Exit status 0 when it passes, 1 when refused, 2 on usage or when the
 * process is not a Python cspy can locate. tests/e2e/newer.py runs it with
 * the target's own minor (must pass) and with every other 3.13+ table (must
 * be refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/maps.h"
#include "proc/mem.h"
#include "python/detect.h"
#include "python/offsets.h"
#include "python/pyproc.h"

int main(int argc, char **argv)
{
	unsigned major, minor;
	char t = 0, why[512];
	if (argc != 3 || sscanf(argv[2], "%u.%u%c", &major, &minor, &t) < 2 || (t && t != 't')) {
		fprintf(stderr, "usage: validate_as PID X.Y[t]\n");
		return 2;
	}
	pid_t pid = (pid_t)atoi(argv[1]);
	struct maps maps = { 0 };
	struct py_target target;
	struct mem *mem = mem__new_pid(pid);
	if (maps__load(pid, &maps) != 0 ||
	    (detect_python(pid, mem, &maps, &target, why, sizeof(why)) != 0 && !target.runtime)) {
		fprintf(stderr, "validate_as: %d: not a Python cspy can locate (%s)\n", (int)pid, why);
		maps__release(&maps);
		mem__free(mem);
		return 2;
	}
	maps__release(&maps);
	struct py_layout L;
	if (offsets_for_version(PY_VER(major, minor) | 0xf0, t == 't', &L) != 0) {
		fprintf(stderr, "validate_as: no table for %s\n", argv[2]);
		mem__free(mem);
		return 2;
	}
	L.untested = true;
	struct pyproc *p = pyproc__new_mem(mem, pid, &target, &L);
	int err = pyproc__validate(p, why, sizeof(why));
	if (err)
		printf("%d as %s: refused: %s\n", (int)pid, argv[2], why);
	else
		printf("%d as %s: pass\n", (int)pid, argv[2]);
	pyproc__close(p);
	return err ? 1 : 0;
}
