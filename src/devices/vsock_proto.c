/*
 * vsock_proto.c - virtio-vsock protocol core, the guest side: header codec
 * and checks, packets from the guest through the state machine, packets
 * for the guest (vsock_proto.h; the table and the host side are in
 * vsock_conn.c).  No system calls: the device glue does the I/O.
 *
 * Credit (virtio 1.2, 5.10.6.3): each side advertises buf_alloc (its
 * receive buffer) and fwd_cnt (bytes it has consumed) in every packet.
 * We may send peer_buf_alloc - (tx_cnt - peer_fwd_cnt) bytes; the guest
 * may send us vp_buf_alloc - (rx_cnt - fwd_cnt), and more is a violation
 * that resets the connection (our buffer would overflow otherwise).  All
 * counters are u32 and wrap; differences are taken modulo 2^32.
 *
 * Shutdown: SHUTDOWN(SEND) from the guest becomes shutdown(SHUT_WR) on
 * the host fd once the staged bytes are written, SHUTDOWN(RCV) becomes
 * shutdown(SHUT_RD) and drops what was staged for the guest.  When the
 * guest has said both (a close), the host fd is closed after the drain
 * and we answer with RST (as Linux does), which ends the connection.
 * EOF from the host fd is SHUTDOWN(SEND) to the guest after the staged
 * data; an error on the host fd is an RST.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "vsock_int.h"
#include "vsock_proto.h"

/* --- wire ------------------------------------------------------------- */

static uint64_t
get_le(const uint8_t *p, unsigned int n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = (v << 8) | p[n];
	return v;
}

static void
put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	unsigned int	i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/*
 * Decode the 44 wire bytes into host order.  The caller copied them out
 * of guest memory once; h is what every later check looks at.
 */
void
vsock_hdr_decode(const uint8_t wire[VSOCK_HDR_SIZE],
    struct virtio_vsock_hdr *h)
{
	h->src_cid = get_le(wire + 0, 8);
	h->dst_cid = get_le(wire + 8, 8);
	h->src_port = (uint32_t)get_le(wire + 16, 4);
	h->dst_port = (uint32_t)get_le(wire + 20, 4);
	h->len = (uint32_t)get_le(wire + 24, 4);
	h->type = (uint16_t)get_le(wire + 28, 2);
	h->op = (uint16_t)get_le(wire + 30, 2);
	h->flags = (uint32_t)get_le(wire + 32, 4);
	h->buf_alloc = (uint32_t)get_le(wire + 36, 4);
	h->fwd_cnt = (uint32_t)get_le(wire + 40, 4);
}

/* Encode h into the 44 little-endian wire bytes. */
void
vsock_hdr_encode(const struct virtio_vsock_hdr *h,
    uint8_t wire[VSOCK_HDR_SIZE])
{
	put_le(wire + 0, h->src_cid, 8);
	put_le(wire + 8, h->dst_cid, 8);
	put_le(wire + 16, h->src_port, 4);
	put_le(wire + 20, h->dst_port, 4);
	put_le(wire + 24, h->len, 4);
	put_le(wire + 28, h->type, 2);
	put_le(wire + 30, h->op, 2);
	put_le(wire + 32, h->flags, 4);
	put_le(wire + 36, h->buf_alloc, 4);
	put_le(wire + 40, h->fwd_cnt, 4);
}

/* struct virtio_vsock_event { le32 id; } for a transport reset. */
void
vsock_event_reset_encode(uint8_t wire[VSOCK_EVENT_SIZE])
{
	put_le(wire, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, 4);
}

/*
 * Validate a header from the guest (see vsock_proto.h for the rules).
 */
int
vsock_hdr_check(const struct virtio_vsock_hdr *h, uint64_t guest_cid,
    size_t avail, bool seqpacket)
{
	bool	is_rst = h->op == VIRTIO_VSOCK_OP_RST;

	if (h->src_cid != guest_cid)
		return VSOCK_PKT_DROP;
	if (h->len > VSOCK_MAX_PKT || h->len > avail)
		return VSOCK_PKT_DROP;
	if (h->dst_cid != VSOCK_CID_HOST)
		return is_rst ? VSOCK_PKT_DROP : VSOCK_PKT_RST;
	if (h->src_port == VSOCK_PORT_ANY || h->dst_port == VSOCK_PORT_ANY)
		return is_rst ? VSOCK_PKT_DROP : VSOCK_PKT_RST;
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM &&
	    !(seqpacket && h->type == VIRTIO_VSOCK_TYPE_SEQPACKET))
		return is_rst ? VSOCK_PKT_DROP : VSOCK_PKT_RST;
	if (h->op < VIRTIO_VSOCK_OP_REQUEST ||
	    h->op > VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		return VSOCK_PKT_RST;
	if (h->len != 0 && h->op != VIRTIO_VSOCK_OP_RW)
		return is_rst ? VSOCK_PKT_DROP : VSOCK_PKT_RST;
	return VSOCK_PKT_OK;
}

/* --- packets from the guest ----------------------------------------- */

static uint32_t
guest_credit_used(const struct vsock_conn *c)
{
	return c->vc_rx_cnt - c->vc_fwd_cnt;
}

static void
on_request(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct vsock_conn	*c;

	if (h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		/* SEQPACKET needs SOCK_SEQPACKET host sockets: not yet. */
		v->v_st.vs_refused++;
		vsock_orphan_rst(v, h);
		return;
	}
	c = vsock_conn_alloc(v, h->src_port, h->dst_port,
	    VSOCK_S_CONNECTING_HOST);
	if (c == NULL) {
		v->v_st.vs_refused++;
		vsock_orphan_rst(v, h);
		return;
	}
	c->vc_peer_buf_alloc = h->buf_alloc;
	c->vc_peer_fwd_cnt = h->fwd_cnt;
	vsock_act_push(v, VSOCK_ACT_BROKER_CONNECT, c, h->dst_port);
}

static int
on_rw(struct vsock *v, struct vsock_conn *c, const struct virtio_vsock_hdr *h,
    const void *payload)
{
	if (c->vc_peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)
		return vsock_violation(v, c, "data after SHUTDOWN(SEND)");
	if (h->len == 0)
		return 0;
	if (h->len > v->v_p.vp_buf_alloc - guest_credit_used(c))
		return vsock_violation(v, c, "data beyond the credit we gave");
	if (vsock_ring_push(v, &c->vc_txb, payload, h->len) < 0)
		return vsock_violation(v, c, "no memory for the data");
	c->vc_rx_cnt += h->len;
	if (c->vc_txb.r_len == h->len)	/* was empty: tell the glue */
		vsock_act_push(v, VSOCK_ACT_HOST_WRITE, c, 0);
	return 0;
}

static void
on_shutdown(struct vsock *v, struct vsock_conn *c, uint32_t flags)
{
	uint8_t	new = (uint8_t)(flags & VIRTIO_VSOCK_SHUTDOWN_MASK) &
	    (uint8_t)~c->vc_peer_shut;

	c->vc_peer_shut |= new;
	if (new & VIRTIO_VSOCK_SHUTDOWN_RCV) {
		/* Nobody will read what is staged for the guest. */
		vsock_ring_release(v, &c->vc_rxb);
		c->vc_pend &= (uint8_t)~P_SHUTDOWN;
		if (c->vc_peer_shut != VIRTIO_VSOCK_SHUTDOWN_MASK)
			vsock_act_push(v, VSOCK_ACT_HOST_SHUT_RD, c, 0);
	}
	if (c->vc_peer_shut == VIRTIO_VSOCK_SHUTDOWN_MASK && !c->vc_draining) {
		c->vc_draining = true;
		c->vc_since_ms = v->v_now;
	}
	vsock_conn_after_tx(v, c);
}

static int
on_established(struct vsock *v, struct vsock_conn *c,
    const struct virtio_vsock_hdr *h, const void *payload)
{
	switch (h->op) {
	case VIRTIO_VSOCK_OP_RW:
		return on_rw(v, c, h, payload);
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return 0;		/* credit already taken */
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		c->vc_pend |= P_CREDIT_UPD;
		return 0;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		on_shutdown(v, c, h->flags);
		return 0;
	default:			/* REQUEST, RESPONSE: wrong state */
		return vsock_violation(v, c,
		    "REQUEST or RESPONSE on a connection");
	}
}

/*
 * A packet from the guest.
 */
int
vsock_guest_packet(struct vsock *v, const struct virtio_vsock_hdr *h,
    const void *payload, size_t avail)
{
	struct vsock_conn	*c;
	int			 verdict, rc = 0;

	verdict = vsock_hdr_check(h, v->v_p.vp_guest_cid, avail,
	    v->v_p.vp_seqpacket);
	if (verdict == VSOCK_PKT_DROP) {
		v->v_st.vs_dropped++;
		return -EPROTO;
	}
	if (verdict == VSOCK_PKT_RST) {
		vsock_orphan_rst(v, h);
		return -EPROTO;
	}
	c = vsock_conn_find(v, h->src_port, h->dst_port);
	if (c == NULL) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST) {
			on_request(v, h);
			return 0;
		}
		if (h->op != VIRTIO_VSOCK_OP_RST)
			vsock_orphan_rst(v, h);
		else
			v->v_st.vs_dropped++;
		return -EPROTO;
	}
	if (h->op == VIRTIO_VSOCK_OP_RST) {
		vsock_conn_drop(v, c);
		return 0;
	}
	if (c->vc_state == VSOCK_S_CLOSING)
		return 0;		/* our RST is on its way */
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM)
		return vsock_violation(v, c, "type changed");
	/* Every packet carries the sender's credit (5.10.6.3). */
	c->vc_peer_buf_alloc = h->buf_alloc;
	c->vc_peer_fwd_cnt = h->fwd_cnt;
	if (vsock_peer_credit(c) > 0)
		c->vc_credit_req = false;

	switch (c->vc_state) {
	case VSOCK_S_CONNECTING_GUEST:
		if (h->op != VIRTIO_VSOCK_OP_RESPONSE || !c->vc_req_sent)
			return vsock_violation(v, c,
			    "not a RESPONSE to our REQUEST");
		vsock_conn_established(v, c);
		c->vc_reply_len = (uint8_t)snprintf(c->vc_reply,
		    sizeof(c->vc_reply), "OK %u\n", c->vc_host_port);
		c->vc_reply_off = 0;
		vsock_act_push(v, VSOCK_ACT_HOST_WRITE, c, 0);
		break;
	case VSOCK_S_CONNECTING_HOST:
		return vsock_violation(v, c, "packet before our RESPONSE");
	case VSOCK_S_ESTABLISHED:
		if ((rc = on_established(v, c, h, payload)) < 0)
			return rc;
		break;
	default:
		break;
	}
	if (c->vc_state == VSOCK_S_ESTABLISHED)
		vsock_read_again(v, c);
	vsock_conn_enqueue(v, c);
	return 0;
}

/* --- packets for the guest ------------------------------------------ */

static void
fill_hdr(const struct vsock *v, struct vsock_conn *c,
    struct virtio_vsock_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_CID_HOST;
	h->dst_cid = v->v_p.vp_guest_cid;
	h->src_port = c->vc_host_port;
	h->dst_port = c->vc_guest_port;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->buf_alloc = v->v_p.vp_buf_alloc;
	h->fwd_cnt = c->vc_fwd_cnt;
	/* Every packet tells the guest our fwd_cnt: no separate update. */
	c->vc_last_fwd = c->vc_fwd_cnt;
	c->vc_pend &= (uint8_t)~P_CREDIT_UPD;
}

/* One packet of connection c; true if one was produced. */
static bool
conn_emit(struct vsock *v, struct vsock_conn *c, struct virtio_vsock_hdr *h,
    void *buf, size_t cap, size_t *len)
{
	uint32_t	n;

	*len = 0;
	if (c->vc_pend & P_RST) {
		fill_hdr(v, c, h, VIRTIO_VSOCK_OP_RST);
		vsock_conn_release(v, c);
		return true;
	}
	if (c->vc_pend & P_REQUEST) {
		c->vc_pend &= (uint8_t)~P_REQUEST;
		c->vc_req_sent = true;
		fill_hdr(v, c, h, VIRTIO_VSOCK_OP_REQUEST);
		return true;
	}
	if (c->vc_pend & P_RESPONSE) {
		c->vc_pend &= (uint8_t)~P_RESPONSE;
		fill_hdr(v, c, h, VIRTIO_VSOCK_OP_RESPONSE);
		return true;
	}
	if (c->vc_state == VSOCK_S_ESTABLISHED && c->vc_rxb.r_len > 0) {
		n = MIN(c->vc_rxb.r_len, vsock_peer_credit(c));
		n = (uint32_t)MIN((size_t)n, MIN(cap, (size_t)VSOCK_MAX_PKT));
		if (n > 0) {
			fill_hdr(v, c, h, VIRTIO_VSOCK_OP_RW);
			vsock_ring_copy_out(&c->vc_rxb, buf, n);
			vsock_ring_consume(&c->vc_rxb, n);
			c->vc_tx_cnt += n;
			h->len = n;
			*len = n;
			vsock_read_again(v, c);
			return true;
		}
		if (vsock_peer_credit(c) == 0 && !c->vc_credit_req) {
			c->vc_credit_req = true;
			fill_hdr(v, c, h, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
			return true;
		}
	}
	if ((c->vc_pend & P_SHUTDOWN) && c->vc_rxb.r_len == 0 &&
	    c->vc_state == VSOCK_S_ESTABLISHED) {
		c->vc_pend &= (uint8_t)~P_SHUTDOWN;
		fill_hdr(v, c, h, VIRTIO_VSOCK_OP_SHUTDOWN);
		h->flags = VIRTIO_VSOCK_SHUTDOWN_SEND;
		c->vc_local_shut |= VIRTIO_VSOCK_SHUTDOWN_SEND;
		return true;
	}
	if (c->vc_pend & P_CREDIT_UPD) {
		fill_hdr(v, c, h, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
		return true;
	}
	return false;
}

/*
 * Next packet for the guest.
 */
int
vsock_guest_next(struct vsock *v, struct virtio_vsock_hdr *h, void *buf,
    size_t cap, size_t *len)
{
	struct vsock_conn	*c;
	uint32_t		 tries;
	bool			 emitted;

	*len = 0;
	if (v->v_orphan_len > 0) {
		*h = v->v_orphan[v->v_orphan_head];
		v->v_orphan_head = (v->v_orphan_head + 1) %
		    VSOCK_ORPHAN_RST_MAX;
		v->v_orphan_len--;
		return 0;
	}
	/*
	 * A connection with only data and a buffer without payload room
	 * produces nothing: it goes back to the tail; one round at most.
	 */
	for (tries = 0; tries <= v->v_p.vp_max_conns &&
	    (c = vsock_conn_dequeue(v)) != NULL; tries++) {
		emitted = conn_emit(v, c, h, buf, cap, len);
		if (c->vc_state != VSOCK_S_FREE)
			vsock_conn_enqueue(v, c);
		if (emitted)
			return 0;
	}
	return -EAGAIN;
}

/* Anything for the RX queue? */
bool
vsock_guest_pending(const struct vsock *v)
{
	return v->v_orphan_len > 0 || v->v_qhead != NIL;
}
