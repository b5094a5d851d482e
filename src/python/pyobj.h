/* SPDX-License-Identifier: MIT
 *
 * Remote Python objects beyond strings: type names, ints, dict lookups over
 * every dict layout (2.7, 3.6-3.10, 3.11+ incl. split/inline values),
 * attributes of instances, bounded reprs for --locals, and thread names from
 * threading._active. Everything goes through the memory reader; every length,
 * count and depth read from the target is bounded.
 */
#ifndef CSPY_PYOBJ_H
#define CSPY_PYOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pyctx;

/* tp_name of obj's type into buf. 0 or -errno. */
int pyobj_type_name(const struct pyctx *c, uint64_t obj, char *buf, size_t n);

/* Value of a Python int (2.7 int or long; 3.x int) that fits in int64. 0,
 * -ERANGE (too big), -EINVAL (not an int), -errno. */
int pyobj_as_int64(const struct pyctx *c, uint64_t obj, int64_t *out);

/* Call fn(key, value, arg) for each live entry of the remote dict (at most
 * 100,000 entries). fn returns non-zero to stop; that value is returned.
 * Otherwise 0, or -errno. */
typedef int (*pydict_fn)(uint64_t key, uint64_t value, void *arg);
int pydict_foreach(const struct pyctx *c, uint64_t dict, pydict_fn fn, void *arg);

/* Value for the str key `key` (compared as UTF-8). 0 and *value, -ENOENT, -errno. */
int pydict_get_str(const struct pyctx *c, uint64_t dict, const char *key, uint64_t *value);

/* Attribute `name` of an instance from its __dict__ (tp_dictoffset, managed
 * dicts, 3.11/3.12 values, 3.13+ inline values). 0 and *value, -ENOENT, -errno. */
int pyobj_getattr_dict(const struct pyctx *c, uint64_t obj, const char *name, uint64_t *value);

/* A bounded repr of obj into buf (always NUL-terminated): None, True/False,
 * int (any size; very long ones abbreviated), float, str and bytes (quoted,
 * escaped, truncated), tuple, list, dict (first elements, nested up to a
 * depth); anything else "<typename at 0x...>". level 1 = short (py-spy's
 * default), 2+ = longer strings/containers. Never fails: unreadable memory
 * gives "<unreadable at 0x...>". */
void pyobj_repr(const struct pyctx *c, uint64_t obj, int level, char *buf, size_t n);

/* Thread names from threading._active: look up module "threading" in the
 * interpreter's modules dict (modules_dict = *(interp + L->is_modules)), then
 * _active[ident].name. Calls fn(thread_ident, name, arg) for each. A torn
 * entry (unreadable, a bad pointer, not int -> object with a str name: the
 * dict caught mid-change on a build without a GIL) is skipped, not an error;
 * a table header out of bounds still fails. Returns 0 (also when threading
 * is not imported: no calls), or -errno. */
typedef void (*pythread_name_fn)(uint64_t ident, const char *name, void *arg);
int pythread_names(const struct pyctx *c, uint64_t modules_dict, pythread_name_fn fn, void *arg);

#endif
