/*
 * log.h - logging for vhostd (modelled on OpenBSD httpd's log.c).
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal() and
 * fatalx() log and exit(1); only main, src/host and the child entry may call
 * them.  Messages should start with the function or device name.
 */
#ifndef VHOSTD_LOG_H
#define VHOSTD_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#define LOG_TO_STDERR	0
#define LOG_TO_SYSLOG	1

/*
 * Verbosity, one step per -v (vhostd(8) LOGGING):
 *   0      warnings and info: what an operator must know (starts, exits,
 *          restarts, reloads)
 *   1 -v   + debug (log_debug): each decision (accepts, probes, back-off,
 *          sockets replaced and removed)
 *   2 -vv  + protocol traces (log_trace): every vhost-user message and the
 *          state changes it causes
 *   3 -vvv + ring-level debug (log_ring): every kick and every used-ring
 *          publication with its indices
 * Higher values count as 3.
 */
#define LOG_V_DEBUG	1
#define LOG_V_TRACE	2
#define LOG_V_RING	3

/*
 * Start logging to dest (LOG_TO_STDERR or LOG_TO_SYSLOG) at verbosity
 * verbose.  With syslog and a terminal on stderr, warnings and errors go
 * to the terminal as well until log_startup_done(): whoever started
 * vhostd by hand sees why it did not start.
 */
void	log_init(int verbose, int dest, const char *ident);
/* Start-up is over: with syslog, stop copying warnings to the terminal. */
void	log_startup_done(void);
/* Prefix every later line with "prefix: " (the child sets its device name). */
void	log_setprefix(const char *prefix);
/*
 * In a device child: log to stderr (a pipe the parent reads) with a
 * "<priority>" marker on each line and no prefix; the parent adds the
 * device name and pid.
 */
void	log_setchild(void);
int	log_getverbose(void);
void	log_setverbose(int verbose);

/* The current verbosity (read by log_enabled; set through the above). */
extern int	log_verbosity;

/* Whether lines of verbosity level v (LOG_V_*) are logged. */
static inline bool
log_enabled(int v)
{
	return log_verbosity >= v;
}

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* At -vv: one line per protocol message or protocol state change. */
void	log_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * At -vvv: ring-level events.  A macro, so the arguments are not even
 * evaluated on the data path unless -vvv asked for them.
 */
void	log_ring_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define log_ring(...) do {				\
	if (log_enabled(LOG_V_RING))			\
		log_ring_(__VA_ARGS__);			\
} while (0)
/* The va_list form of the above at syslog priority pri; keeps errno. */
void	vlog(int pri, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif /* VHOSTD_LOG_H */
