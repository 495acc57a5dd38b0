/*
 * util.c - descriptor helpers and number parsing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/syscall.h>

#include "util.h"

void
close_reset(int *fd)
{
	int	saved_errno = errno;

	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	errno = saved_errno;
}

int
fd_set_nonblock(int fd, int on)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFL)) == -1)
		return -errno;
	flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
	if (fcntl(fd, F_SETFL, flags) == -1)
		return -errno;
	return 0;
}

int
fd_set_cloexec(int fd, int on)
{
	int	flags;

	if ((flags = fcntl(fd, F_GETFD)) == -1)
		return -errno;
	flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
	if (fcntl(fd, F_SETFD, flags) == -1)
		return -errno;
	return 0;
}

void
fdset_init(struct fdset *set)
{
	memset(set, 0, sizeof(*set));
}

int
fdset_has(const struct fdset *set, int fd)
{
	unsigned int	i;

	for (i = 0; i < set->fs_n; i++)
		if (set->fs_fds[i] == fd)
			return 1;
	return 0;
}

int
fdset_add(struct fdset *set, int fd)
{
	if (fd < 0)
		return -EBADF;
	if (fdset_has(set, fd))
		return 0;
	if (set->fs_n >= FDSET_MAX)
		return -ENOSPC;
	set->fs_fds[set->fs_n++] = fd;
	return 0;
}

static int
int_cmp(const void *a, const void *b)
{
	int	x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
close_span(unsigned int first, unsigned int last)
{
	unsigned int	fd;

	if (first > last)
		return 0;
	if (syscall(SYS_close_range, first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	/* Old kernel: close one by one up to a sane bound. */
	if (last > 65535)
		last = 65535;
	for (fd = first; fd <= last; fd++)
		close((int)fd);
	return 0;
}

int
send_fds(int sock, struct iovec *iov, int iovcnt, const int *fds,
    unsigned int nfds)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(SEND_FDS_MAX * sizeof(int))];
	} ctl;
	struct cmsghdr	*cm;
	struct msghdr	 mh;
	ssize_t		 n;

	if (nfds > SEND_FDS_MAX || iovcnt < 0)
		return -EINVAL;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)iovcnt;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	for (;;) {
		/* Skip what is sent (and empty entries). */
		while (mh.msg_iovlen > 0 && mh.msg_iov->iov_len == 0) {
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen == 0)
			return 0;
		if ((n = sendmsg(sock, &mh, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/* The descriptors went with the first byte. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0) {
			size_t	k = (size_t)n < mh.msg_iov->iov_len ?
			    (size_t)n : mh.msg_iov->iov_len;

			mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (mh.msg_iov->iov_len == 0) {
				mh.msg_iov++;
				mh.msg_iovlen--;
			}
		}
	}
}

int
fdset_close_others(const struct fdset *set)
{
	int		sorted[FDSET_MAX] = { 0 };
	unsigned int	i, n = 0, next = 3;
	int		rc;

	for (i = 0; i < set->fs_n; i++)
		if (set->fs_fds[i] >= 3)
			sorted[n++] = set->fs_fds[i];
	qsort(sorted, n, sizeof(sorted[0]), int_cmp);
	for (i = 0; i < n; i++) {
		if ((unsigned int)sorted[i] > next &&
		    (rc = close_span(next, (unsigned int)sorted[i] - 1)) < 0)
			return rc;
		next = (unsigned int)sorted[i] + 1;
	}
	return close_span(next, ~0U);
}

int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char			*end;
	unsigned long long	 v;

	if (s == NULL || *s == '\0' || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
