/*
 * net_io_fuzz_test.c - the net_io_fuzz corpus replayed as unit tests,
 * through the fuzz target itself (tests/fuzz/net_io_fuzz.c, built here
 * with gcc and without libFuzzer): the net data path's seeds and every
 * finding committed to the corpus stay regression tests, also under the
 * ASan build (make SAN=1).  The target's fake tap needs no privilege.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

#define LLVMFuzzerTestOneInput	net_io_fuzz_one
#include "../fuzz/net_io_fuzz.c"
#undef LLVMFuzzerTestOneInput

#define CORPUS	"tests/fuzz/corpus/net_io_fuzz"

/* Read a corpus file whole; *len gets its size. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	uint8_t	*buf;
	long	 n;
	FILE	*f;

	f = fopen(path, "re");
	cr_assert_not_null(f, "%s: %s (run from the source tree)", path,
	    strerror(errno));
	cr_assert_eq(fseek(f, 0, SEEK_END), 0);
	cr_assert_geq(n = ftell(f), 0);
	rewind(f);
	cr_assert_not_null(buf = malloc((size_t)n + 1));
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

Test(net_io_fuzz, whole_corpus)
{
	struct dirent	*e;
	char		 path[512];
	uint8_t		*buf;
	size_t		 len;
	DIR		*d;
	unsigned int	 n = 0;

	cr_assert_not_null(d = opendir(CORPUS), "%s (run from the source "
	    "tree)", CORPUS);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", CORPUS, e->d_name);
		buf = slurp(path, &len);
		/* A crash, a sanitizer report or the target's abort() fails. */
		cr_assert_eq(net_io_fuzz_one(buf, len), 0, "%s", path);
		free(buf);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 8, "only %u corpus files", n);
	cr_log_info("%u corpus files replayed", n);
}
