/*
 * childlog.c - read, sanitise and log a child's stderr.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "../util/log.h"
#include "../util/ratelimit.h"
#include "../util/util.h"
#include "childlog.h"

struct childlog {
	char		 cl_name[64];
	pid_t		 cl_pid;
	int		 cl_fd;
	struct event	*cl_ev;
	char		 cl_line[CHILDLOG_LINE_MAX + 1];
	size_t		 cl_len;
	int		 cl_overlong;	/* current line was cut */
	struct ratelimit cl_rate;	/* lines logged */
	unsigned long	 cl_dropped;	/* since the last report */
	bool		 cl_quiet;	/* everything at debug level */
	void		(*cl_state_cb)(void *, const char *);
	void		*cl_arg;
};

/* "@state WORD": hand WORD over if it is a plain short word. */
static int
state_record(struct childlog *cl)
{
	char	word[16];
	size_t	i, n;

	if (cl->cl_len < 8 || memcmp(cl->cl_line, "@state ", 7) != 0)
		return 0;
	n = cl->cl_len - 7;
	if (n >= sizeof(word))
		return 0;
	for (i = 0; i < n; i++) {
		if (cl->cl_line[7 + i] < 'a' || cl->cl_line[7 + i] > 'z')
			return 0;
		word[i] = cl->cl_line[7 + i];
	}
	word[n] = '\0';
	if (cl->cl_state_cb != NULL)
		cl->cl_state_cb(cl->cl_arg, word);
	return 1;
}

static void
report_dropped(struct childlog *cl)
{
	if (cl->cl_dropped == 0)
		return;
	log_warnx("%s[%d]: %lu log lines suppressed (more than %d per "
	    "second)", cl->cl_name, (int)cl->cl_pid, cl->cl_dropped,
	    CHILDLOG_RATE);
	cl->cl_dropped = 0;
}

static void
emit(struct childlog *cl)
{
	char		 out[CHILDLOG_LINE_MAX * 4 + 1];
	const char	*p = cl->cl_line;
	size_t		 i, o = 0, n = cl->cl_len;
	int		 pri = LOG_INFO;

	if (!ratelimit_allow(&cl->cl_rate, ratelimit_now())) {
		cl->cl_dropped++;
		return;
	}
	report_dropped(cl);
	if (n >= 3 && p[0] == '<' && p[1] >= '0' && p[1] <= '7' &&
	    p[2] == '>') {
		pri = p[1] - '0';
		p += 3;
		n -= 3;
	}
	for (i = 0; i < n; i++) {
		unsigned char	c = (unsigned char)p[i];

		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o,
			    "\\x%02x", c);
	}
	out[o] = '\0';
	/* Lower priorities (numbers) are more severe. */
	if (cl->cl_quiet)
		pri = LOG_DEBUG;
	if (pri <= LOG_WARNING)
		log_warnx("%s[%d]: %s%s", cl->cl_name, (int)cl->cl_pid, out,
		    cl->cl_overlong ? " [cut]" : "");
	else if (pri == LOG_DEBUG)
		log_debug("%s[%d]: %s", cl->cl_name, (int)cl->cl_pid, out);
	else
		log_info("%s[%d]: %s%s", cl->cl_name, (int)cl->cl_pid, out,
		    cl->cl_overlong ? " [cut]" : "");
}

static void
feed(struct childlog *cl, const char *buf, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!state_record(cl))
				emit(cl);
			cl->cl_len = 0;
			cl->cl_overlong = 0;
		} else if (cl->cl_len < CHILDLOG_LINE_MAX)
			cl->cl_line[cl->cl_len++] = buf[i];
		else
			cl->cl_overlong = 1;
	}
}

/* Read what is there; -1 at EOF or error, 0 when it would block. */
static int
drain(struct childlog *cl)
{
	char	buf[4096];
	ssize_t	n;
	int	rounds;

	/* Bounded, so a chatty child cannot starve the parent's loop. */
	for (rounds = 0; rounds < 16; rounds++) {
		n = read(cl->cl_fd, buf, sizeof(buf));
		if (n > 0) {
			feed(cl, buf, (size_t)n);
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return -1;
	}
	return 0;
}

static void
read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct childlog	*cl = arg;

	if (drain(cl) < 0) {
		event_del(cl->cl_ev);
		if (cl->cl_len > 0) {
			emit(cl);
			cl->cl_len = 0;
		}
	}
}

struct childlog *
childlog_new(struct event_base *base, const char *name, pid_t pid, int fd,
    void (*state_cb)(void *, const char *), void *arg)
{
	struct childlog	*cl;

	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		close_reset(&fd);
		return NULL;
	}
	snprintf(cl->cl_name, sizeof(cl->cl_name), "%s", name);
	cl->cl_pid = pid;
	cl->cl_fd = fd;
	cl->cl_state_cb = state_cb;
	cl->cl_arg = arg;
	ratelimit_init(&cl->cl_rate, CHILDLOG_RATE, CHILDLOG_RATE);
	fd_set_nonblock(fd, 1);
	cl->cl_ev = event_new(base, fd, EV_READ | EV_PERSIST, read_cb, cl);
	if (cl->cl_ev == NULL || event_add(cl->cl_ev, NULL) == -1) {
		childlog_free(cl);
		return NULL;
	}
	return cl;
}

void
childlog_quiet(struct childlog *cl, bool on)
{
	if (cl != NULL)
		cl->cl_quiet = on;
}

void
childlog_free(struct childlog *cl)
{
	if (cl == NULL)
		return;
	if (cl->cl_fd >= 0) {
		/* The child is gone: whatever it wrote is in the pipe. */
		(void)drain(cl);
		if (cl->cl_len > 0)
			emit(cl);
	}
	report_dropped(cl);
	if (cl->cl_ev != NULL)
		event_free(cl->cl_ev);
	close_reset(&cl->cl_fd);
	free(cl);
}
