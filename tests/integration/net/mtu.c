/*
 * net_test: NET_SET_MTU against the device's MTU (mtu=, or the tap's):
 * above it refused and frames stay bounded by it, below it taken.
 */
#include "../itest.h"

#include "net_harness.h"

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
