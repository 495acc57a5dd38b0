/*
 * msg_test.c - vhost-user framing over a socketpair: good messages,
 * descriptors, and every error path closing what it received.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "util/util.h"
#include "vhost/vhost.h"

static int	sv[2] = { -1, -1 };

static void
setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
}

static void
teardown(void)
{
	close_reset(&sv[0]);
	close_reset(&sv[1]);
}

TestSuite(msg, .init = setup, .fini = teardown);

static int
count_fds(void)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	cr_assert_not_null(d = opendir("/proc/self/fd"));
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

/* sendmsg with an arbitrary byte string and descriptors. */
static void
send_raw(int sock, const void *buf, size_t len, const int *fds,
    unsigned int nfds)
{
	struct iovec	iov = { (void *)(uintptr_t)buf, len };

	cr_assert_eq(send_fds(sock, &iov, 1, fds, nfds), 0);
}

Test(msg, good_message_with_fds)
{
	struct vhost_user_msg	out, in;
	int			efd[2], fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds = 99, i;
	uint64_t		v;

	efd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	efd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	memset(&out, 0, sizeof(out));
	out.hdr.request = VHOST_USER_SET_FEATURES;
	out.hdr.flags = VHOST_USER_VERSION | VHOST_USER_NEED_REPLY_MASK;
	out.hdr.size = sizeof(out.payload.u64);
	out.payload.u64 = 0x123456789abcdefull;
	cr_assert_eq(vu_msg_send(sv[1], &out, efd, 2), 0);

	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), 0);
	cr_assert_eq(in.hdr.request, VHOST_USER_SET_FEATURES);
	cr_assert_eq(in.hdr.flags, out.hdr.flags);
	cr_assert_eq(in.hdr.size, 8);
	cr_assert_eq(in.payload.u64, 0x123456789abcdefull);
	cr_assert_eq(nfds, 2);
	for (i = 0; i < 2; i++) {
		cr_assert(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		/* Same eventfd object as the one sent. */
		cr_assert_eq(eventfd_write(fds[i], i + 1), 0);
		cr_assert_eq(eventfd_read(efd[i], &v), 0);
		cr_assert_eq(v, i + 1);
		close(fds[i]);
	}
	close(efd[0]);
	close(efd[1]);
}

Test(msg, empty_payload_and_split_header)
{
	struct vhost_user_msg	in;
	struct vhost_user_header h = { VHOST_USER_GET_FEATURES,
	    VHOST_USER_VERSION, 0 };
	int			fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds;

	/* A header that arrives in two pieces is still one message. */
	send_raw(sv[1], &h, 5, NULL, 0);
	send_raw(sv[1], (char *)&h + 5, sizeof(h) - 5, NULL, 0);
	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), 0);
	cr_assert_eq(in.hdr.request, VHOST_USER_GET_FEATURES);
	cr_assert_eq(in.hdr.size, 0);
	cr_assert_eq(nfds, 0);
}

Test(msg, bad_version_closes_fds)
{
	struct vhost_user_msg	in;
	struct vhost_user_header h = { VHOST_USER_SET_OWNER, 0x2, 0 };
	int			fds[VHOST_USER_MAX_FDS], efd, base;
	unsigned int		nfds = 5;

	efd = eventfd(0, EFD_CLOEXEC);
	send_raw(sv[1], &h, sizeof(h), &efd, 1);
	base = count_fds();
	cr_assert_lt(vu_msg_recv(sv[0], &in, fds, &nfds), 0);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(count_fds(), base);
	close(efd);
}

Test(msg, oversize_payload_rejected)
{
	struct vhost_user_msg	in;
	struct vhost_user_header h = { VHOST_USER_SET_MEM_TABLE,
	    VHOST_USER_VERSION, VHOST_USER_PAYLOAD_MAX + 1 };
	int			fds[VHOST_USER_MAX_FDS], efd, base;
	unsigned int		nfds;

	efd = eventfd(0, EFD_CLOEXEC);
	send_raw(sv[1], &h, sizeof(h), &efd, 1);
	base = count_fds();
	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), -EMSGSIZE);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(count_fds(), base);
	close(efd);
}

Test(msg, too_many_fds_rejected_and_closed)
{
	struct vhost_user_msg	in;
	struct vhost_user_header h = { VHOST_USER_SET_OWNER,
	    VHOST_USER_VERSION, 0 };
	int			fds[VHOST_USER_MAX_FDS], many[9], base;
	unsigned int		nfds, i;

	for (i = 0; i < 9; i++)
		many[i] = eventfd(0, EFD_CLOEXEC);
	send_raw(sv[1], &h, sizeof(h), many, 9);
	base = count_fds();
	cr_assert_lt(vu_msg_recv(sv[0], &in, fds, &nfds), 0);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(count_fds(), base);
	for (i = 0; i < 9; i++)
		close(many[i]);
}

Test(msg, eight_fds_accepted)
{
	struct vhost_user_msg	in;
	struct vhost_user_header h = { VHOST_USER_SET_OWNER,
	    VHOST_USER_VERSION, 0 };
	int			fds[VHOST_USER_MAX_FDS], many[8];
	unsigned int		nfds, i;

	for (i = 0; i < 8; i++)
		many[i] = eventfd(0, EFD_CLOEXEC);
	send_raw(sv[1], &h, sizeof(h), many, 8);
	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), 0);
	cr_assert_eq(nfds, 8);
	for (i = 0; i < 8; i++) {
		cr_assert(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
		close(fds[i]);
		close(many[i]);
	}
}

Test(msg, eof_is_connreset)
{
	struct vhost_user_msg	in;
	int			fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds;

	close_reset(&sv[1]);
	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), -ECONNRESET);
	cr_assert_eq(nfds, 0);
}

Test(msg, truncated_payload_closes_fds)
{
	struct vhost_user_msg	in;
	struct {
		struct vhost_user_header h;
		uint32_t		 half;
	} __attribute__((packed)) m = { { VHOST_USER_SET_FEATURES,
	    VHOST_USER_VERSION, 8 }, 7 };
	int			fds[VHOST_USER_MAX_FDS], efd, base;
	unsigned int		nfds;

	efd = eventfd(0, EFD_CLOEXEC);
	send_raw(sv[1], &m, sizeof(m), &efd, 1);
	close_reset(&sv[1]);
	base = count_fds();
	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), -ECONNRESET);
	cr_assert_eq(nfds, 0);
	cr_assert_eq(count_fds(), base);
	close(efd);
}

Test(msg, nonblocking_empty_is_eagain)
{
	struct vhost_user_msg	in;
	int			fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds;

	cr_assert_eq(fd_set_nonblock(sv[0], 1), 0);
	cr_assert_eq(vu_msg_recv(sv[0], &in, fds, &nfds), -EAGAIN);
}

Test(msg, send_refuses_bad_arguments)
{
	struct vhost_user_msg	out;
	int			many[9] = { 0 };

	memset(&out, 0, sizeof(out));
	out.hdr.flags = VHOST_USER_VERSION;
	out.hdr.size = VHOST_USER_PAYLOAD_MAX + 1;
	cr_assert_eq(vu_msg_send(sv[1], &out, NULL, 0), -EINVAL);
	out.hdr.size = 0;
	cr_assert_eq(vu_msg_send(sv[1], &out, many, 9), -EINVAL);
}

/*
 * Stalled peers.  The engine waits at most 5 s for the rest of a message
 * or for room for a reply; the bound below is generous (a loaded machine)
 * and each test prints what it measured.
 */
#define STALL_BOUND_MS	15000

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
alarm_handler(int sig)
{
}

/* The child's watchdog in small: SIGALRM every 100 ms, no SA_RESTART. */
static void
watchdog(bool on)
{
	struct sigaction	sa;
	struct itimerval	it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	memset(&it, 0, sizeof(it));
	if (on) {
		it.it_interval.tv_usec = 100000;
		it.it_value = it.it_interval;
	}
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* Half a header, then nothing; signals keep interrupting the wait. */
Test(msg, half_header_times_out_under_signals, .timeout = 60)
{
	struct vhost_user_header h = { VHOST_USER_GET_FEATURES,
	    VHOST_USER_VERSION, 0 };
	struct vhost_user_msg	 in;
	int			 fds[VHOST_USER_MAX_FDS];
	unsigned int		 nfds;
	long			 t0, dt;
	int			 rc;

	cr_assert_eq(fd_set_nonblock(sv[0], 1), 0);
	send_raw(sv[1], &h, 6, NULL, 0);
	watchdog(true);
	t0 = now_ms();
	rc = vu_msg_recv(sv[0], &in, fds, &nfds);
	dt = now_ms() - t0;
	watchdog(false);
	fprintf(stderr, "half a header: %d after %ld ms\n", rc, dt);
	cr_assert_eq(rc, -ETIMEDOUT, "%d", rc);
	cr_assert_lt(dt, STALL_BOUND_MS, "%ld ms", dt);
	cr_assert_eq(nfds, 0);
}

/* Half a payload on a blocking socket: bounded all the same. */
Test(msg, half_payload_on_blocking_socket_times_out, .timeout = 60)
{
	struct vhost_user_msg	in;
	struct {
		struct vhost_user_header h;
		uint32_t		 half;
	} __attribute__((packed)) m = { { VHOST_USER_SET_FEATURES,
	    VHOST_USER_VERSION, 8 }, 7 };
	int			fds[VHOST_USER_MAX_FDS], efd, base;
	unsigned int		nfds;
	long			t0, dt;
	int			rc;

	efd = eventfd(0, EFD_CLOEXEC);
	send_raw(sv[1], &m, sizeof(m), &efd, 1);
	base = count_fds();
	t0 = now_ms();
	rc = vu_msg_recv(sv[0], &in, fds, &nfds);
	dt = now_ms() - t0;
	fprintf(stderr, "half a payload: %d after %ld ms\n", rc, dt);
	cr_assert_eq(rc, -ETIMEDOUT, "%d", rc);
	cr_assert_lt(dt, STALL_BOUND_MS, "%ld ms", dt);
	/* The descriptor that came with it is closed. */
	cr_assert_eq(nfds, 0);
	cr_assert_eq(count_fds(), base);
	close(efd);
}

/* A peer that never reads: the sender gives up instead of blocking. */
Test(msg, send_to_a_peer_that_never_reads_times_out, .timeout = 60)
{
	static struct vhost_user_msg	out;
	unsigned int			n = 0;
	long				t0, dt;
	int				rc;

	cr_assert_eq(fd_set_nonblock(sv[0], 1), 0);
	memset(&out, 0, sizeof(out));
	out.hdr.request = VHOST_USER_GET_CONFIG;
	out.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	out.hdr.size = 256;
	t0 = now_ms();
	while ((rc = vu_msg_send(sv[0], &out, NULL, 0)) == 0)
		n++;
	dt = now_ms() - t0;
	fprintf(stderr, "never read: %d after %u messages and %ld ms\n", rc,
	    n, dt);
	cr_assert_gt(n, 0);
	cr_assert_eq(rc, -ETIMEDOUT, "%d", rc);
	cr_assert_lt(dt, STALL_BOUND_MS, "%ld ms", dt);
}

struct drain {
	int		 d_sock;
	pid_t		 d_sender;	/* the sending thread's tid */
	bool		 d_waited;	/* it waited in poll for room */
	size_t		 d_bytes;
	unsigned int	 d_fds;
	uint8_t		 d_tail[sizeof(struct vhost_user_header) + 64];
};

/*
 * Whether thread tid sleeps in poll(2) or ppoll(2) (vu_msg_send waiting
 * for room: msg_wait), from /proc/self/task/TID/syscall.
 */
static bool
sender_waits(pid_t tid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 nr = -1;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	if (fgets(line, sizeof(line), f) == NULL ||
	    sscanf(line, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_poll || nr == SYS_ppoll;
}

/* Wait until the sender blocks, then read everything, keeping the tail. */
static void *
drain_main(void *arg)
{
	union {
		struct cmsghdr	align;
		char		buf[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct drain	*d = arg;
	struct cmsghdr	*cm;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct pollfd	 pfd = { .fd = d->d_sock, .events = POLLIN };
	uint8_t		 buf[4096];
	size_t		 keep = sizeof(d->d_tail), k;
	ssize_t		 n;
	unsigned int	 i;

	/*
	 * The socket is full: wait until the sender waits for room (10 s
	 * at most; then the test below fails on d_waited).
	 */
	for (i = 0; i < 10000 && !sender_waits(d->d_sender); i++)
		usleep(1000);
	d->d_waited = sender_waits(d->d_sender);
	/* EOF (the sender closes) ends the loop; 10 s: a stalled sender. */
	while (poll(&pfd, 1, 10000) == 1) {
		iov.iov_base = buf;
		iov.iov_len = sizeof(buf);
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		if ((n = recvmsg(d->d_sock, &mh, MSG_CMSG_CLOEXEC)) <= 0)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm))
			for (i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) /
			    sizeof(int); i++) {
				close(((int *)(void *)CMSG_DATA(cm))[i]);
				d->d_fds++;
			}
		d->d_bytes += (size_t)n;
		/* Keep the last bytes: the message sent last. */
		k = (size_t)n < keep ? (size_t)n : keep;
		memmove(d->d_tail, d->d_tail + k, keep - k);
		memcpy(d->d_tail + keep - k, buf + n - k, k);
	}
	return NULL;
}

/* A peer that is slow to read: the reply goes through whole, fd once. */
Test(msg, send_waits_for_a_slow_reader, .timeout = 60)
{
	static struct vhost_user_msg	out;
	struct vhost_user_header	h;
	struct drain			d;
	pthread_t			t;
	uint8_t				junk[512];
	size_t				sent = 0;
	int				efd;

	cr_assert_eq(fd_set_nonblock(sv[0], 1), 0);
	memset(junk, 0x5a, sizeof(junk));
	while (send(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		sent += sizeof(junk);
	memset(&d, 0, sizeof(d));
	d.d_sock = sv[1];
	d.d_sender = (pid_t)syscall(SYS_gettid);
	cr_assert_eq(pthread_create(&t, NULL, drain_main, &d), 0);
	memset(&out, 0, sizeof(out));
	out.hdr.request = VHOST_USER_GET_INFLIGHT_FD;
	out.hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	out.hdr.size = 64;
	memset(&out.payload, 0xa5, 64);
	efd = eventfd(0, EFD_CLOEXEC);
	cr_assert_eq(vu_msg_send(sv[0], &out, &efd, 1), 0);
	close(efd);
	close_reset(&sv[0]);
	pthread_join(t, NULL);
	cr_assert(d.d_waited, "the sender never waited for room");
	cr_assert_eq(d.d_bytes, sent + sizeof(out.hdr) + 64);
	cr_assert_eq(d.d_fds, 1);
	memcpy(&h, d.d_tail, sizeof(h));
	cr_assert_eq(h.request, VHOST_USER_GET_INFLIGHT_FD);
	cr_assert_eq(h.size, 64);
	cr_assert_eq(d.d_tail[sizeof(h) + 63], 0xa5);
}

Test(msg, request_names)
{
	cr_assert_str_eq(vhost_user_request_name(VHOST_USER_SET_MEM_TABLE),
	    "SET_MEM_TABLE");
	cr_assert_str_eq(vhost_user_request_name(VHOST_USER_GET_STATUS),
	    "GET_STATUS");
	cr_assert_str_eq(vhost_user_request_name(VHOST_USER_MAX), "UNKNOWN");
	cr_assert_str_eq(vhost_user_request_name(0xffffffffu), "UNKNOWN");
}
