/*
 * vsock_uds_test.c - the host side of the hybrid vsock convention
 * (src/devices/vsock_uds.c: the CONNECT line with hostile input, OK
 * lines, port paths, broker records) and the parent's broker
 * (src/devices/vsock_broker.c) and half of the device (vsock.c).
 */
#include "vsock_test.h"

TestSuite(vsock_uds);

Test(vsock_uds, connect_line_parser)
{
	static const struct {
		const char	*s;
		int		 rc;
		uint32_t	 port;
	} cases[] = {
		{ "CONNECT 0\n", 0, 0 },
		{ "CONNECT 52\n", 0, 52 },
		{ "CONNECT 52", 0, 52 },
		{ "CONNECT 4294967294\n", 0, 4294967294u },
		{ "CONNECT 4294967295\n", -ERANGE, 0 },
		{ "CONNECT 9999999999\n", -ERANGE, 0 },
		{ "CONNECT 99999999999\n", -ERANGE, 0 },
		{ "CONNECT 052\n", -EINVAL, 0 },
		{ "CONNECT +52\n", -EINVAL, 0 },
		{ "CONNECT -1\n", -EINVAL, 0 },
		{ "CONNECT  52\n", -EINVAL, 0 },
		{ "CONNECT 52 \n", -EINVAL, 0 },
		{ "CONNECT 52\r\n", -EINVAL, 0 },
		{ "CONNECT 0x10\n", -EINVAL, 0 },
		{ "CONNECT \n", -EINVAL, 0 },
		{ "CONNECT\n", -EINVAL, 0 },
		{ "connect 52\n", -EINVAL, 0 },
		{ "CONNECTX52\n", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	unsigned int	i;
	uint32_t	port;
	int		rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		port = 12345;
		rc = vsock_uds_parse_connect(cases[i].s, strlen(cases[i].s),
		    &port);
		cr_assert_eq(rc, cases[i].rc, "\"%s\": %d", cases[i].s, rc);
		if (rc == 0)
			cr_assert_eq(port, cases[i].port);
	}
	/* An embedded NUL. */
	cr_assert_eq(vsock_uds_parse_connect("CONNECT 5\0\n", 11, &port),
	    -EINVAL);
	cr_assert_eq(vsock_uds_parse_connect("CONNECT 5\0", 10, &port),
	    -EINVAL);
}

Test(vsock_uds, connect_line_in_pieces)
{
	struct vsock_uds_line	ul;
	const char		*msg = "CONNECT 1024\nDATA";
	size_t			i, used;
	uint32_t		port = 0;
	int			rc = 0;
	char			big[100];

	/* Byte by byte. */
	vsock_uds_line_init(&ul);
	for (i = 0; i < 12; i++) {
		cr_assert_eq(vsock_uds_line_feed(&ul, msg + i, 1, &used, &port),
		    0);
		cr_assert_eq(used, 1);
	}
	cr_assert_eq(vsock_uds_line_feed(&ul, msg + 12, 5, &used, &port), 1);
	cr_assert_eq(used, 1, "the data after the line is not taken");
	cr_assert_eq(port, 1024);
	/* All at once. */
	vsock_uds_line_init(&ul);
	cr_assert_eq(vsock_uds_line_feed(&ul, msg, strlen(msg), &used, &port),
	    1);
	cr_assert_eq(used, 13);
	/* A wrong first byte fails at once, and stays failed. */
	vsock_uds_line_init(&ul);
	cr_assert_eq(vsock_uds_line_feed(&ul, "G", 1, &used, &port), -EINVAL);
	cr_assert_eq(vsock_uds_line_feed(&ul, "CONNECT 1\n", 10, &used,
	    &port), -EINVAL);
	/* Too many digits fail before the newline. */
	vsock_uds_line_init(&ul);
	cr_assert_eq(vsock_uds_line_feed(&ul, "CONNECT 12345678901", 19, &used,
	    &port), -ERANGE);
	/* A line that never ends: bounded. */
	vsock_uds_line_init(&ul);
	memset(big, '1', sizeof(big));
	memcpy(big, "CONNECT ", 8);
	rc = vsock_uds_line_feed(&ul, big, sizeof(big), &used, &port);
	cr_assert(rc == -ERANGE || rc == -EMSGSIZE);
	cr_assert_leq(used, VSOCK_UDS_LINE_MAX);
	/* Garbage of every byte value after the prefix. */
	for (i = 0; i < 256; i++) {
		char	c = (char)i, line[16] = "CONNECT 1";

		vsock_uds_line_init(&ul);
		line[9] = c;
		rc = vsock_uds_line_feed(&ul, line, 10, &used, &port);
		if (c == '\n')
			cr_assert_eq(rc, 1);
		else if (c >= '0' && c <= '9')
			cr_assert_eq(rc, 0);
		else
			cr_assert_eq(rc, -EINVAL, "byte %zu", i);
	}
}

Test(vsock_uds, ok_line_and_port_paths)
{
	char	buf[VSOCK_UDS_PATH_MAX + 20], base[200];

	cr_assert_eq(vsock_uds_format_ok(1073741824u, buf, sizeof(buf)), 14);
	cr_assert_str_eq(buf, "OK 1073741824\n");
	cr_assert_eq(vsock_uds_format_ok(1, buf, 5), -ENOSPC);
	cr_assert_eq(vsock_uds_format_ok(1, buf, 6), 5);

	cr_assert_eq(vsock_uds_port_path("/run/vm1/vsock", 52, buf,
	    sizeof(buf)), 17);
	cr_assert_str_eq(buf, "/run/vm1/vsock_52");
	cr_assert_eq(vsock_uds_port_path("", 52, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(vsock_uds_port_path("/x", VSOCK_PORT_ANY, buf,
	    sizeof(buf)), -EINVAL);
	cr_assert_eq(vsock_uds_port_path("/x", 52, buf, 5), -ENAMETOOLONG);
	cr_assert_eq(vsock_uds_port_path("/x", 52, buf, 6), 5);
	/* 104 + "_4294967294" does not fit a sun_path. */
	memset(base, 'a', 104);
	base[104] = '\0';
	cr_assert_eq(vsock_uds_port_path(base, 4294967294u, buf, sizeof(buf)),
	    -ENAMETOOLONG);
	base[96] = '\0';		/* 96 + 11 = 107: fits */
	cr_assert_eq(vsock_uds_port_path(base, 4294967294u, buf, sizeof(buf)),
	    107);
}

Test(vsock_uds, broker_records)
{
	struct vsock_broker_req		rq = { .br_seq = 7, .br_port = 52 };
	struct vsock_broker_req		rq2;
	struct vsock_broker_resp	rp = { .bp_seq = 7, .bp_error = 111 };
	struct vsock_broker_resp	rp2;
	uint8_t				w[VSOCK_BROKER_REC_SIZE], bad[32];

	vsock_broker_req_encode(&rq, w);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w), &rq2), 0);
	cr_assert_eq(rq2.br_seq, 7);
	cr_assert_eq(rq2.br_port, 52);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w) - 1, &rq2), -EINVAL);
	memcpy(bad, w, sizeof(w));
	cr_assert_eq(vsock_broker_req_decode(bad, sizeof(w) + 1, &rq2),
	    -EINVAL);
	bad[0] ^= 1;
	cr_assert_eq(vsock_broker_req_decode(bad, sizeof(w), &rq2), -EINVAL);
	memcpy(bad, w, sizeof(w));
	bad[13] = 1;
	cr_assert_eq(vsock_broker_req_decode(bad, sizeof(w), &rq2), -EINVAL);
	rq.br_port = VSOCK_PORT_ANY;
	vsock_broker_req_encode(&rq, w);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w), &rq2), -EINVAL);
	/* A request is not an answer and vice versa. */
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), -EINVAL);

	vsock_broker_resp_encode(&rp, w);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w), &rq2), -EINVAL);
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), 0);
	cr_assert_eq(rp2.bp_error, 111);
	rp.bp_error = -1;
	vsock_broker_resp_encode(&rp, w);
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), -EINVAL);
	rp.bp_error = VSOCK_BROKER_ERR_MAX + 1;
	vsock_broker_resp_encode(&rp, w);
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), -EINVAL);
}

/* --- the device's keys and parent half (vsock.c) ------------------------ */

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "devices/device.h"
#include "devices/vsock_dev.h"

static char	udir[64];

static void
udir_make(void)
{
	snprintf(udir, sizeof(udir), "/tmp/vhostd-vsock-XXXXXX");
	cr_assert_not_null(mkdtemp(udir));
}

static void
udir_remove(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", udir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", udir);
}

/* dt_open of "vsock,<spec>"; rc, err filled, res left for the caller. */
static int
vopen(const char *spec, bool check_only, struct device_res *res, char *err,
    size_t errlen)
{
	struct device_conf	dc;
	char			full[512];
	int			rc;

	snprintf(full, sizeof(full), "vsock,socket=%s/vu,%s", udir, spec);
	device_res_init(res);
	if ((rc = config_parse_device(full, RESTART_ALWAYS, &dc, err,
	    errlen)) < 0)
		return rc;
	rc = dc.dc_type->dt_open(&dc.dc_opts, check_only, res, err, errlen);
	config_device_free(&dc);
	return rc;
}

Test(vsock_uds, guest_cid_range_is_the_specs)
{
	struct device_res	res;
	char			err[256];

	udir_make();
	cr_assert_lt(vopen("guest-cid=2,uds-path=/tmp/x", true, &res, err,
	    sizeof(err)), 0, "CID 2 is the host's");
	cr_assert_lt(vopen("guest-cid=4294967295,uds-path=/tmp/x", true,
	    &res, err, sizeof(err)), 0, "0xffffffff is VMADDR_CID_ANY");
	cr_assert_eq(vopen("guest-cid=4294967294,uds-path=/tmp/x", true, &res,
	    err, sizeof(err)), 0, "%s", err);
	device_res_release(&vsock_device_type, &res);
	udir_remove();
}

Test(vsock_uds, open_refuses_what_cannot_work)
{
	struct device_res	res;
	char			err[256], spec[400];
	int			rc;

	udir_make();
	rc = vopen("guest-cid=3", true, &res, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL);
	cr_assert_not_null(strstr(err, "uds-path"), "%s", err);
	device_res_release(&vsock_device_type, &res);
	/* "<last component>_4294967294" must fit a socket address. */
	snprintf(spec, sizeof(spec), "uds-path=%s/%0100d", udir, 0);
	rc = vopen(spec, true, &res, err, sizeof(err));
	cr_assert_eq(rc, -ENAMETOOLONG, "%d %s", rc, err);
	device_res_release(&vsock_device_type, &res);
	snprintf(spec, sizeof(spec), "uds-path=%s/no/such/dir/vs", udir);
	rc = vopen(spec, true, &res, err, sizeof(err));
	cr_assert_eq(rc, -ENOENT, "%d %s", rc, err);
	device_res_release(&vsock_device_type, &res);
	/* Not check_only: the host must have bound uds-path (DKF_LISTEN). */
	snprintf(spec, sizeof(spec), "uds-path=%s/vs", udir);
	rc = vopen(spec, false, &res, err, sizeof(err));
	cr_assert_eq(rc, -EINVAL, "%d %s", rc, err);
	device_res_release(&vsock_device_type, &res);
	udir_remove();
}

/* A socket bound at udir/name, listening with backlog, mode, owner. */
static int
usock(const char *name, int backlog, mode_t mode, uid_t uid, gid_t gid)
{
	struct sockaddr_un	sun;
	int			fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s", udir, name);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(chmod(sun.sun_path, mode), 0);
	if (uid != (uid_t)-1)
		cr_assert_eq(chown(sun.sun_path, uid, gid), 0);
	return fd;
}

/* The parent half of a device on udir/vs, as dt_open leaves it. */
static struct vsock_parent *
uparent(struct device_res *res)
{
	char	spec[256], err[256];

	snprintf(spec, sizeof(spec), "uds-path=%s/vs", udir);
	cr_assert_eq(vopen(spec, true, res, err, sizeof(err)), 0, "%s", err);
	cr_assert_not_null(res->dr_parent);
	return res->dr_parent;
}

static int
uconnect(struct vsock_parent *vp, uint32_t port, uid_t uid, gid_t gid)
{
	struct device_peer	peer = { .dp_uid = uid, .dp_gid = gid,
					 .dp_host_uid = 0 };
	int			fd = vsock_broker_connect(vp, port, &peer);

	if (fd >= 0)
		close(fd);
	return fd >= 0 ? 0 : fd;
}

/*
 * The broker's rules, one by one (vsock_broker.c): exactly
 * <uds-path>_<P>, a socket, one link, no symbolic link followed, the
 * device's credentials or vhostd's own user; never blocks.
 */
Test(vsock_uds, broker_connects_only_what_the_child_could)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	char			 a[256], b[256];
	long			 t0;
	struct timespec		 ts;
	int			 fds[8], busy;

	if (geteuid() != 0)
		cr_skip_test("needs root (chown to other users)");
	udir_make();
	vp = uparent(&res);
	fds[0] = usock("vs_1", 8, 0755, (uid_t)-1, 0);	/* root's */
	fds[1] = usock("other.sock", 8, 0777, (uid_t)-1, 0);
	snprintf(a, sizeof(a), "%s/other.sock", udir);
	snprintf(b, sizeof(b), "%s/vs_2", udir);
	cr_assert_eq(symlink(a, b), 0);
	snprintf(b, sizeof(b), "%s/vs_3", udir);
	cr_assert_eq(link(a, b), 0);
	snprintf(b, sizeof(b), "%s/vs_4", udir);
	close(open(b, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
	snprintf(b, sizeof(b), "%s/vs_5", udir);
	cr_assert_eq(mkfifo(b, 0666), 0);
	fds[2] = usock("vs_6", 8, 0600, 12345, 12345);
	fds[3] = usock("vs_7", 8, 0666, 12345, 12345);
	fds[4] = usock("vs_8", 8, 0660, 12345, 23456);
	fds[5] = usock("vs_9", 8, 0200, 65534, 65534);
	fds[6] = usock("vs_10", 8, 0577, 65534, 65534);

	cr_assert_eq(uconnect(vp, 1, 65534, 65534), 0, "vhostd's own socket");
	cr_assert_eq(uconnect(vp, 2, 65534, 65534), -ELOOP, "symlink");
	cr_assert_eq(uconnect(vp, 3, 65534, 65534), -EPERM, "hard link");
	cr_assert_eq(uconnect(vp, 4, 65534, 65534), -ECONNREFUSED, "file");
	cr_assert_eq(uconnect(vp, 5, 65534, 65534), -ECONNREFUSED, "fifo");
	cr_assert_eq(uconnect(vp, 6, 65534, 65534), -EACCES, "0600 other");
	cr_assert_eq(uconnect(vp, 6, 12345, 12345), 0, "0600 owner");
	cr_assert_eq(uconnect(vp, 7, 65534, 65534), 0, "0666 other");
	cr_assert_eq(uconnect(vp, 8, 65534, 65534), -EACCES, "0660 other");
	cr_assert_eq(uconnect(vp, 8, 65534, 23456), 0, "0660 group");
	cr_assert_eq(uconnect(vp, 9, 65534, 65534), 0, "0200 owner");
	cr_assert_eq(uconnect(vp, 10, 65534, 65534), -EACCES, "0577 owner");
	cr_assert_eq(uconnect(vp, 11, 65534, 65534), -ECONNREFUSED, "none");
	cr_assert_eq(uconnect(vp, 0xffffffffu, 65534, 65534), -EINVAL);
	/* A full backlog answers at once, it does not wait. */
	fds[7] = usock("vs_12", 0, 0777, (uid_t)-1, 0);
	busy = 0;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
	while (busy < 8 && uconnect(vp, 12, 65534, 65534) == 0)
		busy++;
	cr_assert_eq(uconnect(vp, 12, 65534, 65534), -EAGAIN);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	cr_assert_lt(ts.tv_sec * 1000L + ts.tv_nsec / 1000000L - t0, 2000);
	for (busy = 0; busy < 8; busy++)
		close(fds[busy]);
	device_res_release(&vsock_device_type, &res);
	udir_remove();
}

/* One answer on the child's end within 1 s: 1 (err, fd), 0 none. */
static int
uanswer(int chan, int *err, int *fd)
{
	struct vsock_broker_resp	 r;
	uint8_t				 wire[VSOCK_BROKER_REC_SIZE];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}				 cm;
	struct iovec			 iov = { wire, sizeof(wire) };
	struct msghdr			 msg;
	struct cmsghdr			*c;
	struct pollfd			 pfd = { .fd = chan, .events = POLLIN };
	ssize_t				 n;

	*fd = -1;
	if (poll(&pfd, 1, 1000) != 1)
		return 0;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cr_assert_gt(n = recvmsg(chan, &msg, MSG_CMSG_CLOEXEC), 0);
	if ((c = CMSG_FIRSTHDR(&msg)) != NULL)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	cr_assert_eq(vsock_broker_resp_decode(wire, (size_t)n, &r), 0);
	*err = r.bp_error;
	return 1;
}

/*
 * The broker over its channel: a good request gets a connected socket,
 * a malformed one nothing, a descriptor sent along is closed by the
 * parent, the end of the child's side stops the watch.
 */
Test(vsock_uds, broker_channel_answers_good_requests_only)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	struct device_peer	 peer = { 65534, 65534, 0 };
	struct vsock_broker_req	 req = { .br_seq = 7, .br_port = 1 };
	uint8_t			 w[VSOCK_BROKER_REC_SIZE];
	struct iovec		 iov = { w, sizeof(w) };
	char			 x;
	int			 sv[2], pp[2], lfd, err, fd;

	udir_make();
	vp = uparent(&res);
	lfd = usock("vs_1", 8, 0777, (uid_t)-1, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sv), 0);
	vsock_broker_req_encode(&req, w);
	cr_assert_eq(write(sv[0], w, 15), 15);		/* malformed */
	cr_assert_eq(write(sv[0], w, sizeof(w)), (ssize_t)sizeof(w));
	cr_assert_eq(vsock_broker_serve(vp, sv[1], &peer), 0);
	cr_assert_eq(uanswer(sv[0], &err, &fd), 1);
	cr_assert_eq(err, 0);
	cr_assert_geq(fd, 0, "no socket passed");
	close(fd);
	cr_assert_eq(uanswer(sv[0], &err, &fd), 0, "malformed got an answer");
	cr_assert_eq(vp->vp_served, 1);
	/* A pipe's write end sent along: the parent must not keep it. */
	cr_assert_eq(pipe2(pp, O_CLOEXEC), 0);
	cr_assert_eq(send_fds(sv[0], &iov, 1, &pp[1], 1), 0);
	close(pp[1]);
	cr_assert_eq(vsock_broker_serve(vp, sv[1], &peer), 0);
	cr_assert_eq(uanswer(sv[0], &err, &fd), 1);
	close(fd);
	cr_assert_eq(read(pp[0], &x, 1), 0, "the parent kept the child's fd");
	close(pp[0]);
	/* Beyond the budget: EAGAIN, and the rest waits (a pause). */
	req.br_port = 2;		/* nobody there: no connect */
	vsock_broker_req_encode(&req, w);
	for (fd = 0; fd < VSOCK_BROKER_BURST + 4; fd++)
		cr_assert_eq(write(sv[0], w, sizeof(w)), (ssize_t)sizeof(w));
	for (fd = 0; fd < VSOCK_BROKER_BURST && (err = vsock_broker_serve(vp,
	    sv[1], &peer)) == 0; fd++)
		;
	cr_assert_eq(err, VSOCK_BROKER_PAUSE_MS, "no pause: %d", err);
	for (x = 0; uanswer(sv[0], &err, &fd) == 1; x++) {
		if (fd >= 0)
			close(fd);
		if (err == EAGAIN)
			break;
	}
	cr_assert_eq(err, EAGAIN);
	cr_assert_leq(x, VSOCK_BROKER_BURST, "%d answers before EAGAIN", x);
	cr_assert_eq(uanswer(sv[0], &err, &fd), 0, "read on during the pause");
	/* The child's end closed: the host stops watching. */
	close(sv[0]);
	cr_assert_eq(vsock_broker_serve(vp, sv[1], &peer), -EPIPE);
	close(sv[1]);
	close(lfd);
	device_res_release(&vsock_device_type, &res);
	udir_remove();
}

/*
 * dt_spawn gives each child a fresh channel under the same number: what
 * a previous child left queued never reaches the parent's new end.
 */
Test(vsock_uds, each_child_gets_a_fresh_channel)
{
	struct device_res	res;
	uint8_t			w[VSOCK_BROKER_REC_SIZE] = { 0 };
	uint8_t			r[VSOCK_BROKER_REC_SIZE];
	int			num, old, sv[2];

	device_res_init(&res);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	close(sv[1]);
	/* The layout dt_open leaves: listener, child's end; parent's end. */
	cr_assert_eq(device_res_add_fd(&res, sv[0]), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sv), 0);
	cr_assert_eq(device_res_add_fd(&res, sv[0]), 1);
	res.dr_broker_fd = sv[1];
	num = res.dr_fds[VSOCK_FD_BROKER];
	old = dup(res.dr_broker_fd);
	cr_assert_eq(write(num, w, sizeof(w)), (ssize_t)sizeof(w));
	cr_assert_eq(vsock_device_type.dt_spawn(&res), 0);
	cr_assert_eq(res.dr_fds[VSOCK_FD_BROKER], num, "not the same number");
	cr_assert_neq(res.dr_broker_fd, -1);
	/* The new pair: nothing queued; the old end sees its peer gone. */
	cr_assert_eq(read(res.dr_broker_fd, r, sizeof(r)), -1);
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(write(num, w, sizeof(w)), (ssize_t)sizeof(w));
	cr_assert_eq(read(res.dr_broker_fd, r, sizeof(r)), (ssize_t)sizeof(r));
	cr_assert_eq(read(old, r, sizeof(r)), (ssize_t)sizeof(r), "the old "
	    "record is still there for the old end only");
	cr_assert_eq(read(old, r, sizeof(r)), 0, "the old peer is gone");
	close(old);
	device_res_release(NULL, &res);
}

/*
 * A child flooding malformed records, or records carrying descriptors
 * the parent must close, is held by the same budget as good requests:
 * the parent pauses after at most VSOCK_BROKER_BURST records, whatever
 * they look like, instead of reading on while the child writes.
 */
Test(vsock_uds, broker_budget_counts_malformed_records)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	struct device_peer	 peer = { 65534, 65534, 0 };
	uint8_t			 w[VSOCK_BROKER_REC_SIZE + 8];
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	}			 cm;
	struct iovec		 iov = { w, 15 };
	struct msghdr		 msg;
	struct cmsghdr		*c;
	unsigned int		 i, calls, sent;
	int			 sv[2], fds[4], rc = 0, one = 1 << 20;

	udir_make();
	vp = uparent(&res);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, sv), 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	memset(w, 0xa5, sizeof(w));
	for (i = 0; i < 4; i++)
		cr_assert_geq(fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC),
		    0);
	/* Half short records, half oversized ones with 4 descriptors. */
	for (sent = 0; sent < 4 * VSOCK_BROKER_BURST; sent++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_len = sent % 2 ? sizeof(w) : 15;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		if (sent % 2) {
			msg.msg_control = cm.buf;
			msg.msg_controllen = sizeof(cm.buf);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(fds));
			memcpy(CMSG_DATA(c), fds, sizeof(fds));
		}
		if (sendmsg(sv[0], &msg, MSG_DONTWAIT) < 0)
			break;
	}
	cr_assert_gt(sent, VSOCK_BROKER_BURST + VSOCK_BROKER_BATCH,
	    "only %u records queued", sent);
	for (calls = 0; calls * VSOCK_BROKER_BATCH < sent &&
	    (rc = vsock_broker_serve(vp, sv[1], &peer)) == 0; calls++)
		;
	cr_log_info("broker: %u malformed records queued, %u serve calls "
	    "before rc %d, %llu refused", sent, calls, rc,
	    (unsigned long long)vp->vp_refused);
	cr_assert_eq(rc, VSOCK_BROKER_PAUSE_MS, "malformed records do not "
	    "count against the budget (rc %d after %u calls)", rc, calls);
	cr_assert_leq(vp->vp_refused, VSOCK_BROKER_BURST + 1);
	for (i = 0; i < 4; i++)
		close(fds[i]);
	close(sv[0]);
	close(sv[1]);
	device_res_release(&vsock_device_type, &res);
	udir_remove();
}

static int
ufd_count(void)
{
	char	p[64];
	int	fd, n = 0;

	for (fd = 0; fd < 4096; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		n += access(p, F_OK) == 0;
	}
	return n;
}

/*
 * A child that never reads its answers does not block the parent (the
 * channel made blocking here, so only the broker's own MSG_DONTWAIT
 * stands between it and a full queue), and the sockets whose answer
 * could not be sent are closed, not kept.
 */
Test(vsock_uds, broker_never_blocks_on_a_child_that_does_not_read,
    .timeout = 60)
{
	struct device_res	 res;
	struct vsock_parent	*vp;
	struct device_peer	 peer = { 65534, 65534, 0 };
	struct vsock_broker_req	 req = { .br_port = 1 };
	uint8_t			 w[VSOCK_BROKER_REC_SIZE];
	struct timespec		 ts;
	long			 t0, t1;
	unsigned int		 i;
	int			 sv[2], lfd, before, after, small = 1;

	udir_make();
	vp = uparent(&res);
	lfd = usock("vs_1", 4096, 0777, (uid_t)-1, 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
	    sv), 0);
	cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small,
	    sizeof(small)), 0);
	for (i = 0; i < VSOCK_BROKER_BURST; i++) {
		req.br_seq = i;
		vsock_broker_req_encode(&req, w);
		cr_assert_eq(write(sv[0], w, sizeof(w)), (ssize_t)sizeof(w));
	}
	before = ufd_count();
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
	for (i = 0; i < VSOCK_BROKER_BURST / VSOCK_BROKER_BATCH + 1; i++)
		if (vsock_broker_serve(vp, sv[1], &peer) != 0)
			break;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t1 = ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
	after = ufd_count();
	cr_log_info("broker: %d requests, child not reading: served %llu in "
	    "%ld ms, fds %d -> %d", VSOCK_BROKER_BURST,
	    (unsigned long long)vp->vp_served, t1 - t0, before, after);
	cr_assert_eq(vp->vp_served, VSOCK_BROKER_BURST);
	cr_assert_lt(t1 - t0, 5000, "the parent waited %ld ms", t1 - t0);
	cr_assert_eq(after, before, "the parent kept descriptors");
	/* The queue was full: not every answer could go. */
	for (i = 0; recv(sv[0], w, sizeof(w), MSG_DONTWAIT) > 0; i++)
		;
	cr_log_info("broker: %u answers queued for the child", i);
	cr_assert_lt(i, VSOCK_BROKER_BURST, "the queue never filled");
	close(sv[0]);
	close(sv[1]);
	close(lfd);
	device_res_release(&vsock_device_type, &res);
	udir_remove();
}
