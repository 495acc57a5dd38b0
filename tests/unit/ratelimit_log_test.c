/*
 * ratelimit_log_test.c - the budget for peer-triggered diagnostics
 * (ratelimit_warnx): a burst, then the rate, and the count of what was
 * suppressed said with the next message that passes.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/ratelimit.h"

#define SEC	1000000000LL

Test(ratelimit_log, burst_rate_and_suppressed_count)
{
	struct ratelimit_log	rlg;
	char			path[] = "/tmp/vhostd-rllog-XXXXXX", buf[4096];
	unsigned int		i, n = 0;
	int			fd, saved;
	ssize_t			len;
	int64_t			t = 100 * SEC;

	cr_assert_geq(fd = mkstemp(path), 0);
	unlink(path);
	saved = dup(STDERR_FILENO);
	cr_assert_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	log_init(0, LOG_TO_STDERR, "t");
	ratelimit_log_init(&rlg, 3, 1);
	for (i = 0; i < 10; i++)
		n += ratelimit_warnx(&rlg, t, "bad message %u", i);
	cr_assert_eq(n, 3, "%u of 10 at once", n);
	cr_assert_eq(rlg.rlg_dropped, 7);
	/* A second later: one more, which reports the 7. */
	cr_assert(ratelimit_warnx(&rlg, t + SEC, "bad message %u", 10));
	cr_assert_eq(rlg.rlg_dropped, 0);
	cr_assert_not(ratelimit_warnx(&rlg, t + SEC, "bad message 11"));
	cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(len, 0);
	buf[len] = '\0';
	cr_assert_not_null(strstr(buf, "bad message 2\n"), "%s", buf);
	cr_assert_null(strstr(buf, "bad message 3"), "%s", buf);
	cr_assert_not_null(strstr(buf, "bad message 10 (7 similar messages "
	    "suppressed)\n"), "%s", buf);
	close(fd);
}
