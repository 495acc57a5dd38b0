/*
 * util.h - small helpers shared by every module.
 */
#ifndef VHOSTD_UTIL_H
#define VHOSTD_UTIL_H

#include <sys/time.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)	((a) < (b) ? (a) : (b))
#define MAX(a, b)	((a) > (b) ? (a) : (b))

/* ms as a struct timeval (libevent timers, setitimer). */
static inline struct timeval
timeval_ms(unsigned int ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

/* Close *fd if it is open and set it to -1.  Keeps errno. */
void	close_reset(int *fd);

/* Set or clear O_NONBLOCK / FD_CLOEXEC on fd.  0 or -errno. */
int	fd_set_nonblock(int fd, int on);
int	fd_set_cloexec(int fd, int on);

/*
 * A set of descriptors a child must keep (the seed's keep_rds).  Components
 * append to it before fork; the child closes every other descriptor.
 */
#define FDSET_MAX	32

struct fdset {
	int		fs_fds[FDSET_MAX];
	unsigned int	fs_n;
};

/* An empty set. */
void	fdset_init(struct fdset *set);
/* Append fd (no-op if present).  0, or -ENOSPC when full. */
int	fdset_add(struct fdset *set, int fd);
int	fdset_has(const struct fdset *set, int fd);
/* Most descriptors send_fds passes in one message. */
#define SEND_FDS_MAX	16

/*
 * Send all of iov (iovcnt entries, advanced in place) on the stream socket
 * sock, the descriptors fds (nfds <= SEND_FDS_MAX) with the first byte as
 * SCM_RIGHTS.  Retries on EINTR and short writes; no SIGPIPE.  0 or
 * -errno.
 */
struct iovec;
int	send_fds(int sock, struct iovec *iov, int iovcnt, const int *fds,
	    unsigned int nfds);

/* Close every descriptor >= 3 that is not in set (close_range).  0/-errno. */
int	fdset_close_others(const struct fdset *set);

/* Parse a decimal unsigned number with bounds.  0 or -EINVAL/-ERANGE. */
int	parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif /* VHOSTD_UTIL_H */
