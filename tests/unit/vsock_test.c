/*
 * vsock_test.c - the virtio-vsock protocol core (src/devices/vsock_proto.c):
 * header codec and checks, guest connections, every op in every state,
 * credit accounting (wrap-around, zero buf_alloc, a guest beyond its
 * credit, peers that stop reading: bounded memory), RST paths.  Shutdown,
 * close, host connections and the table are vsock_conn_test.c; the
 * hybrid-convention host protocol and the broker vsock_uds_test.c.
 */
#include "vsock_test.h"

static void
setup(void)
{
	open_table(16, 0);
}

static void
teardown(void)
{
	vsock_free(V);
	V = NULL;
}

TestSuite(vsock, .init = setup, .fini = teardown);


Test(vsock, header_is_44_little_endian_bytes)
{
	struct virtio_vsock_hdr	h, d;
	uint8_t			w[VSOCK_HDR_SIZE];

	memset(&h, 0, sizeof(h));	/* padding, for memcmp */
	memset(&d, 0, sizeof(d));
	h.src_cid = 0x0102030405060708ull;
	h.dst_cid = 2;
	h.src_port = 0x11223344;
	h.dst_port = 0x55667788;
	h.len = 0x99;
	h.type = 0x0201;
	h.op = 0x0403;
	h.flags = 0xa1a2a3a4;
	h.buf_alloc = 0xb1b2b3b4;
	h.fwd_cnt = 0xc1c2c3c4;
	vsock_hdr_encode(&h, w);
	cr_assert_eq(w[0], 0x08);
	cr_assert_eq(w[7], 0x01);
	cr_assert_eq(w[8], 2);
	cr_assert_eq(w[16], 0x44);
	cr_assert_eq(w[20], 0x88);
	cr_assert_eq(w[24], 0x99);
	cr_assert_eq(w[28], 0x01);
	cr_assert_eq(w[30], 0x03);
	cr_assert_eq(w[32], 0xa4);
	cr_assert_eq(w[36], 0xb4);
	cr_assert_eq(w[43], 0xc1);
	vsock_hdr_decode(w, &d);
	cr_assert_eq(memcmp(&h, &d, sizeof(h)), 0);
	vsock_event_reset_encode(w);
	cr_assert_eq(w[0] | w[1] | w[2] | w[3], 0);
}

Test(vsock, header_checks)
{
	struct virtio_vsock_hdr	h;

#define CHECK(expr, avail, sp, want) do {				\
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1000, 5, 10);			\
	expr;								\
	cr_assert_eq(vsock_hdr_check(&h, GCID, avail, sp), want, #expr);\
} while (0)
	CHECK((void)0, 10, false, VSOCK_PKT_OK);
	CHECK(h.src_cid = 4, 10, false, VSOCK_PKT_DROP);
	CHECK(h.src_cid = 2, 10, false, VSOCK_PKT_DROP);
	CHECK(h.dst_cid = 7, 10, false, VSOCK_PKT_RST);
	CHECK((h.dst_cid = 7, h.op = VIRTIO_VSOCK_OP_RST, h.len = 0), 10,
	    false, VSOCK_PKT_DROP);
	CHECK(h.len = 11, 10, false, VSOCK_PKT_DROP);
	CHECK(h.len = VSOCK_MAX_PKT + 1, 1u << 20, false, VSOCK_PKT_DROP);
	CHECK(h.len = VSOCK_MAX_PKT, VSOCK_MAX_PKT, false, VSOCK_PKT_OK);
	CHECK(h.type = 0, 10, false, VSOCK_PKT_RST);
	CHECK(h.type = 3, 10, true, VSOCK_PKT_RST);
	CHECK(h.type = VIRTIO_VSOCK_TYPE_SEQPACKET, 10, false, VSOCK_PKT_RST);
	CHECK(h.type = VIRTIO_VSOCK_TYPE_SEQPACKET, 10, true, VSOCK_PKT_OK);
	CHECK((h.op = 0, h.len = 0), 10, false, VSOCK_PKT_RST);
	CHECK((h.op = 8, h.len = 0), 10, false, VSOCK_PKT_RST);
	CHECK((h.op = 0xffff, h.len = 0), 10, false, VSOCK_PKT_RST);
	CHECK(h.op = VIRTIO_VSOCK_OP_REQUEST, 10, false, VSOCK_PKT_RST);
	CHECK(h.op = VIRTIO_VSOCK_OP_RST, 10, false, VSOCK_PKT_DROP);
	CHECK(h.src_port = VSOCK_PORT_ANY, 10, false, VSOCK_PKT_RST);
	CHECK(h.dst_port = VSOCK_PORT_ANY, 10, false, VSOCK_PKT_RST);
#undef CHECK
}

Test(vsock, bad_params)
{
	struct vsock_params	p;
	struct vsock		*v;

#define BAD(expr) do {							\
	vsock_params_default(&p);					\
	expr;								\
	cr_assert_eq(vsock_new(&p, &v), -EINVAL, #expr);		\
	cr_assert_null(v);						\
} while (0)
	BAD(p.vp_guest_cid = 2);
	BAD(p.vp_guest_cid = 0xffffffffull);
	BAD(p.vp_max_conns = 0);
	BAD(p.vp_max_conns = VSOCK_MAX_CONNS_LIMIT + 1);
	BAD(p.vp_buf_alloc = 0);
	BAD(p.vp_rx_buf = 0);
	BAD((p.vp_port_min = 10, p.vp_port_max = 9));
	BAD(p.vp_port_max = VSOCK_PORT_ANY);
#undef BAD
}

Test(vsock, forged_and_malformed_packets_from_the_guest)
{
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 2, 0);
	struct vsock_stats	st;
	size_t			n;

	/* Another CID's REQUEST: dropped, no connection, no reply. */
	h.src_cid = 9;
	cr_assert_eq(gsend(h, NULL), -EPROTO);
	noact();
	gnone();
	/* Payload the chain does not carry: dropped. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 100);
	cr_assert_eq(vsock_guest_packet(V, &h, pbuf, 99), -EPROTO);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_dropped, 2);
	cr_assert_eq(st.vs_conns, 0);
	/* Unknown op: RST with the ports swapped. */
	h = ghdr(9, 1234, 80, 0);
	cr_assert_eq(gsend(h, NULL), -EPROTO);
	h = gnext(sizeof(pbuf), &n);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(h.src_port, 80);
	cr_assert_eq(h.dst_port, 1234);
	gnone();
}

/* --- guest-initiated -------------------------------------------------- */

Test(vsock, guest_connect_accepted)
{
	uint32_t	id = guest_connect(40000, 5000, 77, 1u << 20);
	uint32_t	id2;

	cr_assert_eq(info(id).ci_fd, 77);
	cr_assert_eq(info(id).ci_guest_port, 40000);
	cr_assert_eq(info(id).ci_host_port, 5000);
	cr_assert_eq(vsock_conn_lookup(V, 40000, 5000, &id2), 0);
	cr_assert_eq(id2, id);
	cr_assert_eq(vsock_conn_lookup(V, 40001, 5000, &id2), -ENOENT);
	gnone();
}

Test(vsock, guest_connect_refused_by_broker)
{
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 52, 0);
	struct vsock_action	a;

	cr_assert_eq(gsend(h, NULL), 0);
	a = act(VSOCK_ACT_BROKER_CONNECT);
	cr_assert_eq(vsock_host_connect_failed(V, a.va_conn), 0);
	noact();			/* no fd to close */
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(h.dst_port, 1);
	cr_assert_eq(h.src_port, 52);
	gnone();
	/* The id is stale now: a late broker answer is refused. */
	cr_assert_eq(vsock_host_connected(V, a.va_conn, 5), -ENOENT);
	cr_assert_eq(vsock_host_connect_failed(V, a.va_conn), -ENOENT);
}

Test(vsock, guest_gives_up_while_broker_works)
{
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 52, 0);
	struct vsock_action	a;
	struct vsock_stats	st;

	cr_assert_eq(gsend(h, NULL), 0);
	a = act(VSOCK_ACT_BROKER_CONNECT);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 1, 52, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	noact();
	gnone();			/* never an RST for an RST */
	cr_assert_eq(vsock_host_connected(V, a.va_conn, 5), -ENOENT);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_conns, 0);
}

Test(vsock, data_before_response_is_a_violation)
{
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 52, 0);
	struct vsock_action	a;

	cr_assert_eq(gsend(h, NULL), 0);
	a = act(VSOCK_ACT_BROKER_CONNECT);
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 52, 3);
	cr_assert_eq(gsend(h, "abc"), -EPROTO);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_host_connected(V, a.va_conn, 5), -ENOENT);
}

Test(vsock, duplicate_request_resets)
{
	uint32_t		id = guest_connect(7, 8, 30, 4096);
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 7, 8, 0);

	cr_assert_eq(gsend(h, NULL), -EPROTO);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 30);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_conn_info(V, id, &(struct vsock_conn_info){0}),
	    -ENOENT);
	h = ghdr(VIRTIO_VSOCK_OP_RESPONSE, 7, 8, 0);
	cr_assert_eq(gsend(h, NULL), -EPROTO);	/* unknown now: RST */
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
}

Test(vsock, unknown_connection_gets_rst_but_rst_gets_nothing)
{
	struct virtio_vsock_hdr	h;
	uint16_t		ops[] = { VIRTIO_VSOCK_OP_RESPONSE,
	    VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_OP_RW,
	    VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_CREDIT_REQUEST };
	unsigned int		i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		h = ghdr(ops[i], 100 + i, 9, ops[i] == VIRTIO_VSOCK_OP_RW);
		cr_assert_eq(gsend(h, "x"), -EPROTO);
		h = gnext(sizeof(pbuf), NULL);
		cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST, "op %u", ops[i]);
		cr_assert_eq(h.dst_port, 100 + i);
	}
	h = ghdr(VIRTIO_VSOCK_OP_RST, 1, 9, 0);
	cr_assert_eq(gsend(h, NULL), -EPROTO);
	gnone();
	noact();
}

Test(vsock, orphan_rsts_are_bounded)
{
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	unsigned int		i, n = 0;
	size_t			len;

	for (i = 0; i < 10000; i++) {
		h = ghdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, i, 9, 0);
		cr_assert_eq(gsend(h, NULL), -EPROTO);
	}
	while (vsock_guest_next(V, &h, pbuf, sizeof(pbuf), &len) == 0)
		n++;
	vsock_get_stats(V, &st);
	cr_assert_eq(n, VSOCK_ORPHAN_RST_MAX);
	cr_assert_eq(st.vs_orphan_lost, 10000 - VSOCK_ORPHAN_RST_MAX);
}

Test(vsock, seqpacket_request_is_refused)
{
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 1, 2, 0);

	h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	cr_assert_eq(gsend(h, NULL), -EPROTO);	/* not negotiated */
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(h.type, VIRTIO_VSOCK_TYPE_SEQPACKET);
	noact();
}

/* --- data guest -> host ----------------------------------------------- */

Test(vsock, guest_data_reaches_the_host_in_order)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	struct iovec		iov[2];
	uint8_t			out[BUFA];
	int			n;
	unsigned int		i;

	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 5);
	cr_assert_eq(gsend(h, "hello"), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_WRITE).va_fd, 40);
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 6);
	cr_assert_eq(gsend(h, " world"), 0);
	noact();			/* already told */
	cr_assert_eq(vsock_host_tx_peek(V, id, iov, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(iov[0].iov_len, 11);
	cr_assert_eq(memcmp(iov[0].iov_base, "hello world", 11), 0);
	/* A short write of 3. */
	cr_assert_eq(vsock_host_tx_done(V, id, 3), 0);
	cr_assert_eq(info(id).ci_fwd_cnt, 3);
	cr_assert_eq(host_drain(id, out, sizeof(out)), 8);
	cr_assert_eq(memcmp(out, "lo world", 8), 0);
	cr_assert_eq(vsock_host_tx_done(V, id, 1), -EINVAL);
	cr_assert_eq(info(id).ci_fwd_cnt, 11);
	/* Ring wrap: fill most, drain all but 1000, refill across the end. */
	memset(pbuf, 'a', 60000);
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 60000);
	cr_assert_eq(gsend(h, pbuf), 0);
	act(VSOCK_ACT_HOST_WRITE);
	cr_assert_eq(vsock_host_tx_done(V, id, 59000), 0);
	for (i = 0; i < 10000; i++)
		pbuf[i] = (uint8_t)i;
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 10000);
	cr_assert_eq(gsend(h, pbuf), 0);
	noact();			/* was not empty */
	cr_assert_eq(vsock_host_tx_peek(V, id, iov, &n), 0);
	cr_assert_eq(n, 2, "wrapped: two pieces");
	cr_assert_eq(iov[0].iov_len + iov[1].iov_len, 11000);
	cr_assert_eq(host_drain(id, out, sizeof(out)), 11000);
	for (i = 0; i < 1000; i++)
		cr_assert_eq(out[i], 'a');
	for (i = 0; i < 10000; i++)
		cr_assert_eq(out[1000 + i], (uint8_t)i);
}

Test(vsock, credit_update_after_the_host_drained_half)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	uint8_t			out[BUFA];

	/* A little: no update needed, the guest still has lots of credit. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 100);
	cr_assert_eq(gsend(h, pbuf), 0);
	act(VSOCK_ACT_HOST_WRITE);
	host_drain(id, out, sizeof(out));
	gnone();
	/* Half the buffer drained since the guest last heard: update. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, BUFA / 2);
	cr_assert_eq(gsend(h, pbuf), 0);
	act(VSOCK_ACT_HOST_WRITE);
	host_drain(id, out, sizeof(out));
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	cr_assert_eq(h.fwd_cnt, 100 + BUFA / 2);
	cr_assert_eq(h.buf_alloc, BUFA);
	gnone();
}

Test(vsock, credit_request_is_answered)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	uint8_t			out[16];

	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 10);
	cr_assert_eq(gsend(h, pbuf), 0);
	act(VSOCK_ACT_HOST_WRITE);
	host_drain(id, out, sizeof(out));
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 1, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	cr_assert_eq(h.fwd_cnt, 10);
	gnone();
}

Test(vsock, guest_beyond_its_credit_is_reset)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	unsigned int		i;

	/* The host does not read: the guest may send BUFA bytes, no more. */
	for (i = 0; i < BUFA / 4096; i++) {
		h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 4096);
		cr_assert_eq(gsend(h, pbuf), 0, "packet %u", i);
	}
	act(VSOCK_ACT_HOST_WRITE);
	noact();
	cr_assert_eq(info(id).ci_tx_buffered, BUFA);
	vsock_get_stats(V, &st);
	cr_assert_leq(st.vs_mem, BUFA + RXBUF);
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1);
	cr_assert_eq(gsend(h, pbuf), -EPROTO);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 40);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_violations, 1);
	cr_assert_eq(st.vs_mem, 0, "buffers freed on reset");
	cr_assert_eq(st.vs_conns, 0);
}

Test(vsock, host_that_stops_reading_bounds_memory_for_all_conns)
{
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	unsigned int		c, i, resets = 0;

	/* 16 connections, each pushed its whole credit; nobody drains. */
	for (c = 0; c < 16; c++)
		guest_connect(100 + c, 2, 10 + (int)c, 4096);
	for (i = 0; i < BUFA / 4096; i++)
		for (c = 0; c < 16; c++) {
			h = ghdr(VIRTIO_VSOCK_OP_RW, 100 + c, 2, 4096);
			cr_assert_eq(gsend(h, pbuf), 0);
		}
	vsock_get_stats(V, &st);
	cr_log_info("16 conns at full credit, host never reads: %zu bytes "
	    "buffered (bound 16 * (buf_alloc + rx_buf) = %u)", st.vs_mem,
	    16 * (BUFA + RXBUF));
	cr_assert_eq(st.vs_mem, 16 * BUFA);
	/* Then as much again: every connection is reset, memory freed. */
	for (i = 0; i < BUFA / 4096; i++)
		for (c = 0; c < 16; c++) {
			h = ghdr(VIRTIO_VSOCK_OP_RW, 100 + c, 2, 4096);
			if (gsend(h, pbuf) < 0)
				resets++;
		}
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_violations, 16);
	cr_assert_eq(st.vs_mem, 0);
	cr_assert_eq(st.vs_conns, 16, "slots wait for their RST to go out");
	cr_assert_geq(resets, 16);
}

/* --- data host -> guest ----------------------------------------------- */

Test(vsock, host_data_reaches_the_guest_within_credit)
{
	uint32_t		id = guest_connect(1, 2, 40, 1000);
	struct virtio_vsock_hdr	h;
	struct vsock_action	a;
	size_t			n;

	cr_assert_eq(vsock_host_rx_room(V, id), 1000, "the guest's credit");
	memset(pbuf, 'z', 1000);
	cr_assert_eq(vsock_host_data(V, id, pbuf, 1001), -ENOBUFS);
	cr_assert_eq(vsock_host_data(V, id, pbuf, 1000), 0);
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	/* The guest buffer holds 300 bytes: three packets of 300, one 100. */
	h = gnext(300, &n);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(n, 300);
	cr_assert_eq(pbuf[0], 'z');
	gnext(300, &n);
	gnext(300, &n);
	h = gnext(300, &n);
	cr_assert_eq(n, 100);
	cr_assert_eq(info(id).ci_peer_credit, 0);
	gnone();			/* no data: no credit request */
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	/* The guest consumed 600: room again, and the glue reads again. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 1000;
	h.fwd_cnt = 600;
	cr_assert_eq(gsend(h, NULL), 0);
	a = act(VSOCK_ACT_HOST_READ);
	cr_assert_eq(a.va_fd, 40);
	cr_assert_eq(vsock_host_rx_room(V, id), 600);
}

Test(vsock, zero_buf_alloc_means_no_data)
{
	uint32_t		id = guest_connect(1, 2, 40, 0);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	cr_assert_eq(vsock_host_data(V, id, "x", 1), -ENOBUFS);
	gnone();
	/* The guest opens its window. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 10;
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_READ);
	cr_assert_eq(vsock_host_data(V, id, "0123456789", 10), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).len, 10);
	/* Window closes again: nothing staged, nothing to ask. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 0;
	h.fwd_cnt = 10;
	cr_assert_eq(gsend(h, NULL), 0);
	gnone();
	cr_assert_eq(info(id).ci_peer_credit, 0);
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
}

Test(vsock, credit_request_when_stalled_only_once)
{
	uint32_t		id = guest_connect(1, 2, 40, 100);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_data(V, id, pbuf, 100), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).len, 100);
	/* Guest shrinks: credit 0, yet something staged?  Stage first. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 150;
	h.fwd_cnt = 0;
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_READ);
	cr_assert_eq(vsock_host_data(V, id, pbuf, 50), 0);
	h.buf_alloc = 100;		/* shrinks below what is in flight */
	cr_assert_eq(gsend(h, NULL), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
	gnone();
	gnone();
	/* The answer reopens the window: the staged 50 go. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 100;
	h.fwd_cnt = 100;
	cr_assert_eq(gsend(h, NULL), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(h.len, 50);
}

Test(vsock, guest_that_stops_reading_bounds_memory)
{
	uint32_t		id = guest_connect(1, 2, 40, 0xffffffffu);
	struct vsock_stats	st;
	size_t			room, total = 0;

	/* Huge credit, but the guest posts no RX buffers. */
	while ((room = vsock_host_rx_room(V, id)) > 0) {
		cr_assert_eq(vsock_host_data(V, id, pbuf, MIN(room, 4096)),
		    0);
		total += MIN(room, 4096);
		cr_assert_leq(total, RXBUF);
	}
	cr_assert_eq(total, RXBUF);
	cr_assert_eq(vsock_host_data(V, id, pbuf, 1), -ENOBUFS);
	vsock_get_stats(V, &st);
	cr_assert_leq(st.vs_mem, RXBUF + BUFA);
}

Test(vsock, bogus_peer_fwd_cnt_gives_no_credit)
{
	uint32_t		id = guest_connect(1, 2, 40, 100);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_data(V, id, pbuf, 100), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).len, 100);
	/* fwd_cnt behind: 1000 bytes in flight with buf_alloc 100. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 100;
	h.fwd_cnt = (uint32_t)-900;
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(info(id).ci_peer_credit, 0, "no wrap to a huge credit");
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
}

Test(vsock, counters_wrap_around_2_32)
{
	uint32_t		base = 0xffffffffu - 1500, id;
	struct virtio_vsock_hdr	h;
	uint8_t			out[BUFA];
	unsigned int		i;
	size_t			n;

	teardown();
	open_table(4, base);
	id = guest_connect(1, 2, 40, 1000);
	/* The guest's fwd_cnt counts our tx_cnt, which starts at base. */
	h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
	h.buf_alloc = 1000;
	h.fwd_cnt = base;
	cr_assert_eq(gsend(h, NULL), 0);
	for (i = 0; i < 4; i++) {
		/* host -> guest 1000, guest consumes, reports. */
		cr_assert_eq(vsock_host_rx_room(V, id), 1000, "round %u", i);
		cr_assert_eq(vsock_host_data(V, id, pbuf, 1000), 0);
		cr_assert_eq(gnext(sizeof(pbuf), &n).len, 1000);
		cr_assert_eq(vsock_host_rx_room(V, id), 0);
		h.fwd_cnt += 1000;
		cr_assert_eq(gsend(h, NULL), 0);
		/* guest -> host 1000, drained. */
		h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1000);
		h.buf_alloc = 1000;
		h.fwd_cnt = base + 1000 * (i + 1);
		cr_assert_eq(gsend(h, pbuf), 0);
		host_drain(id, out, sizeof(out));
		h = ghdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 1, 2, 0);
		h.buf_alloc = 1000;
		h.fwd_cnt = base + 1000 * (i + 1);
	}
	cr_assert_eq(info(id).ci_fwd_cnt, base + 4000, "wrapped past 0");
	cr_assert_lt(info(id).ci_fwd_cnt, base);
	/* Credit math still right across the wrap: BUFA more is fine. */
	for (i = 0; i < BUFA / 4096; i++) {
		h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 4096);
		cr_assert_eq(gsend(h, pbuf), 0);
	}
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1);
	cr_assert_eq(gsend(h, pbuf), -EPROTO, "one more is too much");
}

/* --- shutdown and close ----------------------------------------------- */

