/*
 * msg_test.c - vhost-user framing over a socketpair: good messages,
 * descriptors, and every error path closing what it received.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
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

Test(msg, request_names)
{
	cr_assert_str_eq(vhost_user_request_name(VHOST_USER_SET_MEM_TABLE),
	    "SET_MEM_TABLE");
	cr_assert_str_eq(vhost_user_request_name(VHOST_USER_GET_STATUS),
	    "GET_STATUS");
	cr_assert_str_eq(vhost_user_request_name(VHOST_USER_MAX), "UNKNOWN");
	cr_assert_str_eq(vhost_user_request_name(0xffffffffu), "UNKNOWN");
}
