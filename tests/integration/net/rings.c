/*
 * net_test: rx buffers and tx chains of odd shapes, reload on the same
 * tap, small rings, held buffers across ring changes, GSO.
 */

#include <poll.h>

#include <linux/if_packet.h>

#include "../itest.h"

#include "net_harness.h"

Test(net, rx_buffers_smaller_than_the_header_break_the_device)
{
	const char	*sock = it_path("net.sock");
	struct vuf	 f;
	struct vuf_net	 n;
	uint8_t		 frame[200], st = 0, *guard;
	uint64_t	 gpa;
	long		 deadline;
	int		 s, i;

	s = net_up(sock, "", 0);
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

	s = net_up(sock, "", 0);
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

	s = net_up(sock, ",mtu=1500", 1500);
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

	s = net_up(sock, ",mtu=1500", 1500);
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
	seq = recv_test_frame(&f, &n, hdr, got, sizeof(got), &len, &nb);
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

	s = net_up(sock, "", 0);
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
