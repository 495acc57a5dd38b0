/*
 * net_harness.c - net_test's harness.  net_test runs the virtio-net device
 * end to end without a VM: vhostd (real jailed children, net.policy)
 * serves a tap it creates (tap-create=on) in a network namespace this test
 * process makes for itself (Criterion runs each test in its own process:
 * the namespace, the tap and every frame die with it; no address is
 * assigned anywhere), and the in-tree front end (tests/frontend/vuf_net.c)
 * is the guest.  The tap's kernel side is a raw AF_PACKET socket bound to
 * it.
 */

#include <poll.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "../itest.h"

#include "net_harness.h"

TestSuite(net, .init = it_setup, .fini = it_teardown, .timeout = 120);

char	tap_name[IFNAMSIZ];

long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* This test process into a network namespace of its own. */
void
enter_netns(void)
{
	it_own_netns();
	snprintf(tap_name, sizeof(tap_name), "vhd%d", (int)getpid() % 100000);
}

void
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
int
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
void
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

bool
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
ssize_t
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
void
packet_send(int s, const uint8_t *f, size_t len)
{
	cr_assert_eq(send(s, f, len, 0), (ssize_t)len, "send %zu: %s", len,
	    strerror(errno));
}

/*
 * Start vhostd with a net device on a tap it creates, and bring the tap
 * up (with mtu when not 0).  extra: more keys (",queues=2"), or "".
 */
void
start_net(const char *sock, const char *extra, unsigned int tap_mtu)
{
	it_start(&it_vp, "--device", it_fmt("net,socket=%s,tap=%s,"
	    "tap-create=on%s", sock, tap_name, extra), NULL);
	if_up(tap_name, tap_mtu);
}

/*
 * The usual start: this process in a namespace of its own, vhostd
 * serving a tap there (start_net), and the tap's packet socket.
 */
int
net_up(const char *sock, const char *extra, unsigned int tap_mtu)
{
	enter_netns();
	start_net(sock, extra, tap_mtu);
	return packet_socket(tap_name);
}

/*
 * Receive on pair 0 until a frame of this test arrives (the kernel sends
 * IPv6 frames of its own); its sequence number.
 */
uint32_t
recv_test_frame(struct vuf *f, struct vuf_net *n, uint8_t *hdr,
    uint8_t *got, size_t size, size_t *len, unsigned int *nb)
{
	uint32_t	seq;

	do {
		cr_assert_eq(vuf_net_recv(n, 0, hdr, got, size, len, nb, 5000),
		    0, "%s\n%s", vuf_error(f), it_vp.vp_log);
	} while (!is_test_frame(got, *len, &seq));
	return seq;
}

/* The guest side: rings of npairs up, rx buffers posted. */
void
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

void
guest_up(struct vuf *f, struct vuf_net *n, const char *sock,
    uint64_t features, unsigned int npairs, uint32_t rxsize)
{
	guest_up_proto(f, n, sock, features, npairs, rxsize, 0);
}

/*
 * Disconnect the guest and wait for the child's counters of ring dir
 * ("rx" or "tx") of pair; the line's text after "net: pair P DIR: ".
 */
const char *
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

uint64_t
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

/* One frame each way through the device at sock. */
void
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
	seq = recv_test_frame(&f, &n, hdr, got, sizeof(got), &len, &nb);
	cr_assert_eq(seq, mark + 1);
	cr_assert_eq(memcmp(got, frame, sizeof(frame)), 0);
	vuf_fini(&f);
}
