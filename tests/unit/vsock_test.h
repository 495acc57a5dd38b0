/*
 * vsock_test.h - shared by the unit tests of the vsock protocol core
 * (vsock_test.c: header, guest connections, credit; vsock_conn_test.c:
 * shutdown and close, host connections, the table, transport reset): a
 * table per test, the test playing the guest (packets in,
 * vsock_guest_next out) and the glue (actions, host data).  Static
 * inline: each test binary includes it once.
 */
#ifndef VHOSTD_TESTS_VSOCK_TEST_H
#define VHOSTD_TESTS_VSOCK_TEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/vsock_proto.h"
#include "devices/vsock_uds.h"
#include "util/util.h"

#define GCID	3
#define BUFA	(64u * 1024)	/* our buf_alloc in most tests */
#define RXBUF	(16u * 1024)	/* our host->guest staging */

static struct vsock	*V;
static uint32_t		 cnt_base;	/* the guest's counters start here */
static uint8_t		 pbuf[VSOCK_MAX_PKT];

static inline void
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

static inline struct virtio_vsock_hdr
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

static inline int
gsend(struct virtio_vsock_hdr h, const void *payload)
{
	return vsock_guest_packet(V, &h, payload, h.len);
}

/* The next packet for the guest; asserts there is one. */
static inline struct virtio_vsock_hdr
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

static inline void
gnone(void)
{
	struct virtio_vsock_hdr	h;
	size_t			n;

	cr_assert_eq(vsock_guest_next(V, &h, pbuf, sizeof(pbuf), &n), -EAGAIN,
	    "no packet for the guest (got op %u)", h.op);
}

static inline struct vsock_action
act(enum vsock_act_type type)
{
	struct vsock_action	a;

	cr_assert_eq(vsock_action_next(V, &a), 1, "an action (%d)", type);
	cr_assert_eq(a.va_type, type, "action %d, want %d", a.va_type, type);
	return a;
}

static inline void
noact(void)
{
	struct vsock_action	a;

	cr_assert_eq(vsock_action_next(V, &a), 0, "no action (got %d)",
	    a.va_type);
}

static inline struct vsock_conn_info
info(uint32_t id)
{
	struct vsock_conn_info	ci;

	cr_assert_eq(vsock_conn_info(V, id, &ci), 0);
	return ci;
}

/* Guest gp connects to host port P, broker gives fd; returns the id. */
static inline uint32_t
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
static inline size_t
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

#endif /* VHOSTD_TESTS_VSOCK_TEST_H */
