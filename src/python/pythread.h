/* SPDX-License-Identifier: MIT
 *
 * Thread names, the Python side of the thread reader (pyproc): each
 * interpreter's threading._active maps a thread's ident to its Thread
 * object, whose name is read from its attributes.
 */
#ifndef CSPY_PYTHREAD_H
#define CSPY_PYTHREAD_H

#include <stdint.h>

struct pyctx;

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
