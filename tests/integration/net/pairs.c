/*
 * net_test: two queue pairs both carry traffic; a SIGKILLed child is
 * restarted and serves again; the counters in ctl stats; a pair the guest
 * does not use.
 */

#include "../itest.h"

#include "net_harness.h"

static void
fill_udp(uint8_t *f, size_t len, uint32_t k)
{
	size_t	i;

	memset(f, 0, len);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 17;			/* UDP */
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	f[34] = (uint8_t)(1000 + k) >> 8;
	f[35] = (uint8_t)(1000 + k);
	f[36] = 0x1f;
	f[37] = (uint8_t)k;
	f[38] = (uint8_t)((len - 34) >> 8);
	f[39] = (uint8_t)(len - 34);
	for (i = 42; i < len; i++)
		f[i] = (uint8_t)(k + i);
}

/* Two queue pairs: both transmit, and the tap's flows reach both rx rings. */
Test(net, two_queue_pairs_both_carry_traffic)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[256], got[2048];
	const char	*st;
	unsigned int	 nb, k, pair, per[2] = { 0, 0 };
	uint32_t	 seq;
	size_t		 len;
	long		 deadline;
	ssize_t		 m;
	int		 s;

	s = net_up(sock, ",queues=2", 0);
	guest_up(&f, &n, sock, F_MRG, 2, 2048);
	cr_assert_geq(f.f_nqueues, 4, "GET_QUEUE_NUM: %u", f.f_nqueues);
	for (pair = 0; pair < 2; pair++) {
		memset(hdr, 0, sizeof(hdr));
		fill_frame(frame, 100, 700 + pair);
		cr_assert_eq(vuf_net_send(&n, pair, hdr, 12, frame, 100,
		    false), 0, "%s", vuf_error(&f));
		m = packet_recv(s, got, sizeof(got), &seq, 5000);
		cr_assert_eq(m, 100);
		cr_assert_eq(seq, 700 + pair, "pair %u", pair);
	}
	/* 64 flows into the tap: by hash, both queues get some. */
	for (k = 0; k < 64; k++) {
		fill_udp(frame, 200, k);
		packet_send(s, frame, 200);
	}
	deadline = now_ms() + 10000;
	while (per[0] + per[1] < 64 && now_ms() < deadline) {
		for (pair = 0; pair < 2; pair++) {
			if (vuf_net_recv(&n, pair, hdr, got, sizeof(got), &len,
			    &nb, 20) != 0)
				continue;
			if (len == 200 && got[23] == 17 && got[36] == 0x1f)
				per[pair]++;
		}
	}
	fprintf(stderr, "net_test: 64 flows: %u on pair 0, %u on pair 1\n",
	    per[0], per[1]);
	cr_assert_eq(per[0] + per[1], 64);
	cr_assert_gt(per[0], 0);
	cr_assert_gt(per[1], 0);
	close(s);
	st = stats_after(&f, 1, "tx", 0);
	cr_assert_eq(stat_of(st, "frames"), 1, "%s", st);
	st = stats_after(&f, 1, "rx", 0);
	cr_assert_geq(stat_of(st, "frames"), per[1], "%s", st);
	it_stop(&it_vp);
}

/* A SIGKILLed child is restarted on the same tap and serves again. */
Test(net, killed_child_is_restarted_and_serves_again)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[300], got[2048];
	unsigned int	 round, nb;
	uint32_t	 seq;
	size_t		 len;
	ssize_t		 m;
	pid_t		 c;
	int		 s;

	s = net_up(sock, "", 0);
	for (round = 0; round < 2; round++) {
		c = vproc_child_pid(&it_vp, "net", round, VPROC_TIMEOUT_MS);
		cr_assert_gt(c, 0, "child %u:\n%s", round, it_vp.vp_log);
		guest_up(&f, &n, sock, F_MRG, 1, 2048);
		memset(hdr, 0, sizeof(hdr));
		fill_frame(frame, sizeof(frame), 800 + round);
		cr_assert_eq(vuf_net_send(&n, 0, hdr, 12, frame,
		    sizeof(frame), false), 0, "%s", vuf_error(&f));
		m = packet_recv(s, got, sizeof(got), &seq, 5000);
		cr_assert_eq(m, (ssize_t)sizeof(frame));
		cr_assert_eq(seq, 800 + round);
		fill_frame(frame, sizeof(frame), 900 + round);
		packet_send(s, frame, sizeof(frame));
		do {
			cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got),
			    &len, &nb, 5000), 0, "round %u: %s", round,
			    vuf_error(&f));
		} while (!is_test_frame(got, len, &seq));
		cr_assert_eq(seq, 900 + round);
		if (round == 0) {
			cr_assert_eq(kill(c, SIGKILL), 0);
			cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0);
		}
		vuf_fini(&f);
	}
	close(s);
	it_stop(&it_vp);
}

/* vhostd ctl --control=ctl stats ARGS: stdout (static), exit 0. */
static const char *
ctl_stats(const char *ctl, const char *opt)
{
	static char	out[65536];
	char		*argv[8], err[512];
	int		 n = 0, st;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"ctl";
	argv[n++] = it_fmt("--control=%s", ctl);
	argv[n++] = (char *)"stats";
	argv[n++] = (char *)opt;
	argv[n++] = (char *)"n";
	argv[n] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert_eq(st, 0, "vhostd ctl stats: status %d: %s\n%s", st, err,
	    it_vp.vp_log);
	return out;
}

/* The value of the first line of text starting with prefix, or -1. */
static long long
prom_value(const char *text, const char *prefix)
{
	const char	*p = text;

	while ((p = strstr(p, prefix)) != NULL) {
		if ((p == text || p[-1] == '\n') &&
		    (p = strchr(p, ' ')) != NULL)
			return strtoll(p + 1, NULL, 10);
		p++;
	}
	return -1;
}

/*
 * The counters reach the parent while the child serves: vhostd ctl stats
 * shows net's frames, bytes and drops by reason per ring.
 */
Test(net, counters_in_ctl_stats)
{
	const char	*sock = it_path("net.sock"), *ctl = it_path("ctl");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[200];
	const char	*out;
	unsigned int	 i;
	long		 deadline;

	enter_netns();
	it_start(&it_vp, "--control", ctl, "--device", it_fmt("net,name=n,"
	    "socket=%s,tap=%s,tap-create=on", sock, tap_name), NULL);
	if_up(tap_name, 0);
	guest_up(&f, &n, sock, F_MRG, 1, 2048);
	for (i = 0; i < 3; i++) {
		memset(hdr, 0, sizeof(hdr));
		fill_frame(frame, sizeof(frame), i);
		cr_assert_eq(vuf_net_send(&n, 0, hdr, 12, frame, sizeof(frame),
		    false), 0, "%s", vuf_error(&f));
	}
	hdr[0] = 2;			/* DATA_VALID: not on tx */
	cr_assert_eq(vuf_net_send(&n, 0, hdr, 12, frame, sizeof(frame),
	    false), 0, "%s", vuf_error(&f));
	deadline = now_ms() + 5000;
	do {
		out = ctl_stats(ctl, "--prometheus");
	} while (prom_value(out, "vhostd_net_drops_total{device=\"n\","
	    "queue=\"1\",kind=\"bad_flags\"}") < 1 && now_ms() < deadline);
	fprintf(stderr, "net_test: stats:\n%s", out);
	cr_assert_eq(prom_value(out, "vhostd_net_frames_total{device=\"n\","
	    "queue=\"1\"}"), 3, "%s", out);
	cr_assert_eq(prom_value(out, "vhostd_net_bytes_total{device=\"n\","
	    "queue=\"1\"}"), 600, "%s", out);
	cr_assert_eq(prom_value(out, "vhostd_net_drops_total{device=\"n\","
	    "queue=\"1\",kind=\"bad_flags\"}"), 1, "%s", out);
	vuf_fini(&f);
	it_stop(&it_vp);
}

/*
 * Two pairs offered, the guest uses one (as a one-vCPU Linux guest does):
 * the unused pair's tap queue is detached, so every flow reaches pair 0
 * instead of half of them waiting on a queue nobody reads.
 */
Test(net, a_pair_the_guest_does_not_use_gets_no_frames)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[256], got[2048];
	unsigned int	 nb, k, seen = 0;
	size_t		 len;
	long		 deadline;
	int		 s;

	s = net_up(sock, ",queues=2", 0);
	guest_up(&f, &n, sock, F_MRG, 1, 2048);
	for (k = 0; k < 64; k++) {
		fill_udp(frame, 200, k);
		packet_send(s, frame, 200);
	}
	deadline = now_ms() + 10000;
	while (seen < 64 && now_ms() < deadline) {
		if (vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len, &nb,
		    100) != 0)
			continue;
		if (len == 200 && got[23] == 17 && got[36] == 0x1f)
			seen++;
	}
	fprintf(stderr, "net_test: 64 flows, one pair in use: %u arrived\n",
	    seen);
	cr_assert_eq(seen, 64, "%u of 64 flows reached the guest", seen);
	close(s);
	vuf_fini(&f);
	it_stop(&it_vp);
}

/* utime + stime of pid, in clock ticks. */
