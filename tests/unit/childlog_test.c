/*
 * childlog_test.c - the parent's reader of a child's stderr
 * (src/host/childlog.c), fed what a taken-over child could write:
 * terminal escape sequences and control characters, spoofed "@state"
 * records, overlong lines, and a flood that the rate limit must cut.
 * The parent's log goes to a file (stderr redirected) that the test reads.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "host/childlog.h"
#include "util/log.h"

static char	states[8][32];
static int	nstates;

static void
state_cb(void *arg, const char *word)
{
	cr_assert_lt(strlen(word), 16);
	if (nstates < 8)
		snprintf(states[nstates], sizeof(states[0]), "%s", word);
	nstates++;
}

/*
 * Feed data (len bytes) to a childlog as a child's pipe would, let it
 * drain, and return everything the parent logged (malloc'ed).
 */
static char *
run(const void *data, size_t len)
{
	struct event_base	*base;
	struct childlog		*cl;
	char			 path[] = "/tmp/vhostd-childlog-XXXXXX";
	char			*out;
	int			 p[2], logfd, saved;
	off_t			 n;

	nstates = 0;
	cr_assert_geq(logfd = mkstemp(path), 0);
	unlink(path);
	cr_assert_geq(saved = dup(STDERR_FILENO), 0);
	cr_assert_eq(dup2(logfd, STDERR_FILENO), STDERR_FILENO);
	log_init(1, LOG_TO_STDERR, "t");
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_not_null(base = event_base_new());
	cr_assert_not_null(cl = childlog_new(base, "dev", 42, p[0], state_cb,
	    NULL));
	/* A pipe holds 64 KiB: enough for every test here. */
	cr_assert_eq(write(p[1], data, len), (ssize_t)len);
	close(p[1]);
	cr_assert_geq(event_base_loop(base, EVLOOP_NONBLOCK), 0);
	childlog_free(cl);	/* what is left, and the dropped count */
	event_base_free(base);
	cr_assert_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	n = lseek(logfd, 0, SEEK_END);
	cr_assert_not_null(out = calloc(1, (size_t)n + 1));
	cr_assert_eq(pread(logfd, out, (size_t)n, 0), n);
	close(logfd);
	return out;
}

/* No byte of the parent's log is a control character but '\n'. */
static void
assert_clean(const char *log)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)log; *p != '\0'; p++)
		cr_assert(*p == '\n' || (*p >= 0x20 && *p < 0x7f),
		    "raw byte 0x%02x reached the log:\n%s", *p, log);
}

Test(childlog, escape_sequences_and_control_characters)
{
	static const char	in[] = "\x1b[2J\x1b]0;owned\x07title\n"
				    "fake\rdev[1]: started child 1\n"
				    "nul\0byte\ttab\x7f\xff\n";
	char			*log;

	log = run(in, sizeof(in) - 1);
	assert_clean(log);
	cr_assert_not_null(strstr(log, "dev[42]: \\x1b[2J\\x1b]0;owned\\x07"
	    "title\n"), "%s", log);
	cr_assert_not_null(strstr(log, "dev[42]: fake\\x0ddev[1]: started "
	    "child 1\n"), "%s", log);
	cr_assert_not_null(strstr(log, "dev[42]: nul\\x00byte\\x09tab\\x7f"
	    "\\xff\n"), "%s", log);
	free(log);
}

/*
 * Only a line that is exactly "@state WORD" (lower-case letters, at most
 * 15) is a record; anything else is logged as text under the child's
 * name, so a child cannot pass off a line as a record or the parent's.
 */
Test(childlog, spoofed_state_records)
{
	static const char	in[] = "@state connected\n"
				    "@state listening; rm -rf /\n"
				    "@state CONNECTED\n"
				    "@state conn\0ected\n"
				    "<3>@state connected\n"
				    " @state connected\n"
				    "@state abcdefghijklmnop\n"
				    "@state \n"
				    "@stateconnected\n"
				    "@state listening";	/* at EOF, no \n */
	char			*log;

	log = run(in, sizeof(in) - 1);
	assert_clean(log);
	cr_assert_eq(nstates, 1, "%d records", nstates);
	cr_assert_str_eq(states[0], "connected");
	cr_assert_not_null(strstr(log, "dev[42]: @state listening; rm -rf /"),
	    "%s", log);
	cr_assert_not_null(strstr(log, "dev[42]: @state CONNECTED"), "%s", log);
	cr_assert_not_null(strstr(log, "dev[42]: @state conn\\x00ected"), "%s",
	    log);
	cr_assert_not_null(strstr(log, "dev[42]: @state connected"), "%s",
	    log);
	cr_assert_not_null(strstr(log, "dev[42]:  @state connected"), "%s",
	    log);
	cr_assert_not_null(strstr(log, "dev[42]: @state abcdefghijklmnop"),
	    "%s", log);
	cr_assert_not_null(strstr(log, "dev[42]: @stateconnected"), "%s", log);
	/* The unterminated last line is logged at EOF, not taken. */
	cr_assert_not_null(strstr(log, "dev[42]: @state listening\n"), "%s",
	    log);
	free(log);
}

/* Lines are cut at CHILDLOG_LINE_MAX and say so. */
Test(childlog, overlong_line_is_cut)
{
	char	*in, *log, *line, *end;
	size_t	 len = CHILDLOG_LINE_MAX * 3;

	cr_assert_not_null(in = malloc(len + 1));
	memset(in, 'a', len);
	in[len] = '\n';
	log = run(in, len + 1);
	cr_assert_not_null(line = strstr(log, "dev[42]: a"), "%s", log);
	cr_assert_not_null(end = strstr(line, " [cut]\n"), "%s", log);
	cr_assert_eq((size_t)(end - line) - strlen("dev[42]: "),
	    CHILDLOG_LINE_MAX);
	free(in);
	free(log);
}

/*
 * A flood of 1000 lines at once: about CHILDLOG_RATE are logged (the
 * bucket's burst; a few more as time passes), and the rest are counted
 * in one "suppressed" line, so the total adds up.
 */
Test(childlog, rate_limit_cuts_a_flood)
{
	char		*in, *log, *p;
	size_t		 len = 0, cap = 1000 * 16;
	unsigned int	 i, logged = 0;
	unsigned long	 dropped = 0, d;

	cr_assert_not_null(in = malloc(cap));
	for (i = 0; i < 1000; i++)
		len += (size_t)snprintf(in + len, cap - len, "line %u\n", i);
	log = run(in, len);
	for (p = log; (p = strstr(p, "dev[42]: line ")) != NULL; p++)
		logged++;
	for (p = log; (p = strstr(p, " log lines suppressed")) != NULL;
	    p++) {
		char	*q = p;

		while (q > log && q[-1] >= '0' && q[-1] <= '9')
			q--;
		cr_assert_lt(q, p, "no count before: %s", p);
		cr_assert_eq(sscanf(q, "%lu", &d), 1);
		dropped += d;
	}
	fprintf(stderr, "childlog: 1000 lines at once: %u logged, %lu "
	    "suppressed (rate %d/s)\n", logged, dropped, CHILDLOG_RATE);
	cr_assert_geq(logged, CHILDLOG_RATE, "%u logged", logged);
	/* Generous: a slow machine lets a few more tokens accrue. */
	cr_assert_leq(logged, CHILDLOG_RATE + 25, "%u logged", logged);
	cr_assert_eq(logged + dropped, 1000, "%u + %lu", logged, dropped);
	free(in);
	free(log);
}
