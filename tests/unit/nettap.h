/*
 * nettap.h - unit tests with real taps: this test's process in a network
 * namespace of its own (Criterion runs each test in its own process, so
 * the namespace, its taps and frames die with it), taps opened the way a
 * VM manager opens them, their kernel side through a packet socket.
 * Static inline: each test file includes it once.
 */
#ifndef VHOSTD_TESTS_NETTAP_H
#define VHOSTD_TESTS_NETTAP_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#define BASE_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
#define ETH_P_TEST	0x88b5		/* IEEE local experimental */

/*
 * Move this test's process (Criterion forks one per test) into a fresh
 * network namespace: every tap, address and frame below lives there and
 * dies with the process.
 */
static inline void
enter_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace and taps");
	if (unshare(CLONE_NEWNET) == -1)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		cr_skip_test("/dev/net/tun: %s", strerror(errno));
}

/* A tap opened by the test itself (as a VM manager would). */
static inline int
raw_tap(const char *name, int flags, int persist)
{
	struct ifreq	ifr;
	int		fd;

	fd = open("/dev/net/tun", O_RDWR);
	cr_assert_geq(fd, 0, "open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)flags;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF %s: %s", name,
	    strerror(errno));
	if (persist) {
		cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
		close(fd);
		return -1;
	}
	return fd;
}

static inline short
tap_flags(int fd)
{
	struct ifreq	ifr;

	memset(&ifr, 0, sizeof(ifr));
	cr_assert_eq(ioctl(fd, TUNGETIFF, &ifr), 0, "TUNGETIFF: %s",
	    strerror(errno));
	return ifr.ifr_flags;
}

static inline void
if_up(const char *name)
{
	struct ifreq	ifr;
	int		s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "up %s: %s", name,
	    strerror(errno));
	close(s);
}

/* The tap's kernel side, seen through a raw packet socket bound to it. */
static inline int
packet_socket(const char *name, int vnet)
{
	struct sockaddr_ll	sll;
	int			s, one = 1;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	cr_assert_geq(s, 0, "AF_PACKET: %s", strerror(errno));
	if (vnet)
		cr_assert_eq(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one,
		    sizeof(one)), 0);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(name);
	cr_assert_neq(sll.sll_ifindex, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static inline int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read frames from fd (readv into iov) until match() accepts one or 5 s
 * pass; the stack of a fresh interface sends IPv6 frames of its own, so
 * foreign frames are skipped.  Returns the length read, or -1.
 */
static inline ssize_t
read_match(int fd, struct iovec *iov, int iovcnt,
    int (*match)(const struct iovec *, int, ssize_t))
{
	int64_t	deadline = now_ms() + 5000;
	ssize_t	n;

	for (;;) {
		struct pollfd	pfd = { .fd = fd, .events = POLLIN };
		int64_t		left = deadline - now_ms();

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = readv(fd, iov, iovcnt);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		cr_assert_geq(n, 0, "readv: %s", strerror(errno));
		if (match(iov, iovcnt, n))
			return n;
	}
}

static inline void
fill_frame(uint8_t *f, size_t len, uint8_t mark)
{
	memset(f, 0xff, 6);				/* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(mark + i);
}

#endif /* VHOSTD_TESTS_NETTAP_H */
