/*
 * net-blast - the frame source of the net benchmark's rx rows: writes
 * Ethernet frames onto an interface (a tap: they come out of its fd, to
 * the back end reading it) as fast as the kernel takes them, through an
 * AF_PACKET socket that bypasses the qdisc, 64 frames per sendmmsg().
 *
 *	net-blast --ifname=NAME [--size=BYTES] [--time=SECONDS]
 *	  --size   frame length without the FCS, 60 to 9000 (default 64)
 *	  --time   how long (default 5; 0 runs until SIGTERM)
 *
 * The frames are IPv4/UDP from 02:00:00:00:00:02 to 02:00:00:00:00:01
 * (private addresses 10.12.0.2 -> 10.12.0.1), different source ports so
 * that multiqueue taps spread them.  A tap with no reader, or a full one,
 * drops what it cannot queue (counted in its tx_dropped): the frames the
 * back end took are the tap's tx_packets.  Prints "sent=N secs=S".
 * Needs CAP_NET_RAW; run it inside the benchmark's network namespace.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sys/socket.h>

#define BATCH		64
#define SIZE_MAX_	9000

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t
ip_csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An IPv4/UDP frame of len bytes with UDP source port sport. */
static void
make_frame(uint8_t *f, size_t len, uint16_t sport)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 1 };
	static const uint8_t src[6] = { 2, 0, 0, 0, 0, 2 };
	uint8_t *ip = f + 14, *udp = ip + 20;
	uint16_t iplen = (uint16_t)(len - 14), udplen = (uint16_t)(iplen - 20);
	uint16_t c;

	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	ip[12] = 10; ip[13] = 12; ip[14] = 0; ip[15] = 2;
	ip[16] = 10; ip[17] = 12; ip[18] = 0; ip[19] = 1;
	c = ip_csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = 0x27;
	udp[3] = 0x0f;		/* port 9999 */
	udp[4] = (uint8_t)(udplen >> 8);
	udp[5] = (uint8_t)udplen;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ifname", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "time", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	static uint8_t frames[BATCH][SIZE_MAX_];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll;
	const char *ifname = NULL;
	unsigned long size = 64;
	double secs = 5, t0, end;
	unsigned long long sent = 0;
	int c, fd, one = 1, i;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			ifname = optarg;
			break;
		case 's':
			size = strtoul(optarg, NULL, 10);
			break;
		case 't':
			secs = strtod(optarg, NULL);
			break;
		default:
			errx(2, "usage: net-blast --ifname=NAME [--size=N] "
			    "[--time=S]");
		}
	}
	if (ifname == NULL || size < 60 || size > SIZE_MAX_)
		errx(2, "usage: net-blast --ifname=NAME [--size=60..9000] "
		    "[--time=S]");
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd == -1)
		err(1, "socket(AF_PACKET)");
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_IP);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (sll.sll_ifindex == 0)
		err(1, "%s", ifname);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1)
		err(1, "bind %s", ifname);
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
	    sizeof(one)) == -1)
		warn("PACKET_QDISC_BYPASS (going through the qdisc)");

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		make_frame(frames[i], size, (uint16_t)(10000 + i));
		iov[i].iov_base = frames[i];
		iov[i].iov_len = size;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now_s();
	end = secs > 0 ? t0 + secs : 0;
	while (!stop) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n > 0)
			sent += (unsigned long long)n;
		else if (n == -1 && errno != EINTR && errno != ENOBUFS &&
		    errno != EAGAIN)
			err(1, "sendmmsg");
		if (end > 0 && now_s() >= end)
			break;
	}
	printf("sent=%llu secs=%.2f\n", sent, now_s() - t0);
	close(fd);
	return 0;
}
