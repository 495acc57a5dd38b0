/*
 * vsock_test.c - the virtio-vsock protocol core (src/devices/vsock_proto.c)
 * and the hybrid-convention host protocol (src/devices/vsock_uds.c):
 * header codec and checks, every op in every state, credit accounting
 * (wrap-around, zero buf_alloc, a guest beyond its credit, peers that stop
 * reading: bounded memory), RST paths, shutdown in both directions, the
 * connection cap and the host-port allocator, many connections, transport
 * reset, the CONNECT parser with hostile input, the broker records.
 *
 * The test plays the guest (packets in, vsock_guest_next out) and the glue
 * (actions, host data).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vsock_proto.h"
#include "util/util.h"
#include "devices/vsock_uds.h"

#define GCID	3
#define BUFA	(64u * 1024)	/* our buf_alloc in most tests */
#define RXBUF	(16u * 1024)	/* our host->guest staging */

static struct vsock	*V;
static uint32_t		 cnt_base;	/* the guest's counters start here */
static uint8_t		 pbuf[VSOCK_MAX_PKT];

static void
open_table(uint32_t max_conns, uint32_t base)
{
	struct vsock_params	p;

	vsock_params_default(&p);
	p.vp_guest_cid = GCID;
	p.vp_max_conns = max_conns;
	p.vp_buf_alloc = BUFA;
	p.vp_rx_buf = RXBUF;
	p.vp_cnt_base = base;
	cnt_base = base;
	cr_assert_eq(vsock_new(&p, &V), 0);
}

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

static struct virtio_vsock_hdr
ghdr(uint16_t op, uint32_t gp, uint32_t hp, uint32_t len)
{
	struct virtio_vsock_hdr	h;

	memset(&h, 0, sizeof(h));
	h.src_cid = GCID;
	h.dst_cid = VSOCK_CID_HOST;
	h.src_port = gp;
	h.dst_port = hp;
	h.len = len;
	h.type = VIRTIO_VSOCK_TYPE_STREAM;
	h.op = op;
	h.buf_alloc = 1u << 20;
	return h;
}

static int
gsend(struct virtio_vsock_hdr h, const void *payload)
{
	return vsock_guest_packet(V, &h, payload, h.len);
}

/* The next packet for the guest; asserts there is one. */
static struct virtio_vsock_hdr
gnext(size_t cap, size_t *len)
{
	struct virtio_vsock_hdr	h;
	size_t			n;

	cr_assert_eq(vsock_guest_next(V, &h, pbuf, cap, &n), 0,
	    "a packet for the guest");
	cr_assert_eq(h.len, n);
	cr_assert_eq(h.src_cid, VSOCK_CID_HOST);
	cr_assert_eq(h.dst_cid, GCID);
	if (len != NULL)
		*len = n;
	return h;
}

static void
gnone(void)
{
	struct virtio_vsock_hdr	h;
	size_t			n;

	cr_assert_eq(vsock_guest_next(V, &h, pbuf, sizeof(pbuf), &n), -EAGAIN,
	    "no packet for the guest (got op %u)", h.op);
}

static struct vsock_action
act(enum vsock_act_type type)
{
	struct vsock_action	a;

	cr_assert_eq(vsock_action_next(V, &a), 1, "an action (%d)", type);
	cr_assert_eq(a.va_type, type, "action %d, want %d", a.va_type, type);
	return a;
}

static void
noact(void)
{
	struct vsock_action	a;

	cr_assert_eq(vsock_action_next(V, &a), 0, "no action (got %d)",
	    a.va_type);
}

static struct vsock_conn_info
info(uint32_t id)
{
	struct vsock_conn_info	ci;

	cr_assert_eq(vsock_conn_info(V, id, &ci), 0);
	return ci;
}

/* Guest gp connects to host port P, broker gives fd; returns the id. */
static uint32_t
guest_connect(uint32_t gp, uint32_t P, int fd, uint32_t buf_alloc)
{
	struct virtio_vsock_hdr	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, gp, P, 0);
	struct vsock_action	a;
	uint32_t		id;

	h.buf_alloc = buf_alloc;
	h.fwd_cnt = cnt_base;
	cr_assert_eq(gsend(h, NULL), 0);
	a = act(VSOCK_ACT_BROKER_CONNECT);
	cr_assert_eq(a.va_port, P);
	cr_assert_eq(a.va_fd, -1);
	id = a.va_conn;
	cr_assert_eq(info(id).ci_state, VSOCK_S_CONNECTING_HOST);
	cr_assert_eq(vsock_host_connected(V, id, fd), 0);
	if (buf_alloc > 0)
		cr_assert_eq(act(VSOCK_ACT_HOST_READ).va_fd, fd);
	noact();
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RESPONSE);
	cr_assert_eq(h.src_port, P);
	cr_assert_eq(h.dst_port, gp);
	cr_assert_eq(h.buf_alloc, BUFA);
	cr_assert_eq(h.type, VIRTIO_VSOCK_TYPE_STREAM);
	cr_assert_eq(info(id).ci_state, VSOCK_S_ESTABLISHED);
	return id;
}

/* Drain what is staged for the host fd into out; returns the bytes. */
static size_t
host_drain(uint32_t id, uint8_t *out, size_t max)
{
	struct iovec	iov[2];
	int		n, i;
	size_t		got = 0;

	cr_assert_eq(vsock_host_tx_peek(V, id, iov, &n), 0);
	for (i = 0; i < n; i++) {
		cr_assert_leq(got + iov[i].iov_len, max);
		memcpy(out + got, iov[i].iov_base, iov[i].iov_len);
		got += iov[i].iov_len;
	}
	cr_assert_eq(vsock_host_tx_done(V, id, got), 0);
	return got;
}

/* --- header ----------------------------------------------------------- */

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

Test(vsock, guest_shutdown_send_after_the_drain)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	uint8_t			out[64];

	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 4);
	cr_assert_eq(gsend(h, "last"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
	cr_assert_eq(gsend(h, NULL), 0);
	noact();			/* data first */
	cr_assert_eq(host_drain(id, out, sizeof(out)), 4);
	cr_assert_eq(act(VSOCK_ACT_HOST_SHUT_WR).va_fd, 40);
	noact();
	cr_assert_eq(info(id).ci_peer_shut, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The other direction still works. */
	cr_assert_eq(vsock_host_data(V, id, "back", 4), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RW);
	/* Data after SHUTDOWN(SEND): a violation. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1);
	cr_assert_eq(gsend(h, "x"), -EPROTO);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
}

Test(vsock, guest_shutdown_rcv_drops_staged_data)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_data(V, id, "unread", 6), 0);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV;
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_SHUT_RD).va_fd, 40);
	cr_assert_eq(info(id).ci_rx_buffered, 0);
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	gnone();
	/* Guest -> host still works. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 2);
	cr_assert_eq(gsend(h, "ok"), 0);
	act(VSOCK_ACT_HOST_WRITE);
}

Test(vsock, guest_close_is_answered_with_rst_after_the_drain)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	uint8_t			out[64];

	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 3);
	cr_assert_eq(gsend(h, "bye"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_MASK;
	cr_assert_eq(gsend(h, NULL), 0);
	noact();
	gnone();			/* not before "bye" is written */
	cr_assert_eq(host_drain(id, out, sizeof(out)), 3);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 40);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RST);
	gnone();
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_conns, 0);
	cr_assert_eq(st.vs_rst_sent, 0, "a clean close is not an error");
}

Test(vsock, guest_close_in_two_steps)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;

	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV;
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_SHUT_RD);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | 0x80;	/* unknown bit */
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_conn_info(V, id, &(struct vsock_conn_info){0}),
	    -ENOENT);
}

Test(vsock, guest_close_with_a_host_that_never_drains_times_out)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;

	vsock_tick(V, 1000);
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 3);
	cr_assert_eq(gsend(h, "bye"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_SHUTDOWN, 1, 2, 0);
	h.flags = VIRTIO_VSOCK_SHUTDOWN_MASK;
	cr_assert_eq(gsend(h, NULL), 0);
	vsock_tick(V, 1000 + VSOCK_DEF_CLOSE_MS);
	noact();
	vsock_tick(V, 1001 + VSOCK_DEF_CLOSE_MS);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_timeouts, 1);
	cr_assert_eq(vsock_conn_info(V, id, &(struct vsock_conn_info){0}),
	    -ENOENT);
}

Test(vsock, host_eof_is_shutdown_send_after_the_data)
{
	uint32_t		id = guest_connect(1, 2, 40, 4096);
	struct virtio_vsock_hdr	h;

	cr_assert_eq(vsock_host_data(V, id, "tail", 4), 0);
	cr_assert_eq(vsock_host_eof(V, id), 0);
	cr_assert_eq(vsock_host_data(V, id, "x", 1), -EPIPE);
	cr_assert_eq(vsock_host_rx_room(V, id), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_RW);
	cr_assert_eq(memcmp(pbuf, "tail", 4), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
	cr_assert_eq(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	gnone();
	cr_assert_eq(info(id).ci_local_shut, VIRTIO_VSOCK_SHUTDOWN_SEND);
	/* The guest may still send; then closes. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 2);
	cr_assert_eq(gsend(h, "ok"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 1, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	gnone();
}

Test(vsock, host_error_resets)
{
	uint32_t	id = guest_connect(1, 2, 40, 4096);

	cr_assert_eq(vsock_host_data(V, id, "x", 1), 0);
	cr_assert_eq(vsock_host_closed(V, id), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 40);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST,
	    "RST, not the staged data");
	gnone();
	cr_assert_eq(vsock_host_closed(V, id), -ENOENT);
	cr_assert_eq(vsock_host_data(V, id, "x", 1), -ENOENT);
	cr_assert_eq(vsock_host_eof(V, id), -ENOENT);
}

/* --- host-initiated (CONNECT) ----------------------------------------- */

static uint32_t
host_connect(int fd, uint32_t P, uint32_t *hp)
{
	struct virtio_vsock_hdr	h;
	uint32_t		id;
	char			want[32], out[64];
	size_t			n;

	cr_assert_eq(vsock_host_connect(V, fd, P, &id), 0);
	noact();
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.op, VIRTIO_VSOCK_OP_REQUEST);
	cr_assert_eq(h.dst_port, P);
	*hp = h.src_port;
	cr_assert_eq(info(id).ci_state, VSOCK_S_CONNECTING_GUEST);
	h = ghdr(VIRTIO_VSOCK_OP_RESPONSE, P, *hp, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_READ).va_fd, fd);
	cr_assert_eq(act(VSOCK_ACT_HOST_WRITE).va_fd, fd);
	noact();
	n = host_drain(id, (uint8_t *)out, sizeof(out) - 1);
	out[n] = '\0';
	snprintf(want, sizeof(want), "OK %u\n", *hp);
	cr_assert_str_eq(out, want);
	return id;
}

Test(vsock, host_connect_accepted)
{
	uint32_t		hp, id = host_connect(9, 1234, &hp);
	struct virtio_vsock_hdr	h;
	uint8_t			out[64];

	cr_assert_eq(hp, VSOCK_DEF_PORT_MIN);
	cr_assert_eq(info(id).ci_state, VSOCK_S_ESTABLISHED);
	/* Data both ways. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, hp, 4);
	cr_assert_eq(gsend(h, "ping"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	cr_assert_eq(host_drain(id, out, sizeof(out)), 4);
	cr_assert_eq(info(id).ci_fwd_cnt, 4, "the OK line is not counted");
	cr_assert_eq(vsock_host_data(V, id, "pong", 4), 0);
	h = gnext(sizeof(pbuf), NULL);
	cr_assert_eq(h.src_port, hp);
	cr_assert_eq(h.dst_port, 1234);
	cr_assert_eq(memcmp(pbuf, "pong", 4), 0);
}

Test(vsock, host_connect_refused_by_guest)
{
	struct virtio_vsock_hdr	h;
	uint32_t		id;

	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	h = gnext(sizeof(pbuf), NULL);
	h = ghdr(VIRTIO_VSOCK_OP_RST, 1234, h.src_port, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 9);
	noact();
	gnone();
	cr_assert_eq(vsock_host_eof(V, id), -ENOENT);
}

Test(vsock, host_connect_wrong_answers)
{
	struct virtio_vsock_hdr	h;
	uint32_t		id, hp;

	/* A RESPONSE guessed before our REQUEST went out. */
	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	h = ghdr(VIRTIO_VSOCK_OP_RESPONSE, 1234, VSOCK_DEF_PORT_MIN, 0);
	cr_assert_eq(gsend(h, NULL), -EPROTO);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	gnone();
	/* Data instead of a RESPONSE. */
	cr_assert_eq(vsock_host_connect(V, 10, 1234, &id), 0);
	hp = gnext(sizeof(pbuf), NULL).src_port;
	h = ghdr(VIRTIO_VSOCK_OP_RW, 1234, hp, 1);
	cr_assert_eq(gsend(h, "x"), -EPROTO);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 10);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	/* A bad port. */
	cr_assert_eq(vsock_host_connect(V, 11, VSOCK_PORT_ANY, &id), -EINVAL);
}

Test(vsock, host_connect_times_out)
{
	struct vsock_stats	st;
	uint32_t		id;

	vsock_tick(V, 50);
	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_REQUEST);
	vsock_tick(V, 50 + VSOCK_DEF_CONNECT_MS);
	noact();
	vsock_tick(V, 51 + VSOCK_DEF_CONNECT_MS);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 9);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_timeouts, 1);
}

Test(vsock, host_client_gives_up_before_the_guest_answers)
{
	uint32_t	id;

	cr_assert_eq(vsock_host_connect(V, 9, 1234, &id), 0);
	cr_assert_eq(vsock_host_eof(V, id), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_CLOSE).va_fd, 9);
	/* The REQUEST never went out; the RST tells the guest anyway. */
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	gnone();
}

/* --- caps, allocator, many connections, reset ------------------------- */

Test(vsock, connection_cap)
{
	struct virtio_vsock_hdr	h;
	struct vsock_stats	st;
	uint32_t		id, c;

	teardown();
	open_table(4, 0);
	for (c = 0; c < 4; c++)
		guest_connect(c, 2, 10 + (int)c, 4096);
	h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 99, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);	/* handled: refused */
	noact();
	cr_assert_eq(gnext(sizeof(pbuf), NULL).op, VIRTIO_VSOCK_OP_RST);
	cr_assert_eq(vsock_host_connect(V, 5, 1, &id), -ENOSPC);
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_refused, 2);
	cr_assert_eq(st.vs_conns, 4);
	/* One closes: room for one more. */
	h = ghdr(VIRTIO_VSOCK_OP_RST, 0, 2, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	cr_assert_eq(vsock_host_connect(V, 5, 1, &id), 0);
}

Test(vsock, host_port_allocator_is_bounded_and_reuses)
{
	struct vsock_params	p;
	struct virtio_vsock_hdr	h;
	uint32_t		id[4], hp[3], i;

	teardown();
	vsock_params_default(&p);
	p.vp_guest_cid = GCID;
	p.vp_max_conns = 8;
	p.vp_port_min = 100;
	p.vp_port_max = 102;
	cr_assert_eq(vsock_new(&p, &V), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(vsock_host_connect(V, 1, 7, &id[i]), 0);
		hp[i] = gnext(sizeof(pbuf), NULL).src_port;
		cr_assert_eq(hp[i], 100 + i);
	}
	cr_assert_eq(vsock_host_connect(V, 1, 7, &id[3]), -EADDRNOTAVAIL,
	    "three ports for guest port 7");
	/* Another guest port can use the same host ports. */
	cr_assert_eq(vsock_host_connect(V, 1, 8, &id[3]), 0);
	/* A freed port is found again. */
	h = ghdr(VIRTIO_VSOCK_OP_RST, 7, 101, 0);
	cr_assert_eq(gsend(h, NULL), 0);
	act(VSOCK_ACT_HOST_CLOSE);
	gnext(sizeof(pbuf), NULL);	/* the REQUEST for port 8 */
	cr_assert_eq(vsock_host_connect(V, 1, 7, &id[3]), 0);
	cr_assert_eq(gnext(sizeof(pbuf), NULL).src_port, 101);
}

Test(vsock, many_connections_round_robin)
{
	struct virtio_vsock_hdr	h;
	uint32_t		ids[VSOCK_MAX_CONNS_LIMIT], c, k;
	uint8_t			seen[VSOCK_MAX_CONNS_LIMIT];
	size_t			n;

	teardown();
	open_table(VSOCK_MAX_CONNS_LIMIT, 0);
	for (c = 0; c < VSOCK_MAX_CONNS_LIMIT; c++)
		ids[c] = guest_connect(c, 5, (int)c + 3, 4096);
	/* Every connection has 2 packets' worth of data. */
	for (c = 0; c < VSOCK_MAX_CONNS_LIMIT; c++)
		cr_assert_eq(vsock_host_data(V, ids[c], pbuf, 200), 0);
	/* With 100-byte buffers, each connection gets one before any
	 * gets its second. */
	memset(seen, 0, sizeof(seen));
	for (k = 0; k < VSOCK_MAX_CONNS_LIMIT; k++) {
		h = gnext(100, &n);
		cr_assert_eq(n, 100);
		cr_assert_eq(seen[h.dst_port], 0, "conn %u twice", h.dst_port);
		seen[h.dst_port] = 1;
	}
	for (k = 0; k < VSOCK_MAX_CONNS_LIMIT; k++)
		gnext(100, &n);
	gnone();
	/* Each finds its own data. */
	h = ghdr(VIRTIO_VSOCK_OP_RW, 4000, 5, 2);
	cr_assert_eq(gsend(h, "hi"), 0);
	cr_assert_eq(act(VSOCK_ACT_HOST_WRITE).va_conn, ids[4000]);
}

Test(vsock, header_only_guest_buffers_do_not_lose_work)
{
	uint32_t	id = guest_connect(1, 2, 40, 4096);
	size_t		n;

	cr_assert_eq(vsock_host_data(V, id, "abc", 3), 0);
	/* No payload room: nothing can go, the work stays queued. */
	cr_assert_eq(vsock_guest_next(V, &(struct virtio_vsock_hdr){0},
	    pbuf, 0, &n), -EAGAIN);
	cr_assert(vsock_guest_pending(V));
	cr_assert_eq(gnext(10, &n).len, 3);
}

Test(vsock, transport_reset_drops_everything)
{
	struct vsock_stats	st;
	struct vsock_action	a;
	uint32_t		id1, id2, id3, hp;
	int			closed = 0;

	id1 = guest_connect(1, 2, 40, 4096);
	id2 = host_connect(41, 7, &hp);
	cr_assert_eq(vsock_host_connect(V, 42, 8, &id3), 0);
	cr_assert_eq(vsock_host_data(V, id1, "x", 1), 0);
	cr_assert_eq(gsend(ghdr(VIRTIO_VSOCK_OP_RW, 1, 2, 1), "y"), 0);
	act(VSOCK_ACT_HOST_WRITE);
	cr_assert_eq(gsend(ghdr(VIRTIO_VSOCK_OP_RW, 9, 9, 1), "y"), -EPROTO);
	vsock_reset(V);
	while (vsock_action_next(V, &a) == 1) {
		cr_assert_eq(a.va_type, VSOCK_ACT_HOST_CLOSE);
		closed++;
	}
	cr_assert_eq(closed, 3);
	gnone();
	cr_assert_not(vsock_guest_pending(V));
	vsock_get_stats(V, &st);
	cr_assert_eq(st.vs_conns, 0);
	cr_assert_eq(st.vs_mem, 0);
	cr_assert_eq(vsock_host_data(V, id1, "x", 1), -ENOENT);
	cr_assert_eq(vsock_host_eof(V, id2), -ENOENT);
	cr_assert_eq(vsock_host_closed(V, id3), -ENOENT);
	/* Works again afterwards. */
	guest_connect(1, 2, 50, 4096);
}

/* --- the hybrid convention's text protocol ---------------------------- */

Test(vsock, connect_line_parser)
{
	static const struct {
		const char	*s;
		int		 rc;
		uint32_t	 port;
	} cases[] = {
		{ "CONNECT 0\n", 0, 0 },
		{ "CONNECT 52\n", 0, 52 },
		{ "CONNECT 52", 0, 52 },
		{ "CONNECT 4294967294\n", 0, 4294967294u },
		{ "CONNECT 4294967295\n", -ERANGE, 0 },
		{ "CONNECT 9999999999\n", -ERANGE, 0 },
		{ "CONNECT 99999999999\n", -ERANGE, 0 },
		{ "CONNECT 052\n", -EINVAL, 0 },
		{ "CONNECT +52\n", -EINVAL, 0 },
		{ "CONNECT -1\n", -EINVAL, 0 },
		{ "CONNECT  52\n", -EINVAL, 0 },
		{ "CONNECT 52 \n", -EINVAL, 0 },
		{ "CONNECT 52\r\n", -EINVAL, 0 },
		{ "CONNECT 0x10\n", -EINVAL, 0 },
		{ "CONNECT \n", -EINVAL, 0 },
		{ "CONNECT\n", -EINVAL, 0 },
		{ "connect 52\n", -EINVAL, 0 },
		{ "CONNECTX52\n", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
	};
	unsigned int	i;
	uint32_t	port;
	int		rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		port = 12345;
		rc = vsock_uds_parse_connect(cases[i].s, strlen(cases[i].s),
		    &port);
		cr_assert_eq(rc, cases[i].rc, "\"%s\": %d", cases[i].s, rc);
		if (rc == 0)
			cr_assert_eq(port, cases[i].port);
	}
	/* An embedded NUL. */
	cr_assert_eq(vsock_uds_parse_connect("CONNECT 5\0\n", 11, &port),
	    -EINVAL);
	cr_assert_eq(vsock_uds_parse_connect("CONNECT 5\0", 10, &port),
	    -EINVAL);
}

Test(vsock, connect_line_in_pieces)
{
	struct vsock_uds_line	ul;
	const char		*msg = "CONNECT 1024\nDATA";
	size_t			i, used;
	uint32_t		port = 0;
	int			rc = 0;
	char			big[100];

	/* Byte by byte. */
	vsock_uds_line_init(&ul);
	for (i = 0; i < 12; i++) {
		cr_assert_eq(vsock_uds_line_feed(&ul, msg + i, 1, &used, &port),
		    0);
		cr_assert_eq(used, 1);
	}
	cr_assert_eq(vsock_uds_line_feed(&ul, msg + 12, 5, &used, &port), 1);
	cr_assert_eq(used, 1, "the data after the line is not taken");
	cr_assert_eq(port, 1024);
	/* All at once. */
	vsock_uds_line_init(&ul);
	cr_assert_eq(vsock_uds_line_feed(&ul, msg, strlen(msg), &used, &port),
	    1);
	cr_assert_eq(used, 13);
	/* A wrong first byte fails at once, and stays failed. */
	vsock_uds_line_init(&ul);
	cr_assert_eq(vsock_uds_line_feed(&ul, "G", 1, &used, &port), -EINVAL);
	cr_assert_eq(vsock_uds_line_feed(&ul, "CONNECT 1\n", 10, &used,
	    &port), -EINVAL);
	/* Too many digits fail before the newline. */
	vsock_uds_line_init(&ul);
	cr_assert_eq(vsock_uds_line_feed(&ul, "CONNECT 12345678901", 19, &used,
	    &port), -ERANGE);
	/* A line that never ends: bounded. */
	vsock_uds_line_init(&ul);
	memset(big, '1', sizeof(big));
	memcpy(big, "CONNECT ", 8);
	rc = vsock_uds_line_feed(&ul, big, sizeof(big), &used, &port);
	cr_assert(rc == -ERANGE || rc == -EMSGSIZE);
	cr_assert_leq(used, VSOCK_UDS_LINE_MAX);
	/* Garbage of every byte value after the prefix. */
	for (i = 0; i < 256; i++) {
		char	c = (char)i, line[16] = "CONNECT 1";

		vsock_uds_line_init(&ul);
		line[9] = c;
		rc = vsock_uds_line_feed(&ul, line, 10, &used, &port);
		if (c == '\n')
			cr_assert_eq(rc, 1);
		else if (c >= '0' && c <= '9')
			cr_assert_eq(rc, 0);
		else
			cr_assert_eq(rc, -EINVAL, "byte %zu", i);
	}
}

Test(vsock, ok_line_and_port_paths)
{
	char	buf[VSOCK_UDS_PATH_MAX + 20], base[200];

	cr_assert_eq(vsock_uds_format_ok(1073741824u, buf, sizeof(buf)), 14);
	cr_assert_str_eq(buf, "OK 1073741824\n");
	cr_assert_eq(vsock_uds_format_ok(1, buf, 5), -ENOSPC);
	cr_assert_eq(vsock_uds_format_ok(1, buf, 6), 5);

	cr_assert_eq(vsock_uds_port_path("/run/vm1/vsock", 52, buf,
	    sizeof(buf)), 17);
	cr_assert_str_eq(buf, "/run/vm1/vsock_52");
	cr_assert_eq(vsock_uds_port_path("", 52, buf, sizeof(buf)), -EINVAL);
	cr_assert_eq(vsock_uds_port_path("/x", VSOCK_PORT_ANY, buf,
	    sizeof(buf)), -EINVAL);
	cr_assert_eq(vsock_uds_port_path("/x", 52, buf, 5), -ENAMETOOLONG);
	cr_assert_eq(vsock_uds_port_path("/x", 52, buf, 6), 5);
	/* 104 + "_4294967294" does not fit a sun_path. */
	memset(base, 'a', 104);
	base[104] = '\0';
	cr_assert_eq(vsock_uds_port_path(base, 4294967294u, buf, sizeof(buf)),
	    -ENAMETOOLONG);
	base[96] = '\0';		/* 96 + 11 = 107: fits */
	cr_assert_eq(vsock_uds_port_path(base, 4294967294u, buf, sizeof(buf)),
	    107);
}

Test(vsock, broker_records)
{
	struct vsock_broker_req		rq = { .br_seq = 7, .br_port = 52 };
	struct vsock_broker_req		rq2;
	struct vsock_broker_resp	rp = { .bp_seq = 7, .bp_error = 111 };
	struct vsock_broker_resp	rp2;
	uint8_t				w[VSOCK_BROKER_REC_SIZE], bad[32];

	vsock_broker_req_encode(&rq, w);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w), &rq2), 0);
	cr_assert_eq(rq2.br_seq, 7);
	cr_assert_eq(rq2.br_port, 52);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w) - 1, &rq2), -EINVAL);
	memcpy(bad, w, sizeof(w));
	cr_assert_eq(vsock_broker_req_decode(bad, sizeof(w) + 1, &rq2),
	    -EINVAL);
	bad[0] ^= 1;
	cr_assert_eq(vsock_broker_req_decode(bad, sizeof(w), &rq2), -EINVAL);
	memcpy(bad, w, sizeof(w));
	bad[13] = 1;
	cr_assert_eq(vsock_broker_req_decode(bad, sizeof(w), &rq2), -EINVAL);
	rq.br_port = VSOCK_PORT_ANY;
	vsock_broker_req_encode(&rq, w);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w), &rq2), -EINVAL);
	/* A request is not an answer and vice versa. */
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), -EINVAL);

	vsock_broker_resp_encode(&rp, w);
	cr_assert_eq(vsock_broker_req_decode(w, sizeof(w), &rq2), -EINVAL);
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), 0);
	cr_assert_eq(rp2.bp_error, 111);
	rp.bp_error = -1;
	vsock_broker_resp_encode(&rp, w);
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), -EINVAL);
	rp.bp_error = VSOCK_BROKER_ERR_MAX + 1;
	vsock_broker_resp_encode(&rp, w);
	cr_assert_eq(vsock_broker_resp_decode(w, sizeof(w), &rp2), -EINVAL);
}
