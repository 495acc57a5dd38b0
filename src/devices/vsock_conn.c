/*
 * vsock_conn.c - virtio-vsock protocol core, the table and the host side:
 * connection slots (generation-tagged ids, hash by (guest port, host
 * port), free list), bounded byte rings, the ready queue of connections
 * with packets for the guest, the action queue for the glue, the host
 * port allocator, host-side inputs, timeouts and transport reset
 * (vsock_proto.h; the rules are explained in vsock_proto.c).  No system
 * calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vsock_int.h"
#include "vsock_proto.h"

int
vsock_ring_push(struct vsock *v, struct vsock_ring *r, const void *data,
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

void
vsock_ring_copy_out(const struct vsock_ring *r, void *out, uint32_t n)
{
	uint32_t	first = MIN(n, r->r_cap - r->r_head);

	memcpy(out, r->r_buf + r->r_head, first);
	memcpy((uint8_t *)out + first, r->r_buf, n - first);
}

void
vsock_ring_consume(struct vsock_ring *r, uint32_t n)
{
	r->r_head = (r->r_head + n) % r->r_cap;
	r->r_len -= n;
	if (r->r_len == 0)
		r->r_head = 0;
}

void
vsock_ring_release(struct vsock *v, struct vsock_ring *r)
{
	if (r->r_buf != NULL) {
		free(r->r_buf);
		v->v_st.vs_mem -= r->r_cap;
	}
	r->r_buf = NULL;
	r->r_head = r->r_len = 0;
}

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

struct vsock_conn *
vsock_conn_find(const struct vsock *v, uint32_t gp, uint32_t hp)
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

void
vsock_act_push(struct vsock *v, enum vsock_act_type type, struct vsock_conn *c,
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

struct vsock_conn *
vsock_conn_alloc(struct vsock *v, uint32_t gp, uint32_t hp, enum vsock_state st)
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
void
vsock_conn_release(struct vsock *v, struct vsock_conn *c)
{
	uint32_t	slot = (uint32_t)(c - v->v_conns), *pp;

	for (pp = &v->v_hash[hash_key(v, c->vc_guest_port, c->vc_host_port)];
	    *pp != NIL; pp = &v->v_conns[*pp].vc_hnext)
		if (*pp == slot) {
			*pp = c->vc_hnext;
			break;
		}
	vsock_ring_release(v, &c->vc_txb);
	vsock_ring_release(v, &c->vc_rxb);
	c->vc_state = VSOCK_S_FREE;
	c->vc_gen = (c->vc_gen + 1) & ((1u << (32 - SLOT_BITS)) - 1);
	c->vc_fd = -1;
	c->vc_pend = 0;
	if (!c->vc_queued) {
		c->vc_fnext = v->v_free;
		v->v_free = slot;
	}
	/* else: vsock_conn_dequeue frees the slot when it pops it. */
	v->v_st.vs_conns--;
}

uint32_t
vsock_peer_credit(const struct vsock_conn *c)
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
		return vsock_peer_credit(c) > 0 || !c->vc_credit_req;
	return (c->vc_pend & P_SHUTDOWN) != 0;
}

void
vsock_conn_enqueue(struct vsock *v, struct vsock_conn *c)
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

struct vsock_conn *
vsock_conn_dequeue(struct vsock *v)
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

void
vsock_orphan_rst(struct vsock *v, const struct virtio_vsock_hdr *in)
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
		vsock_act_push(v, VSOCK_ACT_HOST_CLOSE, c, 0);
	c->vc_fd = -1;
	c->vc_state = VSOCK_S_CLOSING;
	c->vc_pend = P_RST;
	c->vc_draining = false;
	vsock_ring_release(v, &c->vc_txb);
	vsock_ring_release(v, &c->vc_rxb);
	if (error)
		v->v_st.vs_rst_sent++;
	vsock_conn_enqueue(v, c);
}

/* The guest reset the connection (or we must forget it without reply). */
void
vsock_conn_drop(struct vsock *v, struct vsock_conn *c)
{
	if (c->vc_fd != -1)
		vsock_act_push(v, VSOCK_ACT_HOST_CLOSE, c, 0);
	vsock_conn_release(v, c);
}

int
vsock_violation(struct vsock *v, struct vsock_conn *c, const char *what)
{
	v->v_st.vs_violations++;
	log_debug("vsock: guest port %u -> %u: %s; reset", c->vc_guest_port,
	    c->vc_host_port, what);
	conn_reset(v, c, true);
	return -EPROTO;
}

/* After txb drained or guest shutdown flags changed: host-side steps. */
void
vsock_conn_after_tx(struct vsock *v, struct vsock_conn *c)
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
		vsock_act_push(v, VSOCK_ACT_HOST_SHUT_WR, c, 0);
	}
}

void
vsock_read_again(struct vsock *v, struct vsock_conn *c)
{
	if (c->vc_read_off && vsock_host_rx_room(v, conn_id(v, c)) > 0) {
		c->vc_read_off = false;
		vsock_act_push(v, VSOCK_ACT_HOST_READ, c, 0);
	}
}

void
vsock_conn_established(struct vsock *v, struct vsock_conn *c)
{
	c->vc_state = VSOCK_S_ESTABLISHED;
	/* The glue watches for input only after a READ action. */
	c->vc_read_off = true;
	vsock_read_again(v, c);
}

/* --- host side ------------------------------------------------------ */

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
		if (vsock_conn_find(v, port, hp) == NULL) {
			c = vsock_conn_alloc(v, port, hp,
			    VSOCK_S_CONNECTING_GUEST);
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
	vsock_conn_enqueue(v, c);
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
	vsock_conn_established(v, c);
	vsock_conn_enqueue(v, c);
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
	credit = vsock_peer_credit(c);
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
	if ((rc = vsock_ring_push(v, &c->vc_rxb, buf, (uint32_t)n)) < 0)
		return rc;
	if (vsock_host_rx_room(v, id) == 0)
		c->vc_read_off = true;
	vsock_conn_enqueue(v, c);
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
		vsock_conn_enqueue(v, c);
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
	vsock_ring_consume(&c->vc_txb, (uint32_t)n);
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
	vsock_conn_after_tx(v, c);
	vsock_conn_enqueue(v, c);
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
			vsock_conn_drop(v, c);
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
	ci->ci_peer_credit = vsock_peer_credit(c);
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
	const struct vsock_conn	*c = vsock_conn_find(v, guest_port, host_port);

	if (c == NULL || c->vc_state == VSOCK_S_FREE)
		return -ENOENT;
	*id = conn_id(v, c);
	return 0;
}
