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

/* The guest side: rings of npairs up, rx buffers posted. */
static void
guest_up(struct vuf *f, struct vuf_net *n, const char *sock,
    uint64_t features, unsigned int npairs, uint32_t rxsize)
{
	struct vuf_opts	o;
	unsigned int	i;

	vuf_init(f);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = NET_MEM;
	o.o_features = features;
	o.o_nqueues = 2 * npairs;
	cr_assert_eq(vuf_setup(f, sock, &o), 0, "%s\n%s", vuf_error(f),
	    it_vp.vp_log);
	vuf_net_init(n, f);
	for (i = 0; i < npairs; i++)
		cr_assert_eq(vuf_net_post_rx(n, i, 64, rxsize), 0, "%s",
		    vuf_error(f));
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
	cr_assert_eq(strstr(rx, "drop-"), NULL, "%s", rx);
	cr_assert_eq(strstr(tx, "drop-"), NULL, "%s", tx);
	it_stop(&it_vp);
	cr_assert_eq(if_nametoindex(tap_name), 0, "tap-create=on: removed");
}
