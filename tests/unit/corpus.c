/*
 * corpus.c - replaying a fuzz target's corpus (see corpus.h).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"

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

void
corpus_replay_file(const char *path, corpus_target one)
{
	uint8_t	*buf;
	size_t	 len;

	buf = slurp(path, &len);
	cr_assert_eq(one(buf, len), 0, "%s", path);
	free(buf);
}

unsigned int
corpus_replay_dir(const char *dir, corpus_target one)
{
	struct dirent	*e;
	char		 path[512];
	DIR		*d;
	unsigned int	 n = 0;

	cr_assert_not_null(d = opendir(dir), "%s (run from the source tree)",
	    dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		corpus_replay_file(path, one);
		n++;
	}
	closedir(d);
	cr_log_info("%u corpus files of %s replayed", n, dir);
	return n;
}
