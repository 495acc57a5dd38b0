/*
 * childlog.h - a device child's stderr, read by the parent through a pipe
 * and logged line by line with the device's name.
 *
 * The child is untrusted: lines are cut at CHILDLOG_LINE_MAX bytes,
 * non-printable bytes are escaped, and at most CHILDLOG_RATE lines per
 * second are logged (the rest are counted and reported).  A line may start
 * with "<N>" (syslog priority 0-7, as sd-daemon(3)); others are logged at
 * LOG_INFO.  The child writes "@state connected" and "@state listening"
 * as front ends come and go.
 */
#ifndef VHOSTD_HOST_CHILDLOG_H
#define VHOSTD_HOST_CHILDLOG_H

#include <stdbool.h>
#include <sys/types.h>

struct event_base;
struct childlog;

#define CHILDLOG_LINE_MAX	512
#define CHILDLOG_RATE		50

/*
 * Watch fd (takes ownership).  Lines "@state WORD" are status records, not
 * log lines: state_cb(arg, WORD) gets WORD (letters only, at most 15).
 * NULL on failure (fd closed).
 */
struct childlog	*childlog_new(struct event_base *base, const char *name,
		    pid_t pid, int fd, void (*state_cb)(void *, const char *),
		    void *arg);
/*
 * Log every line of this child at debug level (on), e.g. while its device
 * is in a restart storm a front end causes: the storm is said once by the
 * supervisor, not by every child.  NULL is a no-op.
 */
void		 childlog_quiet(struct childlog *cl, bool on);
/* Log what the pipe still holds, then close and free.  NULL is a no-op. */
void		 childlog_free(struct childlog *cl);

#endif /* VHOSTD_HOST_CHILDLOG_H */
