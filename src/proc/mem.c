/* SPDX-License-Identifier: MIT
 *
 * Memory readers (see mem.h). The live reader calls process_vm_readv; a batch
 * (mem__readv) is issued as one syscall of up to IOV_MAX ranges, and only when
 * that fails partially are the remaining ranges retried one by one, so every
 * range gets its own verdict. The snapshot reader keeps regions in an array
 * sorted by address; a read must fall entirely inside one region. A source
 * reader hands every range to its read function.
 *
 * Snapshot file format: "CSPYSNAP1\n", then for each region a little-endian
 * u64 address, u64 length, and the bytes.
 */
#include "proc/mem.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "util/xalloc.h"

#define SNAP_MAGIC "CSPYSNAP1\n"
#define PF_MAX_RANGES 4096              /* ranges carried from one cycle to the next */
#define PF_MAX_BYTES (8u << 20)
#define PF_SHRINK_MIN (64u << 10)       /* a prefetch buffer above this shrinks when 4x too large */
#define PAGE_SIZE_ 4096u

struct region {
	uint64_t addr;
	size_t len;
	uint8_t *data;
};

/* A range fetched at the start of a cycle. */
struct pf_range {
	uint64_t addr;
	size_t len, off;        /* off: into pf_buf */
	int err;
	bool used;              /* read during this cycle: carried to the next */
};

struct mem {
	pid_t pid;              /* > 0: live */
	uint64_t syscalls;
	uint64_t reads;         /* asked, however served */
	bool in_cycle;
	bool no_carry;          /* mem__carry(m, false): reads not fetched at the next cycle */
	struct pf_range *pf;    /* this cycle's prefetched ranges */
	size_t npf, pf_cap;
	uint8_t *pf_buf;
	size_t pf_buf_cap;
	struct pf_range *next;  /* ranges to fetch at the next cycle */
	size_t nnext, next_cap, next_bytes;
	struct mem_iov *iov;    /* scratch of mem__cycle_begin and mem__readv, kept */
	size_t *where;
	size_t iov_cap, where_cap;
	struct mem *record;     /* live: snapshot receiving every good read */
	struct region *regions; /* snapshot */
	int (*src)(void *ctx, uint64_t addr, void *buf, size_t len);   /* source */
	void *src_ctx;
	size_t nregions, cap;
};

struct mem *mem__new_pid(pid_t pid)
{
	struct mem *m = xcalloc(1, sizeof(*m));
	m->pid = pid;
	return m;
}

struct mem *mem__new_sibling(const struct mem *m)
{
	if (m->pid <= 0)
		return NULL;
	struct mem *s = mem__new_pid(m->pid);
	s->record = m->record;
	return s;
}

struct mem *mem__new_snapshot(void)
{
	return xcalloc(1, sizeof(struct mem));
}

struct mem *mem__new_source(int (*read)(void *ctx, uint64_t addr, void *buf, size_t len),
			    void *ctx)
{
	struct mem *m = xcalloc(1, sizeof(struct mem));
	m->src = read;
	m->src_ctx = ctx;
	return m;
}

void mem__free(struct mem *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nregions; i++)
		free(m->regions[i].data);
	free(m->regions);
	free(m->pf);
	free(m->pf_buf);
	free(m->next);
	free(m->iov);
	free(m->where);
	free(m);
}

pid_t mem__pid(const struct mem *m)
{
	return m->pid;
}

uint64_t mem__syscalls(const struct mem *m)
{
	return m->syscalls;
}

uint64_t mem__reads(const struct mem *m)
{
	return m->reads;
}

void mem__record_into(struct mem *m, struct mem *snap)
{
	m->record = snap;
}

void mem__snapshot_add(struct mem *m, uint64_t addr, const void *buf, size_t len)
{
	if (len == 0 || addr + len < addr)
		return;
	/* Merge by overwriting: a region fully inside an existing one is copied in. */
	for (size_t i = 0; i < m->nregions; i++) {
		struct region *r = &m->regions[i];
		if (addr >= r->addr && addr + len <= r->addr + r->len) {
			memcpy(r->data + (addr - r->addr), buf, len);
			return;
		}
	}
	m->regions = xgrow(m->regions, &m->cap, m->nregions + 1, sizeof(*m->regions));
	size_t pos = m->nregions;
	while (pos > 0 && m->regions[pos - 1].addr > addr)
		pos--;
	memmove(&m->regions[pos + 1], &m->regions[pos], (m->nregions - pos) * sizeof(*m->regions));
	m->regions[pos].addr = addr;
	m->regions[pos].len = len;
	m->regions[pos].data = xmalloc(len);
	memcpy(m->regions[pos].data, buf, len);
	m->nregions++;
}

static int snap_read(const struct mem *m, uint64_t addr, void *buf, size_t len)
{
	if (addr + len < addr)
		return -EFAULT;
	if (m->src)
		return m->src(m->src_ctx, addr, buf, len);
	/* Newest region wins; regions are few in tests, so scan from the end. */
	for (size_t i = m->nregions; i-- > 0;) {
		const struct region *r = &m->regions[i];
		if (addr >= r->addr && addr + len <= r->addr + r->len) {
			memcpy(buf, r->data + (addr - r->addr), len);
			return 0;
		}
	}
	return -EFAULT;
}

static int live_err(int e)
{
	return e == ESRCH ? -ESRCH : e == EPERM ? -EPERM : -EFAULT;
}

static int live_read1(struct mem *m, struct mem_iov *v)
{
	struct iovec local = { v->buf, v->len }, remote = { (void *)(uintptr_t)v->addr, v->len };
	m->syscalls++;
	ssize_t n = process_vm_readv(m->pid, &local, 1, &remote, 1, 0);
	if (n == (ssize_t)v->len)
		return 0;
	return n < 0 ? live_err(errno) : -EFAULT;
}

static int raw_readv(struct mem *m, struct mem_iov *iov, size_t n)
{
	int failed = 0;

	if (m->pid <= 0) {
		for (size_t i = 0; i < n; i++) {
			iov[i].err = snap_read(m, iov[i].addr, iov[i].buf, iov[i].len);
			failed += iov[i].err != 0;
		}
		return failed;
	}

	for (size_t base = 0; base < n;) {
		size_t cnt = n - base < IOV_MAX ? n - base : IOV_MAX;
		struct iovec local[IOV_MAX], remote[IOV_MAX];
		size_t want = 0;
		for (size_t i = 0; i < cnt; i++) {
			local[i].iov_base = iov[base + i].buf;
			local[i].iov_len = iov[base + i].len;
			remote[i].iov_base = (void *)(uintptr_t)iov[base + i].addr;
			remote[i].iov_len = iov[base + i].len;
			want += iov[base + i].len;
			iov[base + i].err = 0;
		}
		m->syscalls++;
		ssize_t got = process_vm_readv(m->pid, local, cnt, remote, cnt, 0);
		if (got < 0 && (errno == ESRCH || errno == EPERM))
			return live_err(errno);
		if (got != (ssize_t)want) {
			/* Partial: the kernel stops at the first bad range. Ranges
			 * fully copied before it are good; retry the rest singly. */
			size_t done = got > 0 ? (size_t)got : 0, i = 0;
			while (i < cnt && iov[base + i].len <= done) {
				done -= iov[base + i].len;
				i++;
			}
			for (; i < cnt; i++) {
				iov[base + i].err = live_read1(m, &iov[base + i]);
				if (iov[base + i].err == -ESRCH || iov[base + i].err == -EPERM)
					return iov[base + i].err;
			}
		}
		for (size_t i = 0; i < cnt; i++) {
			failed += iov[base + i].err != 0;
			if (!iov[base + i].err && m->record)
				mem__snapshot_add(m->record, iov[base + i].addr, iov[base + i].buf,
						  iov[base + i].len);
		}
		base += cnt;
	}
	return failed;
}

static int raw_read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	if (m->pid <= 0)
		return snap_read(m, addr, buf, len);
	struct mem_iov v = { .addr = addr, .buf = buf, .len = len };
	int err = live_read1(m, &v);
	if (!err && m->record)
		mem__snapshot_add(m->record, addr, buf, len);
	return err;
}

/* ---- cycles -------------------------------------------------------------- */

/* Remember [addr, addr+len) for the next cycle, unless a remembered range
 * already holds it or the limits are reached (what mem__want asks for:
 * always; what a read missed: remember_missed). */
static void remember(struct mem *m, uint64_t addr, size_t len)
{
	if (m->nnext >= PF_MAX_RANGES || m->next_bytes + len > PF_MAX_BYTES)
		return;
	for (size_t i = m->nnext; i-- > 0;)
		if (addr >= m->next[i].addr && addr + len <= m->next[i].addr + m->next[i].len)
			return;
	m->next = xgrow(m->next, &m->next_cap, m->nnext + 1, sizeof(*m->next));
	m->next[m->nnext++] = (struct pf_range){ .addr = addr, .len = len };
	m->next_bytes += len;
}

/* What a read missed, for the next cycle: only while carrying (mem__carry). */
static void remember_missed(struct mem *m, uint64_t addr, size_t len)
{
	if (!m->no_carry)
		remember(m, addr, len);
}

/* The prefetched range holding [addr, addr+len), or NULL. The ranges are
 * sorted and disjoint (coalesce): a binary search for the last one starting
 * at or below addr. */
static struct pf_range *pf_find(struct mem *m, uint64_t addr, size_t len)
{
	if (addr + len < addr)
		return NULL;
	size_t lo = 0, hi = m->npf;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->pf[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct pf_range *r = &m->pf[lo - 1];
	if (addr + len > r->addr + r->len || r->err)
		return NULL;
	return r;
}

static void pf_use(struct mem *m, struct pf_range *r)
{
	if (r->used || m->no_carry)
		return;
	r->used = true;
	/* Prefetched ranges hold no duplicates: no need to search. */
	if (m->nnext >= PF_MAX_RANGES || m->next_bytes + r->len > PF_MAX_BYTES)
		return;
	m->next = xgrow(m->next, &m->next_cap, m->nnext + 1, sizeof(*m->next));
	m->next[m->nnext++] = (struct pf_range){ .addr = r->addr, .len = r->len };
	m->next_bytes += r->len;
}

static int range_cmp(const void *a, const void *b)
{
	const struct pf_range *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr ? 1 : x->len < y->len ? 1 : -1;
}

/* Each range of a process_vm_readv costs a mapping lookup and page pins:
 * sort the ranges and merge those that overlap or sit on the same or the
 * next page (the bytes between them are then mapped: the pages are the
 * ones the ranges themselves were read from). */
static void coalesce(struct mem *m)
{
	/* A steady sample has a dozen ranges, and qsort's merge sort costs
	 * more than the search: insertion sort up to a few dozen. */
	if (m->npf > 48) {
		qsort(m->pf, m->npf, sizeof(*m->pf), range_cmp);
	} else {
		for (size_t i = 1; i < m->npf; i++) {
			struct pf_range r = m->pf[i];
			size_t j = i;
			while (j > 0 && range_cmp(&m->pf[j - 1], &r) > 0) {
				m->pf[j] = m->pf[j - 1];
				j--;
			}
			m->pf[j] = r;
		}
	}
	size_t out = 0;
	for (size_t i = 0; i < m->npf; i++) {
		struct pf_range *r = &m->pf[i];
		if (out) {
			struct pf_range *a = &m->pf[out - 1];
			uint64_t a_end = a->addr + a->len, r_end = r->addr + r->len;
			uint64_t last_page = (a_end - 1) / PAGE_SIZE_;
			if (r->addr / PAGE_SIZE_ <= last_page + 1 && r->addr <= a_end + PAGE_SIZE_) {
				if (r_end > a_end)
					a->len = (size_t)(r_end - a->addr);
				continue;
			}
		}
		m->pf[out++] = *r;
	}
	m->npf = out;
}

void mem__carry(struct mem *m, bool on)
{
	m->no_carry = !on;
}

void mem__cycle_begin(struct mem *m)
{
	m->in_cycle = true;
	/* This cycle fetches what the last one used. */
	struct pf_range *t = m->pf;
	size_t tcap = m->pf_cap;
	m->pf = m->next;
	m->pf_cap = m->next_cap;
	m->npf = m->nnext;
	m->next = t;
	m->next_cap = tcap;
	m->nnext = 0;
	m->next_bytes = 0;
	if (!m->npf)
		return;
	coalesce(m);
	size_t total = 0;
	for (size_t i = 0; i < m->npf; i++) {
		m->pf[i].off = total;
		m->pf[i].used = false;
		total += m->pf[i].len;
	}
	/* Sized to this cycle; a buffer 4 times too large (a sample that once
	 * read a lot, e.g. a torn one with a garbage length) is given back, so
	 * its pages do not stay for the rest of the run. */
	if (total > m->pf_buf_cap || (m->pf_buf_cap > PF_SHRINK_MIN && total < m->pf_buf_cap / 4)) {
		free(m->pf_buf);
		m->pf_buf = xmalloc(total);
		m->pf_buf_cap = total;
	}
	m->iov = xgrow(m->iov, &m->iov_cap, m->npf, sizeof(*m->iov));
	struct mem_iov *iov = m->iov;
	for (size_t i = 0; i < m->npf; i++)
		iov[i] = (struct mem_iov){ .addr = m->pf[i].addr, .buf = m->pf_buf + m->pf[i].off,
					   .len = m->pf[i].len };
	int r = raw_readv(m, iov, m->npf);
	for (size_t i = 0; i < m->npf; i++)
		m->pf[i].err = r < 0 ? r : iov[i].err;
	if (m->iov_cap > PF_MAX_RANGES / 4) {   /* a burst of ranges: not kept */
		free(m->iov);
		free(m->where);
		m->iov = NULL;
		m->where = NULL;
		m->iov_cap = m->where_cap = 0;
	}
}

/* The copy stays (pf, npf, pf_buf) for mem__borrow_last until the next
 * cycle begins. */
void mem__cycle_end(struct mem *m)
{
	m->in_cycle = false;
}

/* [addr, addr+len) in the cycle's copy, counted and carried as a read; NULL
 * when the copy does not hold all of it. */
static const void *borrow(struct mem *m, uint64_t addr, size_t len)
{
	struct pf_range *r = len ? pf_find(m, addr, len) : NULL;
	if (!r)
		return NULL;
	m->reads++;
	pf_use(m, r);
	return m->pf_buf + r->off + (addr - r->addr);
}

const void *mem__borrow_last(struct mem *m, uint64_t addr, size_t len)
{
	return m->in_cycle ? NULL : borrow(m, addr, len);
}

void mem__want(struct mem *m, uint64_t addr, size_t len)
{
	if (len && addr + len > addr)
		remember(m, addr, len);
}

int mem__readv(struct mem *m, struct mem_iov *iov, size_t n)
{
	m->reads += n;
	if (!m->in_cycle)
		return raw_readv(m, iov, n);
	/* Serve what the prefetch holds; read the rest in one batch. */
	m->iov = xgrow(m->iov, &m->iov_cap, n ? n : 1, sizeof(*m->iov));
	m->where = xgrow(m->where, &m->where_cap, n ? n : 1, sizeof(*m->where));
	struct mem_iov *miss = m->iov;
	size_t *where = m->where;
	size_t nmiss = 0;
	int failed = 0;
	for (size_t i = 0; i < n; i++) {
		struct pf_range *r = iov[i].len ? pf_find(m, iov[i].addr, iov[i].len) : NULL;
		if (r || !iov[i].len) {
			if (r) {
				memcpy(iov[i].buf, m->pf_buf + r->off + (iov[i].addr - r->addr), iov[i].len);
				pf_use(m, r);
			}
			iov[i].err = 0;
			continue;
		}
		where[nmiss] = i;
		miss[nmiss++] = iov[i];
	}
	int r = nmiss ? raw_readv(m, miss, nmiss) : 0;
	for (size_t k = 0; k < nmiss && r >= 0; k++) {
		iov[where[k]].err = miss[k].err;
		failed += miss[k].err != 0;
		if (!miss[k].err)
			remember_missed(m, miss[k].addr, miss[k].len);
	}
	return r < 0 ? r : failed;
}

int mem__read(struct mem *m, uint64_t addr, void *buf, size_t len)
{
	if (len == 0)
		return 0;
	m->reads++;
	if (!m->in_cycle)
		return raw_read(m, addr, buf, len);
	struct pf_range *r = pf_find(m, addr, len);
	if (r) {
		memcpy(buf, m->pf_buf + r->off + (addr - r->addr), len);
		pf_use(m, r);
		return 0;
	}
	int err = raw_read(m, addr, buf, len);
	if (!err)
		remember_missed(m, addr, len);
	return err;
}

const void *mem__borrow(struct mem *m, uint64_t addr, size_t len)
{
	return m->in_cycle ? borrow(m, addr, len) : NULL;
}

long mem__read_upto(struct mem *m, uint64_t addr, void *buf, size_t min, size_t max)
{
	size_t len = PAGE_SIZE_ - (addr & (PAGE_SIZE_ - 1));
	if (len > max)
		len = max;
	if (len < min)
		len = min;
	int err = mem__read(m, addr, buf, len);
	if (err == -EFAULT && len > min) {
		len = min;
		err = mem__read(m, addr, buf, len);
	}
	return err ? err : (long)len;
}

int mem__read_cstr(struct mem *m, uint64_t addr, char *buf, size_t n)
{
	if (n <= 1) {
		if (n)
			buf[0] = '\0';
		return 0;
	}
	long got = mem__read_upto(m, addr, buf, 1, n - 1);
	if (got < 0)
		return (int)got;
	size_t have = (size_t)got;
	/* Only a string that goes on past its first page gets here; the byte
	 * steps serve snapshots that end right after the NUL. */
	while (!memchr(buf, '\0', have) && have < n - 1) {
		size_t want = n - 1 - have;
		if (mem__read(m, addr + have, buf + have, want) != 0) {
			int err = mem__read(m, addr + have, buf + have, 1);
			if (err)
				return err;
			want = 1;
		}
		have += want;
	}
	buf[have] = '\0';
	return 0;
}

int mem__read_ptr(struct mem *m, uint64_t addr, uint64_t *out)
{
	return mem__read(m, addr, out, sizeof(*out));
}

int mem__read_i32(struct mem *m, uint64_t addr, int32_t *out)
{
	return mem__read(m, addr, out, sizeof(*out));
}

int mem__snapshot_save(const struct mem *snap, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	int err = 0;
	if (fwrite(SNAP_MAGIC, 1, strlen(SNAP_MAGIC), f) != strlen(SNAP_MAGIC))
		err = -EIO;
	for (size_t i = 0; !err && i < snap->nregions; i++) {
		uint64_t hdr[2] = { snap->regions[i].addr, snap->regions[i].len };
		if (fwrite(hdr, sizeof(hdr), 1, f) != 1 ||
		    fwrite(snap->regions[i].data, 1, snap->regions[i].len, f) != snap->regions[i].len)
			err = -EIO;
	}
	if (fclose(f) != 0 && !err)
		err = -EIO;
	return err;
}
