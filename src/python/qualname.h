/* SPDX-License-Identifier: MIT
 *
 * --qualname before 3.11, whose code objects have no co_qualname: a
 * method's "Class.method" found from the frame's first argument. A code
 * object whose first positional argument (co_varnames[0]) is `self` or
 * `cls` is a method's; the frame's first slot (f_localsplus[0]) is then an
 * instance (self: its type is looked at) or a class (cls). The class that
 * DEFINES the method is searched for in that type's MRO (tp_mro, at most
 * QUALNAME_MRO_MAX classes): the first whose dict (tp_dict) holds, under
 * the code's name (or its private-name mangling `_Class__name`), a function
 * whose code is this one, directly or inside a classmethod, staticmethod
 * or property (getter, setter, deleter).
 * The name is then that function's __qualname__ (3.6-3.10: what 3.11's
 * co_qualname would say, `Outer.Inner.method`), on 2.7 the class's
 * __name__ + "." + co_name. Anything else (no such argument, an empty slot
 * (an argument a closure captured lives in a cell), a decorator's wrapper,
 * a 2.7 old-style instance, unreadable memory) keeps the name as it is.
 *
 * Cost: the argument kind is found once per code object, the class once
 * per (code, type): two direct-mapped caches. Per frame: one read of the
 * first slot and, for self, one of its type (both served by the sample's
 * memory cycle). Names are interned for the cache's lifetime, so a name
 * handed out stays valid until qualnames__free.
 */
#ifndef CSPY_QUALNAME_H
#define CSPY_QUALNAME_H

#include <stdint.h>

struct pyctx;
struct py_code;

#define QUALNAME_MRO_MAX 64

struct qualnames;

struct qualnames *qualnames__new(void);
void qualnames__free(struct qualnames *q);

/* The qualified name of a <= 3.10 frame (PyFrameObject at frame) running
 * code, or NULL (the name as is). *uid: a unique id of the (code, class)
 * pair, with bit 63 set (never a py_code uid); 0 with NULL. */
const char *qualnames__frame(struct qualnames *q, const struct pyctx *c,
			     const struct py_code *code, uint64_t frame, uint64_t *uid);

#endif
