/* SPDX-License-Identifier: MIT
 *
 * Unit tests for elf/elffile. The test binary opens itself (/proc/self/exe)
 * and checks that the symbols it defines, relocated by the load bias computed
 * from its own maps, land on their runtime addresses, and that
 * elffile__read_vaddr() returns the file's initial bytes (and -EFAULT for
 * .bss). Then it opens every libpython found under `pyenv root` and Debian's
 * /usr/bin/python3.11 (stripped, non-PIE) when they exist, and compares
 * _PyRuntime, the .PyRuntime section and Py_Version with what the matching
 * interpreter reports about itself. Tests whose inputs are missing print
 * "skipped: <reason>" and count as neither passed nor failed. Finally, broken
 * inputs: non-ELF, empty, missing, 32-bit, big-endian, truncated files.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf/elffile.h"
#include "harness.h"
#include "proc/maps.h"
#include "util/xalloc.h"

/* Symbols of our own that the tests look up. */
__attribute__((used)) int elffile_test_data[4] = { 1, 2, 3, 4 };
__attribute__((used)) const char elffile_test_rodata[] = "cspy elffile test rodata";
__attribute__((used)) int elffile_test_bss[256];

/* Run cmd and return its first output line (without '\n') in a fresh string,
 * or NULL when it printed nothing. */
static char *run_first_line(const char *cmd)
{
	char line[4096];
	FILE *f = popen(cmd, "r");
	char *res = NULL;

	if (!f)
		return NULL;
	if (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0])
			res = strdup(line);
	}
	pclose(f);
	return res;
}

/* sys.hexversion of the interpreter at path, or 0 when it cannot be run. */
static unsigned long python_hexversion(const char *path)
{
	char cmd[PATH_MAX + 128];
	unsigned long v = 0;
	char *out;

	if (strchr(path, '\'') || access(path, X_OK) != 0)
		return 0;
	snprintf(cmd, sizeof(cmd), "'%s' -c 'import sys;print(sys.hexversion)' 2>/dev/null", path);
	out = run_first_line(cmd);
	if (out)
		v = strtoul(out, NULL, 10);
	free(out);
	return v;
}

static char *read_whole(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Write len bytes to a fresh temporary file; returns its path (static). */
static const char *write_temp(const void *buf, size_t len)
{
	static char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/cspy-test-elffile-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return NULL;
	if (len && write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		unlink(path);
		return NULL;
	}
	close(fd);
	return path;
}

/* Load bias of our own executable: where its offset-0 mapping starts minus
 * the page of its first PT_LOAD (0 for a non-PIE executable). */
static int self_load_bias(const struct elffile *ef, uint64_t *bias)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct maps m;
	int err = -ENOENT;

	if (n <= 0)
		return -errno;
	exe[n] = '\0';
	if (maps__load(getpid(), &m))
		return -EIO;
	for (size_t i = 0; i < m.n; i++) {
		if (m.v[i].offset == 0 && strcmp(m.v[i].path, exe) == 0) {
			*bias = m.v[i].start - elffile__first_load_vaddr(ef);
			err = 0;
			break;
		}
	}
	maps__release(&m);
	return err;
}

static void check_self(struct elffile *ef)
{
	uint64_t value = 0, size = 0, bias = 0, addr, secsize;
	char buf[sizeof(elffile_test_rodata)];
	int data[4];

	CHECK(elffile__type(ef) == ET_DYN || elffile__type(ef) == ET_EXEC);
	CHECK(elffile__nsymbols(ef) > 10);
	CHECK_INT(self_load_bias(ef, &bias), 0);
	if (elffile__type(ef) == ET_EXEC)
		CHECK(bias == 0);
	CHECK_INT(elffile__first_load_vaddr(ef) % 4096, 0);

	CHECK_INT(elffile__symbol(ef, "elffile_test_data", &value, &size), 0);
	CHECK(value + bias == (uint64_t)(uintptr_t)elffile_test_data);
	CHECK(size >= sizeof(elffile_test_data));
	/* The file holds the initial values, not the current ones. */
	elffile_test_data[0] = 99;
	CHECK_INT(elffile__read_vaddr(ef, value, data, sizeof(data)), 0);
	CHECK_INT(data[0], 1);
	CHECK_INT(data[3], 4);

	CHECK_INT(elffile__symbol(ef, "elffile_test_rodata", &value, NULL), 0);
	CHECK(value + bias == (uint64_t)(uintptr_t)elffile_test_rodata);
	CHECK_INT(elffile__read_vaddr(ef, value, buf, sizeof(buf)), 0);
	CHECK(memcmp(buf, elffile_test_rodata, sizeof(buf)) == 0);

	/* A static function is only in .symtab. */
	CHECK_INT(elffile__symbol(ef, "check_self", &value, NULL), 0);
	CHECK(value + bias == (uint64_t)(uintptr_t)check_self);

	/* .bss is not file-backed. */
	CHECK_INT(elffile__symbol(ef, "elffile_test_bss", &value, &size), 0);
	CHECK(value + bias == (uint64_t)(uintptr_t)elffile_test_bss);
	CHECK_INT(elffile__read_vaddr(ef, value, data, sizeof(data)), -EFAULT);
	CHECK_INT(elffile__read_vaddr(ef, UINT64_MAX - 2, data, sizeof(data)), -EFAULT);
	CHECK_INT(elffile__read_vaddr(ef, value + sizeof(data), data, 0), -EFAULT);

	/* Undefined (imported) and unknown symbols are not found. */
	CHECK_INT(elffile__symbol(ef, "elf_version", &value, NULL), -ENOENT);
	CHECK_INT(elffile__symbol(ef, "no_such_symbol_anywhere", &value, NULL), -ENOENT);
	CHECK_INT(elffile__symbol(ef, "", &value, NULL), -ENOENT);

	CHECK(elffile__has_symbol_prefix(ef, "elffile_test_"));
	CHECK(!elffile__has_symbol_prefix(ef, "no_such_prefix_xyzzy"));

	CHECK_INT(elffile__section(ef, ".text", &addr, &secsize), 0);
	CHECK(secsize > 0);
	CHECK_INT(elffile__section(ef, ".PyRuntime", &addr, &secsize), -ENOENT);
}

static void test_self_exe(void)
{
	struct elffile *ef = NULL;

	CHECK_INT(elffile__open("/proc/self/exe", &ef), 0);
	if (ef)
		check_self(ef);
	elffile__close(ef);
}

static void test_self_fd_and_mem(void)
{
	struct elffile *ef = NULL;
	int fd = open("/proc/self/exe", O_RDONLY);
	size_t len = 0;
	char *img;

	CHECK(fd >= 0);
	CHECK_INT(elffile__open_fd(fd, &ef), 0);
	if (ef)
		check_self(ef);
	elffile__close(ef);

	img = read_whole("/proc/self/exe", &len);
	CHECK(img != NULL);
	if (!img)
		return;
	CHECK_INT(elffile__open_mem(img, len, &ef), 0);
	/* The image is copied: scribbling on ours must not matter. */
	memset(img, 0, len);
	if (ef)
		check_self(ef);
	elffile__close(ef);
	free(img);
}

/* Our own image without section headers behaves like a stripped binary:
 * no symbols, no sections, but segments still readable. */
static void test_self_without_sections(void)
{
	struct elffile *ef = NULL, *full = NULL;
	size_t len = 0;
	char *img = read_whole("/proc/self/exe", &len);
	Elf64_Ehdr eh;
	uint64_t value = 0;
	char buf[sizeof(elffile_test_rodata)];

	CHECK(img != NULL && len > sizeof(eh));
	if (!img || len <= sizeof(eh))
		goto out;
	CHECK_INT(elffile__open("/proc/self/exe", &full), 0);
	if (!full)
		goto out;
	CHECK_INT(elffile__symbol(full, "elffile_test_rodata", &value, NULL), 0);
	memcpy(&eh, img, sizeof(eh));
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	memcpy(img, &eh, sizeof(eh));
	CHECK_INT(elffile__open_mem(img, len, &ef), 0);
	if (!ef)
		goto out;
	CHECK_INT(elffile__nsymbols(ef), 0);
	CHECK_INT(elffile__symbol(ef, "elffile_test_rodata", NULL, NULL), -ENOENT);
	CHECK(!elffile__has_symbol_prefix(ef, ""));
	CHECK_INT(elffile__section(ef, ".text", NULL, NULL), -ENOENT);
	CHECK(elffile__first_load_vaddr(ef) == elffile__first_load_vaddr(full));
	CHECK_INT(elffile__read_vaddr(ef, value, buf, sizeof(buf)), 0);
	CHECK(memcmp(buf, elffile_test_rodata, sizeof(buf)) == 0);
out:
	elffile__close(ef);
	elffile__close(full);
	free(img);
}

/* A file cut after its program headers: opening may fail, but if it works,
 * reads past the end of the file are refused. */
static void test_truncated(void)
{
	struct elffile *ef = NULL, *full = NULL;
	size_t len = 0;
	char *img = read_whole("/proc/self/exe", &len);
	const char *tmp;
	uint64_t value = 0;
	char buf[8];
	int err;

	CHECK(img != NULL && len > 4096);
	if (!img || len <= 4096)
		goto out;
	CHECK_INT(elffile__open("/proc/self/exe", &full), 0);
	if (!full)
		goto out;
	CHECK_INT(elffile__symbol(full, "elffile_test_rodata", &value, NULL), 0);
	tmp = write_temp(img, 1024);
	CHECK(tmp != NULL);
	if (!tmp)
		goto out;
	err = elffile__open(tmp, &ef);
	unlink(tmp);
	CHECK(err == 0 || err == -ENOEXEC);
	if (ef) {
		CHECK_INT(elffile__read_vaddr(ef, value, buf, sizeof(buf)), -ERANGE);
		CHECK_INT(elffile__symbol(ef, "elffile_test_rodata", NULL, NULL), -ENOENT);
	}
	elffile__close(ef);
	ef = NULL;
	err = elffile__open_mem(img, 1024, &ef);
	CHECK(err == 0 || err == -ENOEXEC);
	if (ef)
		CHECK_INT(elffile__read_vaddr(ef, value, buf, sizeof(buf)), -ERANGE);
out:
	elffile__close(ef);
	elffile__close(full);
	free(img);
}

static void test_bad_files(void)
{
	static const char text[] = "#!/bin/sh\necho this is not an ELF file\n";
	struct elffile *ef = (struct elffile *)1;
	unsigned char hdr[64];
	const char *tmp;

	CHECK_INT(elffile__open("/nonexistent/cspy/no-such-file.so", &ef), -ENOENT);
	CHECK(ef == NULL);

	tmp = write_temp(text, sizeof(text) - 1);
	CHECK(tmp != NULL);
	if (tmp) {
		CHECK_INT(elffile__open(tmp, &ef), -ENOEXEC);
		unlink(tmp);
	}
	tmp = write_temp("", 0);
	CHECK(tmp != NULL);
	if (tmp) {
		CHECK_INT(elffile__open(tmp, &ef), -ENOEXEC);
		unlink(tmp);
	}
	CHECK_INT(elffile__open("/", &ef), -EISDIR);
	CHECK_INT(elffile__open("/dev/null", &ef), -ENOEXEC);
	CHECK_INT(elffile__open_mem(text, sizeof(text), &ef), -ENOEXEC);
	CHECK_INT(elffile__open_mem(text, 0, &ef), -ENOEXEC);
	CHECK_INT(elffile__open_fd(-1, &ef), -EBADF);

	/* A 32-bit and a big-endian header. */
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, ELFMAG, SELFMAG);
	hdr[EI_CLASS] = ELFCLASS32;
	hdr[EI_DATA] = ELFDATA2LSB;
	hdr[EI_VERSION] = EV_CURRENT;
	hdr[16] = ET_DYN;
	CHECK_INT(elffile__open_mem(hdr, sizeof(hdr), &ef), -ENOEXEC);
	hdr[EI_CLASS] = ELFCLASS64;
	hdr[EI_DATA] = ELFDATA2MSB;
	hdr[16] = 0;
	hdr[17] = ET_DYN;
	CHECK_INT(elffile__open_mem(hdr, sizeof(hdr), &ef), -ENOEXEC);
	CHECK(ef == NULL);
	elffile__close(NULL);
}

/* Checks one libpython (or python executable) against its interpreter.
 * minor is the 3.x minor version (or -1 for Python 2). */
static void check_python(const char *lib, const char *interp, int minor, int want_type,
			 char *note, size_t note_len)
{
	struct elffile *ef = NULL;
	uint64_t rt = 0, rt_size = 0, sec = 0, sec_size = 0, pyver_addr = 0;
	unsigned long hexversion;
	uint64_t pyver = 0;
	int err;

	err = elffile__open(lib, &ef);
	CHECK_INT(err, 0);
	if (err) {
		fprintf(stderr, "  cannot open %s\n", lib);
		return;
	}
	CHECK_INT(elffile__type(ef), want_type);
	CHECK(elffile__nsymbols(ef) > 100);
	CHECK_INT(elffile__symbol(ef, "Py_Initialize", NULL, NULL), 0);
	CHECK(elffile__has_symbol_prefix(ef, "PyUnicode"));
	if (minor < 7) {
		CHECK_INT(elffile__symbol(ef, "_PyRuntime", NULL, NULL), -ENOENT);
		goto out;
	}
	CHECK_INT(elffile__symbol(ef, "_PyRuntime", &rt, &rt_size), 0);
	CHECK(rt != 0 && rt_size > 0);
	err = elffile__section(ef, ".PyRuntime", &sec, &sec_size);
	if (minor >= 11)
		CHECK_INT(err, 0);
	if (err == 0) {
		CHECK(sec == rt);
		CHECK(sec_size >= rt_size);
	}
	if (minor < 11) {
		CHECK_INT(elffile__symbol(ef, "Py_Version", NULL, NULL), -ENOENT);
		goto out;
	}
	CHECK_INT(elffile__symbol(ef, "Py_Version", &pyver_addr, NULL), 0);
	CHECK_INT(elffile__read_vaddr(ef, pyver_addr, &pyver, sizeof(pyver)), 0);
	hexversion = python_hexversion(interp);
	if (hexversion) {
		if (pyver != hexversion)
			fprintf(stderr, "  %s: Py_Version 0x%llx, %s says 0x%lx\n", lib,
				(unsigned long long)pyver, interp, hexversion);
		CHECK(pyver == hexversion);
		snprintf(note, note_len, " (Py_Version 0x%08llx == sys.hexversion)",
			 (unsigned long long)pyver);
	} else {
		printf("     %s: skipped Py_Version comparison: cannot run %s\n", lib, interp);
		CHECK(pyver >> 24 == 3 && ((pyver >> 16) & 0xff) == (uint64_t)minor);
	}
out:
	elffile__close(ef);
}

struct pylib {
	char *lib, *interp;
	int minor;
};

static char *pyenv_root(void)
{
	char *root = run_first_line("pyenv root 2>/dev/null");
	const char *env;

	if (root)
		return root;
	env = getenv("PYENV_ROOT");
	if (env && *env)
		return strdup(env);
	env = getenv("HOME");
	if (!env || !*env)
		return NULL;
	size_t n = strlen(env) + sizeof("/.pyenv");
	root = malloc(n);
	snprintf(root, n, "%s/.pyenv", env);
	return root;
}

static int pylib_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pylib *)a)->lib, ((const struct pylib *)b)->lib);
}

/* Find <root>/versions/<v>/lib/libpython<X.Y>[m].so.1.0. */
static size_t find_libpythons(const char *root, struct pylib **out)
{
	char *dir = xasprintf("%s/versions", root);
	struct pylib *v = NULL;
	size_t n = 0;
	DIR *d, *ld;
	struct dirent *e, *le;

	d = opendir(dir);
	if (!d)
		goto out;
	while ((e = readdir(d)) != NULL) {
		char *libdir;

		if (e->d_name[0] == '.')
			continue;
		libdir = xasprintf("%s/%s/lib", dir, e->d_name);
		ld = opendir(libdir);
		if (!ld) {
			free(libdir);
			continue;
		}
		while ((le = readdir(ld)) != NULL) {
			int major, minor, end = 0;
			const char *name = le->d_name;

			if (sscanf(name, "libpython%d.%d%n", &major, &minor, &end) != 2)
				continue;
			if (name[end] == 'm')
				end++;
			if (strcmp(name + end, ".so.1.0") != 0)
				continue;
			v = realloc(v, (n + 1) * sizeof(*v));
			v[n].lib = xasprintf("%s/%s", libdir, name);
			v[n].interp = xasprintf("%s/%s/bin/python%d.%d", dir, e->d_name,
						major, minor);
			v[n].minor = major == 3 ? minor : -1;
			n++;
		}
		closedir(ld);
		free(libdir);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), pylib_cmp);
out:
	free(dir);
	*out = v;
	return n;
}

static struct pylib *pylibs;
static size_t npylibs;

static void test_pyenv_libpythons(void)
{
	for (size_t i = 0; i < npylibs; i++) {
		int before = harness_cur_failed;

		harness_cur_failed = 0;
		char note[64] = "";

		check_python(pylibs[i].lib, pylibs[i].interp, pylibs[i].minor, ET_DYN,
			     note, sizeof(note));
		printf("     %s %s%s\n", harness_cur_failed ? "FAIL" : "ok  ", pylibs[i].lib, note);
		harness_cur_failed |= before;
	}
}

#define DEBIAN_PYTHON "/usr/bin/python3.11"

static void test_debian_python311(void)
{
	struct elffile *ef = NULL;
	uint64_t rt = 0, sec = 0;
	char note[64] = "";

	/* Stripped, non-PIE, with libpython linked in statically. */
	check_python(DEBIAN_PYTHON, DEBIAN_PYTHON, 11, ET_EXEC, note, sizeof(note));
	printf("     %s%s\n", DEBIAN_PYTHON, note);
	CHECK_INT(elffile__open(DEBIAN_PYTHON, &ef), 0);
	if (!ef)
		return;
	CHECK_INT(elffile__section(ef, ".symtab", NULL, NULL), -ENOENT);
	CHECK_INT(elffile__section(ef, ".dynsym", NULL, NULL), 0);
	CHECK(elffile__first_load_vaddr(ef) != 0);
	CHECK_INT(elffile__symbol(ef, "_PyRuntime", &rt, NULL), 0);
	CHECK_INT(elffile__section(ef, ".PyRuntime", &sec, NULL), 0);
	CHECK(rt == sec);
	CHECK(rt > elffile__first_load_vaddr(ef));
	elffile__close(ef);
}

int main(void)
{
	char *root;

	setvbuf(stdout, NULL, _IOLBF, 0);
	TEST_RUN(test_self_exe);
	TEST_RUN(test_self_fd_and_mem);
	TEST_RUN(test_self_without_sections);
	TEST_RUN(test_truncated);
	TEST_RUN(test_bad_files);

	root = pyenv_root();
	if (root)
		npylibs = find_libpythons(root, &pylibs);
	if (npylibs)
		TEST_RUN(test_pyenv_libpythons);
	else
		printf("skip test_pyenv_libpythons: skipped: no libpython*.so.1.0 under %s/versions\n",
		       root ? root : "(no pyenv root, PYENV_ROOT or HOME)");
	free(root);
	for (size_t i = 0; i < npylibs; i++) {
		free(pylibs[i].lib);
		free(pylibs[i].interp);
	}
	free(pylibs);

	if (access(DEBIAN_PYTHON, R_OK) == 0)
		TEST_RUN(test_debian_python311);
	else
		printf("skip test_debian_python311: skipped: %s not present\n", DEBIAN_PYTHON);
	return TEST_REPORT();
}
