/*
 * vsock_proto.c - virtio-vsock protocol core: header codec and checks,
 * connection table, credit accounting, state machine (vsock_proto.h).
 * No system calls: the device glue does the I/O.
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

#include "../util/log.h"
#include "../util/util.h"
#include "vsock_proto.h"

/* Pending guest-bound control packets of a connection (vc_pend). */
#define P_REQUEST	0x01
#define P_RESPONSE	0x02
#define P_RST		0x04
#define P_SHUTDOWN	0x08
#define P_CREDIT_UPD	0x10

#define SLOT_BITS	16
#define SLOT_MASK	((1u << SLOT_BITS) - 1)
#define NIL		UINT32_MAX

struct vsock_ring {
	uint8_t		*r_buf;		/* allocated on first use */
	uint32_t	 r_cap;
	uint32_t	 r_head;
	uint32_t	 r_len;
};

struct vsock_conn {
	enum vsock_state vc_state;
	uint32_t	vc_gen;
	uint32_t	vc_guest_port;
	uint32_t	vc_host_port;
	int		vc_fd;
	bool		vc_host_init;	/* CONNECT from the host */
	bool		vc_req_sent;	/* REQUEST emitted to the guest */
	bool		vc_credit_req;	/* CREDIT_REQUEST sent, no answer */
	bool		vc_host_eof;
	bool		vc_shut_wr_done;
	bool		vc_read_off;	/* glue told to stop reading */
	uint8_t		vc_pend;	/* P_* */
	uint8_t		vc_peer_shut;
	uint8_t		vc_local_shut;
	uint64_t	vc_since_ms;	/* handshake start or close wait */
	bool		vc_draining;	/* guest closed, drain then RST */
	/* credit */
	uint32_t	vc_peer_buf_alloc;
	uint32_t	vc_peer_fwd_cnt;
	uint32_t	vc_tx_cnt;	/* bytes sent to the guest */
	uint32_t	vc_rx_cnt;	/* bytes received from the guest */
	uint32_t	vc_fwd_cnt;	/* of those, written to the host */
	uint32_t	vc_last_fwd;	/* fwd_cnt the guest last heard */
	/* "OK <port>\n" for a host client, written before any data */
	char		vc_reply[24];
	uint8_t		vc_reply_len;
	uint8_t		vc_reply_off;
	struct vsock_ring vc_txb;	/* guest -> host */
	struct vsock_ring vc_rxb;	/* host -> guest */
	/* lists */
	uint32_t	vc_hnext;	/* hash chain */
	uint32_t	vc_qnext;	/* ready queue */
	bool		vc_queued;
	uint32_t	vc_fnext;	/* free list */
};

struct vsock {
	struct vsock_params	 v_p;
	struct vsock_conn	*v_conns;
	uint32_t		*v_hash;	/* heads, v_hmask + 1 */
	uint32_t		 v_hmask;
	uint32_t		 v_free;
	uint32_t		 v_qhead, v_qtail;
	uint32_t		 v_next_port;
	uint64_t		 v_now;
	bool			 v_ticked;
	struct virtio_vsock_hdr	 v_orphan[VSOCK_ORPHAN_RST_MAX];
	uint32_t		 v_orphan_head, v_orphan_len;
	struct vsock_action	*v_act;
	uint32_t		 v_act_cap, v_act_head, v_act_len;
	struct vsock_stats	 v_st;
};

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

/* --- rings ------------------------------------------------------------ */

static int
ring_push(struct vsock *v, struct vsock_ring *r, const void *data,
    uint32_t n)
{
	uint32_t	tail, first;

	if (n == 0)
		return 0;
	if (n > r->r_cap - r->r_len)
		return -ENOBUFS;
	if (r->r_buf == NULL) {
		if ((r->r_buf = malloc(r->r_cap)) == NULL)
			return -ENOMEM;
		v->v_st.vs_mem += r->r_cap;
	}
	tail = (r->r_head + r->r_len) % r->r_cap;
	first = MIN(n, r->r_cap - tail);
	memcpy(r->r_buf + tail, data, first);
	memcpy(r->r_buf, (const uint8_t *)data + first, n - first);
	r->r_len += n;
	return 0;
}

static void
ring_copy_out(const struct vsock_ring *r, void *out, uint32_t n)
{
	uint32_t	first = MIN(n, r->r_cap - r->r_head);

	memcpy(out, r->r_buf + r->r_head, first);
	memcpy((uint8_t *)out + first, r->r_buf, n - first);
}

static void
ring_consume(struct vsock_ring *r, uint32_t n)
{
	r->r_head = (r->r_head + n) % r->r_cap;
	r->r_len -= n;
	if (r->r_len == 0)
		r->r_head = 0;
}

static void
ring_release(struct vsock *v, struct vsock_ring *r)
{
	if (r->r_buf != NULL) {
		free(r->r_buf);
		v->v_st.vs_mem -= r->r_cap;
	}
	r->r_buf = NULL;
	r->r_head = r->r_len = 0;
}

/* --- table ------------------------------------------------------------ */

/* Defaults (vsock_proto.h). */
void
vsock_params_default(struct vsock_params *p)
{
	memset(p, 0, sizeof(*p));
	p->vp_guest_cid = VSOCK_CID_MIN_GUEST;
	p->vp_max_conns = VSOCK_DEF_MAX_CONNS;
	p->vp_buf_alloc = VSOCK_DEF_BUF_ALLOC;
	p->vp_rx_buf = VSOCK_DEF_RX_BUF;
	p->vp_port_min = VSOCK_DEF_PORT_MIN;
	p->vp_port_max = VSOCK_DEF_PORT_MAX;
	p->vp_connect_ms = VSOCK_DEF_CONNECT_MS;
	p->vp_close_ms = VSOCK_DEF_CLOSE_MS;
}

static uint32_t
hash_key(const struct vsock *v, uint32_t gp, uint32_t hp)
{
	uint32_t	h = gp * 0x9e3779b1u ^ (hp + 0x7f4a7c15u) * 0x85ebca6bu;

	return (h ^ (h >> 15)) & v->v_hmask;
}

static uint32_t
conn_id(const struct vsock *v, const struct vsock_conn *c)
{
	return (c->vc_gen << SLOT_BITS) | (uint32_t)(c - v->v_conns);
}

static struct vsock_conn *
conn_get(const struct vsock *v, uint32_t id)
{
	uint32_t		 slot = id & SLOT_MASK;
	struct vsock_conn	*c;

	if (slot >= v->v_p.vp_max_conns)
		return NULL;
	c = &v->v_conns[slot];
	if (c->vc_state == VSOCK_S_FREE || c->vc_gen != (id >> SLOT_BITS))
		return NULL;
	return c;
}

static struct vsock_conn *
conn_find(const struct vsock *v, uint32_t gp, uint32_t hp)
{
	uint32_t		 i;
	struct vsock_conn	*c;

	for (i = v->v_hash[hash_key(v, gp, hp)]; i != NIL; i = c->vc_hnext) {
		c = &v->v_conns[i];
		if (c->vc_guest_port == gp && c->vc_host_port == hp)
			return c;
	}
	return NULL;
}

/*
 * Create a new, empty table.
 */
int
vsock_new(const struct vsock_params *p, struct vsock **out)
{
	struct vsock	*v;
	uint32_t	 i, nh;

	*out = NULL;
	if (p->vp_guest_cid < VSOCK_CID_MIN_GUEST ||
	    p->vp_guest_cid >= UINT32_MAX ||
	    p->vp_max_conns == 0 || p->vp_max_conns > VSOCK_MAX_CONNS_LIMIT ||
	    p->vp_buf_alloc == 0 || p->vp_rx_buf == 0 ||
	    p->vp_port_min > p->vp_port_max ||
	    p->vp_port_max == VSOCK_PORT_ANY)
		return -EINVAL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return -ENOMEM;
	v->v_p = *p;
	for (nh = 1; nh < 2 * p->vp_max_conns; nh <<= 1)
		;
	v->v_hmask = nh - 1;
	v->v_act_cap = 4 * p->vp_max_conns + 8;
	v->v_conns = calloc(p->vp_max_conns, sizeof(*v->v_conns));
	v->v_hash = calloc(nh, sizeof(*v->v_hash));
	v->v_act = calloc(v->v_act_cap, sizeof(*v->v_act));
	if (v->v_conns == NULL || v->v_hash == NULL || v->v_act == NULL) {
		vsock_free(v);
		return -ENOMEM;
	}
	for (i = 0; i < nh; i++)
		v->v_hash[i] = NIL;
	for (i = 0; i < p->vp_max_conns; i++) {
		v->v_conns[i].vc_fd = -1;
		v->v_conns[i].vc_fnext = i + 1 < p->vp_max_conns ? i + 1 : NIL;
	}
	v->v_free = 0;
	v->v_qhead = v->v_qtail = NIL;
	v->v_next_port = p->vp_port_min;
	*out = v;
	return 0;
}

/* Free the table and every buffer (host fds are the glue's). */
void
vsock_free(struct vsock *v)
{
	uint32_t	i;

	if (v == NULL)
		return;
	if (v->v_conns != NULL)
		for (i = 0; i < v->v_p.vp_max_conns; i++) {
			free(v->v_conns[i].vc_txb.r_buf);
			free(v->v_conns[i].vc_rxb.r_buf);
		}
	free(v->v_conns);
	free(v->v_hash);
	free(v->v_act);
	free(v);
}

/* Copy the counters. */
void
vsock_get_stats(const struct vsock *v, struct vsock_stats *st)
{
	*st = v->v_st;
}

static void
act_push(struct vsock *v, enum vsock_act_type type, struct vsock_conn *c,
    uint32_t port)
{
	struct vsock_action	*a;

	if (v->v_act_len == v->v_act_cap) {
		/* The glue drains after every call: cannot happen. */
		log_warnx("vsock: action queue full; glue does not drain it");
		return;
	}
	a = &v->v_act[(v->v_act_head + v->v_act_len++) % v->v_act_cap];
	a->va_type = type;
	a->va_conn = conn_id(v, c);
	a->va_fd = c->vc_fd;
	a->va_port = port;
}

/*
 * Next action for the glue.
 */
int
vsock_action_next(struct vsock *v, struct vsock_action *a)
{
	if (v->v_act_len == 0)
		return 0;
	*a = v->v_act[v->v_act_head];
	v->v_act_head = (v->v_act_head + 1) % v->v_act_cap;
	v->v_act_len--;
	return 1;
}

static struct vsock_conn *
conn_alloc(struct vsock *v, uint32_t gp, uint32_t hp, enum vsock_state st)
{
	struct vsock_conn	*c;
	uint32_t		 slot, gen, h;

	if (v->v_free == NIL)
		return NULL;
	slot = v->v_free;
	c = &v->v_conns[slot];
	v->v_free = c->vc_fnext;
	gen = c->vc_gen;
	memset(c, 0, sizeof(*c));
	c->vc_gen = gen;
	c->vc_state = st;
	c->vc_guest_port = gp;
	c->vc_host_port = hp;
	c->vc_fd = -1;
	c->vc_since_ms = v->v_now;
	c->vc_qnext = c->vc_fnext = NIL;
	c->vc_tx_cnt = c->vc_rx_cnt = c->vc_fwd_cnt = c->vc_last_fwd =
	    v->v_p.vp_cnt_base;
	c->vc_txb.r_cap = v->v_p.vp_buf_alloc;
	c->vc_rxb.r_cap = v->v_p.vp_rx_buf;
	h = hash_key(v, gp, hp);
	c->vc_hnext = v->v_hash[h];
	v->v_hash[h] = slot;
	v->v_st.vs_conns++;
	return c;
}

/* Unlink from the hash, release buffers, back to the free list.  A stale
 * entry may stay in the ready queue: it is skipped (state FREE). */
static void
conn_release(struct vsock *v, struct vsock_conn *c)
{
	uint32_t	slot = (uint32_t)(c - v->v_conns), *pp;

	for (pp = &v->v_hash[hash_key(v, c->vc_guest_port, c->vc_host_port)];
	    *pp != NIL; pp = &v->v_conns[*pp].vc_hnext)
		if (*pp == slot) {
			*pp = c->vc_hnext;
			break;
		}
	ring_release(v, &c->vc_txb);
	ring_release(v, &c->vc_rxb);
	c->vc_state = VSOCK_S_FREE;
	c->vc_gen = (c->vc_gen + 1) & ((1u << (32 - SLOT_BITS)) - 1);
	c->vc_fd = -1;
	c->vc_pend = 0;
	if (!c->vc_queued) {
		c->vc_fnext = v->v_free;
		v->v_free = slot;
	}
	/* else: conn_dequeue puts it on the free list when it pops it. */
	v->v_st.vs_conns--;
}

static uint32_t
peer_credit(const struct vsock_conn *c)
{
	uint32_t	in_flight = c->vc_tx_cnt - c->vc_peer_fwd_cnt;

	if (in_flight > c->vc_peer_buf_alloc)
		return 0;
	return c->vc_peer_buf_alloc - in_flight;
}

static bool
conn_has_guest_work(const struct vsock_conn *c)
{
	if (c->vc_state == VSOCK_S_FREE)
		return false;
	if (c->vc_pend & (P_RST | P_REQUEST | P_RESPONSE | P_CREDIT_UPD))
		return true;
	if (c->vc_state != VSOCK_S_ESTABLISHED)
		return false;
	if (c->vc_rxb.r_len > 0)
		return peer_credit(c) > 0 || !c->vc_credit_req;
	return (c->vc_pend & P_SHUTDOWN) != 0;
}

static void
conn_enqueue(struct vsock *v, struct vsock_conn *c)
{
	uint32_t	slot = (uint32_t)(c - v->v_conns);

	if (c->vc_queued || !conn_has_guest_work(c))
		return;
	c->vc_queued = true;
	c->vc_qnext = NIL;
	if (v->v_qtail == NIL)
		v->v_qhead = slot;
	else
		v->v_conns[v->v_qtail].vc_qnext = slot;
	v->v_qtail = slot;
}

static struct vsock_conn *
conn_dequeue(struct vsock *v)
{
	struct vsock_conn	*c;
	uint32_t		 slot;

	while ((slot = v->v_qhead) != NIL) {
		c = &v->v_conns[slot];
		v->v_qhead = c->vc_qnext;
		if (v->v_qhead == NIL)
			v->v_qtail = NIL;
		c->vc_queued = false;
		if (c->vc_state == VSOCK_S_FREE) {
			c->vc_fnext = v->v_free;
			v->v_free = slot;
			continue;
		}
		if (conn_has_guest_work(c))
			return c;
	}
	return NULL;
}

static void
orphan_rst(struct vsock *v, const struct virtio_vsock_hdr *in)
{
	struct virtio_vsock_hdr	*h;

	if (v->v_orphan_len == VSOCK_ORPHAN_RST_MAX) {
		v->v_st.vs_orphan_lost++;
		return;
	}
	h = &v->v_orphan[(v->v_orphan_head + v->v_orphan_len++) %
	    VSOCK_ORPHAN_RST_MAX];
	memset(h, 0, sizeof(*h));
	h->src_cid = in->dst_cid;
	h->dst_cid = in->src_cid;
	h->src_port = in->dst_port;
	h->dst_port = in->src_port;
	h->type = in->type;
	h->op = VIRTIO_VSOCK_OP_RST;
	v->v_st.vs_rst_sent++;
}

/* Close the host side now (if any) and queue RST for the guest; the slot
 * is freed once the RST went out. */
static void
conn_reset(struct vsock *v, struct vsock_conn *c, bool error)
{
	if (c->vc_fd != -1)
		act_push(v, VSOCK_ACT_HOST_CLOSE, c, 0);
	c->vc_fd = -1;
	c->vc_state = VSOCK_S_CLOSING;
	c->vc_pend = P_RST;
	c->vc_draining = false;
	ring_release(v, &c->vc_txb);
	ring_release(v, &c->vc_rxb);
	if (error)
		v->v_st.vs_rst_sent++;
	conn_enqueue(v, c);
}

/* The guest reset the connection (or we must forget it without reply). */
static void
conn_drop(struct vsock *v, struct vsock_conn *c)
{
	if (c->vc_fd != -1)
		act_push(v, VSOCK_ACT_HOST_CLOSE, c, 0);
	conn_release(v, c);
}

static int
violation(struct vsock *v, struct vsock_conn *c, const char *what)
{
	v->v_st.vs_violations++;
	log_debug("vsock: guest port %u -> %u: %s; reset", c->vc_guest_port,
	    c->vc_host_port, what);
	conn_reset(v, c, true);
	return -EPROTO;
}

/* After txb drained or guest shutdown flags changed: host-side steps. */
static void
conn_after_tx(struct vsock *v, struct vsock_conn *c)
{
	if (c->vc_state != VSOCK_S_ESTABLISHED || c->vc_txb.r_len > 0 ||
	    c->vc_reply_off < c->vc_reply_len)
		return;
	if (c->vc_peer_shut == VIRTIO_VSOCK_SHUTDOWN_MASK) {
		/* The guest closed and everything is written: done. */
		conn_reset(v, c, false);
		return;
	}
	if ((c->vc_peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) &&
	    !c->vc_shut_wr_done) {
		c->vc_shut_wr_done = true;
		act_push(v, VSOCK_ACT_HOST_SHUT_WR, c, 0);
	}
}

static uint32_t
guest_credit_used(const struct vsock_conn *c)
{
	return c->vc_rx_cnt - c->vc_fwd_cnt;
}

static void
maybe_read_again(struct vsock *v, struct vsock_conn *c)
{
	if (c->vc_read_off && vsock_host_rx_room(v, conn_id(v, c)) > 0) {
		c->vc_read_off = false;
		act_push(v, VSOCK_ACT_HOST_READ, c, 0);
	}
}

static void
on_request(struct vsock *v, const struct virtio_vsock_hdr *h)
{
	struct vsock_conn	*c;

	if (h->type != VIRTIO_VSOCK_TYPE_STREAM) {
		/* SEQPACKET needs SOCK_SEQPACKET host sockets: not yet. */
		v->v_st.vs_refused++;
		orphan_rst(v, h);
		return;
	}
	c = conn_alloc(v, h->src_port, h->dst_port, VSOCK_S_CONNECTING_HOST);
	if (c == NULL) {
		v->v_st.vs_refused++;
		orphan_rst(v, h);
		return;
	}
	c->vc_peer_buf_alloc = h->buf_alloc;
	c->vc_peer_fwd_cnt = h->fwd_cnt;
	act_push(v, VSOCK_ACT_BROKER_CONNECT, c, h->dst_port);
}

static int
on_rw(struct vsock *v, struct vsock_conn *c, const struct virtio_vsock_hdr *h,
    const void *payload)
{
	if (c->vc_peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)
		return violation(v, c, "data after SHUTDOWN(SEND)");
	if (h->len == 0)
		return 0;
	if (h->len > v->v_p.vp_buf_alloc - guest_credit_used(c))
		return violation(v, c, "data beyond the credit we gave");
	if (ring_push(v, &c->vc_txb, payload, h->len) < 0)
		return violation(v, c, "no memory for the data");
	c->vc_rx_cnt += h->len;
	if (c->vc_txb.r_len == h->len)	/* was empty: tell the glue */
		act_push(v, VSOCK_ACT_HOST_WRITE, c, 0);
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
		ring_release(v, &c->vc_rxb);
		c->vc_pend &= (uint8_t)~P_SHUTDOWN;
		if (c->vc_peer_shut != VIRTIO_VSOCK_SHUTDOWN_MASK)
			act_push(v, VSOCK_ACT_HOST_SHUT_RD, c, 0);
	}
	if (c->vc_peer_shut == VIRTIO_VSOCK_SHUTDOWN_MASK && !c->vc_draining) {
		c->vc_draining = true;
		c->vc_since_ms = v->v_now;
	}
	conn_after_tx(v, c);
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
		return violation(v, c, "REQUEST or RESPONSE on a connection");
	}
}

static void
conn_established(struct vsock *v, struct vsock_conn *c)
{
	c->vc_state = VSOCK_S_ESTABLISHED;
	/* The glue watches for input only after a READ action. */
	c->vc_read_off = true;
	maybe_read_again(v, c);
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
		orphan_rst(v, h);
		return -EPROTO;
	}
	c = conn_find(v, h->src_port, h->dst_port);
	if (c == NULL) {
		if (h->op == VIRTIO_VSOCK_OP_REQUEST) {
			on_request(v, h);
			return 0;
		}
		if (h->op != VIRTIO_VSOCK_OP_RST)
			orphan_rst(v, h);
		else
			v->v_st.vs_dropped++;
		return -EPROTO;
	}
	if (h->op == VIRTIO_VSOCK_OP_RST) {
		conn_drop(v, c);
		return 0;
	}
	if (c->vc_state == VSOCK_S_CLOSING)
		return 0;		/* our RST is on its way */
	if (h->type != VIRTIO_VSOCK_TYPE_STREAM)
		return violation(v, c, "type changed");
	/* Every packet carries the sender's credit (5.10.6.3). */
	c->vc_peer_buf_alloc = h->buf_alloc;
	c->vc_peer_fwd_cnt = h->fwd_cnt;
	if (peer_credit(c) > 0)
		c->vc_credit_req = false;

	switch (c->vc_state) {
	case VSOCK_S_CONNECTING_GUEST:
		if (h->op != VIRTIO_VSOCK_OP_RESPONSE || !c->vc_req_sent)
			return violation(v, c, "not a RESPONSE to our REQUEST");
		conn_established(v, c);
		c->vc_reply_len = (uint8_t)snprintf(c->vc_reply,
		    sizeof(c->vc_reply), "OK %u\n", c->vc_host_port);
		c->vc_reply_off = 0;
		act_push(v, VSOCK_ACT_HOST_WRITE, c, 0);
		break;
	case VSOCK_S_CONNECTING_HOST:
		return violation(v, c, "packet before our RESPONSE");
	case VSOCK_S_ESTABLISHED:
		if ((rc = on_established(v, c, h, payload)) < 0)
			return rc;
		break;
	default:
		break;
	}
	if (c->vc_state == VSOCK_S_ESTABLISHED)
		maybe_read_again(v, c);
	conn_enqueue(v, c);
	return 0;
}

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
		conn_release(v, c);
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
		n = MIN(c->vc_rxb.r_len, peer_credit(c));
		n = (uint32_t)MIN((size_t)n, MIN(cap, (size_t)VSOCK_MAX_PKT));
		if (n > 0) {
			fill_hdr(v, c, h, VIRTIO_VSOCK_OP_RW);
			ring_copy_out(&c->vc_rxb, buf, n);
			ring_consume(&c->vc_rxb, n);
			c->vc_tx_cnt += n;
			h->len = n;
			*len = n;
			maybe_read_again(v, c);
			return true;
		}
		if (peer_credit(c) == 0 && !c->vc_credit_req) {
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
	    (c = conn_dequeue(v)) != NULL; tries++) {
		emitted = conn_emit(v, c, h, buf, cap, len);
		if (c->vc_state != VSOCK_S_FREE)
			conn_enqueue(v, c);
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

/* --- host side -------------------------------------------------------- */

/*
 * A host client's CONNECT <port>.
 */
int
vsock_host_connect(struct vsock *v, int fd, uint32_t port, uint32_t *id)
{
	struct vsock_conn	*c = NULL;
	uint64_t		 range, tries;
	uint32_t		 hp;

	if (port == VSOCK_PORT_ANY)
		return -EINVAL;
	if (v->v_free == NIL) {
		v->v_st.vs_refused++;
		return -ENOSPC;
	}
	range = (uint64_t)v->v_p.vp_port_max - v->v_p.vp_port_min + 1;
	/* At most vp_max_conns ports are taken: that many + 1 tries find
	 * a free one if the range has it. */
	for (tries = 0; tries < MIN(range, (uint64_t)v->v_p.vp_max_conns + 1);
	    tries++) {
		hp = v->v_next_port;
		v->v_next_port = hp == v->v_p.vp_port_max ?
		    v->v_p.vp_port_min : hp + 1;
		if (conn_find(v, port, hp) == NULL) {
			c = conn_alloc(v, port, hp, VSOCK_S_CONNECTING_GUEST);
			break;
		}
	}
	if (c == NULL) {
		v->v_st.vs_refused++;
		return -EADDRNOTAVAIL;
	}
	c->vc_fd = fd;
	c->vc_host_init = true;
	c->vc_pend = P_REQUEST;
	conn_enqueue(v, c);
	*id = conn_id(v, c);
	return 0;
}

/*
 * The broker's answer for a guest-initiated connection.
 */
int
vsock_host_connected(struct vsock *v, uint32_t id, int fd)
{
	struct vsock_conn	*c = conn_get(v, id);

	if (c == NULL || c->vc_state != VSOCK_S_CONNECTING_HOST)
		return -ENOENT;
	c->vc_fd = fd;
	c->vc_pend |= P_RESPONSE;
	conn_established(v, c);
	conn_enqueue(v, c);
	return 0;
}

/* The broker could not connect: RST to the guest. */
int
vsock_host_connect_failed(struct vsock *v, uint32_t id)
{
	struct vsock_conn	*c = conn_get(v, id);

	if (c == NULL || c->vc_state != VSOCK_S_CONNECTING_HOST)
		return -ENOENT;
	v->v_st.vs_refused++;
	conn_reset(v, c, true);
	return 0;
}

/*
 * How much the glue may read from the host fd: what fits the staging
 * buffer and the guest's credit beyond what is already staged.
 */
size_t
vsock_host_rx_room(const struct vsock *v, uint32_t id)
{
	const struct vsock_conn	*c = conn_get(v, id);
	uint32_t		 credit, room;

	if (c == NULL || c->vc_state != VSOCK_S_ESTABLISHED ||
	    c->vc_host_eof || (c->vc_peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV))
		return 0;
	room = c->vc_rxb.r_cap - c->vc_rxb.r_len;
	credit = peer_credit(c);
	credit = credit > c->vc_rxb.r_len ? credit - c->vc_rxb.r_len : 0;
	return MIN(room, credit);
}

/*
 * Bytes from the host fd for the guest.
 */
int
vsock_host_data(struct vsock *v, uint32_t id, const void *buf, size_t n)
{
	struct vsock_conn	*c = conn_get(v, id);
	size_t			 room;
	int			 rc;

	if (c == NULL)
		return -ENOENT;
	if (c->vc_state != VSOCK_S_ESTABLISHED || c->vc_host_eof)
		return -EPIPE;
	room = vsock_host_rx_room(v, id);
	if (n > room)
		return -ENOBUFS;
	if ((rc = ring_push(v, &c->vc_rxb, buf, (uint32_t)n)) < 0)
		return rc;
	if (vsock_host_rx_room(v, id) == 0)
		c->vc_read_off = true;
	conn_enqueue(v, c);
	return 0;
}

/* EOF on the host fd. */
int
vsock_host_eof(struct vsock *v, uint32_t id)
{
	struct vsock_conn	*c = conn_get(v, id);

	if (c == NULL)
		return -ENOENT;
	if (c->vc_state != VSOCK_S_ESTABLISHED) {
		/* Before the guest accepted: the client gave up. */
		if (c->vc_state != VSOCK_S_CLOSING)
			conn_reset(v, c, true);
		return 0;
	}
	if (!c->vc_host_eof) {
		c->vc_host_eof = true;
		if (!(c->vc_peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV))
			c->vc_pend |= P_SHUTDOWN;
		conn_enqueue(v, c);
	}
	return 0;
}

/* The host fd failed. */
int
vsock_host_closed(struct vsock *v, uint32_t id)
{
	struct vsock_conn	*c = conn_get(v, id);

	if (c == NULL)
		return -ENOENT;
	if (c->vc_state != VSOCK_S_CLOSING)
		conn_reset(v, c, true);
	return 0;
}

/*
 * Staged bytes for the host fd: the CONNECT answer first, then data.
 */
int
vsock_host_tx_peek(const struct vsock *v, uint32_t id, struct iovec iov[2],
    int *iovcnt)
{
	const struct vsock_conn	*c = conn_get(v, id);
	const struct vsock_ring	*r;
	uint32_t		 first;

	*iovcnt = 0;
	if (c == NULL)
		return -ENOENT;
	if (c->vc_reply_off < c->vc_reply_len) {
		iov[0].iov_base = (void *)(uintptr_t)(c->vc_reply +
		    c->vc_reply_off);
		iov[0].iov_len = (size_t)(c->vc_reply_len - c->vc_reply_off);
		*iovcnt = 1;
		return 0;
	}
	r = &c->vc_txb;
	if (r->r_len == 0)
		return 0;
	first = MIN(r->r_len, r->r_cap - r->r_head);
	iov[0].iov_base = r->r_buf + r->r_head;
	iov[0].iov_len = first;
	*iovcnt = 1;
	if (first < r->r_len) {
		iov[1].iov_base = r->r_buf;
		iov[1].iov_len = r->r_len - first;
		*iovcnt = 2;
	}
	return 0;
}

/*
 * n staged bytes were written to the host fd.
 */
int
vsock_host_tx_done(struct vsock *v, uint32_t id, size_t n)
{
	struct vsock_conn	*c = conn_get(v, id);
	uint32_t		 k, unheard;

	if (c == NULL)
		return -ENOENT;
	k = (uint32_t)MIN(n, (size_t)(c->vc_reply_len - c->vc_reply_off));
	c->vc_reply_off += (uint8_t)k;
	n -= k;
	if (n > c->vc_txb.r_len)
		return -EINVAL;
	ring_consume(&c->vc_txb, (uint32_t)n);
	c->vc_fwd_cnt += (uint32_t)n;
	/*
	 * The guest believes it may send buf_alloc - (rx_cnt - last_fwd).
	 * Tell it about freed space once half the buffer is unheard of, so
	 * it is never stalled while we have room (every other packet we
	 * send carries fwd_cnt too).
	 */
	unheard = c->vc_fwd_cnt - c->vc_last_fwd;
	if (n > 0 && unheard >= v->v_p.vp_buf_alloc / 2 &&
	    !(c->vc_peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND))
		c->vc_pend |= P_CREDIT_UPD;
	conn_after_tx(v, c);
	conn_enqueue(v, c);
	return 0;
}

/*
 * Timeouts.
 */
void
vsock_tick(struct vsock *v, uint64_t now_ms)
{
	struct vsock_conn	*c;
	uint32_t		 i;

	v->v_now = now_ms;
	if (!v->v_ticked) {
		/* The origin: what was created before waits from now. */
		v->v_ticked = true;
		for (i = 0; i < v->v_p.vp_max_conns; i++)
			v->v_conns[i].vc_since_ms = now_ms;
		return;
	}
	for (i = 0; i < v->v_p.vp_max_conns; i++) {
		c = &v->v_conns[i];
		if ((c->vc_state == VSOCK_S_CONNECTING_GUEST ||
		    c->vc_state == VSOCK_S_CONNECTING_HOST) &&
		    now_ms - c->vc_since_ms > v->v_p.vp_connect_ms) {
			v->v_st.vs_timeouts++;
			conn_reset(v, c, true);
		} else if (c->vc_state == VSOCK_S_ESTABLISHED &&
		    c->vc_draining &&
		    now_ms - c->vc_since_ms > v->v_p.vp_close_ms) {
			v->v_st.vs_timeouts++;
			conn_reset(v, c, true);
		}
	}
}

/*
 * Transport reset: forget everything.
 */
void
vsock_reset(struct vsock *v)
{
	struct vsock_conn	*c;
	uint32_t		 i;

	for (i = 0; i < v->v_p.vp_max_conns; i++) {
		c = &v->v_conns[i];
		c->vc_queued = false;
		if (c->vc_state != VSOCK_S_FREE)
			conn_drop(v, c);
	}
	/* Rebuild the free list: the ready queue is empty now. */
	v->v_free = NIL;
	for (i = v->v_p.vp_max_conns; i-- > 0;) {
		v->v_conns[i].vc_fnext = v->v_free;
		v->v_free = i;
	}
	v->v_qhead = v->v_qtail = NIL;
	v->v_orphan_len = 0;
	v->v_orphan_head = 0;
}

/* Introspection. */
int
vsock_conn_info(const struct vsock *v, uint32_t id,
    struct vsock_conn_info *ci)
{
	const struct vsock_conn	*c = conn_get(v, id);

	if (c == NULL)
		return -ENOENT;
	memset(ci, 0, sizeof(*ci));
	ci->ci_state = c->vc_state;
	ci->ci_guest_port = c->vc_guest_port;
	ci->ci_host_port = c->vc_host_port;
	ci->ci_fd = c->vc_fd;
	ci->ci_peer_credit = peer_credit(c);
	ci->ci_tx_buffered = c->vc_txb.r_len;
	ci->ci_rx_buffered = c->vc_rxb.r_len;
	ci->ci_fwd_cnt = c->vc_fwd_cnt;
	ci->ci_peer_shut = c->vc_peer_shut;
	ci->ci_local_shut = c->vc_local_shut;
	return 0;
}

/* Find (guest_port, host_port). */
int
vsock_conn_lookup(const struct vsock *v, uint32_t guest_port,
    uint32_t host_port, uint32_t *id)
{
	const struct vsock_conn	*c = conn_find(v, guest_port, host_port);

	if (c == NULL || c->vc_state == VSOCK_S_FREE)
		return -ENOENT;
	*id = conn_id(v, c);
	return 0;
}
