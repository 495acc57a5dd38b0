/*
 * net_test: frames guest -> tap and tap -> guest arrive intact and are
 * counted; a frame too big for the rx buffers is dropped and counted,
 * never delivered cut; a tx frame with a bad header is dropped and counted.
 */

#include "../itest.h"

#include "net_harness.h"

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

	s = net_up(sock, "", 0);
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

	s = net_up(sock, "", 0);
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
	seq = recv_test_frame(&f, &n, hdr, got, sizeof(got), &len, &nb);
	cr_assert_eq(seq, 2, "frame 1 (1000 bytes) was not dropped");
	cr_assert_eq(len, 500);
	cr_assert_eq(memcmp(got, frame, 14), 0);
	seq = recv_test_frame(&f, &n, hdr, got, sizeof(got), &len, &nb);
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

	s = net_up(sock, ",mtu=1500", 4000);
	guest_up(&f, &n, sock, F_MRG, 1, 256);
	fill_frame(frame, 1514, 7);
	packet_send(s, frame, 1514);
	fill_frame(frame, 3000, 8);		/* > 1500 + 18 */
	packet_send(s, frame, 3000);
	fill_frame(frame, 700, 9);
	packet_send(s, frame, 700);
	seq = recv_test_frame(&f, &n, hdr, got, sizeof(got), &len, &nb);
	cr_assert_eq(seq, 7);
	cr_assert_eq(len, 1514);
	fill_frame(frame, 1514, 7);
	cr_assert_eq(memcmp(got, frame, len), 0);
	cr_assert_eq(nb, 6, "(12 + 1514) / 256 -> 6 buffers, got %u", nb);
	cr_assert_eq(hdr[10] | hdr[11] << 8, 6);
	seq = recv_test_frame(&f, &n, hdr, got, sizeof(got), &len, &nb);
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

	s = net_up(sock, "", 0);
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
