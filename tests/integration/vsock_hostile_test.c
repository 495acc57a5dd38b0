/*
 * vsock_hostile_test.c - hostile host peers on uds-path against the
 * vsock device (vhostd with its jailed child, the in-tree driver as the
 * guest): clients that never finish their CONNECT line (slowloris),
 * lines that are malformed, and clients that go at once.  Whatever they
 * do, a good client is served within the CONNECT-line deadline
 * (VSOCK_DEF_CONNECT_MS) plus a margin, and the idle ones are closed.
 */
#include "vsock_itest.h"

static void
vt_fini(void)
{
	vsv_stop(&vt_v);
	it_teardown();
}

TestSuite(vsock_hostile, .init = it_setup, .fini = vt_fini, .timeout = 180);

#define NIDLE	48	/* more than the child's VSOCK_PENDING_MAX (32) */

/* Wait up to ms for EOF (or an error) on fd: true if it came. */
static bool
vt_wait_closed(int fd, int ms)
{
	char	b[64];
	ssize_t	n;
	long	end = vt_now_ms() + ms;

	while (vt_now_ms() < end) {
		if (!vt_wait_in(fd, (int)(end - vt_now_ms())))
			return false;
		if ((n = read(fd, b, sizeof(b))) <= 0)
			return true;
	}
	return false;
}

Test(vsock_hostile, slowloris_clients_are_dropped_and_a_good_one_is_served)
{
	static const char	*bad[] = {
		"CONNECT 4294967295\n", "CONNECT 99999999999", "CONNECT 0x10\n",
		"CONNECT -1\n", "CONNECT 012\n", "connect 1\n", "CONNECT  1\n",
		"CONNECT 1\r\n", "GET / HTTP/1.0\r\n",
	};
	char		line[64];
	unsigned long	hp;
	long		t0, t_ok, t_closed;
	unsigned int	i, closed;
	int		idle[NIDLE], fd, c, rc;

	vt_start_vhostd();
	vt_start_guest(0);
	cr_assert_eq(vsv_listen(&vt_v, 1234), 0);
	/* Malformed lines: closed at once, nothing reaches the guest. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = vt_unix_connect(it_path("vs"));
		cr_assert_geq(fd, 0, "connect uds-path: %s", strerror(-fd));
		cr_assert_eq(write(fd, bad[i], strlen(bad[i])),
		    (ssize_t)strlen(bad[i]));
		cr_assert(vt_wait_closed(fd, 20000), "'%s' not closed",
		    bad[i]);
		close(fd);
	}
	/* Clients that connect and go at once. */
	for (i = 0; i < 64; i++) {
		fd = vt_unix_connect(it_path("vs"));
		cr_assert_geq(fd, 0, "connect uds-path: %s", strerror(-fd));
		close(fd);
	}
	/* Idle ones: silent, or a line without its end, fed byte by byte. */
	for (i = 0; i < NIDLE; i++) {
		idle[i] = vt_unix_connect(it_path("vs"));
		cr_assert_geq(idle[i], 0, "idle %u: %s", i, strerror(-idle[i]));
		if (i % 2)
			cr_assert_eq(write(idle[i], "CONNECT 12", 10), 10);
	}
	t0 = vt_now_ms();
	fd = vt_unix_connect(it_path("vs"));
	cr_assert_geq(fd, 0, "connect uds-path: %s", strerror(-fd));
	cr_assert_eq(write(fd, "CONNECT 1234\n", 13), 13);
	c = vsv_accept(&vt_v, 1234, 60000);
	cr_assert_geq(c, 0, "the good client was not served; vhostd:\n%s",
	    vt_log());
	rc = vt_read_line(fd, line, sizeof(line), 60000);
	cr_assert_gt(rc, 0, "no OK line; vhostd:\n%s", vt_log());
	cr_assert_eq(sscanf(line, "OK %lu\n", &hp), 1, "line '%s'", line);
	t_ok = vt_now_ms() - t0;
	/* Every idle client is closed by the deadline. */
	for (i = closed = 0; i < NIDLE; i++) {
		closed += vt_wait_closed(idle[i], 60000);
		close(idle[i]);
	}
	t_closed = vt_now_ms() - t0;
	printf("slowloris: %u idle clients, the good one served after %ld ms, "
	    "%u idle closed after %ld ms (deadline %d ms)\n", NIDLE, t_ok,
	    closed, t_closed, VSOCK_DEF_CONNECT_MS);
	cr_assert_eq(closed, NIDLE, "only %u of %u idle clients closed",
	    closed, NIDLE);
	/* About one deadline (the backlog waits for 32 to expire); 6: the
	   machine is shared. */
	cr_assert_lt(t_ok, 6 * VSOCK_DEF_CONNECT_MS, "served after %ld ms",
	    t_ok);
	/* The good connection works. */
	cr_assert_eq(write(fd, "x", 1), 1);
	cr_assert_eq(vsv_recv(&vt_v, c, line, 1, 20000), 1);
	cr_assert_eq(line[0], 'x');
	close(fd);
	it_stop(&it_vp);
}

/* Read exactly n bytes from fd within ms. */
static bool
vt_read_n(int fd, char *buf, size_t n, int ms)
{
	size_t	got = 0;
	ssize_t	r;

	while (got < n) {
		if (!vt_wait_in(fd, ms))
			return false;
		if ((r = read(fd, buf + got, n - got)) <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/*
 * tx chains the way a hostile (or unusual) driver lays them out: the
 * header cut across several descriptors, the payload too, a writable
 * descriptor at the end.  The device copies the readable bytes once and
 * reads the same packet; the connection and the device go on working.
 */
Test(vsock_hostile, tx_header_cut_across_descriptors_and_a_writable_tail)
{
	static const uint32_t	cuts1[] = { 1, 8, 20, 43, 46 };
	static const uint32_t	cuts2[] = { 44 };
	static const uint32_t	cuts3[] = { 2, 4, 6, 8, 10, 12, 14, 16 };
	struct vsv_conn		*vc;
	char			 buf[64];
	int			 lfd, fd, c;

	vt_start_vhostd();
	vt_start_guest(0);
	lfd = vt_host_listen(5001);
	c = vsv_connect(&vt_v, 5001, 10000);
	cr_assert_geq(c, 0, "guest connect: %s; vhostd:\n%s",
	    vuf_error(&vt_v.v_f), vt_log());
	cr_assert(vt_wait_in(lfd, 5000));
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(fd, 0);
	vc = &vt_v.v_conn[c];
	cr_assert_eq(vsv_send_split(&vt_v, vc->c_lport, vc->c_rport,
	    VIRTIO_VSOCK_OP_RW, "hello", 5, cuts1, 5, false), 0, "%s",
	    vuf_error(&vt_v.v_f));
	cr_assert_eq(vsv_send_split(&vt_v, vc->c_lport, vc->c_rport,
	    VIRTIO_VSOCK_OP_RW, "world", 5, cuts2, 1, true), 0, "%s",
	    vuf_error(&vt_v.v_f));
	cr_assert_eq(vsv_send_split(&vt_v, vc->c_lport, vc->c_rport,
	    VIRTIO_VSOCK_OP_RW, "!", 1, cuts3, 8, true), 0, "%s",
	    vuf_error(&vt_v.v_f));
	cr_assert(vt_read_n(fd, buf, 11, 20000), "the host got no data; "
	    "vhostd:\n%s", vt_log());
	cr_assert_eq(memcmp(buf, "helloworld!", 11), 0, "host got '%.11s'",
	    buf);
	/* Still a working device and connection, both ways. */
	cr_assert_eq(write(fd, "back", 4), 4);
	cr_assert_eq(vsv_recv(&vt_v, c, buf, 4, 20000), 4, "%s; vhostd:\n%s",
	    vuf_error(&vt_v.v_f), vt_log());
	cr_assert_eq(memcmp(buf, "back", 4), 0);
	cr_assert_eq(vsv_send(&vt_v, c, "more", 4, 20000), 4);
	cr_assert(vt_read_n(fd, buf, 4, 20000));
	cr_assert_eq(memcmp(buf, "more", 4), 0);
	cr_assert_eq(vt_v.v_bad_packets, 0);
	close(fd);
	close(lfd);
	it_stop(&it_vp);
}
