/* SPDX-License-Identifier: MIT
 *
 * Thread names from threading._active (see pythread.h): sys.modules ->
 * "threading" -> its __dict__ -> "_active", then for each entry the int
 * key (the ident) and the Thread's name attribute ("_name"; 2.7
 * "_Thread__name"), when its own ident ("_ident"; 2.7 "_Thread__ident")
 * is the key's. Without a GIL a thread may be paused in the middle of
 * changing _active, so the walk of its entries may read them one by one
 * (MAX_SINGLE in all) where a chunk cannot be read whole, and an entry that
 * is unreadable or not what it should be is skipped.
 */
#include "python/pythread.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pydict.h"
#include "python/pyobj.h"
#include "python/pystr.h"

#define MAX_SINGLE 1024         /* _active entries read one by one */

struct tnames {
	const struct pyctx *c;
	const char *attr, *ident_attr;
	pythread_name_fn fn;
	void *arg;
};

static int tname_cb(uint64_t key, uint64_t value, void *arg)
{
	struct tnames *tn = arg;
	char name[128];
	int64_t ident, own;
	uint64_t nobj, iobj;

	/* A torn entry (a stale or half-written pointer, a key that is no
	 * int, a value without a str name, or another thread's Thread: the
	 * dict read while a running thread changes it) is skipped, not an
	 * error. */
	if (((key | value) & 7) == 0 && pyobj_as_int64(tn->c, key, &ident) == 0 &&
	    pydict_getattr(tn->c, value, tn->ident_attr, &iobj) == 0 &&
	    pyobj_as_int64(tn->c, iobj, &own) == 0 && own == ident &&
	    pydict_getattr(tn->c, value, tn->attr, &nobj) == 0 &&
	    pystr_read(tn->c, nobj, name, sizeof(name), NULL) == 0)
		tn->fn((uint64_t)ident, name, tn->arg);
	return 0;
}

int pythread_names(const struct pyctx *c, uint64_t modules_dict, pythread_name_fn fn, void *arg)
{
	const struct py_layout *L = c->L;
	bool py2 = L->str_kind == PY_STR_PY2;
	struct tnames tn = { c, py2 ? "_Thread__name" : "_name", py2 ? "_Thread__ident" : "_ident",
			     fn, arg };
	uint64_t mod, md, active;
	char tname[16];
	int err;

	err = pydict_get_str(c, modules_dict, "threading", &mod);
	if (!err)
		err = pyobj_type_name(c, mod, tname, sizeof(tname));
	if (!err && strcmp(tname, "module") != 0)
		return 0;
	if (!err)
		err = L->md_dict < 0 ? -EINVAL : mem__read_ptr(c->mem, mod + (uint64_t)L->md_dict, &md);
	if (!err)
		err = md ? pydict_get_str(c, md, "_active", &active) : -ENOENT;
	if (!err) {
		/* Without a GIL a thread may be paused in the middle of changing
		 * _active: its entries are read one by one where a chunk cannot be
		 * read whole, and a torn entry is skipped (tname_cb). */
		struct pydict_budget b = { PYDICT_MAX_SCAN, MAX_SINGLE };
		err = pydict_walk(c, active, &b, tname_cb, &tn);
	}
	return err == -ENOENT ? 0 : err;
}
