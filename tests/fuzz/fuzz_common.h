/*
 * fuzz_common.h - what several fuzz targets share, included by each
 * (every target, and the unit test that replays its corpus, is one
 * translation unit): the input read as a script, and the fake event
 * loop's watch table that a target's vu_loop_ops point at.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The fuzzer's input, consumed from the front. */
struct script {
	const uint8_t	*p;
	size_t		 n;
};

/* The next n bytes of s into out; false (nothing taken) past its end. */
static inline bool
take(struct script *s, void *out, size_t n)
{
	if (s->n < n)
		return false;
	memcpy(out, s->p, n);
	s->p += n;
	s->n -= n;
	return true;
}

#define MAX_WATCH	64

/* The descriptors the code under test watches (cb NULL: a free slot). */
static struct {
	int		 fd;
	void		(*cb)(int, void *);
	void		*arg;
} watches[MAX_WATCH];

static inline int
watch_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	unsigned int	i;

	for (i = 0; i < MAX_WATCH; i++)
		if (watches[i].cb == NULL) {
			watches[i].fd = fd;
			watches[i].cb = cb;
			watches[i].arg = arg;
			return 0;
		}
	return -ENOSPC;
}

static inline void
watch_del(void *ctx, int fd)
{
	unsigned int	i;

	for (i = 0; i < MAX_WATCH; i++)
		if (watches[i].cb != NULL && watches[i].fd == fd)
			watches[i].cb = NULL;
}

#endif
