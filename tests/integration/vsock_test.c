/*
 * vsock_test.c - the vsock device end to end without a VM: vhostd with
 * its jailed child, the in-tree vsock driver as the guest, host
 * programs on uds-path and <uds-path>_<P> (the hybrid convention).
 */
#include "vsock_itest.h"

static void
vt_fini(void)
{
	vsv_stop(&vt_v);
	it_teardown();
}

TestSuite(vsock, .init = it_setup, .fini = vt_fini, .timeout = 120);

/* Host CONNECT <port>: the guest accepts, OK comes back, data both ways. */
Test(vsock, host_connects_to_a_guest_listener_data_both_ways)
{
	struct vt_stream	s;
	pthread_t		th;
	char			line[64];
	uint64_t		got, bad;
	unsigned long		hp;
	long			t0;
	int			fd, c, rc;
	const uint64_t		n = 8u << 20;

	vt_start_vhostd();
	vt_start_guest(0);
	cr_assert_eq(vsv_listen(&vt_v, 1234), 0);
	fd = vt_unix_connect(it_path("vs"));
	cr_assert_geq(fd, 0, "connect uds-path: %s", strerror(-fd));
	cr_assert_eq(write(fd, "CONNECT 1234\n", 13), 13);
	c = vsv_accept(&vt_v, 1234, 10000);
	cr_assert_geq(c, 0, "guest accept: %s; vhostd:\n%s",
	    vuf_error(&vt_v.v_f), vt_log());
	rc = vt_read_line(fd, line, sizeof(line), 10000);
	cr_assert_gt(rc, 0, "no OK line; vhostd:\n%s", vt_log());
	cr_assert_eq(sscanf(line, "OK %lu\n", &hp), 1, "line '%s'", line);
	cr_assert_eq(hp, vt_v.v_conn[c].c_rport, "OK %lu, guest sees %u", hp,
	    vt_v.v_conn[c].c_rport);

	memset(&s, 0, sizeof(s));
	s.s_fd = fd;
	s.s_sseed = 11;
	s.s_rseed = 12;
	s.s_out = n;
	t0 = vt_now_ms();
	cr_assert_eq(pthread_create(&th, NULL, vt_stream_run, &s), 0);
	rc = vt_guest_stream(c, 12, n, 11, &got, &bad, 0, 60000);
	pthread_join(th, NULL);
	printf("host->guest %llu bytes, guest->host %llu bytes in %ld ms\n",
	    (unsigned long long)got, (unsigned long long)s.s_got,
	    vt_now_ms() - t0);
	cr_assert_eq(rc, 0, "guest stream: %s; vhostd:\n%s", strerror(-rc),
	    vt_log());
	cr_assert_eq(s.s_err, 0, "host stream: %s", strerror(s.s_err));
	cr_assert_eq(got, n);
	cr_assert_eq(bad, 0, "guest: first bad byte at %llu",
	    (unsigned long long)bad - 1);
	cr_assert_eq(s.s_got, n);
	cr_assert_eq(s.s_bad, 0, "host: first bad byte at %llu",
	    (unsigned long long)s.s_bad - 1);
	cr_assert_eq(vt_v.v_bad_packets, 0);
	cr_assert(!vt_v.v_conn[c].c_credit_violation);
	close(fd);
	it_stop(&it_vp);
}

/* Guest connect to CID 2 port P reaches <uds-path>_<P>. */
Test(vsock, guest_connects_to_a_host_listener_data_both_ways)
{
	struct vt_stream	s;
	pthread_t		th;
	uint64_t		got, bad;
	long			t0;
	int			lfd, fd, c, rc;
	const uint64_t		n = 8u << 20;

	vt_start_vhostd();
	vt_start_guest(0);
	lfd = vt_host_listen(5000);
	c = vsv_connect(&vt_v, 5000, 10000);
	cr_assert_geq(c, 0, "guest connect: %s (%d); vhostd:\n%s",
	    vuf_error(&vt_v.v_f), c, vt_log());
	cr_assert(vt_wait_in(lfd, 5000));
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0);

	memset(&s, 0, sizeof(s));
	s.s_fd = fd;
	s.s_sseed = 21;
	s.s_rseed = 22;
	s.s_out = n;
	t0 = vt_now_ms();
	cr_assert_eq(pthread_create(&th, NULL, vt_stream_run, &s), 0);
	rc = vt_guest_stream(c, 22, n, 21, &got, &bad, 0, 60000);
	pthread_join(th, NULL);
	printf("guest->host %llu bytes, host->guest %llu bytes in %ld ms\n",
	    (unsigned long long)s.s_got, (unsigned long long)got,
	    vt_now_ms() - t0);
	cr_assert_eq(rc, 0, "guest stream: %s; vhostd:\n%s", strerror(-rc),
	    vt_log());
	cr_assert_eq(s.s_err, 0, "host stream: %s", strerror(s.s_err));
	cr_assert_eq(got, n);
	cr_assert_eq(bad, 0);
	cr_assert_eq(s.s_got, n);
	cr_assert_eq(s.s_bad, 0);
	close(fd);
	close(lfd);
	it_stop(&it_vp);
}

/* Nobody listens on <uds-path>_<P>: the guest gets RST, not a hang. */
Test(vsock, guest_connect_to_a_port_nobody_listens_on_is_reset)
{
	long	t0, ms;
	int	c;

	vt_start_vhostd();
	vt_start_guest(0);
	t0 = vt_now_ms();
	c = vsv_connect(&vt_v, 4444, 10000);
	ms = vt_now_ms() - t0;
	printf("refused after %ld ms\n", ms);
	cr_assert_eq(c, -ECONNREFUSED, "connect: %d %s", c,
	    vuf_error(&vt_v.v_f));
	/* The broker's answer, not the 5 s handshake timeout. */
	cr_assert_lt(ms, 3000, "RST only after %ld ms", ms);
	/* A socket file with nobody accepting: refused as well. */
	close(it_unix_socket(it_path("vs_4445"), false));
	cr_assert_eq(vsv_connect(&vt_v, 4445, 10000), -ECONNREFUSED);
	it_stop(&it_vp);
}

/* CONNECT to a guest port nobody listens on: the host socket is closed. */
Test(vsock, host_connect_to_a_port_the_guest_refuses_is_closed)
{
	char	line[64];
	int	fd;

	vt_start_vhostd();
	vt_start_guest(0);
	fd = vt_unix_connect(it_path("vs"));
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "CONNECT 99\n", 11), 11);
	/* The guest driver answers RST for a port without a listener. */
	while (!vt_wait_in(fd, 20))
		cr_assert_geq(vsv_poll(&vt_v, 20), 0);
	cr_assert_eq(vt_read_line(fd, line, sizeof(line), 5000), 0,
	    "got '%s' instead of EOF", line);
	close(fd);
	/* A bad line is closed without any answer. */
	fd = vt_unix_connect(it_path("vs"));
	cr_assert_eq(write(fd, "CONNECT -1\n", 11), 11);
	cr_assert_eq(vt_read_line(fd, line, sizeof(line), 5000), 0);
	close(fd);
	it_stop(&it_vp);
}

/* vhostd -n --device spec fails, saying what (uds-path: ...). */
static void
vt_check_refused(const char *spec, const char *what)
{
	struct vproc	vp;
	int		st;

	memset(&vp, 0, sizeof(vp));
	vp.vp_err = vp.vp_pidfd = -1;
	it_start_opts(&vp, false, NULL, "-n", "--device", spec, NULL);
	cr_assert_eq(vproc_wait_exit(&vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_neq(it_code(st), 0, "vhostd -n accepted %s", spec);
	cr_assert_not_null(strstr(vp.vp_log, "uds-path: "), "%s", vp.vp_log);
	cr_assert_not_null(strstr(vp.vp_log, what), "%s", vp.vp_log);
	vproc_cleanup(&vp);
}

/*
 * uds-path is the parent's, like the vhost-user socket: bound before the
 * first child, a live socket there is refused at start-up, and the file
 * goes when vhostd does.
 */
Test(vsock, uds_path_is_owned_and_removed_by_the_parent)
{
	struct vproc	vp2;
	int		fd, st;

	vt_start_vhostd();
	cr_assert(it_exists(it_path("vs")));
	/* Before any front end: host programs wait in the backlog. */
	fd = vt_unix_connect(it_path("vs"));
	cr_assert_geq(fd, 0, "uds-path does not accept: %s", strerror(-fd));
	close(fd);
	/* A second vhostd on the same uds-path: refused, file left alone. */
	memset(&vp2, 0, sizeof(vp2));
	vp2.vp_err = vp2.vp_pidfd = -1;
	it_start_opts(&vp2, false, NULL, "--device", it_fmt("vsock,name=vs2,"
	    "socket=%s,uds-path=%s", it_path("vu2"), it_path("vs")), NULL);
	cr_assert_eq(vproc_wait_exit(&vp2, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_neq(it_code(st), 0, "a second vhostd took a live uds-path");
	cr_assert_not_null(strstr(vp2.vp_log, "uds-path"), "%s", vp2.vp_log);
	vproc_cleanup(&vp2);
	cr_assert(it_exists(it_path("vs")));
	/* vhostd -n checks uds-path as it checks socket=. */
	close(open(it_path("file"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	vt_check_refused(it_fmt("vsock,socket=%s,uds-path=%s", it_path("n1"),
	    it_path("n1")), "own socket");
	vt_check_refused(it_fmt("vsock,socket=%s,uds-path=%s", it_path("n1"),
	    it_path("file")), "not a socket");
	vt_check_refused(it_fmt("vsock,socket=%s,uds-path=%s/no/x",
	    it_path("n1"), it_dir), "does not exist");
	it_stop(&it_vp);
	cr_assert(!it_exists(it_path("vs")), "uds-path left behind");
	cr_assert(!it_exists(it_path("vu")));
}

/*
 * A reload that changes the device but keeps uds-path takes the running
 * listener over (same inode: host programs in its backlog are served by
 * the new child); one that moves uds-path binds the new path and removes
 * the old.
 */
Test(vsock, reload_keeps_or_moves_uds_path)
{
	struct stat	st0, st1;
	FILE		*f;
	char		conf[256];
	long		at;
	int		fd;

	snprintf(conf, sizeof(conf), "%s", it_path("c.conf"));
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "[vs]\ntype = vsock\nsocket = %s\nguest-cid = %u\n"
	    "uds-path = %s\n", it_path("vu"), VT_CID, it_path("vs"));
	fclose(f);
	it_start(&it_vp, "-c", conf, NULL);
	cr_assert_eq(stat(it_path("vs"), &st0), 0);
	/* A host program waits in the backlog across the reload. */
	fd = vt_unix_connect(it_path("vs"));
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "CONNECT 1234\n", 13), 13);
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "[vs]\ntype = vsock\nsocket = %s\nguest-cid = %u\n"
	    "uds-path = %s\n", it_path("vu"), VT_CID + 1, it_path("vs"));
	fclose(f);
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	at = vproc_wait_log(&it_vp, "configuration changed", 0, 10000);
	cr_assert_geq(at, 0, "no reload; vhostd:\n%s", vt_log());
	cr_assert_eq(stat(it_path("vs"), &st1), 0);
	cr_assert_eq(st0.st_ino, st1.st_ino, "uds-path was bound again");
	cr_assert_eq(vsv_listen(&vt_v, 1234), 0);
	cr_assert_eq(vsv_start(&vt_v, it_path("vu"), VT_CID + 1, 0), 0,
	    "%s; vhostd:\n%s", vuf_error(&vt_v.v_f), vt_log());
	cr_assert_geq(vsv_accept(&vt_v, 1234, 10000), 0, "the waiting host "
	    "program was lost: %s", vuf_error(&vt_v.v_f));
	close(fd);
	vsv_stop(&vt_v);
	/* Moved: the new path is bound, the old one removed. */
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "[vs]\ntype = vsock\nsocket = %s\nguest-cid = %u\n"
	    "uds-path = %s\n", it_path("vu"), VT_CID + 1, it_path("vs2"));
	fclose(f);
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "configuration changed",
	    (size_t)at + 1, 10000), 0, "no second reload; vhostd:\n%s",
	    vt_log());
	cr_assert(it_exists(it_path("vs2")));
	cr_assert(!it_exists(it_path("vs")), "the old uds-path stayed");
	it_stop(&it_vp);
	cr_assert(!it_exists(it_path("vs2")));
}

/*
 * The broker connects the guest only to sockets the device's child could
 * connect to by its own uid and gid (user= here): one of that uid's,
 * mode 0600, is reached; one of another uid's, mode 0600, is refused
 * (root's permission bypass does not decide).
 */
Test(vsock, guest_reaches_what_the_devices_uid_could)
{
	int	mine, other, c, fd;

	if (geteuid() != 0)
		cr_skip_test("needs root (sockets of other uids)");
	it_start(&it_vp, "--device", it_fmt("vsock,name=vs,socket=%s,"
	    "guest-cid=%u,uds-path=%s,user=12345:12345", it_path("vu"), VT_CID,
	    it_path("vs")), NULL);
	vt_start_guest(0);
	mine = vt_host_listen(7003);
	cr_assert_eq(chown(it_path("vs_7003"), 12345, 12345), 0);
	other = vt_host_listen(7005);
	cr_assert_eq(chown(it_path("vs_7005"), 23456, 23456), 0);
	cr_assert_eq(chmod(it_path("vs_7003"), 0600), 0);
	cr_assert_eq(chmod(it_path("vs_7005"), 0600), 0);
	c = vsv_connect(&vt_v, 7003, 10000);
	cr_assert_geq(c, 0, "the device's own uid's socket refused: %d; "
	    "vhostd:\n%s", c, vt_log());
	cr_assert(vt_wait_in(mine, 5000));
	fd = accept4(mine, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(vsv_connect(&vt_v, 7005, 10000), -ECONNREFUSED);
	cr_assert(!vt_wait_in(other, 0), "another uid's socket was reached");
	cr_assert_not_null(strstr(vt_log(), "vs_7005: Permission denied"),
	    "%s", vt_log());
	close(mine);
	close(other);
	it_stop(&it_vp);
}
