/*
 * net_test.c - the virtio-net device end to end without a VM: vhostd
 * (real jailed children, net.policy) serves a tap it creates
 * (tap-create=on) in a network namespace this test process makes for
 * itself (Criterion runs each test in its own process: the namespace, the
 * tap and every frame die with it; no address is assigned anywhere), and
 * the in-tree front end (tests/frontend/vuf_net.c) is the guest.  The
 * tap's kernel side is a raw AF_PACKET socket bound to it.
 *
 * Frames guest -> tap and tap -> guest arrive intact and are counted
 * (the child logs each ring's counters when it stops); a frame too big
 * for the rx buffers is dropped and counted, never delivered cut; a tx
 * frame with a bad header is dropped and counted; two queue pairs both
 * carry traffic; a SIGKILLed child is restarted and serves again.
 */
#include <poll.h>
#include <sched.h>
#include <time.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#include "itest.h"
#include "vuf_net.h"

#define ETH_P_TEST	0x88b5		/* IEEE local experimental */
#define NET_MEM		(8u << 20)

TestSuite(net, .init = it_setup, .fini = it_teardown, .timeout = 120);

static char	tap_name[IFNAMSIZ];

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This test process into a network namespace of its own. */
static void
enter_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace and a tap");
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		cr_skip_test("/dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) == -1)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
	snprintf(tap_name, sizeof(tap_name), "vhd%d", (int)getpid() % 100000);
}

static void
if_up(const char *name, unsigned int mtu)
{
	struct ifreq	ifr;
	int		s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (mtu != 0) {
		ifr.ifr_mtu = (int)mtu;
		cr_assert_eq(ioctl(s, SIOCSIFMTU, &ifr), 0, "mtu %s: %s", name,
		    strerror(errno));
	}
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "up %s: %s", name,
	    strerror(errno));
	close(s);
}

/* The tap's kernel side: frames the guest sent, frames for the guest. */
static int
packet_socket(const char *name)
{
	struct sockaddr_ll	sll;
	int			s;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    htons(ETH_P_ALL));
	cr_assert_geq(s, 0, "AF_PACKET: %s", strerror(errno));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(name);
	cr_assert_neq(sll.sll_ifindex, 0, "no interface %s", name);
	cr_assert_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

/* A test frame: broadcast, our ethertype, seq and a pattern. */
static void
fill_frame(uint8_t *f, size_t len, uint32_t seq)
{
	size_t	i;

	memset(f, 0xff, 6);
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	memcpy(f + 14, &seq, sizeof(seq));
	for (i = 18; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

static bool
is_test_frame(const uint8_t *f, size_t len, uint32_t *seq)
{
	if (len < 18 || f[12] != (ETH_P_TEST >> 8) ||
	    f[13] != (ETH_P_TEST & 0xff))
		return false;
	memcpy(seq, f + 14, sizeof(*seq));
	return true;
}

/*
 * Read frames on the packet socket until one of ours comes (the stack of
 * a fresh interface sends IPv6 frames of its own), within timeout_ms.
 * Its length, or -1.
 */
static ssize_t
packet_recv(int s, uint8_t *buf, size_t len, uint32_t *seq, int timeout_ms)
{
	long	deadline = now_ms() + timeout_ms;
	ssize_t	n;

	for (;;) {
		struct pollfd	pfd = { .fd = s, .events = POLLIN };
		long		left = deadline - now_ms();

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if ((n = recv(s, buf, len, 0)) < 0)
			continue;
		if (is_test_frame(buf, (size_t)n, seq))
			return n;
	}
}

/* A frame from the kernel side into the tap: it goes to the guest. */
static void
packet_send(int s, const uint8_t *f, size_t len)
{
	cr_assert_eq(send(s, f, len, 0), (ssize_t)len, "send %zu: %s", len,
	    strerror(errno));
}

/*
 * Start vhostd with a net device on a tap it creates, and bring the tap
 * up (with mtu when not 0).  extra: more keys (",queues=2"), or "".
 */
static void
start_net(const char *sock, const char *extra, unsigned int tap_mtu)
{
	it_start(&it_vp, "--device", it_fmt("net,socket=%s,tap=%s,"
	    "tap-create=on%s", sock, tap_name, extra), NULL);
	if_up(tap_name, tap_mtu);
}

/*
 * The guest side: rings of npairs up, rx buffers posted.  protocol: the
 * protocol features wanted (0: the front end's defaults).
 */
static void
guest_up_proto(struct vuf *f, struct vuf_net *n, const char *sock,
    uint64_t features, unsigned int npairs, uint32_t rxsize,
    uint64_t protocol)
{
	struct vuf_opts	o;
	unsigned int	i;

	vuf_init(f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = NET_MEM;
	o.o_features = features;
	o.o_protocol = protocol;
	o.o_nqueues = 2 * npairs;
	cr_assert_eq(vuf_setup(f, sock, &o), 0, "%s\n%s", vuf_error(f),
	    it_vp.vp_log);
	vuf_net_init(n, f);
	for (i = 0; i < npairs; i++)
		cr_assert_eq(vuf_net_post_rx(n, i, 64, rxsize), 0, "%s",
		    vuf_error(f));
}

static void
guest_up(struct vuf *f, struct vuf_net *n, const char *sock,
    uint64_t features, unsigned int npairs, uint32_t rxsize)
{
	guest_up_proto(f, n, sock, features, npairs, rxsize, 0);
}

#define F_BASE	((1ull << VIRTIO_F_VERSION_1) | \
		 (1ull << VIRTIO_RING_F_EVENT_IDX) | \
		 (1ull << VUF_NET_F_MAC) | (1ull << VUF_NET_F_STATUS))
#define F_MRG	(F_BASE | (1ull << VUF_NET_F_MRG_RXBUF))

/*
 * Disconnect the guest and wait for the child's counters of ring dir
 * ("rx" or "tx") of pair; the line's text after "net: pair P DIR: ".
 */
static const char *
stats_after(struct vuf *f, unsigned int pair, const char *dir, size_t from)
{
	static char	lines[4][512];
	static int	k;
	char		*line = lines[k++ % 4];
	const char	*p, *e;
	char		needle[64];
	long		off;

	vuf_fini(f);
	snprintf(needle, sizeof(needle), "net: pair %u %s: ", pair, dir);
	off = vproc_wait_log(&it_vp, needle, from, VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "no counters for %s:\n%s", needle, it_vp.vp_log);
	p = it_vp.vp_log + off;
	e = strchr(p, '\n');
	snprintf(line, sizeof(lines[0]), "%.*s", e != NULL ? (int)(e - p) :
	    (int)strlen(p), p);
	return line;
}

static uint64_t
stat_of(const char *line, const char *name)
{
	char		 key[64];
	const char	*p;

	snprintf(key, sizeof(key), "%s=", name);
	for (p = line; (p = strstr(p, key)) != NULL; p++)
		if (p == line || p[-1] == ' ')
			return strtoull(p + strlen(key), NULL, 10);
	return 0;
}

Test(net, frames_both_ways_arrive_intact_and_counted)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[1514], got[2048];
	const char	*rx, *tx;
	unsigned int	 nb, i;
	uint32_t	 seq;
	size_t		 len, sent_bytes = 0, recv_bytes = 0;
	ssize_t		 m;
	int		 s;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	guest_up(&f, &n, sock, F_MRG, 1, 2048);
	cr_assert(vuf_has_feature(&f, VUF_NET_F_MRG_RXBUF));
	/* Guest -> tap: sizes from the smallest to a full 1500-byte MTU. */
	for (i = 0; i < 20; i++) {
		len = i == 19 ? 1514 : 60 + i * 71;
		fill_frame(frame, len, 100 + i);
		memset(hdr, 0, sizeof(hdr));
		cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, len,
		    i % 2 == 1), 0, "%s", vuf_error(&f));
		m = packet_recv(s, got, sizeof(got), &seq, 5000);
		cr_assert_eq(m, (ssize_t)len, "frame %u: %zd bytes at the tap",
		    i, m);
		cr_assert_eq(seq, 100 + i);
		cr_assert_eq(memcmp(got, frame, len), 0, "frame %u differs", i);
		sent_bytes += len;
	}
	/* Tap -> guest. */
	for (i = 0; i < 20; i++) {
		len = i == 19 ? 1514 : 60 + i * 71;
		fill_frame(frame, len, 200 + i);
		packet_send(s, frame, len);
		do {
			cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got),
			    &len, &nb, 5000), 0, "frame %u: %s\n%s", i,
			    vuf_error(&f), it_vp.vp_log);
		} while (!is_test_frame(got, len, &seq));	/* IPv6 noise */
		cr_assert_eq(seq, 200 + i);
		cr_assert_eq(len, i == 19 ? 1514 : 60 + i * 71);
		cr_assert_eq(memcmp(got, frame, len), 0, "frame %u differs", i);
		cr_assert_eq(nb, 1, "a 2 KiB buffer holds it");
		cr_assert_eq(hdr[10] | hdr[11] << 8, 1, "num_buffers");
		recv_bytes += len;
	}
	close(s);
	tx = stats_after(&f, 0, "tx", 0);
	rx = stats_after(&f, 0, "rx", 0);
	fprintf(stderr, "net_test: tx %s\nnet_test: rx %s\n", tx, rx);
	cr_assert_eq(stat_of(tx, "frames"), 20);
	cr_assert_eq(stat_of(tx, "bytes"), sent_bytes);
	cr_assert_geq(stat_of(rx, "frames"), 20, "IPv6 frames count too");
	cr_assert_geq(stat_of(rx, "bytes"), recv_bytes);
	cr_assert_eq(strstr(rx, "drops:"), NULL, "%s", rx);
	cr_assert_eq(strstr(tx, "drops:"), NULL, "%s", tx);
	it_stop(&it_vp);
	cr_assert_eq(if_nametoindex(tap_name), 0, "tap-create=on: removed");
}

/*
 * Without MRG_RXBUF each frame takes one buffer: a frame longer than the
 * buffer is dropped and counted (the tap would deliver it cut), and the
 * buffer serves the next frame.
 */
Test(net, rx_frame_too_big_for_the_buffers_is_dropped_and_counted)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[1514], got[2048];
	const char	*rx;
	unsigned int	 nb;
	uint32_t	 seq;
	size_t		 len;
	int		 s;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	/* 12-byte header + 500 bytes of frame per buffer. */
	guest_up(&f, &n, sock, F_BASE, 1, 512);
	cr_assert(!vuf_has_feature(&f, VUF_NET_F_MRG_RXBUF));
	fill_frame(frame, 1000, 1);
	packet_send(s, frame, 1000);
	fill_frame(frame, 500, 2);		/* exactly fills a buffer */
	packet_send(s, frame, 500);
	fill_frame(frame, 501, 3);		/* one byte too many */
	packet_send(s, frame, 501);
	fill_frame(frame, 300, 4);
	packet_send(s, frame, 300);
	do {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%s\n%s", vuf_error(&f), it_vp.vp_log);
	} while (!is_test_frame(got, len, &seq));
	cr_assert_eq(seq, 2, "frame 1 (1000 bytes) was not dropped");
	cr_assert_eq(len, 500);
	cr_assert_eq(memcmp(got, frame, 14), 0);
	do {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%s", vuf_error(&f));
	} while (!is_test_frame(got, len, &seq));
	cr_assert_eq(seq, 4, "frame 3 (501 bytes) was not dropped");
	cr_assert_eq(len, 300);
	cr_assert_eq(memcmp(got, frame, 300), 0);
	close(s);
	rx = stats_after(&f, 0, "rx", 0);
	fprintf(stderr, "net_test: rx %s\n", rx);
	cr_assert_eq(stat_of(rx, "drops:rx_no_room"), 2, "%s", rx);
	it_stop(&it_vp);
}

/*
 * Mergeable buffers: a frame spans several small buffers (num_buffers),
 * and a frame longer than the largest the device prepares for (the MTU:
 * here the tap's MTU is raised past the device's) is dropped, not cut.
 */
Test(net, mergeable_rx_spans_buffers_and_drops_what_cannot_fit)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[4000], got[8192];
	const char	*rx;
	unsigned int	 nb;
	uint32_t	 seq;
	size_t		 len;
	int		 s;

	enter_netns();
	start_net(sock, ",mtu=1500", 4000);
	s = packet_socket(tap_name);
	guest_up(&f, &n, sock, F_MRG, 1, 256);
	fill_frame(frame, 1514, 7);
	packet_send(s, frame, 1514);
	fill_frame(frame, 3000, 8);		/* > 1500 + 18 */
	packet_send(s, frame, 3000);
	fill_frame(frame, 700, 9);
	packet_send(s, frame, 700);
	do {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%s\n%s", vuf_error(&f), it_vp.vp_log);
	} while (!is_test_frame(got, len, &seq));
	cr_assert_eq(seq, 7);
	cr_assert_eq(len, 1514);
	fill_frame(frame, 1514, 7);
	cr_assert_eq(memcmp(got, frame, len), 0);
	cr_assert_eq(nb, 6, "(12 + 1514) / 256 -> 6 buffers, got %u", nb);
	cr_assert_eq(hdr[10] | hdr[11] << 8, 6);
	do {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%s", vuf_error(&f));
	} while (!is_test_frame(got, len, &seq));
	cr_assert_eq(seq, 9, "the 3000-byte frame was not dropped");
	fill_frame(frame, 700, 9);
	cr_assert_eq(len, 700);
	cr_assert_eq(memcmp(got, frame, len), 0);
	cr_assert_eq(nb, 3);
	close(s);
	rx = stats_after(&f, 0, "rx", 0);
	fprintf(stderr, "net_test: rx %s\n", rx);
	cr_assert_eq(stat_of(rx, "drops:rx_no_room"), 1, "%s", rx);
	it_stop(&it_vp);
}

/* Hostile transmit headers are dropped and counted; good frames pass. */
Test(net, tx_bad_headers_are_dropped_and_counted)
{
	static const struct {
		uint8_t		flags, gso;
		uint16_t	csum_start, csum_offset, gso_size;
		size_t		hlen;
		const char	*reason;
	} bad[] = {
		{ 2, 0, 0, 0, 0, 12, "drops:bad_flags" },	/* DATA_VALID */
		{ 1, 0, 20, 6, 0, 12, "drops:csum_unacked" },	/* no CSUM */
		{ 0, 9, 0, 0, 0, 12, "drops:gso_type" },
		{ 0, 1, 0, 0, 1000, 12, "drops:gso_unacked" },	/* TSO4 */
		{ 0, 0, 0, 0, 0, 6, "drops:short_hdr" },		/* 6 bytes */
	};
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[200], got[2048];
	const char	*tx;
	uint32_t	 seq;
	size_t		 i;
	ssize_t		 m;
	int		 s;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	guest_up(&f, &n, sock, F_BASE, 1, 2048);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(hdr, 0, sizeof(hdr));
		hdr[0] = bad[i].flags;
		hdr[1] = bad[i].gso;
		hdr[4] = (uint8_t)bad[i].gso_size;
		hdr[5] = (uint8_t)(bad[i].gso_size >> 8);
		hdr[6] = (uint8_t)bad[i].csum_start;
		hdr[8] = (uint8_t)bad[i].csum_offset;
		fill_frame(frame, sizeof(frame), 500 + (uint32_t)i);
		/* A 6-byte chain: header only, cut short. */
		cr_assert_eq(vuf_net_send(&n, 0, hdr, bad[i].hlen, frame,
		    bad[i].hlen < 12 ? 0 : sizeof(frame), false), 0, "%s",
		    vuf_error(&f));
	}
	memset(hdr, 0, sizeof(hdr));
	fill_frame(frame, sizeof(frame), 600);
	cr_assert_eq(vuf_net_send(&n, 0, hdr, 12, frame, sizeof(frame),
	    false), 0, "%s", vuf_error(&f));
	m = packet_recv(s, got, sizeof(got), &seq, 5000);
	cr_assert_eq(m, (ssize_t)sizeof(frame));
	cr_assert_eq(seq, 600, "frame %u with a bad header reached the tap",
	    seq);
	cr_assert_eq(memcmp(got, frame, sizeof(frame)), 0);
	close(s);
	tx = stats_after(&f, 0, "tx", 0);
	fprintf(stderr, "net_test: tx %s\n", tx);
	cr_assert_eq(stat_of(tx, "frames"), 1, "%s", tx);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(stat_of(tx, bad[i].reason), 1, "%s: %s",
		    bad[i].reason, tx);
	it_stop(&it_vp);
}

/* A UDP/IPv4 frame of flow k (ports differ: the tap spreads the flows). */
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

	enter_netns();
	start_net(sock, ",queues=2", 0);
	s = packet_socket(tap_name);
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

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
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

	enter_netns();
	start_net(sock, ",queues=2", 0);
	s = packet_socket(tap_name);
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
static long
cpu_ticks(pid_t pid)
{
	char		 buf[1024], *p;
	long		 ut = 0, st = 0;
	FILE		*fp;

	snprintf(buf, sizeof(buf), "/proc/%d/stat", (int)pid);
	cr_assert_not_null(fp = fopen(buf, "r"));
	cr_assert_not_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	cr_assert_not_null(p = strrchr(buf, ')'));
	cr_assert_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u "
	    "%*u %ld %ld", &ut, &st), 2);
	return ut + st;
}

/*
 * Frames for a guest that has posted no rx buffers: the child stops
 * reading the tap (no busy loop on a readable tap) until the guest kicks
 * the ring with buffers; then the frames waiting in the tap arrive.
 */
Test(net, rx_without_buffers_waits_for_a_kick_without_spinning)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	struct vuf_opts	 o;
	uint8_t		 hdr[12], frame[300], got[2048];
	const char	*rx;
	unsigned int	 nb, i, seen = 0;
	uint32_t	 seq;
	size_t		 len;
	long		 t0, c0, c1;
	pid_t		 c;
	int		 s;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	c = vproc_child_pid(&it_vp, "net", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c, 0);
	vuf_init(&f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = NET_MEM;
	o.o_features = F_MRG;
	o.o_nqueues = 2;
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s", vuf_error(&f));
	vuf_net_init(&n, &f);
	for (i = 0; i < 5; i++) {
		fill_frame(frame, sizeof(frame), 1000 + i);
		packet_send(s, frame, sizeof(frame));
	}
	/* A measuring window, not a synchronisation: the tap stays readable. */
	c0 = cpu_ticks(c);
	t0 = now_ms();
	usleep(2000 * 1000);
	c1 = cpu_ticks(c);
	fprintf(stderr, "net_test: child cpu with a readable tap and no rx "
	    "buffers: %ld ticks in %ld ms\n", c1 - c0, now_ms() - t0);
	cr_assert_leq(c1 - c0, 10, "the child spins: %ld ticks", c1 - c0);
	cr_assert_eq(vuf_net_post_rx(&n, 0, 16, 2048), 0, "%s",
	    vuf_error(&f));
	while (seen < 5) {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%u of 5 frames: %s", seen, vuf_error(&f));
		if (is_test_frame(got, len, &seq)) {
			cr_assert_eq(seq, 1000 + seen, "in order");
			seen++;
		}
	}
	close(s);
	rx = stats_after(&f, 0, "rx", 0);
	fprintf(stderr, "net_test: rx %s\n", rx);
	cr_assert_geq(stat_of(rx, "rx_waits"), 1, "%s", rx);
	it_stop(&it_vp);
}

/* A tap the test opens itself, as a VM manager does (IFF_VNET_HDR...). */
static int
open_tap_fd(const char *name)
{
	struct ifreq	ifr;
	int		fd;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s",
	    strerror(errno));
	return fd;
}

/* One frame each way through the device at sock. */
static void
one_frame_each_way(const char *sock, int s, uint32_t mark)
{
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[400], got[2048];
	unsigned int	 nb;
	uint32_t	 seq;
	size_t		 len;
	ssize_t		 m;

	guest_up(&f, &n, sock, F_MRG, 1, 2048);
	memset(hdr, 0, sizeof(hdr));
	fill_frame(frame, sizeof(frame), mark);
	cr_assert_eq(vuf_net_send(&n, 0, hdr, 12, frame, sizeof(frame),
	    false), 0, "%s", vuf_error(&f));
	m = packet_recv(s, got, sizeof(got), &seq, 5000);
	cr_assert_eq(m, (ssize_t)sizeof(frame));
	cr_assert_eq(seq, mark);
	fill_frame(frame, sizeof(frame), mark + 1);
	packet_send(s, frame, sizeof(frame));
	do {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%s", vuf_error(&f));
	} while (!is_test_frame(got, len, &seq));
	cr_assert_eq(seq, mark + 1);
	cr_assert_eq(memcmp(got, frame, sizeof(frame)), 0);
	vuf_fini(&f);
}

/* tap-fd=: a tap fd passed in (libvirt's way) is served. */
Test(net, a_tap_fd_passed_in_is_served)
{
	const char		*sock = it_path("net.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	int			 fd, s;

	enter_netns();
	fd = open_tap_fd(tap_name);
	/* Persistent: it outlives its fds, unless vhostd removed it. */
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	o.o_fds = &fd;
	o.o_nfds = 1;			/* fd 3 in vhostd */
	it_start_opts(&it_vp, true, &o, "--device", it_fmt("net,socket=%s,"
	    "tap-fd=3", sock), NULL);
	close(fd);			/* vhostd holds it now */
	if_up(tap_name, 0);
	s = packet_socket(tap_name);
	one_frame_each_way(sock, s, 1100);
	close(s);
	it_stop(&it_vp);
	cr_assert_neq(if_nametoindex(tap_name), 0, "a tap passed in is the "
	    "manager's: vhostd removed it");
}

/* The backend program: vhostd net --socket-path=... --tap=... */
Test(net, the_backend_program_serves)
{
	const char	*sock = it_path("net.sock");
	char		*argv[8];
	long		 deadline;
	int		 s, fd;

	enter_netns();
	fd = open_tap_fd(tap_name);
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	if_up(tap_name, 0);
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"net";
	argv[2] = it_fmt("--socket-path=%s", sock);
	argv[3] = it_fmt("--tap=%s", tap_name);
	argv[4] = (char *)"--policy-dir";
	argv[5] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[6] = NULL;
	cr_assert_eq(vproc_start(&it_vp, argv, NULL), 0);
	deadline = now_ms() + VPROC_TIMEOUT_MS;
	while (!it_connects(sock) && now_ms() < deadline)
		usleep(10 * 1000);
	cr_assert(it_connects(sock), "not serving:\n%s", it_vp.vp_log);
	s = packet_socket(tap_name);
	one_frame_each_way(sock, s, 1200);
	close(s);
	/* One front end, then the process ends (restart=never). */
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0,
	    "still running:\n%s", it_vp.vp_log);
}

/*
 * rx buffers smaller than the virtio-net header (5.1.6.3.1 forbids them):
 * the device sets NEEDS_RESET and stops, the child stays up, nothing is
 * written past the buffers.
 */
Test(net, rx_buffers_smaller_than_the_header_break_the_device)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 frame[200], st = 0, *guard;
	uint64_t	 gpa;
	long		 deadline;
	int		 s, i;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	guest_up(&f, &n, sock, F_MRG, 1, 8);
	cr_assert_not_null(guard = vuf_alloc(&f, 64, 64, &gpa));
	memset(guard, 0x5a, 64);
	fill_frame(frame, sizeof(frame), 1300);
	packet_send(s, frame, sizeof(frame));
	deadline = now_ms() + VPROC_TIMEOUT_MS;
	do {
		cr_assert_eq(vuf_get_status(&f, &st), 0, "%s\n%s",
		    vuf_error(&f), it_vp.vp_log);
	} while (!(st & VIRTIO_CONFIG_S_NEEDS_RESET) && now_ms() < deadline &&
	    usleep(10 * 1000) == 0);
	cr_assert(st & VIRTIO_CONFIG_S_NEEDS_RESET, "status 0x%x\n%s", st,
	    it_vp.vp_log);
	cr_assert_eq(vuf_vq_pending(&f, 0), 0, "a buffer was used");
	for (i = 0; i < 64; i++)
		cr_assert_eq(guard[i], 0x5a, "written past the rx buffers");
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	close(s);
	vuf_fini(&f);
	it_stop(&it_vp);
}

/*
 * A transmit header spread over twelve one-byte segments, the frame over
 * eight more: read whole, the frame reaches the tap intact.
 */
Test(net, tx_header_and_frame_over_many_segments)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	struct vuf_seg	 segs[20];
	uint8_t		 frame[800], got[2048], *buf;
	const char	*tx;
	uint64_t	 gpa;
	uint32_t	 seq, len;
	unsigned int	 i, k = 0;
	ssize_t		 m;
	int		 s;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	guest_up(&f, &n, sock, F_MRG, 1, 2048);
	cr_assert_not_null(buf = vuf_alloc(&f, 4096, 64, &gpa));
	memset(buf, 0, 12);
	fill_frame(frame, sizeof(frame), 1400);
	memcpy(buf + 64, frame, sizeof(frame));
	for (i = 0; i < 12; i++)
		segs[k++] = (struct vuf_seg){ gpa + i * 4, 1, false };
	/* Header bytes 4 apart: put them there. */
	for (i = 0; i < 12; i++)
		buf[i * 4] = 0;
	for (i = 0; i < 8; i++)
		segs[k++] = (struct vuf_seg){ gpa + 64 + i * 100, 100, false };
	cr_assert_eq(vuf_vq_exec(&f, 1, segs, k, false, &len), 0, "%s",
	    vuf_error(&f));
	m = packet_recv(s, got, sizeof(got), &seq, 5000);
	cr_assert_eq(m, (ssize_t)sizeof(frame));
	cr_assert_eq(seq, 1400);
	cr_assert_eq(memcmp(got, frame, sizeof(frame)), 0);
	/* The second header byte, in its own segment, is read too. */
	buf[1 * 4] = 9;				/* gso_type: unknown */
	cr_assert_eq(vuf_vq_exec(&f, 1, segs, k, false, &len), 0, "%s",
	    vuf_error(&f));
	close(s);
	tx = stats_after(&f, 0, "tx", 0);
	cr_assert_eq(stat_of(tx, "frames"), 1, "%s", tx);
	cr_assert_eq(stat_of(tx, "drops:gso_type"), 1, "%s", tx);
	it_stop(&it_vp);
}

/*
 * A reload that changes a running net device (its MAC) on a single-queue
 * tap: the new device takes the running one's tap over (a second open
 * would be refused while the old child reads it), and serves with the
 * new configuration.
 */
Test(net, reload_changes_the_device_on_the_same_tap)
{
	const char	*sock = it_path("net.sock"), *conf = it_path("v.conf");
	struct vuf	 f;
	struct vuf_opts	 o;
	uint8_t		 mac[6];
	FILE		*fp;
	int		 s, i;

	enter_netns();
	for (i = 0; i < 2; i++) {
		cr_assert_not_null(fp = fopen(conf, "w"));
		fprintf(fp, "[n]\ntype = net\nsocket = %s\ntap = %s\n"
		    "tap-create = on\nmac = 52:54:00:00:00:0%d\n", sock,
		    tap_name, i + 1);
		fclose(fp);
		if (i == 0) {
			it_start(&it_vp, "-c", conf, NULL);
			if_up(tap_name, 0);
			cr_assert_gt(vproc_child_pid(&it_vp, "n", 0,
			    VPROC_TIMEOUT_MS), 0);
		} else {
			cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
			cr_assert_geq(vproc_wait_log(&it_vp, "n: configuration "
			    "changed; started with the new one", 0,
			    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
		}
		vuf_init(&f);
		memset(&o, 0, sizeof(o));
		o.o_mem_size = NET_MEM;
		o.o_features = F_MRG;
		o.o_nqueues = 2;
		cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s\n%s",
		    vuf_error(&f), it_vp.vp_log);
		cr_assert_eq(vuf_get_config(&f, 0, mac, 6), 0);
		cr_assert_eq(mac[5], i + 1, "config %d: mac ends in %02x\n%s",
		    i, mac[5], it_vp.vp_log);
		vuf_fini(&f);
	}
	s = packet_socket(tap_name);
	one_frame_each_way(sock, s, 1500);
	close(s);
	it_stop(&it_vp);
	cr_assert_eq(if_nametoindex(tap_name), 0, "tap-create=on: removed");
}

/*
 * Mergeable rx on a ring whose every entry together holds less than the
 * largest frame (here 4 entries of 256 bytes, MTU 1500): the guest cannot
 * make more buffers available while all of them are held, so the device
 * must read with what it has (the spare byte still catches a frame that
 * does not fit) rather than wait for a kick that never helps.  A small
 * frame is delivered; a frame over the four buffers is dropped, counted.
 */
Test(net, mergeable_rx_on_a_ring_smaller_than_a_frame)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	struct vuf_opts	 o;
	uint8_t		 hdr[12], frame[2000], got[4096];
	const char	*rx;
	unsigned int	 nb;
	uint32_t	 seq;
	size_t		 len;
	long		 t0;
	int		 s, rc;

	enter_netns();
	start_net(sock, ",mtu=1500", 1500);
	s = packet_socket(tap_name);
	vuf_init(&f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = NET_MEM;
	o.o_features = F_MRG;
	o.o_nqueues = 2;
	o.o_queue_size = 4;
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s\n%s", vuf_error(&f),
	    it_vp.vp_log);
	vuf_net_init(&n, &f);
	cr_assert_eq(vuf_net_post_rx(&n, 0, 4, 256), 0, "%s", vuf_error(&f));
	fill_frame(frame, 1100, 21);		/* 12 + 1100 > 4 * 256 */
	packet_send(s, frame, 1100);
	fill_frame(frame, 200, 22);
	packet_send(s, frame, 200);
	t0 = now_ms();
	do {
		rc = vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len, &nb,
		    10000);
		cr_assert_eq(rc, 0, "no frame in 10 s on a 4-entry ring: %s\n%s",
		    vuf_error(&f), it_vp.vp_log);
	} while (!is_test_frame(got, len, &seq));
	fprintf(stderr, "net_test: small ring: frame after %ld ms\n",
	    now_ms() - t0);
	cr_assert_eq(seq, 22, "the 1100-byte frame was not dropped");
	cr_assert_eq(len, 200);
	cr_assert_eq(memcmp(got, frame, len), 0);
	cr_assert_eq(nb, 1);
	close(s);
	rx = stats_after(&f, 0, "rx", 0);
	fprintf(stderr, "net_test: rx %s\n", rx);
	cr_assert_eq(stat_of(rx, "drops:rx_no_room"), 1, "%s", rx);
	it_stop(&it_vp);
}

/*
 * Held rx buffers (mergeable: popped to cover the largest frame, not yet
 * used) across the messages that invalidate them: SET_MEM_TABLE (the
 * same memory mapped again) and SET_FEATURES (the header length changes
 * from 12 to 10: the held buffers were checked for 12) give them back and
 * the next frames still arrive intact; GET_VRING_BASE answers the used
 * index, not the popped one (held buffers are not consumed).
 */
Test(net, held_rx_buffers_across_mem_table_features_and_stop)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12], frame[2000], got[4096];
	unsigned int	 nb, k;
	uint32_t	 seq;
	uint16_t	 base, used;
	size_t		 len;
	int		 s;

	enter_netns();
	start_net(sock, ",mtu=1500", 1500);
	s = packet_socket(tap_name);
	guest_up(&f, &n, sock, F_MRG, 1, 256);
	for (k = 0; k < 2; k++) {
		fill_frame(frame, 1400, 30 + k);
		packet_send(s, frame, 1400);
		do {
			cr_assert_eq(vuf_net_recv(&n, 0, hdr, got,
			    sizeof(got), &len, &nb, 5000), 0, "frame %u: %s\n%s",
			    k, vuf_error(&f), it_vp.vp_log);
		} while (!is_test_frame(got, len, &seq));
		cr_assert_eq(seq, 30 + k);
		cr_assert_eq(len, 1400);
		cr_assert_eq(memcmp(got, frame, len), 0, "frame %u corrupt", k);
		cr_assert_eq(nb, 6, "(12 + 1400) / 256 -> 6, got %u", nb);
		if (k == 0)
			cr_assert_eq(vuf_send_mem_table(&f, 1, false), 0, "%s",
			    vuf_error(&f));
		else
			cr_assert_eq(vuf_set_features(&f, F_MRG &
			    ~(1ull << VUF_NET_F_MRG_RXBUF) &
			    ~(1ull << VIRTIO_F_VERSION_1)), 0, "%s",
			    vuf_error(&f));
	}
	/* Legacy header: a frame in one 256-byte buffer. */
	fill_frame(frame, 200, 40);
	packet_send(s, frame, 200);
	do {
		cr_assert_eq(vuf_net_recv(&n, 0, hdr, got, sizeof(got), &len,
		    &nb, 5000), 0, "%s\n%s", vuf_error(&f), it_vp.vp_log);
	} while (!is_test_frame(got, len, &seq));
	cr_assert_eq(seq, 40);
	cr_assert_eq(len, 200);
	cr_assert_eq(memcmp(got, frame, len), 0);
	close(s);
	used = f.f_vq[0].q_used->idx;
	cr_assert_eq(vuf_vq_stop(&f, 0, &base), 0, "%s", vuf_error(&f));
	fprintf(stderr, "net_test: held: GET_VRING_BASE %u, used %u, avail "
	    "%u\n", base, used, f.f_vq[0].q_avail_idx);
	cr_assert_eq(base, used, "GET_VRING_BASE %u counts held buffers "
	    "(used %u)", base, used);
	vuf_fini(&f);
	it_stop(&it_vp);
}

/*
 * A 60000-byte TCPv4 TSO frame (CSUM and HOST_TSO4 acked, a valid
 * header) reaches the tap whole, as one GSO packet; the same frame with
 * hdr_len past the frame is dropped and counted.
 */
Test(net, tx_gso_frame_of_60000_bytes_reaches_the_tap)
{
	const char	*sock = it_path("net.sock");
	static uint8_t	 frame[60000], got[65536 + 10];
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12];
	const char	*tx;
	uint32_t	 sum = 0;
	size_t		 i, len = sizeof(frame);
	long		 deadline;
	ssize_t		 r = -1;
	int		 s, one = 1;

	enter_netns();
	start_net(sock, "", 0);
	s = packet_socket(tap_name);
	/* Each packet with its virtio-net header: the GSO fields shown. */
	cr_assert_eq(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one,
	    sizeof(one)), 0, "PACKET_VNET_HDR: %s", strerror(errno));
	guest_up(&f, &n, sock, F_BASE | (1ull << VUF_NET_F_CSUM) |
	    (1ull << VUF_NET_F_HOST_TSO4), 1, 2048);
	memset(frame, 0, 54);
	memset(frame, 0xff, 6);
	memcpy(frame + 6, "\x02\x00\x00\x00\x00\x01", 6);
	frame[12] = 0x08;				/* IPv4 */
	frame[14] = 0x45;
	frame[16] = (uint8_t)((len - 14) >> 8);
	frame[17] = (uint8_t)(len - 14);
	frame[20] = 0x40;				/* DF */
	frame[22] = 64;
	frame[23] = 6;					/* TCP */
	memcpy(frame + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	for (i = 14; i < 34; i += 2)
		sum += (uint32_t)(frame[i] << 8 | frame[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	frame[24] = (uint8_t)(~sum >> 8);
	frame[25] = (uint8_t)~sum;
	frame[34] = 0x30; frame[35] = 0x39;		/* ports */
	frame[36] = 0x30; frame[37] = 0x3a;
	frame[46] = 0x50;				/* data offset 5 */
	frame[47] = 0x18;				/* PSH ACK */
	frame[48] = 0xff;
	for (i = 54; i < len; i++)
		frame[i] = (uint8_t)(i * 13);
	memset(hdr, 0, sizeof(hdr));
	hdr[0] = 1;					/* NEEDS_CSUM */
	hdr[1] = 1;					/* TCPV4 */
	hdr[2] = 54;					/* hdr_len */
	hdr[4] = 1448 & 0xff; hdr[5] = 1448 >> 8;	/* gso_size */
	hdr[6] = 34;					/* csum_start */
	hdr[8] = 16;					/* csum_offset */
	cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, len,
	    false), 0, "%s", vuf_error(&f));
	deadline = now_ms() + 10000;
	while (now_ms() < deadline) {
		struct pollfd	pfd = { .fd = s, .events = POLLIN };

		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		/* 10 bytes of struct virtio_net_hdr, then the frame. */
		if ((r = recv(s, got, sizeof(got), 0)) == (ssize_t)len + 10 &&
		    got[10 + 12] == 0x08 && got[10 + 23] == 6)
			break;
		r = -1;
	}
	fprintf(stderr, "net_test: gso frame: received %zd bytes, gso_type "
	    "%u gso_size %u\n", r, got[1], got[4] | got[5] << 8);
	cr_assert_eq(r, (ssize_t)len + 10, "the 60000-byte TSO frame did not "
	    "reach the tap whole\n%s", it_vp.vp_log);
	cr_assert_eq(got[1] & 0x7f, 1, "not a TCPV4 GSO packet on the tap");
	cr_assert_eq(got[4] | got[5] << 8, 1448, "gso_size");
	cr_assert_eq(memcmp(got + 10 + 54, frame + 54, len - 54), 0);
	hdr[2] = 0x70; hdr[3] = 0xea;			/* hdr_len 60016 */
	cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, len,
	    true), 0, "%s", vuf_error(&f));
	close(s);
	tx = stats_after(&f, 0, "tx", 0);
	fprintf(stderr, "net_test: tx %s\n", tx);
	cr_assert_eq(stat_of(tx, "frames"), 1, "%s", tx);
	cr_assert_eq(stat_of(tx, "drops:hdr_len"), 1, "%s", tx);
	it_stop(&it_vp);
}

/* NET_SET_MTU with REPLY_ACK: 0 taken, -EIO refused. */
static int
set_mtu(struct vuf *f, uint64_t mtu)
{
	return vuf_request(f, VHOST_USER_NET_SET_MTU, &mtu, sizeof(mtu), NULL,
	    0, NULL, 0);
}

/* The MTU in the device's config space (virtio_net_config.mtu). */
static unsigned int
config_mtu(struct vuf *f)
{
	uint8_t	c[2];

	cr_assert_eq(vuf_get_config(f, 10, c, sizeof(c)), 0, "%s",
	    vuf_error(f));
	return (unsigned int)(c[0] | c[1] << 8);
}

/*
 * NET_SET_MTU above the device's MTU (mtu=1500; the tap itself is raised
 * to 9000 so that nothing in the kernel would stop a big frame) is
 * refused, and a 9014-byte frame the guest sends anyway never reaches
 * the tap; a lower MTU is taken and bounds the frames sent.
 */
Test(net, set_mtu_above_the_device_mtu_is_refused_and_frames_stay_bounded)
{
	const char	*sock = it_path("net.sock");
	static uint8_t	 frame[9014], got[16384];
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 hdr[12];
	const char	*tx;
	uint32_t	 seq;
	ssize_t		 m;
	int		 s;

	enter_netns();
	start_net(sock, ",mtu=1500", 9000);
	s = packet_socket(tap_name);
	guest_up_proto(&f, &n, sock, F_BASE | (1ull << VUF_NET_F_MTU), 1, 2048,
	    (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
	    (1ull << VHOST_USER_PROTOCOL_F_MQ) |
	    (1ull << VHOST_USER_PROTOCOL_F_MTU));
	cr_assert(vuf_has_protocol(&f, VHOST_USER_PROTOCOL_F_MTU));
	cr_assert(vuf_has_protocol(&f, VHOST_USER_PROTOCOL_F_REPLY_ACK));
	cr_assert_eq(config_mtu(&f), 1500);
	cr_assert_eq(set_mtu(&f, 9000), -EIO, "NET_SET_MTU 9000 above the "
	    "device's mtu=1500 was taken");
	cr_assert_eq(config_mtu(&f), 1500, "a refused MTU changed the device");
	cr_assert_eq(set_mtu(&f, 1501), -EIO);
	memset(hdr, 0, sizeof(hdr));
	fill_frame(frame, 9014, 1);
	cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, 9014,
	    false), 0, "%s", vuf_error(&f));
	fill_frame(frame, 1518, 2);		/* 1500 + Ethernet + VLAN */
	cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, 1518,
	    false), 0, "%s", vuf_error(&f));
	m = packet_recv(s, got, sizeof(got), &seq, 5000);
	cr_assert_eq(seq, 2, "the 9014-byte frame reached the tap (%zd bytes)",
	    m);
	cr_assert_eq(m, 1518);

	/* Lower is taken: frames past 1400 + 18 bytes are dropped. */
	cr_assert_eq(set_mtu(&f, 1400), 0, "%s", vuf_error(&f));
	cr_assert_eq(config_mtu(&f), 1400);
	fill_frame(frame, 1419, 3);
	cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, 1419,
	    false), 0, "%s", vuf_error(&f));
	fill_frame(frame, 1418, 4);
	cr_assert_eq(vuf_net_send(&n, 0, hdr, sizeof(hdr), frame, 1418,
	    false), 0, "%s", vuf_error(&f));
	m = packet_recv(s, got, sizeof(got), &seq, 5000);
	cr_assert_eq(seq, 4, "a 1419-byte frame passed MTU 1400");
	cr_assert_eq(m, 1418);
	cr_assert_eq(memcmp(got, frame, 1418), 0);
	close(s);
	tx = stats_after(&f, 0, "tx", 0);
	fprintf(stderr, "net_test: tx %s\n", tx);
	cr_assert_eq(stat_of(tx, "frames"), 2, "%s", tx);
	cr_assert_eq(stat_of(tx, "drops:too_big"), 2, "%s", tx);
	it_stop(&it_vp);
}
