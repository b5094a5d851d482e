/* SPDX-License-Identifier: MIT
 *
 * Building one sampled stack, root first, into the profile's frame ids, and
 * deciding on it with the sample filters (agg/filter.h) before it is added.
 * A builder belongs to one sampler and is reused for every stack.
 *
 * Two caches keep the work per sample small. A frame of code is interned
 * once: a direct-mapped cache keyed by the code's unique id (never reused,
 * see struct py_code) and line answers the frames seen before, which are
 * nearly all of them, without hashing strings. And a frame's filter
 * matches are found once per frame id, the first time a filtered stack
 * holds it (a label is built and the regexes run then only): deciding on a
 * sample is an OR of cached bits.
 *
 * Root frames (process, interpreter, thread, "<truncated>") are never
 * filtered; the frames pushed after them are.
 */
#ifndef CSPY_STACK_H
#define CSPY_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct py_frame;
struct py_thread;

struct profile;
struct stack_filter;

struct stack_builder;

/* Both are borrowed and must outlive the builder; filter may be NULL. */
struct stack_builder *stack_builder__new(struct profile *prof, const struct stack_filter *filter);
void stack_builder__free(struct stack_builder *b);

/* Start a stack of at most n frames. */
void stack_builder__begin(struct stack_builder *b, size_t n);
/* Push the next frame (root first): a root frame, not filtered ... */
void stack_builder__root(struct stack_builder *b, uint32_t frame);
/* ... or a frame the filters look at ... */
void stack_builder__push(struct stack_builder *b, uint32_t frame);
/* Which line a Python frame is shown at (stack_builder__push_thread). */
enum stack_lines {
	STACK_LINES_CURRENT,            /* the line running */
	STACK_LINES_FIRST,              /* the function's first line (--function) */
	STACK_LINES_NONE,               /* none (--nolineno) */
};
/* ... or a Python frame at the line chosen (PROF_FRAME_PYTHON, interned
 * through a cache keyed by the code object's uid) ... */
void stack_builder__push_frame(struct stack_builder *b, const struct py_frame *fr,
			       enum stack_lines lines);
/* The profile frame id a Python frame gets from push_frame, without pushing
 * it (a stack assembled from ids later, record --async). */
uint32_t stack_builder__frame_id(struct stack_builder *b, const struct py_frame *fr,
				 enum stack_lines lines);
/* ... or every frame of a Python thread, root first, as push_frame would:
 * one call per stack (the sampler's path), not one per frame. */
void stack_builder__push_thread(struct stack_builder *b, const struct py_thread *th,
				enum stack_lines lines);
/* --qualname: Python frames are named by their code's qualified name
 * (py_code.qualname, or py_frame.qualname found from self/cls before 3.11),
 * keyed by py_frame.qual_uid when it has one: a method inherited by two
 * classes is one frame, named for the class defining it. Off by default. */
void stack_builder__qualname(struct stack_builder *b, bool on);
/* Whether the filters keep the stack built. */
bool stack_builder__keep(struct stack_builder *b);
/* Add the stack built to the profile (profile__add); its stack id, or
 * PROFILE_NO_STACK. */
uint32_t stack_builder__add(struct stack_builder *b, uint32_t thread, uint64_t t_ns);

#endif
