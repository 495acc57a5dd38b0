/*
 * log.c - stderr or syslog logging with an optional per-process prefix.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

int		log_verbosity;
static int	log_dest = LOG_TO_STDERR;
static char	log_prefix[64];
static int	log_child;
static int	log_tty;	/* syslog, and a copy of warnings on the tty */

void
log_setchild(void)
{
	if (log_dest == LOG_TO_SYSLOG)
		closelog();
	log_dest = LOG_TO_STDERR;
	log_tty = 0;
	log_child = 1;
	log_prefix[0] = '\0';
}

/* The "<N>" marker the parent's childlog.c reads, or "". */
static const char *
pri_marker(int pri, char *buf, size_t len)
{
	if (!log_child)
		return "";
	snprintf(buf, len, "<%d>", pri & 7);
	return buf;
}

void
log_init(int verbose, int dest, const char *ident)
{
	log_setverbose(verbose);
	log_dest = dest;
	log_tty = dest == LOG_TO_SYSLOG && isatty(STDERR_FILENO);
	if (dest == LOG_TO_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_startup_done(void)
{
	log_tty = 0;
}

void
log_setprefix(const char *prefix)
{
	if (prefix == NULL)
		log_prefix[0] = '\0';
	else
		snprintf(log_prefix, sizeof(log_prefix), "%s: ", prefix);
}

int
log_getverbose(void)
{
	return log_verbosity;
}

void
log_setverbose(int verbose)
{
	if (verbose < 0)
		verbose = 0;
	if (verbose > LOG_V_RING)
		verbose = LOG_V_RING;
	log_verbosity = verbose;
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	buf[1024], mark[8];
	int	saved_errno = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_dest == LOG_TO_SYSLOG)
		syslog(pri, "%s%s", log_prefix, buf);
	if (log_dest != LOG_TO_SYSLOG ||
	    (log_tty && (pri & 7) <= LOG_WARNING))
		/* One write per line so lines from several processes do not mix. */
		dprintf(STDERR_FILENO, "%s%s%s\n",
		    pri_marker(pri, mark, sizeof(mark)), log_prefix, buf);
	errno = saved_errno;
}

static void
vlog_errno(int pri, int err, const char *fmt, va_list ap)
{
	char	buf[1024], mark[8];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (log_dest == LOG_TO_SYSLOG)
		syslog(pri, "%s%s: %s", log_prefix, buf, strerror(err));
	if (log_dest != LOG_TO_SYSLOG ||
	    (log_tty && (pri & 7) <= LOG_WARNING))
		dprintf(STDERR_FILENO, "%s%s%s: %s\n",
		    pri_marker(pri, mark, sizeof(mark)), log_prefix, buf,
		    strerror(err));
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved_errno, fmt, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_V_DEBUG))
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_trace(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_V_TRACE))
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
log_ring_(const char *fmt, ...)
{
	va_list	ap;

	if (!log_enabled(LOG_V_RING))
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved_errno, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
