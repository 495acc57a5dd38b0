/*
 * vsock_load_test.c - the vsock device under load, without a VM: many
 * connections at once, slow readers on either side (credit holds the
 * writer, the child's memory stays flat), a guest that ignores credit,
 * and the child killed mid-stream.
 */
#include "vsock_itest.h"

static void
vt_fini(void)
{
	vsv_stop(&vt_v);
	it_teardown();
}

TestSuite(vsock_load, .init = it_setup, .fini = vt_fini, .timeout = 180);

/* VmRSS of pid in KiB, or -1. */
static long
vt_rss_kb(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* A listener at <uds-path>_<port> with room for many connects. */
static int
vt_listen_many(uint32_t port)
{
	int	fd = it_unix_socket(it_path(it_fmt("vs_%u", port)), false);

	cr_assert_eq(listen(fd, 128), 0);
	return fd;
}

/* Host side of a CONNECT: connect, CONNECT <port>, wait for OK. */
struct vt_client {
	uint32_t		 cl_port;
	struct vt_stream	 cl_s;
	int			 cl_ok;		/* 1: OK came, -1: it did not */
};

static void *
vt_client_run(void *arg)
{
	struct vt_client	*cl = arg;
	char			 line[64];
	int			 fd;

	cl->cl_ok = -1;
	if ((fd = vt_unix_connect(it_path("vs"))) < 0)
		return NULL;
	dprintf(fd, "CONNECT %u\n", cl->cl_port);
	if (vt_read_line(fd, line, sizeof(line), 20000) <= 0 ||
	    strncmp(line, "OK ", 3) != 0) {
		close(fd);
		return NULL;
	}
	cl->cl_ok = 1;
	cl->cl_s.s_fd = fd;
	return vt_stream_run(&cl->cl_s);
}

#define VT_N	16	/* connections each way: 32 at once */

Test(vsock_load, thirty_two_connections_at_once_both_ways)
{
	static struct vt_client	cl[VT_N];
	static struct vt_stream	hs[VT_N];
	struct vt_gconn		g[2 * VT_N];
	pthread_t		th[2 * VT_N];
	uint64_t		n = 1u << 20, total = 0;
	long			t0;
	unsigned int		i;
	int			lfd[VT_N], c, rc;

	vt_start_vhostd();
	vt_start_guest(0);
	cr_assert_eq(vsv_listen(&vt_v, 2000), 0);
	memset(g, 0, sizeof(g));
	/* 16 host programs CONNECT to guest port 2000 at once. */
	for (i = 0; i < VT_N; i++) {
		memset(&cl[i], 0, sizeof(cl[i]));
		cl[i].cl_port = 2000;
		cl[i].cl_s.s_out = n;
		cr_assert_eq(pthread_create(&th[i], NULL, vt_client_run,
		    &cl[i]), 0);
	}
	/* The guest cannot tell which client is which: seeds by host port. */
	for (i = 0; i < VT_N; i++) {
		c = vsv_accept(&vt_v, 2000, 20000);
		cr_assert_geq(c, 0, "accept %u: %s; vhostd:\n%s", i,
		    vuf_error(&vt_v.v_f), vt_log());
		g[i].g_c = c;
		g[i].g_out = n;
	}
	/* 16 guest connects to 16 host listeners. */
	for (i = 0; i < VT_N; i++) {
		lfd[i] = vt_listen_many(3000 + i);
		c = vsv_connect(&vt_v, 3000 + i, 10000);
		cr_assert_geq(c, 0, "connect %u: %d %s; vhostd:\n%s", i, c,
		    vuf_error(&vt_v.v_f), vt_log());
		g[VT_N + i].g_c = c;
		g[VT_N + i].g_out = n;
		g[VT_N + i].g_sseed = 100 + i;
		g[VT_N + i].g_rseed = 200 + i;
		memset(&hs[i], 0, sizeof(hs[i]));
		hs[i].s_fd = accept4(lfd[i], NULL, NULL, SOCK_CLOEXEC);
		cr_assert_geq(hs[i].s_fd, 0);
		hs[i].s_sseed = 200 + i;
		hs[i].s_rseed = 100 + i;
		hs[i].s_out = n;
		cr_assert_eq(pthread_create(&th[VT_N + i], NULL, vt_stream_run,
		    &hs[i]), 0);
	}
	/* Host clients and the guest's accepted ends: seed 0 both ways. */
	t0 = vt_now_ms();
	rc = vt_guest_run(g, 2 * VT_N, 120000, NULL, NULL);
	for (i = 0; i < 2 * VT_N; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 2 * VT_N; i++)
		total += g[i].g_got + g[i].g_sent;
	printf("32 connections: %llu bytes both ways in %ld ms\n",
	    (unsigned long long)total, vt_now_ms() - t0);
	cr_assert_eq(rc, 0, "guest: %s; vhostd:\n%s", strerror(-rc), vt_log());
	for (i = 0; i < 2 * VT_N; i++) {
		cr_assert_eq(g[i].g_got, n, "guest conn %u got %llu", i,
		    (unsigned long long)g[i].g_got);
		cr_assert_eq(g[i].g_bad, 0, "guest conn %u: bad byte at %llu",
		    i, (unsigned long long)g[i].g_bad - 1);
	}
	for (i = 0; i < VT_N; i++) {
		cr_assert_eq(cl[i].cl_ok, 1, "client %u got no OK", i);
		cr_assert_eq(cl[i].cl_s.s_err, 0);
		cr_assert_eq(cl[i].cl_s.s_got, n);
		cr_assert_eq(cl[i].cl_s.s_bad, 0);
		cr_assert_eq(hs[i].s_err, 0);
		cr_assert_eq(hs[i].s_got, n);
		cr_assert_eq(hs[i].s_bad, 0);
		close(cl[i].cl_s.s_fd);
		close(hs[i].s_fd);
		close(lfd[i]);
	}
	cr_assert_eq(vt_v.v_bad_packets, 0);
	it_stop(&it_vp);
}

/* What the probes of a slow-reader test watch. */
struct vt_watch {
	pid_t		 w_pid;
	long		 w_rss0, w_rss_max;	/* KiB */
	const uint64_t	*w_writer;	/* bytes the writer wrote */
	const uint64_t	*w_reader;	/* bytes the reader took */
	uint64_t	 w_gap_max;	/* writer - reader, at most */
	long		 w_next;
};

static void
vt_probe(void *arg)
{
	struct vt_watch	*w = arg;
	uint64_t	 wr = __atomic_load_n(w->w_writer, __ATOMIC_RELAXED);
	uint64_t	 rd = __atomic_load_n(w->w_reader, __ATOMIC_RELAXED);
	long		 rss;

	if (wr > rd && wr - rd > w->w_gap_max)
		w->w_gap_max = wr - rd;
	if (vt_now_ms() < w->w_next)
		return;
	w->w_next = vt_now_ms() + 20;
	rss = vt_rss_kb(w->w_pid);
	/* The baseline once the connection's buffers are in use. */
	if (w->w_rss0 == 0 && rd >= (256u << 10))
		w->w_rss0 = w->w_rss_max = rss;
	else if (w->w_rss0 != 0 && rss > w->w_rss_max)
		w->w_rss_max = rss;
}

/* Bounds of the slow-reader tests (generous: kernel socket buffers). */
#define VT_GAP_MAX	(1024u << 10)
#define VT_RSS_GROWTH_KB 1024

/*
 * The guest reads slowly (1 KiB per round, 64 KiB of credit): the
 * device never sends more than the guest's credit, the host writer is
 * held (what it wrote and the guest did not take stays bounded), and the
 * child's memory stays flat.
 */
Test(vsock_load, slow_guest_reader_holds_the_host_writer)
{
	struct vt_client	 cl;
	struct vt_watch		 w;
	struct vt_gconn		 g;
	struct vsv_conn		*vc;
	pthread_t		 th;
	const uint64_t		 n = 2u << 20;
	long			 t0;
	int			 rc;

	vt_start_vhostd();
	vt_start_guest(64u << 10);
	memset(&w, 0, sizeof(w));
	w.w_pid = vproc_child_pid(&it_vp, "vs", 0, 5000);
	cr_assert_gt(w.w_pid, 0);
	cr_assert_eq(vsv_listen(&vt_v, 2000), 0);
	memset(&cl, 0, sizeof(cl));
	cl.cl_port = 2000;
	cl.cl_s.s_out = n;
	cr_assert_eq(pthread_create(&th, NULL, vt_client_run, &cl), 0);
	memset(&g, 0, sizeof(g));
	g.g_c = vsv_accept(&vt_v, 2000, 10000);
	cr_assert_geq(g.g_c, 0);
	g.g_consume = 1024;
	w.w_writer = &cl.cl_s.s_sent;
	w.w_reader = &g.g_got;
	t0 = vt_now_ms();
	rc = vt_guest_run(&g, 1, 150000, vt_probe, &w);
	pthread_join(th, NULL);
	vc = &vt_v.v_conn[g.g_c];
	printf("slow guest reader: %llu bytes in %ld ms; host wrote at most "
	    "%llu bytes ahead of the guest; guest held at most %u bytes "
	    "(credit %u); child RSS %ld -> %ld KiB\n",
	    (unsigned long long)g.g_got, vt_now_ms() - t0,
	    (unsigned long long)w.w_gap_max, vc->c_max_unconsumed,
	    vc->c_buf_alloc, w.w_rss0, w.w_rss_max);
	cr_assert_eq(rc, 0, "guest: %s; vhostd:\n%s", strerror(-rc),
	    vt_log());
	cr_assert_eq(g.g_got, n);
	cr_assert_eq(g.g_bad, 0);
	cr_assert(!vc->c_credit_violation, "the device sent beyond credit");
	cr_assert_leq(vc->c_max_unconsumed, vc->c_buf_alloc);
	cr_assert_leq(w.w_gap_max, VT_GAP_MAX);
	cr_assert_gt(w.w_rss0, 0);
	cr_assert_leq(w.w_rss_max - w.w_rss0, VT_RSS_GROWTH_KB);
	close(cl.cl_s.s_fd);
	it_stop(&it_vp);
}

/*
 * The host peer reads slowly (2 KiB per millisecond at most): the guest
 * is held by the credit the device gives (it grants only what it wrote
 * to the host socket), and the child's memory stays flat.
 */
Test(vsock_load, slow_host_reader_holds_the_guest_writer)
{
	struct vt_stream	hs;
	struct vt_watch		w;
	struct vt_gconn		g;
	pthread_t		th;
	const uint64_t		n = 2u << 20;
	long			t0;
	int			lfd, rc;

	vt_start_vhostd();
	vt_start_guest(0);
	memset(&w, 0, sizeof(w));
	w.w_pid = vproc_child_pid(&it_vp, "vs", 0, 5000);
	cr_assert_gt(w.w_pid, 0);
	lfd = vt_host_listen(5000);
	memset(&g, 0, sizeof(g));
	g.g_c = vsv_connect(&vt_v, 5000, 10000);
	cr_assert_geq(g.g_c, 0);
	g.g_out = n;
	g.g_sseed = 5;
	memset(&hs, 0, sizeof(hs));
	hs.s_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(hs.s_fd, 0);
	hs.s_rseed = 5;
	hs.s_read_delay_us = 1000;
	hs.s_read_chunk = 2048;
	cr_assert_eq(pthread_create(&th, NULL, vt_stream_run, &hs), 0);
	w.w_writer = &g.g_sent;
	w.w_reader = &hs.s_got;
	t0 = vt_now_ms();
	rc = vt_guest_run(&g, 1, 150000, vt_probe, &w);
	pthread_join(th, NULL);
	printf("slow host reader: %llu bytes in %ld ms; guest wrote at most "
	    "%llu bytes ahead of the host (device credit %u); child RSS "
	    "%ld -> %ld KiB\n", (unsigned long long)hs.s_got,
	    vt_now_ms() - t0, (unsigned long long)w.w_gap_max,
	    vt_v.v_conn[g.g_c].c_peer_buf_alloc, w.w_rss0, w.w_rss_max);
	cr_assert_eq(rc, 0, "guest: %s; vhostd:\n%s", strerror(-rc),
	    vt_log());
	cr_assert_eq(hs.s_err, 0);
	cr_assert_eq(hs.s_got, n);
	cr_assert_eq(hs.s_bad, 0);
	cr_assert_leq(vt_v.v_conn[g.g_c].c_peer_buf_alloc, 256u << 10);
	cr_assert_leq(w.w_gap_max, VT_GAP_MAX);
	cr_assert_gt(w.w_rss0, 0);
	cr_assert_leq(w.w_rss_max - w.w_rss0, VT_RSS_GROWTH_KB);
	close(hs.s_fd);
	close(lfd);
	it_stop(&it_vp);
}

/*
 * A guest that ignores the credit (sends 1 MiB to a host peer that does
 * not read) is reset: the device keeps no more than the buf_alloc it
 * advertised, and the host peer's socket is closed.
 */
Test(vsock_load, guest_ignoring_credit_is_reset)
{
	static uint8_t	buf[VSV_TX_PAYLOAD];
	struct vsv_conn	*vc;
	pid_t		 pid;
	long		 rss0, rss1, t0;
	unsigned int	 i;
	char		 b;
	int		 lfd, hfd, c;

	vt_start_vhostd();
	vt_start_guest(0);
	pid = vproc_child_pid(&it_vp, "vs", 0, 5000);
	lfd = vt_host_listen(5001);
	c = vsv_connect(&vt_v, 5001, 10000);
	cr_assert_geq(c, 0);
	hfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(hfd, 0);
	vc = &vt_v.v_conn[c];
	rss0 = vt_rss_kb(pid);
	t0 = vt_now_ms();
	for (i = 0; i < 256 && vc->c_state == VSV_OPEN; i++) {
		cr_assert_eq(vsv_send_raw(&vt_v, vc->c_lport, vc->c_rport,
		    VIRTIO_VSOCK_OP_RW, 0, buf, sizeof(buf)), 0);
		(void)vsv_poll(&vt_v, 0);
	}
	while (vc->c_state == VSV_OPEN && vt_now_ms() - t0 < 10000)
		cr_assert_geq(vsv_poll(&vt_v, 20), 0);
	rss1 = vt_rss_kb(pid);
	printf("credit ignored: reset after %u packets of 4 KiB; child RSS "
	    "%ld -> %ld KiB\n", i, rss0, rss1);
	cr_assert_eq(vc->c_state, VSV_RESET, "no RST for data beyond credit");
	cr_assert_lt(i, 256);
	cr_assert_leq(rss1 - rss0, VT_RSS_GROWTH_KB);
	/* The host peer sees the end after what the device had written. */
	t0 = vt_now_ms();
	for (;;) {
		cr_assert(vt_wait_in(hfd, 5000));
		if (read(hfd, buf, sizeof(buf)) <= 0)
			break;
		cr_assert_lt(vt_now_ms() - t0, 10000);
	}
	(void)b;
	close(hfd);
	close(lfd);
	it_stop(&it_vp);
}

/* Kill the child once both streams are under way (a probe). */
struct vt_killer {
	pid_t		 k_pid;
	const uint64_t	*k_a, *k_b;
	long		 k_at;
};

static void
vt_kill_probe(void *arg)
{
	struct vt_killer	*k = arg;

	if (k->k_at == 0 && *k->k_a >= (1u << 20) && *k->k_b >= (1u << 20)) {
		kill(k->k_pid, SIGKILL);
		k->k_at = vt_now_ms();
	}
}

/*
 * SIGKILL the child with a stream running each way: the host peers see
 * the end (EOF or a reset) at once, vhostd starts a new child, the guest
 * (reconnected as QEMU does) gets TRANSPORT_RESET, and new connections
 * work both ways.
 */
Test(vsock_load, child_killed_mid_stream_resets_and_new_connections_work)
{
	struct vt_client	cl;
	struct vt_stream	hs;
	struct vt_killer	k;
	struct vt_gconn		g[2];
	pthread_t		th[2];
	const uint64_t		n = 64u << 20;
	uint64_t		got, bad;
	char			line[64];
	long			t_end;
	int			lfd, fd, c, rc;

	vt_start_vhostd();
	vt_start_guest(0);
	memset(&k, 0, sizeof(k));
	k.k_pid = vproc_child_pid(&it_vp, "vs", 0, 5000);
	cr_assert_gt(k.k_pid, 0);
	cr_assert_eq(vsv_listen(&vt_v, 2000), 0);
	memset(&cl, 0, sizeof(cl));
	cl.cl_port = 2000;
	cl.cl_s.s_out = n;
	cr_assert_eq(pthread_create(&th[0], NULL, vt_client_run, &cl), 0);
	memset(g, 0, sizeof(g));
	g[0].g_c = vsv_accept(&vt_v, 2000, 10000);
	cr_assert_geq(g[0].g_c, 0);
	g[0].g_out = n;
	lfd = vt_host_listen(6000);
	g[1].g_c = vsv_connect(&vt_v, 6000, 10000);
	cr_assert_geq(g[1].g_c, 0);
	g[1].g_out = n;
	memset(&hs, 0, sizeof(hs));
	hs.s_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(hs.s_fd, 0);
	hs.s_out = n;
	cr_assert_eq(pthread_create(&th[1], NULL, vt_stream_run, &hs), 0);
	k.k_a = &g[0].g_got;
	k.k_b = &g[1].g_got;
	rc = vt_guest_run(g, 2, 120000, vt_kill_probe, &k);
	cr_assert_neq(k.k_at, 0, "the streams never got going");
	cr_assert_eq(rc, -ECONNRESET, "guest: %d", rc);
	/* Both host peers see the end promptly. */
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	t_end = vt_now_ms();
	printf("child killed after %llu + %llu bytes; host peers saw the end "
	    "%ld ms later (errors: %s / %s)\n",
	    (unsigned long long)g[0].g_got, (unsigned long long)g[1].g_got,
	    t_end - k.k_at, strerror(cl.cl_s.s_err), strerror(hs.s_err));
	cr_assert_lt(t_end - k.k_at, 10000);
	cr_assert_lt(cl.cl_s.s_got, n);
	cr_assert_lt(hs.s_got, n);
	cr_assert_eq(cl.cl_s.s_bad, 0);
	cr_assert_eq(hs.s_bad, 0);
	close(cl.cl_s.s_fd);
	close(hs.s_fd);

	/* QEMU reconnects; the new child says TRANSPORT_RESET. */
	cr_assert_gt(vproc_child_pid(&it_vp, "vs", 1, 10000), 0,
	    "no new child; vhostd:\n%s", vt_log());
	rc = vsv_reconnect(&vt_v, it_path("vu"), 20000);
	cr_assert_eq(rc, 0, "reconnect: %s; vhostd:\n%s",
	    vuf_error(&vt_v.v_f), vt_log());
	cr_assert_eq(vt_v.v_events, 2);
	cr_assert_eq(vt_v.v_conn[g[0].g_c].c_state, VSV_RESET);
	cr_assert_eq(vt_v.v_conn[g[1].g_c].c_state, VSV_RESET);
	vsv_reset(&vt_v, g[0].g_c);
	vsv_reset(&vt_v, g[1].g_c);

	/* New connections both ways. */
	c = vsv_connect(&vt_v, 6000, 10000);
	cr_assert_geq(c, 0, "connect after restart: %d %s", c,
	    vuf_error(&vt_v.v_f));
	memset(&hs, 0, sizeof(hs));
	hs.s_fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	hs.s_out = 1u << 20;
	hs.s_sseed = 3;
	hs.s_rseed = 4;
	cr_assert_eq(pthread_create(&th[1], NULL, vt_stream_run, &hs), 0);
	rc = vt_guest_stream(c, 4, 1u << 20, 3, &got, &bad, 0, 60000);
	pthread_join(th[1], NULL);
	cr_assert_eq(rc, 0);
	cr_assert_eq(got, 1u << 20);
	cr_assert_eq(bad, 0);
	cr_assert_eq(hs.s_got, 1u << 20);
	cr_assert_eq(hs.s_bad, 0);
	close(hs.s_fd);

	fd = vt_unix_connect(it_path("vs"));
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "CONNECT 2000\n", 13), 13);
	c = vsv_accept(&vt_v, 2000, 10000);
	cr_assert_geq(c, 0);
	cr_assert_gt(vt_read_line(fd, line, sizeof(line), 10000), 0);
	cr_assert_eq(strncmp(line, "OK ", 3), 0);
	memset(&hs, 0, sizeof(hs));
	hs.s_fd = fd;
	hs.s_out = 1u << 20;
	hs.s_sseed = 5;
	hs.s_rseed = 6;
	cr_assert_eq(pthread_create(&th[0], NULL, vt_stream_run, &hs), 0);
	rc = vt_guest_stream(c, 6, 1u << 20, 5, &got, &bad, 0, 60000);
	pthread_join(th[0], NULL);
	cr_assert_eq(rc, 0);
	cr_assert_eq(got, 1u << 20);
	cr_assert_eq(bad, 0);
	cr_assert_eq(hs.s_got, 1u << 20);
	close(fd);
	close(lfd);
	it_stop(&it_vp);
}
