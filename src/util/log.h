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

#define LOG_TO_STDERR	0
#define LOG_TO_SYSLOG	1

/* Verbosity: 0 = warnings and info, 1 = + debug, 2 = + protocol traces. */
void	log_init(int verbose, int dest, const char *ident);
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

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	vlog(int pri, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
__attribute__((noreturn)) void fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * Rate-limited warning for guest- or peer-triggered events: logs at most
 * once per call site (the caller keeps the flag).
 */
#define log_warnx_once(flag, ...) do {			\
	if (!(flag)) {					\
		(flag) = 1;				\
		log_warnx(__VA_ARGS__);			\
	}						\
} while (0)

#endif /* VHOSTD_LOG_H */
