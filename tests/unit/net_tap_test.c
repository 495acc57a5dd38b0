/*
 * net_tap_test.c - real taps, inside a network namespace each test
 * creates for itself (Criterion runs every test in its own process):
 * create/remove, multi_queue detection and mismatch refusal, offload
 * probing, adopting passed fds, frames through the tap and back through
 * a raw AF_PACKET socket the test opens on the tap, the reset before each
 * child, and the policy.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#include "devices/net_hdr.h"
#include "devices/net_tap.h"

#define B(x)	NET_BIT(VIRTIO_NET_F_##x)
#define MAXF	(1500 + NET_ETH_HLEN + NET_VLAN_HLEN)

/* A well-formed TSO4 header. */
static struct net_hdr
tso4(void)
{
	struct net_hdr	h = {
		.nh_flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.nh_gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.nh_hdr_len = 54, .nh_gso_size = 1448,
		.nh_csum_start = 34, .nh_csum_offset = 16,
	};
	return h;
}

/* ---- real taps, in a network namespace of the test's own ---- */

#include "nettap.h"

/* A frame of ours: test ethertype and the mark in the payload. */
static uint8_t	want_mark;

static int
match_plain(const struct iovec *iov, int iovcnt, ssize_t n)
{
	const uint8_t	*f = iov[iovcnt > 1 ? 1 : 0].iov_base;

	return n >= 16 && f[12] == (ETH_P_TEST >> 8) &&
	    f[13] == (ETH_P_TEST & 0xff) && f[14] == (uint8_t)(want_mark + 14);
}

Test(net_tap, tap_create_then_remove)
{
	struct net_tap	t;
	char		err[256] = "";
	int		hdr = 0;

	enter_netns();
	cr_assert_eq(if_nametoindex("vt0"), 0);
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(t.nt_created);
	cr_assert_not(t.nt_multi);
	cr_assert_eq(t.nt_nfds, 1);
	cr_assert_neq(if_nametoindex("vt0"), 0, "created");
	cr_assert_eq(tap_flags(t.nt_fds[0]) & (BASE_FLAGS | IFF_PERSIST |
	    IFF_MULTI_QUEUE), BASE_FLAGS | IFF_PERSIST);
	cr_assert_eq(ioctl(t.nt_fds[0], TUNGETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(hdr, NET_TAP_HDR_LEN);
	cr_assert_eq(fcntl(t.nt_fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_assert_eq(fcntl(t.nt_fds[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	net_tap_release(&t);
	cr_assert_eq(if_nametoindex("vt0"), 0, "removed at release");
	net_tap_release(&t);		/* twice is harmless */
}

Test(net_tap, tap_missing_without_create)
{
	struct net_tap	t;
	char		err[256] = "";

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, false, err, sizeof(err)),
	    -ENODEV);
	cr_assert_not_null(strstr(err, "tap-create=on"), "%s", err);
	cr_assert_eq(if_nametoindex("vt0"), 0, "nothing created");
	cr_assert_eq(t.nt_fds[0], -1);
	cr_assert_eq(net_tap_open(&t, "vt0", 2, false, err, sizeof(err)),
	    -ENODEV);
	cr_assert_not_null(strstr(err, "multi_queue"), "%s", err);
	cr_assert_eq(if_nametoindex("vt0"), 0);
}

Test(net_tap, tap_existing_is_kept)
{
	struct net_tap	t;
	char		err[256] = "";

	enter_netns();
	raw_tap("vt0", BASE_FLAGS, 1);
	/* tap-create=on with an existing tap: adopted, not ours to remove. */
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not(t.nt_created);
	net_tap_release(&t);
	cr_assert_neq(if_nametoindex("vt0"), 0, "an existing tap stays");
	cr_assert_eq(net_tap_open(&t, "vt0", 1, false, err, sizeof(err)), 0,
	    "%s", err);
	net_tap_release(&t);
	cr_assert_neq(if_nametoindex("vt0"), 0);
}

Test(net_tap, tap_multiqueue_create)
{
	struct net_tap	t;
	char		err[256] = "";
	unsigned int	i;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 4, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(t.nt_multi);
	cr_assert_eq(t.nt_nfds, 4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(tap_flags(t.nt_fds[i]) & IFF_MULTI_QUEUE,
		    IFF_MULTI_QUEUE, "queue %u", i);
	for (i = 4; i < NET_TAP_QUEUES_MAX; i++)
		cr_assert_eq(t.nt_fds[i], -1);
	net_tap_release(&t);
	cr_assert_eq(if_nametoindex("vt0"), 0);
	cr_assert_eq(net_tap_open(&t, "vt0", 0, true, err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(net_tap_open(&t, "vt0", NET_TAP_QUEUES_MAX + 1, true,
	    err, sizeof(err)), -EINVAL);
	cr_assert_eq(net_tap_open(&t, "bad/name", 1, true, err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(if_nametoindex("vt0"), 0);
}

Test(net_tap, tap_multiqueue_detection)
{
	struct net_tap	t;
	char		err[512] = "";

	enter_netns();
	/* A single-queue tap asked for two queues: refused, clearly. */
	raw_tap("vs0", BASE_FLAGS, 1);
	cr_assert_eq(net_tap_open(&t, "vs0", 2, false, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "single-queue"), "%s", err);
	cr_assert_not_null(strstr(err, "multi_queue"), "%s", err);
	cr_assert_eq(t.nt_fds[0], -1);
	cr_assert_neq(if_nametoindex("vs0"), 0, "refusal removes nothing");
	/* ... and nothing stayed attached: one queue opens now. */
	cr_assert_eq(net_tap_open(&t, "vs0", 1, false, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not(t.nt_multi);
	net_tap_release(&t);
	/* A multi_queue tap asked for one queue: opened multi_queue. */
	raw_tap("vm0", BASE_FLAGS | IFF_MULTI_QUEUE, 1);
	cr_assert_eq(net_tap_open(&t, "vm0", 1, false, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(t.nt_multi);
	cr_assert_eq(tap_flags(t.nt_fds[0]) & IFF_MULTI_QUEUE,
	    IFF_MULTI_QUEUE);
	net_tap_release(&t);
	cr_assert_eq(net_tap_open(&t, "vm0", 3, false, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(t.nt_nfds, 3);
	net_tap_release(&t);
	cr_assert_neq(if_nametoindex("vm0"), 0);
}

Test(net_tap, tap_busy_and_not_a_tap)
{
	struct net_tap	t;
	char		err[256] = "";
	int		held;

	enter_netns();
	held = raw_tap("vb0", BASE_FLAGS, 0);
	cr_assert_eq(net_tap_open(&t, "vb0", 1, false, err, sizeof(err)),
	    -EBUSY);
	cr_assert_not_null(strstr(err, "in use"), "%s", err);
	close(held);
	raw_tap("vn0", IFF_TUN | IFF_NO_PI, 1);
	cr_assert_eq(net_tap_open(&t, "vn0", 1, false, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "not a tap"), "%s", err);
	cr_assert_eq(net_tap_open(&t, "lo", 1, true, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "not a tap"), "%s", err);
	cr_assert_neq(if_nametoindex("lo"), 0);
}

Test(net_tap, tap_offload_probe)
{
	struct net_tap	t;
	char		err[256] = "";
	unsigned int	want = NET_TUN_F_CSUM | NET_TUN_F_TSO4 |
			    NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN;
	int		probed;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_log_info("tap offloads accepted: %#x", t.nt_offloads);
	printf("net_test: tap offloads accepted here: %#x\n", t.nt_offloads);
	cr_assert_eq(t.nt_offloads & want, want, "%#x", t.nt_offloads);
	cr_assert_eq(net_tap_set_offload(t.nt_fds[0], 0x80000000u), -EINVAL,
	    "an unknown offload bit is refused");
	cr_assert_eq(net_tap_set_offload(t.nt_fds[0], NET_TUN_F_CSUM |
	    NET_TUN_F_TSO4), 0);
	probed = net_tap_probe_offloads(t.nt_fds[0]);
	cr_assert_eq((unsigned int)probed, t.nt_offloads, "probe repeats");
	/* What we offer the guest from it obeys the virtio rules. */
	cr_assert_eq(net_features_check(net_tap_features(t.nt_offloads),
	    NULL), 0);
	net_tap_release(&t);
	cr_assert_lt(net_tap_probe_offloads(-1), 0);
}

Test(net_tap, tap_adopt_passed_fds)
{
	struct net_tap	t;
	char		err[256] = "";
	int		fd, fds[3], p[2], hdr = 0;

	enter_netns();
	fd = raw_tap("va0", BASE_FLAGS, 0);	/* blocking, no CLOEXEC */
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(t.nt_name, "va0");
	cr_assert(t.nt_adopted);
	cr_assert_not(t.nt_created);
	cr_assert_neq(t.nt_fds[0], fd, "a duplicate, not the caller's number");
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	cr_assert_eq(ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(hdr, NET_TAP_HDR_LEN);
	net_tap_release(&t);
	cr_assert_geq(fcntl(fd, F_GETFD), 0, "the caller's fd is its own: "
	    "the tap held a duplicate");
	close(fd);

	/*
	 * Without IFF_VNET_HDR, a tun: refused, kept.  (IFF_NO_PI is not
	 * checkable: TUNGETIFF reports its bit as IFF_NOFILTER.)
	 */
	fd = raw_tap("va1", IFF_TAP | IFF_NO_PI, 0);
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "IFF_VNET_HDR"), "%s", err);
	cr_assert_geq(fcntl(fd, F_GETFD), 0, "the caller still owns it");
	close(fd);
	fd = raw_tap("vu0", IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, 0);
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "tun"), "%s", err);
	close(fd);
	/* Not a tap at all; an unattached /dev/net/tun; a bad number. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(net_tap_adopt(&t, &p[0], 1, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not an attached tap"), "%s", err);
	close(p[0]);
	close(p[1]);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EINVAL);
	close(fd);
	fd = -5;
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EBADF);
	cr_assert_eq(net_tap_adopt(&t, fds, 0, err, sizeof(err)), -EINVAL);

	/* Queues of one multi_queue tap: adopted; the same fd twice: not. */
	fds[0] = raw_tap("vq0", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	fds[1] = raw_tap("vq0", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	fds[2] = fds[0];
	cr_assert_eq(net_tap_adopt(&t, fds, 3, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "twice"), "%s", err);
	cr_assert_eq(net_tap_adopt(&t, fds, 2, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert(t.nt_multi);
	cr_assert_eq(t.nt_nfds, 2);
	net_tap_release(&t);
	/* Two different taps, or two fds of a single-queue tap: refused. */
	fds[0] = raw_tap("vq1", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	fds[1] = raw_tap("vq2", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	cr_assert_eq(net_tap_adopt(&t, fds, 2, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "one tap"), "%s", err);
	close(fds[1]);
	fds[1] = raw_tap("vs1", BASE_FLAGS, 0);
	close(fds[0]);
	fds[0] = fds[1];
	fds[1] = dup(fds[0]);
	cr_assert_eq(net_tap_adopt(&t, fds, 2, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not multi_queue"), "%s", err);
	close(fds[0]);
	close(fds[1]);
}

Test(net_tap, tap_frames_both_ways)
{
	struct net_tap	t;
	struct net_hdr	h;
	struct iovec	wv[2], rv[2];
	uint8_t		hdr[12] = { 0 }, frame[1000], got[2048], rh[12];
	uint64_t	acked = NET_BIT(NET_F_VERSION_1) | B(MRG_RXBUF);
	char		err[256] = "";
	ssize_t		n;
	int		s;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	if_up("vt0");
	s = packet_socket("vt0", 0);

	/* Guest to network: header + frame written to the tap. */
	fill_frame(frame, 60, 0x11);
	wv[0] = (struct iovec){ hdr, sizeof(hdr) };
	wv[1] = (struct iovec){ frame, 60 };
	cr_assert_eq(writev(t.nt_fds[0], wv, 2), 72, "writev: %s",
	    strerror(errno));
	want_mark = 0x11;
	rv[0] = (struct iovec){ got, sizeof(got) };
	n = read_match(s, rv, 1, match_plain);
	cr_assert_eq(n, 60, "the kernel side sees the frame (%zd)", n);
	cr_assert_eq(memcmp(got, frame, 60), 0);

	/* Network to guest: the tap gives a vnet header, then the frame. */
	fill_frame(frame, 200, 0x22);
	cr_assert_eq(send(s, frame, 200, 0), 200, "send: %s", strerror(errno));
	want_mark = 0x22;
	rv[0] = (struct iovec){ rh, sizeof(rh) };
	rv[1] = (struct iovec){ got, sizeof(got) };
	n = read_match(t.nt_fds[0], rv, 2, match_plain);
	cr_assert_eq(n, 212, "12-byte header + 200 (%zd)", n);
	cr_assert_eq(memcmp(got, frame, 200), 0);
	cr_assert_eq(net_hdr_load(&h, rh, 12), 0);
	cr_assert_eq(h.nh_gso_type, VIRTIO_NET_HDR_GSO_NONE);
	cr_assert_eq(net_hdr_fix_rx(&h, (size_t)n - 12, acked, 1),
	    NET_DROP_NONE);

	cr_assert_eq(net_rx_result((size_t)n, 12, sizeof(got)),
	    NET_DROP_NONE);

	/*
	 * A frame longer than the buffers: the tap truncates it and
	 * returns the truncated length (pinned here: the rx path depends
	 * on it), so only a spare byte after the guest buffers shows the
	 * frame did not fit; net_rx_result() turns that into a drop.
	 */
	fill_frame(frame, 1000, 0x33);
	cr_assert_eq(send(s, frame, 1000, 0), 1000);
	want_mark = 0x33;
	rv[1] = (struct iovec){ got, 100 };
	n = read_match(t.nt_fds[0], rv, 2, match_plain);
	printf("net_test: readv of a 1000-byte frame into 12+100 bytes "
	    "returned %zd\n", n);
	cr_assert_eq(n, 112, "the tap truncates silently (%zd)", n);
	fill_frame(frame, 1000, 0x44);
	cr_assert_eq(send(s, frame, 1000, 0), 1000);
	want_mark = 0x44;
	{
		struct iovec	sv[3];
		uint8_t		spare;

		sv[0] = (struct iovec){ rh, sizeof(rh) };
		sv[1] = (struct iovec){ got, 100 };
		sv[2] = (struct iovec){ &spare, 1 };
		n = read_match(t.nt_fds[0], sv, 3, match_plain);
		cr_assert_eq(n, 113);
		cr_assert_eq(net_rx_result((size_t)n, 12, 100),
		    NET_DROP_RX_NO_ROOM, "the spare byte shows it");
		/* An exact fit is no drop. */
		fill_frame(frame, 100, 0x55);
		cr_assert_eq(send(s, frame, 100, 0), 100);
		want_mark = 0x55;
		n = read_match(t.nt_fds[0], sv, 3, match_plain);
		cr_assert_eq(n, 112);
		cr_assert_eq(net_rx_result((size_t)n, 12, 100),
		    NET_DROP_NONE);
	}
	close(s);
	net_tap_release(&t);
}

/* Ethernet + IPv4 + TCP, documentation addresses, paylen bytes of data. */
static size_t
build_tcp4(uint8_t *f, size_t paylen)
{
	uint32_t	sum = 0;
	uint8_t		*ip = f + 14, *tcp = f + 34;
	size_t		i, tot = 40 + paylen;

	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00",
	    14);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	tcp[0] = 0x04;			/* source port 1234 */
	tcp[1] = 0xd2;
	tcp[2] = 0x16;			/* destination port 5678 */
	tcp[3] = 0x2e;
	tcp[7] = 1;			/* seq 1 */
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;			/* ACK */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	for (i = 0; i < paylen; i++)
		f[54 + i] = (uint8_t)i;
	return 54 + paylen;
}

static int
match_tcp(const struct iovec *iov, int iovcnt, ssize_t n)
{
	const uint8_t	*f = iov[iovcnt > 1 ? 1 : 0].iov_base;

	return n >= 54 && f[12] == 0x08 && f[13] == 0 && f[23] == 6 &&
	    f[36] == 0x16 && f[37] == 0x2e;
}

/*
 * The offloads set from the acked features decide what the tap hands
 * us: with GUEST_TSO4 acked (TUN_F_CSUM|TSO4) a 3000-byte TCP send
 * arrives as one GSO frame; with nothing acked the kernel segments it.
 */
Test(net_tap, tap_offloads_follow_acked_features)
{
	struct net_tap	t;
	struct net_hdr	h;
	struct iovec	v[2];
	uint8_t		vh[10] = { 0 }, frame[3100], rh[12], got[4096];
	uint64_t	acked = NET_BIT(NET_F_VERSION_1) | B(MRG_RXBUF) |
			    B(GUEST_CSUM) | B(GUEST_TSO4);
	char		err[256] = "";
	size_t		len, payload = 0;
	ssize_t		n;
	int		s, segs = 0;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	if_up("vt0");
	s = packet_socket("vt0", 1);
	len = build_tcp4(frame, 3000);
	/* virtio_net_hdr (10 bytes): partial csum, TSO4, MSS 1000. */
	vh[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	vh[2] = 54;
	vh[4] = 1000 & 0xff;
	vh[5] = 1000 >> 8;
	vh[6] = 34;
	vh[8] = 16;
	v[0] = (struct iovec){ vh, sizeof(vh) };
	v[1] = (struct iovec){ frame, len };

	cr_assert_eq(net_tap_set_offload(t.nt_fds[0],
	    net_tap_offload_flags(acked, t.nt_offloads)), 0);
	cr_assert_eq(writev(s, v, 2), (ssize_t)(sizeof(vh) + len),
	    "GSO send: %s", strerror(errno));
	v[0] = (struct iovec){ rh, sizeof(rh) };
	v[1] = (struct iovec){ got, sizeof(got) };
	n = read_match(t.nt_fds[0], v, 2, match_tcp);
	cr_assert_eq(n, (ssize_t)(12 + len), "one GSO frame (%zd)", n);
	cr_assert_eq(net_hdr_load(&h, rh, 12), 0);
	cr_assert_eq(h.nh_gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	cr_assert_eq(h.nh_gso_size, 1000);
	cr_assert(h.nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	cr_assert_eq(net_hdr_fix_rx(&h, len, acked, 1), NET_DROP_NONE);
	cr_assert_eq(net_hdr_fix_rx(&h, len, acked & ~B(GUEST_TSO4), 1),
	    NET_DROP_GSO_UNACKED, "the guest would get what it did not ack");

	/* Nothing acked: no offloads, the kernel segments for us. */
	cr_assert_eq(net_tap_set_offload(t.nt_fds[0],
	    net_tap_offload_flags(NET_BIT(NET_F_VERSION_1), t.nt_offloads)),
	    0);
	v[0] = (struct iovec){ vh, sizeof(vh) };
	v[1] = (struct iovec){ frame, len };
	cr_assert_eq(writev(s, v, 2), (ssize_t)(sizeof(vh) + len));
	v[0] = (struct iovec){ rh, sizeof(rh) };
	v[1] = (struct iovec){ got, sizeof(got) };
	while (payload < 3000) {
		n = read_match(t.nt_fds[0], v, 2, match_tcp);
		cr_assert_gt(n, 12 + 54, "segment %d (%zd)", segs, n);
		cr_assert_leq(n, 12 + 54 + 1000, "segment %d is %zd", segs, n);
		cr_assert_eq(net_hdr_load(&h, rh, 12), 0);
		cr_assert_eq(h.nh_gso_type, VIRTIO_NET_HDR_GSO_NONE);
		cr_assert_eq(net_hdr_fix_rx(&h, (size_t)n - 12,
		    NET_BIT(NET_F_VERSION_1), 1), NET_DROP_NONE);
		payload += (size_t)n - 12 - 54;
		segs++;
	}
	cr_assert_eq(segs, 3);
	cr_assert_eq(payload, 3000);

	/* Guest TSO (HOST_TSO4): the tap takes the GSO frame whole. */
	{
		uint8_t		th[12];
		struct net_hdr	tx = tso4();

		tx.nh_gso_size = 1000;
		cr_assert_eq(net_hdr_check_tx(&tx, len, B(CSUM) |
		    B(HOST_TSO4), MAXF), NET_DROP_NONE);
		net_hdr_store(&tx, th, 12);
		close(s);
		s = packet_socket("vt0", 0);
		v[0] = (struct iovec){ th, sizeof(th) };
		v[1] = (struct iovec){ frame, len };
		cr_assert_eq(writev(t.nt_fds[0], v, 2), (ssize_t)(12 + len),
		    "TSO write: %s", strerror(errno));
		v[0] = (struct iovec){ got, sizeof(got) };
		n = read_match(s, v, 1, match_tcp);
		cr_assert_eq(n, (ssize_t)len, "the stack sees one %zu-byte "
		    "frame (%zd)", len, n);
	}
	close(s);
	net_tap_release(&t);
}

Test(net_tap, tap_reset_and_mtu)
{
	struct net_tap	t;
	char		err[256] = "";
	unsigned int	mtu = 0;
	int		fl;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 2, true, err, sizeof(err)), 0,
	    "%s", err);
	/* What a dead child could leave: blocking fds. */
	fl = fcntl(t.nt_fds[1], F_GETFL);
	cr_assert_eq(fcntl(t.nt_fds[1], F_SETFL, fl & ~O_NONBLOCK), 0);
	cr_assert_eq(net_tap_set_offload(t.nt_fds[1], NET_TUN_F_CSUM), 0);
	cr_assert_eq(net_tap_reset(&t), 0);
	cr_assert_eq(fcntl(t.nt_fds[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	/* MTU: set from mtu=, read back; the kernel's bounds stand. */
	cr_assert_eq(net_tap_get_mtu(&t, &mtu), 0);
	cr_assert_eq(mtu, 1500);
	cr_assert_eq(net_tap_set_mtu(&t, 9000), 0);
	cr_assert_eq(net_tap_get_mtu(&t, &mtu), 0);
	cr_assert_eq(mtu, 9000);
	cr_assert_eq(net_tap_set_mtu(&t, 67), -EINVAL);
	net_tap_release(&t);
	cr_assert_eq(net_tap_reset(&t), -EBADF);
	cr_assert_eq(net_tap_get_mtu(&t, &mtu), -ENODEV, "tap gone");
}


/*
 * A '%' in a tap name is the kernel's template for a new interface
 * (TUNSETIFF on "vt%d" creates vt0, vt1, ...): tap-create=on would make a
 * tap of another name than the one vhostd reports, looks up (MTU) and
 * takes over, and each further queue would create one more.  Refused
 * before anything is opened.
 */
Test(net_tap, tap_name_template_refused)
{
	struct net_tap	t;
	char		err[256] = "";
	int		rc;

	cr_assert_lt(net_tap_name_ok("vt%d"), 0);
	cr_assert_lt(net_tap_name_ok("%d"), 0);
	cr_assert_eq(net_tap_name_ok("vt-0_a.b"), 0);
	enter_netns();
	rc = net_tap_open(&t, "vt%d", 2, true, err, sizeof(err));
	cr_assert_eq(if_nametoindex("vt0"), 0, "no tap vt0 made of vt%%d "
	    "(rc %d)", rc);
	cr_assert_eq(if_nametoindex("vt1"), 0, "no tap vt1 made of vt%%d");
	cr_assert_eq(rc, -EINVAL, "%s", err);
	cr_assert_eq(t.nt_fds[0], -1);
}
