/*
 * msg.c - vhost-user message framing: header, payload and SCM_RIGHTS
 * descriptors over a unix stream socket.
 *
 * Every received descriptor is CLOEXEC (MSG_CMSG_CLOEXEC) and closed here on
 * every error path, so a caller only ever sees the fds of a well-formed
 * message.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vhost.h"

/* Control buffer for the most descriptors a message may carry. */
#define MSG_CTL_SPACE	CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))

static void
msg_close_fds(int *fds, unsigned int *nfds)
{
	unsigned int	i;

	for (i = 0; i < *nfds; i++)
		close_reset(&fds[i]);
	*nfds = 0;
}

/*
 * Pick the SCM_RIGHTS descriptors out of the control data.  Anything else
 * (credentials, truncated data) is an error; whatever was installed is
 * still collected so that the caller can close it.
 */
static int
msg_collect_fds(struct msghdr *mh, int *fds, unsigned int *nfds)
{
	struct cmsghdr	*cm;
	unsigned int	 n, i;
	int		 rc = 0;
	int		 fd;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			rc = -EPROTO;
			continue;
		}
		if (cm->cmsg_len < CMSG_LEN(0)) {
			rc = -EPROTO;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (*nfds < VHOST_USER_MAX_FDS)
				fds[(*nfds)++] = fd;
			else {
				close(fd);
				rc = -EPROTO;
			}
		}
	}
	return rc;
}

/*
 * Longest wait for the rest of a message that has begun, and for the
 * front end to make room for a reply (ms).  The rest of a message is read
 * with MSG_DONTWAIT, so this holds on a blocking socket too; a send is
 * bounded only on a non-blocking socket (the child's accepted socket is).
 */
#define MSG_REST_TIMEOUT	5000

static long
msg_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/*
 * Wait until sock is ready for events or the deadline (msg_now_ms) passes.
 * A signal (the child's watchdog) does not restart the wait from zero.
 * 0, -ETIMEDOUT or -errno.
 */
static int
msg_wait(int sock, short events, long deadline)
{
	struct pollfd	pfd;
	long		left;
	int		r;

	for (;;) {
		if ((left = deadline - msg_now_ms()) <= 0)
			return -ETIMEDOUT;
		pfd.fd = sock;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, (int)MIN(left, MSG_REST_TIMEOUT));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Read exactly len bytes (no descriptors expected) before the deadline.
 * 0 or -errno; -ETIMEDOUT when the front end stalled mid-message.
 */
static int
msg_read_full(int sock, void *buf, size_t len, long deadline)
{
	uint8_t		*p = buf;
	ssize_t		 n;
	int		 r;

	while (len > 0) {
		n = recv(sock, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if ((r = msg_wait(sock, POLLIN, deadline)) != 0)
				return r;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * vu_msg_recv: one message.  The descriptors come with the first bytes of
 * the header; the rest of the header and the payload are read without
 * control data (the kernel drops descriptors sent with later bytes).
 * The reply flag is not checked here: the in-tree front end reads replies
 * with this function, and the engine checks requests itself.  -EAGAIN when
 * a non-blocking socket has nothing to read; -EPROTO for bad version,
 * foreign or truncated control data; -EMSGSIZE for an oversized payload.
 */
int
vu_msg_recv(int sock, struct vhost_user_msg *msg, int *fds,
    unsigned int *nfds)
{
	union {
		struct cmsghdr	align;
		char		buf[MSG_CTL_SPACE];
	} ctl;
	struct msghdr	 mh;
	struct iovec	 iov;
	ssize_t		 n;
	long		 deadline;
	int		 rc;

	*nfds = 0;
	memset(&msg->hdr, 0, sizeof(msg->hdr));
	iov.iov_base = &msg->hdr;
	iov.iov_len = sizeof(msg->hdr);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);

	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;

	deadline = msg_now_ms() + MSG_REST_TIMEOUT;
	rc = msg_collect_fds(&mh, fds, nfds);
	if (mh.msg_flags & MSG_CTRUNC) {
		log_warnx("%s: control data truncated (too many descriptors)",
		    __func__);
		rc = -EPROTO;
	}
	if (rc == 0 && (size_t)n < sizeof(msg->hdr))
		rc = msg_read_full(sock, (uint8_t *)&msg->hdr + n,
		    sizeof(msg->hdr) - (size_t)n, deadline);
	if (rc != 0)
		goto fail;

	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		log_warnx("%s: %s: bad version in flags 0x%x", __func__,
		    vu_request_name(msg->hdr.request), msg->hdr.flags);
		rc = -EPROTO;
		goto fail;
	}
	if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX) {
		log_warnx("%s: %s: payload of %u bytes is too large", __func__,
		    vu_request_name(msg->hdr.request), msg->hdr.size);
		rc = -EMSGSIZE;
		goto fail;
	}
	if (msg->hdr.size > 0 &&
	    (rc = msg_read_full(sock, &msg->payload, msg->hdr.size,
	    deadline)) != 0)
		goto fail;
	return 0;

 fail:
	msg_close_fds(fds, nfds);
	return rc;
}

/*
 * vu_msg_send: header and payload (looping on short writes), the
 * descriptors attached to the first byte.  The descriptors stay owned by
 * the caller.  On a non-blocking socket, waits up to MSG_REST_TIMEOUT for
 * the front end to make room.  0, -ETIMEDOUT, or -errno.
 */
int
vu_msg_send(int sock, const struct vhost_user_msg *msg, const int *fds,
    unsigned int nfds)
{
	struct iovec	iov;
	size_t		total;
	long		deadline = 0;
	int		rc;

	if (msg->hdr.size > VHOST_USER_PAYLOAD_MAX ||
	    nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	total = sizeof(msg->hdr) + msg->hdr.size;
	iov.iov_base = (void *)(uintptr_t)msg;
	iov.iov_len = total;
	for (;;) {
		/* send_fds advances iov in place. */
		if ((rc = send_fds(sock, &iov, 1, fds, nfds)) != -EAGAIN)
			return rc;
		/* The descriptors went with the first byte sent. */
		if (iov.iov_len < total) {
			fds = NULL;
			nfds = 0;
		}
		if (deadline == 0)
			deadline = msg_now_ms() + MSG_REST_TIMEOUT;
		if ((rc = msg_wait(sock, POLLOUT, deadline)) != 0)
			return rc;
	}
}
