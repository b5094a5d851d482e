/* SPDX-License-Identifier: MIT
 *
 * The sources of a recording, for the writers that show source text (the
 * HTML report, cspy's JSON): each file that a Python frame of the profile
 * names is read once, through the proc layer (procfs_read_root_file:
 * /proc/PID/root of a process that had the frame, so files inside a
 * container or chroot are found), and stored in the profile with
 * profile__set_source, its text or why there is none. srcread__scan is
 * called between sampling ticks (record's progress callback, about ten
 * times a second, at most SRCREAD_FILES_PER_SCAN files each time, and
 * once for all the rest when sampling ends), never while a target is
 * paused; it looks only at the stacks added since its last call.
 *
 * Bounds: a file larger than file_max bytes is not read ("larger than 1
 * MiB"), and once total_max bytes of text are held no more files are read
 * ("over the 32 MiB budget"). Names like "<frozen importlib._bootstrap>"
 * or "<string>" are not files and are marked so without a read.
 */
#ifndef CSPY_SRCREAD_H
#define CSPY_SRCREAD_H

#include <stddef.h>

struct profile;
struct srcread;

#define SRCREAD_FILE_MAX ((size_t)1 << 20)
#define SRCREAD_TOTAL_MAX ((size_t)32 << 20)

/* The profile is borrowed and must outlive the reader. */
struct srcread *srcread__new(struct profile *p, size_t file_max, size_t total_max);
void srcread__free(struct srcread *r);
/* Read the files of the Python frames of the stacks added since the last
 * call (stack ids at or above the last count), at most max_files of them
 * (0: all): a call between two ticks stays short, the next one goes on
 * where it stopped. */
void srcread__scan(struct srcread *r, size_t max_files);
/* Files read per call between ticks: a few milliseconds at most. */
#define SRCREAD_FILES_PER_SCAN 8
/* Files read with text, and files with an error, so far. */
size_t srcread__files(const struct srcread *r, size_t *failed);

#endif
