/* SPDX-License-Identifier: MIT
 *
 * Method names before 3.11 (see qualname.h). Two direct-mapped caches (a
 * collision evicts, the entry is found again when next needed): the
 * argument kind per code uid, the result per (code uid, type). The result
 * names live in an intern pool (a hash index over a string array) that
 * only grows with distinct method names, never with samples.
 */
#include "python/qualname.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc/mem.h"
#include "python/offsets.h"
#include "python/pyctx.h"
#include "python/pydict.h"
#include "python/pyobj.h"
#include "python/pyproc.h"
#include "python/pystr.h"
#include "util/bytes.h"
#include "util/hashmap.h"
#include "util/xalloc.h"

#define KIND_SLOTS 4096         /* powers of two */
#define CLASS_SLOTS 4096
#define NAME_MAX_LEN 512
#define UID_BIT (1ull << 63)

enum arg_kind { KIND_UNKNOWN, KIND_NONE, KIND_SELF, KIND_CLS };

struct kind_slot {
	uint64_t code_uid;      /* 0: empty */
	uint8_t kind;
};

struct class_slot {
	uint64_t code_uid;      /* 0: empty */
	uint64_t type;
	const char *name;       /* interned; NULL: the name as is */
	uint64_t uid;
};

struct qualnames {
	struct kind_slot kinds[KIND_SLOTS];
	struct class_slot classes[CLASS_SLOTS];
	uint64_t next_uid;
	char **names;           /* the intern pool */
	size_t nnames, names_cap;
	struct hashmap index;
};

struct qualnames *qualnames__new(void)
{
	struct qualnames *q = xcalloc(1, sizeof(*q));
	hashmap__init(&q->index, 64);
	return q;
}

void qualnames__free(struct qualnames *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nnames; i++)
		free(q->names[i]);
	free(q->names);
	hashmap__fini(&q->index);
	free(q);
}

static const char *intern(struct qualnames *q, const char *s)
{
	uint64_t h = hashmap_fnv_str(s);
	struct hashmap_pos pos;
	for (uint32_t id = hashmap__first(&q->index, h, &pos); id != HASHMAP_NONE;
	     id = hashmap__next(&q->index, &pos))
		if (!strcmp(q->names[id], s))
			return q->names[id];
	q->names = xgrow(q->names, &q->names_cap, q->nnames + 1, sizeof(*q->names));
	q->names[q->nnames] = xstrdup(s);
	hashmap__insert(&q->index, &pos, (uint32_t)q->nnames);
	return q->names[q->nnames++];
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/* Whether code's first positional argument is self or cls. */
static enum arg_kind arg_kind(const struct pyctx *c, const struct py_code *code)
{
	const struct py_layout *L = c->L;
	uint8_t co[512];
	char name[8];
	uint64_t varnames, first, n;

	if (L->code_read_size <= 0 || (size_t)L->code_read_size > sizeof(co) || L->co_argcount < 0 ||
	    L->co_varnames < 0 || mem__read(c->mem, code->addr, co, (size_t)L->code_read_size))
		return KIND_NONE;
	if (bytes_i32(co + L->co_argcount) < 1)
		return KIND_NONE;
	varnames = bytes_u64(co + L->co_varnames);
	if (!varnames || mem__read_ptr(c->mem, varnames + (uint64_t)L->ob_size, &n) || n < 1 ||
	    n > (1u << 20) || mem__read_ptr(c->mem, varnames + (uint64_t)L->tuple_item, &first) ||
	    pystr_read(c, first, name, sizeof(name), NULL))
		return KIND_NONE;
	return !strcmp(name, "self") ? KIND_SELF : !strcmp(name, "cls") ? KIND_CLS : KIND_NONE;
}

/* Is f a function running code? */
static bool runs_code(const struct pyctx *c, uint64_t f, const struct py_code *code)
{
	char tn[16];
	uint64_t fc;
	return f && !pyobj_type_name(c, f, tn, sizeof(tn)) && !strcmp(tn, "function") &&
	       !mem__read_ptr(c->mem, f + (uint64_t)c->L->func_code, &fc) && fc == code->addr;
}

/* The function running code behind a class dict's value v: v itself, the
 * one a classmethod / staticmethod holds, or a property's getter, setter
 * or deleter; 0 if none. */
static uint64_t value_function(const struct pyctx *c, uint64_t v, const struct py_code *code)
{
	const struct py_layout *L = c->L;
	char tn[16];
	uint64_t f[3];
	if (runs_code(c, v, code))
		return v;
	if (pyobj_type_name(c, v, tn, sizeof(tn)))
		return 0;
	if (!strcmp(tn, "classmethod") || !strcmp(tn, "staticmethod"))
		return !mem__read_ptr(c->mem, v + (uint64_t)L->cm_callable, &f[0]) &&
		       runs_code(c, f[0], code) ? f[0] : 0;
	if (!strcmp(tn, "property") && L->prop_get > 0 &&
	    !mem__read(c->mem, v + (uint64_t)L->prop_get, f, sizeof(f)))
		for (int i = 0; i < 3; i++)
			if (runs_code(c, f[i], code))
				return f[i];
	return 0;
}

/* klass's dict holds a function running code under key: its address, else 0. */
static uint64_t class_function(const struct pyctx *c, uint64_t klass, const char *key,
			       const struct py_code *code)
{
	uint64_t dict, v;
	if (mem__read_ptr(c->mem, klass + (uint64_t)c->L->tp_dict, &dict) || !dict ||
	    pydict_get_str(c, dict, key, &v))
		return 0;
	return value_function(c, v, code);
}

/* "Class.method" for code called with type in its first argument: into
 * buf, 0; -ENOENT when no class of type's MRO defines it. */
static int find_class(const struct pyctx *c, const struct py_code *code, uint64_t type, char *buf,
		      size_t n)
{
	const struct py_layout *L = c->L;
	uint64_t mro, len, items[QUALNAME_MRO_MAX];
	struct pyobj_type t;
	char mangled[NAME_MAX_LEN];

	/* A cls argument may be anything: only a type (Py_TPFLAGS_TYPE_SUBCLASS
	 * on its type) has an MRO to walk. */
	uint64_t meta;
	if (mem__read_ptr(c->mem, type + (uint64_t)L->ob_type, &meta) ||
	    pyobj_type_load(c, meta, &t) || !(t.flags & (1ul << 31)))
		return -ENOENT;
	if (mem__read_ptr(c->mem, type + (uint64_t)L->tp_mro, &mro) || !mro ||
	    mem__read_ptr(c->mem, mro + (uint64_t)L->ob_size, &len) || len < 1)
		return -ENOENT;
	if (len > QUALNAME_MRO_MAX)
		len = QUALNAME_MRO_MAX;
	if (mem__read(c->mem, mro + (uint64_t)L->tuple_item, items, len * sizeof(*items)))
		return -ENOENT;
	/* A private name (__x, not __x__) is stored mangled: _Class__x. */
	size_t nl = strlen(code->name);
	bool private = nl > 2 && !strncmp(code->name, "__", 2) &&
		       !(nl > 4 && !strcmp(code->name + nl - 2, "__"));
	for (size_t i = 0; i < len; i++) {
		if (!items[i] || pyobj_type_load(c, items[i], &t))
			continue;
		uint64_t f = class_function(c, items[i], code->name, code);
		if (!f && private) {
			const char *cn = t.name + strspn(t.name, "_");
			snprintf(mangled, sizeof(mangled), "_%s%s", cn, code->name);
			f = class_function(c, items[i], mangled, code);
		}
		if (!f)
			continue;
		uint64_t qn;
		if (L->func_qualname > 0 &&
		    !mem__read_ptr(c->mem, f + (uint64_t)L->func_qualname, &qn) &&
		    !pystr_read(c, qn, buf, n, NULL))
			return 0;
		/* 2.7 (no __qualname__), or unreadable: the class's own name. */
		const char *dot = strrchr(t.name, '.');       /* a static type's "module.Name" */
		snprintf(buf, n, "%s.%s", dot ? dot + 1 : t.name, code->name);
		return 0;
	}
	return -ENOENT;
}

const char *qualnames__frame(struct qualnames *q, const struct pyctx *c,
			     const struct py_code *code, uint64_t frame, uint64_t *uid)
{
	const struct py_layout *L = c->L;
	*uid = 0;
	if (L->tp_mro <= 0 || L->tp_dict <= 0 || L->func_code <= 0 || L->f_localsplus < 0 || !frame)
		return NULL;
	struct kind_slot *ks = &q->kinds[mix(code->uid) & (KIND_SLOTS - 1)];
	if (ks->code_uid != code->uid) {
		ks->code_uid = code->uid;
		ks->kind = (uint8_t)arg_kind(c, code);
	}
	if (ks->kind != KIND_SELF && ks->kind != KIND_CLS)
		return NULL;
	uint64_t first, type;
	if (mem__read_ptr(c->mem, frame + (uint64_t)L->f_localsplus, &first) || !first)
		return NULL;
	if (ks->kind == KIND_CLS)
		type = first;
	else if (mem__read_ptr(c->mem, first + (uint64_t)L->ob_type, &type) || !type)
		return NULL;
	struct class_slot *cs = &q->classes[mix(code->uid * 0x9e3779b97f4a7c15ull ^ type) &
					    (CLASS_SLOTS - 1)];
	if (cs->code_uid != code->uid || cs->type != type) {
		char buf[NAME_MAX_LEN];
		cs->code_uid = code->uid;
		cs->type = type;
		cs->name = find_class(c, code, type, buf, sizeof(buf)) ? NULL : intern(q, buf);
		cs->uid = cs->name ? UID_BIT | ++q->next_uid : 0;
	}
	*uid = cs->uid;
	return cs->name;
}
