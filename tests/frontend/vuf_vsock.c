/*
 * vuf_vsock.c - the in-tree front end's virtio-vsock driver (vuf_vsock.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices/vsock_proto.h"
#include "util/util.h"
#include "vuf_vsock.h"

#define RXQ	VSOCK_QUEUE_RX
#define TXQ	VSOCK_QUEUE_TX
#define EVQ	VSOCK_QUEUE_EVENT
#define RXSZ	(VSOCK_HDR_SIZE + VSV_RX_PAYLOAD)
#define TXSZ	(VSOCK_HDR_SIZE + VSV_TX_PAYLOAD)

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int
post_rx(struct vsv *v, unsigned int i)
{
	struct vuf_seg	seg = { .sg_gpa = v->v_rx_gpa + (uint64_t)i * RXSZ,
				.sg_len = RXSZ, .sg_write = true };
	int		rc;

	rc = vuf_vq_add(&v->v_f, RXQ, &seg, 1, false,
	    (void *)(uintptr_t)(i + 1));
	return rc < 0 ? rc : 0;
}

static int
post_ev(struct vsv *v, unsigned int i)
{
	struct vuf_seg	seg = { .sg_gpa = v->v_ev_gpa + (uint64_t)i * 8,
				.sg_len = 8, .sg_write = true };
	int		rc;

	rc = vuf_vq_add(&v->v_f, EVQ, &seg, 1, false,
	    (void *)(uintptr_t)(i + 1));
	return rc < 0 ? rc : 0;
}

int
vsv_start(struct vsv *v, const char *path, uint64_t cid, uint32_t buf_alloc)
{
	struct vuf_opts	o;
	uint32_t	listen[VSV_MAX_LISTEN];
	uint64_t	got;
	unsigned int	i, nlisten;
	long		deadline;
	int		rc;

	/* Listeners set before the start stay (REQUESTs may come at once). */
	memcpy(listen, v->v_listen, sizeof(listen));
	nlisten = v->v_nlisten <= VSV_MAX_LISTEN ? v->v_nlisten : 0;
	memset(v, 0, sizeof(*v));
	memcpy(v->v_listen, listen, sizeof(listen));
	v->v_nlisten = nlisten;
	vuf_init(&v->v_f);
	v->v_cid = cid;
	v->v_next_port = 50000;
	v->v_buf_alloc = buf_alloc != 0 ? buf_alloc : 256u * 1024;
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 16u << 20;
	o.o_features = (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VIRTIO_RING_F_EVENT_IDX);
	o.o_protocol = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |
	    (1ull << VHOST_USER_PROTOCOL_F_MQ);
	o.o_nqueues = 3;
	o.o_queue_size = 256;
	if ((rc = vuf_setup(&v->v_f, path, &o)) < 0)
		return rc;
	if ((rc = vuf_get_config(&v->v_f, 0, &got, sizeof(got))) < 0)
		return rc;
	if (le64toh(got) != cid)
		return vuf_fail(&v->v_f, -EPROTO, "guest_cid %llu, want %llu",
		    (unsigned long long)le64toh(got),
		    (unsigned long long)cid);
	v->v_rx = vuf_alloc(&v->v_f, (size_t)VSV_NRX * RXSZ, 64, &v->v_rx_gpa);
	v->v_tx = vuf_alloc(&v->v_f, (size_t)VSV_NTX * TXSZ, 64, &v->v_tx_gpa);
	v->v_ev = vuf_alloc(&v->v_f, VSV_NEV * 8, 64, &v->v_ev_gpa);
	if (v->v_rx == NULL || v->v_tx == NULL || v->v_ev == NULL)
		return -ENOMEM;
	/*
	 * A new back end says TRANSPORT_RESET first: event buffers, wait
	 * for it, then rx buffers (no packet can come before it).
	 */
	for (i = 0; i < VSV_NEV; i++)
		if ((rc = post_ev(v, i)) < 0)
			return rc;
	if ((rc = vuf_vq_kick(&v->v_f, EVQ, true)) < 0)
		return rc;
	deadline = now_ms() + 5000;
	while (v->v_events == 0) {
		if (now_ms() > deadline)
			return vuf_fail(&v->v_f, -ETIMEDOUT, "no transport "
			    "reset event from the device within 5 s");
		if ((rc = vsv_poll(v, 50)) < 0)
			return rc;
	}
	for (i = 0; i < VSV_NRX; i++)
		if ((rc = post_rx(v, i)) < 0)
			return rc;
	return vuf_vq_kick(&v->v_f, RXQ, true);
}

int
vsv_reconnect(struct vsv *v, const char *path, int timeout_ms)
{
	uint64_t	events = v->v_events;
	long		deadline = now_ms() + timeout_ms;
	unsigned int	q;
	int		rc;

	vuf_disconnect(&v->v_f);
	while ((rc = vuf_connect(&v->v_f, path)) < 0) {
		if (now_ms() > deadline)
			return rc;
		usleep(10000);
	}
	if ((rc = vuf_handshake(&v->v_f, v->v_f.f_protocol)) < 0 ||
	    (rc = vuf_set_features(&v->v_f, v->v_f.f_features)) < 0 ||
	    (rc = vuf_send_mem_table(&v->v_f, 1, false)) < 0)
		return rc;
	/* As QEMU after a back end died: start where the used ring is. */
	for (q = 0; q < 3; q++)
		if ((rc = vuf_vq_start(&v->v_f, q,
		    v->v_f.f_vq[q].q_used->idx)) < 0 ||
		    (rc = vuf_vq_kick(&v->v_f, q, true)) < 0)
			return rc;
	while (v->v_events == events) {
		if (now_ms() > deadline)
			return vuf_fail(&v->v_f, -ETIMEDOUT, "no transport "
			    "reset event from the new back end");
		if ((rc = vsv_poll(v, 50)) < 0)
			return rc;
	}
	return 0;
}

void
vsv_stop(struct vsv *v)
{
	unsigned int	i;

	for (i = 0; i < VSV_MAX_CONNS; i++)
		free(v->v_conn[i].c_data);
	memset(v->v_conn, 0, sizeof(v->v_conn));
	v->v_nlisten = 0;
	vuf_fini(&v->v_f);
}

static void
fill_hdr(struct vsv *v, struct virtio_vsock_hdr *h, uint32_t sport,
    uint32_t dport, uint16_t op, uint32_t flags, uint32_t len)
{
	struct vsv_conn	*c = NULL;
	unsigned int	 i;

	memset(h, 0, sizeof(*h));
	h->src_cid = v->v_cid;
	h->dst_cid = VSOCK_CID_HOST;
	h->src_port = sport;
	h->dst_port = dport;
	h->type = VIRTIO_VSOCK_TYPE_STREAM;
	h->op = op;
	h->flags = flags;
	h->len = len;
	for (i = 0; i < VSV_MAX_CONNS; i++)
		if (v->v_conn[i].c_state != VSV_FREE &&
		    v->v_conn[i].c_lport == sport &&
		    v->v_conn[i].c_rport == dport)
			c = &v->v_conn[i];
	h->buf_alloc = c != NULL ? c->c_buf_alloc : v->v_buf_alloc;
	if (c != NULL) {
		h->fwd_cnt = c->c_fwd_cnt;
		c->c_last_fwd = c->c_fwd_cnt;
	}
}

/* Reap finished tx buffers. */
static void
reap_tx(struct vsv *v)
{
	struct vuf_used	u[VSV_NTX];
	int		n, i;

	n = vuf_vq_reap(&v->v_f, TXQ, u, VSV_NTX);
	for (i = 0; i < n; i++) {
		uintptr_t k = (uintptr_t)u[i].u_cookie;

		if (k >= 1 && k <= VSV_NTX)
			v->v_tx_busy[k - 1] = false;
	}
}

int
vsv_send_raw(struct vsv *v, uint32_t sport, uint32_t dport, uint16_t op,
    uint32_t flags, const void *payload, uint32_t len)
{
	struct virtio_vsock_hdr	 h;
	struct vuf_seg		 seg[2];
	unsigned int		 i;
	long			 deadline = now_ms() + 5000;
	uint8_t			*p;
	int			 rc;

	if (len > VSV_TX_PAYLOAD)
		return vuf_fail(&v->v_f, -EINVAL, "tx packet too long");
	for (;;) {
		reap_tx(v);
		for (i = 0; i < VSV_NTX && v->v_tx_busy[i]; i++)
			;
		if (i < VSV_NTX)
			break;
		if (now_ms() > deadline)
			return vuf_fail(&v->v_f, -ETIMEDOUT, "tx ring stuck");
		if ((rc = vuf_vq_wait(&v->v_f, TXQ, 100)) < 0 &&
		    rc != -ETIMEDOUT)
			return rc;
	}
	p = v->v_tx + (size_t)i * TXSZ;
	fill_hdr(v, &h, sport, dport, op, flags, len);
	vsock_hdr_encode(&h, p);
	if (len > 0)
		memcpy(p + VSOCK_HDR_SIZE, payload, len);
	seg[0].sg_gpa = v->v_tx_gpa + (uint64_t)i * TXSZ;
	seg[0].sg_len = VSOCK_HDR_SIZE;
	seg[0].sg_write = false;
	seg[1].sg_gpa = seg[0].sg_gpa + VSOCK_HDR_SIZE;
	seg[1].sg_len = len;
	seg[1].sg_write = false;
	if ((rc = vuf_vq_add(&v->v_f, TXQ, seg, len > 0 ? 2 : 1, false,
	    (void *)(uintptr_t)(i + 1))) < 0)
		return rc;
	v->v_tx_busy[i] = true;
	return vuf_vq_kick(&v->v_f, TXQ, false);
}

/*
 * As vsv_send_raw, but the chain's readable descriptors cut the packet
 * (header and payload) at the ncuts offsets given (ascending, inside the
 * packet), and with wo_tail a device-writable descriptor of 16 bytes
 * ends the chain.
 */
int
vsv_send_split(struct vsv *v, uint32_t sport, uint32_t dport, uint16_t op,
    const void *payload, uint32_t len, const uint32_t *cuts,
    unsigned int ncuts, bool wo_tail)
{
	struct virtio_vsock_hdr	 h;
	struct vuf_seg		 seg[VSV_SPLIT_MAX + 2];
	unsigned int		 i, k, n = 0;
	long			 deadline = now_ms() + 5000;
	uint32_t		 at = 0, end, total = VSOCK_HDR_SIZE + len;
	uint64_t		 gpa;
	uint8_t			*p;
	int			 rc;

	if (len + 16 > VSV_TX_PAYLOAD || ncuts > VSV_SPLIT_MAX)
		return vuf_fail(&v->v_f, -EINVAL, "bad split packet");
	for (;;) {
		reap_tx(v);
		for (i = 0; i < VSV_NTX && v->v_tx_busy[i]; i++)
			;
		if (i < VSV_NTX)
			break;
		if (now_ms() > deadline)
			return vuf_fail(&v->v_f, -ETIMEDOUT, "tx ring stuck");
		if ((rc = vuf_vq_wait(&v->v_f, TXQ, 100)) < 0 &&
		    rc != -ETIMEDOUT)
			return rc;
	}
	p = v->v_tx + (size_t)i * TXSZ;
	gpa = v->v_tx_gpa + (uint64_t)i * TXSZ;
	fill_hdr(v, &h, sport, dport, op, 0, len);
	vsock_hdr_encode(&h, p);
	if (len > 0)
		memcpy(p + VSOCK_HDR_SIZE, payload, len);
	for (k = 0; k <= ncuts; k++) {
		end = k < ncuts ? cuts[k] : total;
		if (end <= at || end > total)
			return vuf_fail(&v->v_f, -EINVAL, "bad cut");
		seg[n].sg_gpa = gpa + at;
		seg[n].sg_len = end - at;
		seg[n++].sg_write = false;
		at = end;
	}
	if (wo_tail) {
		seg[n].sg_gpa = gpa + total;
		seg[n].sg_len = 16;
		seg[n++].sg_write = true;
	}
	if ((rc = vuf_vq_add(&v->v_f, TXQ, seg, n, false,
	    (void *)(uintptr_t)(i + 1))) < 0)
		return rc;
	v->v_tx_busy[i] = true;
	/* Data counts against the connection's credit as vsv_send's. */
	for (k = 0; op == VIRTIO_VSOCK_OP_RW && k < VSV_MAX_CONNS; k++)
		if (v->v_conn[k].c_state != VSV_FREE &&
		    v->v_conn[k].c_lport == sport &&
		    v->v_conn[k].c_rport == dport)
			v->v_conn[k].c_tx_cnt += len;
	return vuf_vq_kick(&v->v_f, TXQ, false);
}

static struct vsv_conn *
conn_find(struct vsv *v, uint32_t lport, uint32_t rport)
{
	unsigned int	i;

	for (i = 0; i < VSV_MAX_CONNS; i++)
		if (v->v_conn[i].c_state != VSV_FREE &&
		    v->v_conn[i].c_lport == lport &&
		    v->v_conn[i].c_rport == rport)
			return &v->v_conn[i];
	return NULL;
}

static struct vsv_conn *
conn_new(struct vsv *v, uint32_t lport, uint32_t rport, enum vsv_state st)
{
	unsigned int	i;

	for (i = 0; i < VSV_MAX_CONNS; i++)
		if (v->v_conn[i].c_state == VSV_FREE) {
			free(v->v_conn[i].c_data);
			memset(&v->v_conn[i], 0, sizeof(v->v_conn[i]));
			v->v_conn[i].c_state = st;
			v->v_conn[i].c_lport = lport;
			v->v_conn[i].c_rport = rport;
			v->v_conn[i].c_buf_alloc = v->v_buf_alloc;
			v->v_conn[i].c_data = malloc(v->v_buf_alloc);
			return v->v_conn[i].c_data != NULL ?
			    &v->v_conn[i] : NULL;
		}
	return NULL;
}

static bool
listening(const struct vsv *v, uint32_t port)
{
	unsigned int	i;

	for (i = 0; i < v->v_nlisten; i++)
		if (v->v_listen[i] == port)
			return true;
	return false;
}

/* One packet from the device. */
static void
rx_packet(struct vsv *v, const uint8_t *p, uint32_t used)
{
	struct virtio_vsock_hdr	 h;
	struct vsv_conn		*c;

	v->v_packets++;
	if (used < VSOCK_HDR_SIZE) {
		v->v_bad_packets++;
		return;
	}
	vsock_hdr_decode(p, &h);
	if (h.src_cid != VSOCK_CID_HOST || h.dst_cid != v->v_cid ||
	    h.len != used - VSOCK_HDR_SIZE) {
		v->v_bad_packets++;
		return;
	}
	c = conn_find(v, h.dst_port, h.src_port);
	if (c != NULL) {
		c->c_peer_buf_alloc = h.buf_alloc;
		c->c_peer_fwd_cnt = h.fwd_cnt;
	}
	switch (h.op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		if (c != NULL || !listening(v, h.dst_port) ||
		    (c = conn_new(v, h.dst_port, h.src_port, VSV_OPEN)) ==
		    NULL) {
			(void)vsv_send_raw(v, h.dst_port, h.src_port,
			    VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
			return;
		}
		c->c_peer_buf_alloc = h.buf_alloc;
		c->c_peer_fwd_cnt = h.fwd_cnt;
		c->c_accepted = true;
		(void)vsv_send_raw(v, h.dst_port, h.src_port,
		    VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0);
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c != NULL && c->c_state == VSV_CONNECTING)
			c->c_state = VSV_OPEN;
		else
			v->v_bad_packets++;
		break;
	case VIRTIO_VSOCK_OP_RST:
		if (c != NULL)
			c->c_state = VSV_RESET;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		if (c != NULL)
			c->c_peer_shut |= (uint8_t)(h.flags & 3);
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c == NULL || c->c_state != VSV_OPEN) {
			v->v_bad_packets++;
			return;
		}
		if (c->c_len + h.len > c->c_buf_alloc) {
			c->c_credit_violation = true;
			return;
		}
		memcpy(c->c_data + c->c_len, p + VSOCK_HDR_SIZE, h.len);
		c->c_len += h.len;
		c->c_rx_cnt += h.len;
		if (c->c_len > c->c_max_unconsumed)
			c->c_max_unconsumed = (uint32_t)c->c_len;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c != NULL)
			(void)vsv_send_raw(v, c->c_lport, c->c_rport,
			    VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	default:
		v->v_bad_packets++;
	}
}

int
vsv_poll(struct vsv *v, int timeout_ms)
{
	struct vuf_used	 u[VSV_NRX];
	struct pollfd	 pfd[4];
	uint64_t	 x;
	int		 n, i, k, handled = 0, rc;

	for (k = 0; k < 3; k++) {
		pfd[k].fd = v->v_f.f_vq[k].q_call_fd;
		pfd[k].events = POLLIN;
	}
	pfd[3].fd = v->v_f.f_sock;
	pfd[3].events = POLLRDHUP;
	if (vuf_vq_pending(&v->v_f, RXQ) == 0 &&
	    vuf_vq_pending(&v->v_f, EVQ) == 0) {
		rc = poll(pfd, 4, timeout_ms);
		if (rc > 0 && (pfd[3].revents & (POLLRDHUP | POLLHUP)))
			return vuf_fail(&v->v_f, -ECONNRESET,
			    "the back end closed the connection");
	}
	for (k = 0; k < 3; k++)
		while (read(pfd[k].fd, &x, sizeof(x)) == sizeof(x))
			;
	reap_tx(v);
	n = vuf_vq_reap(&v->v_f, EVQ, u, VSV_NEV);
	for (i = 0; i < n; i++) {
		uintptr_t j = (uintptr_t)u[i].u_cookie - 1;

		if (u[i].u_len == VSOCK_EVENT_SIZE && v->v_ev[j * 8] ==
		    VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) {
			v->v_events++;
			for (k = 0; k < VSV_MAX_CONNS; k++)
				if (v->v_conn[k].c_state != VSV_FREE)
					v->v_conn[k].c_state = VSV_RESET;
		}
		(void)post_ev(v, (unsigned int)j);
	}
	if (n > 0)
		(void)vuf_vq_kick(&v->v_f, EVQ, false);
	n = vuf_vq_reap(&v->v_f, RXQ, u, VSV_NRX);
	for (i = 0; i < n; i++) {
		uintptr_t j = (uintptr_t)u[i].u_cookie - 1;

		rx_packet(v, v->v_rx + j * RXSZ, u[i].u_len);
		(void)post_rx(v, (unsigned int)j);
		handled++;
	}
	if (n > 0)
		(void)vuf_vq_kick(&v->v_f, RXQ, false);
	return handled;
}

int
vsv_listen(struct vsv *v, uint32_t port)
{
	if (v->v_nlisten == VSV_MAX_LISTEN)
		return -ENOSPC;
	v->v_listen[v->v_nlisten++] = port;
	return 0;
}

int
vsv_accept(struct vsv *v, uint32_t port, int timeout_ms)
{
	long		deadline = now_ms() + timeout_ms;
	unsigned int	i;
	int		rc;

	for (;;) {
		for (i = 0; i < VSV_MAX_CONNS; i++)
			if (v->v_conn[i].c_state == VSV_OPEN &&
			    v->v_conn[i].c_accepted &&
			    v->v_conn[i].c_lport == port) {
				v->v_conn[i].c_accepted = false;
				return (int)i;
			}
		if (now_ms() > deadline)
			return vuf_fail(&v->v_f, -ETIMEDOUT, "no connection "
			    "to port %u within %d ms", port, timeout_ms);
		if ((rc = vsv_poll(v, 50)) < 0)
			return rc;
	}
}

int
vsv_connect(struct vsv *v, uint32_t port, int timeout_ms)
{
	struct vsv_conn	*c;
	long		 deadline = now_ms() + timeout_ms;
	int		 rc;

	if ((c = conn_new(v, v->v_next_port++, port, VSV_CONNECTING)) == NULL)
		return -ENOSPC;
	if ((rc = vsv_send_raw(v, c->c_lport, port, VIRTIO_VSOCK_OP_REQUEST,
	    0, NULL, 0)) < 0)
		return rc;
	while (c->c_state == VSV_CONNECTING) {
		if (now_ms() > deadline)
			return vuf_fail(&v->v_f, -ETIMEDOUT, "connect to port "
			    "%u: no answer within %d ms", port, timeout_ms);
		if ((rc = vsv_poll(v, 50)) < 0)
			return rc;
	}
	if (c->c_state != VSV_OPEN) {
		c->c_state = VSV_FREE;
		return -ECONNREFUSED;
	}
	return (int)(c - v->v_conn);
}

static uint32_t
credit(const struct vsv_conn *c)
{
	uint32_t	used = c->c_tx_cnt - c->c_peer_fwd_cnt;

	return used < c->c_peer_buf_alloc ? c->c_peer_buf_alloc - used : 0;
}

ssize_t
vsv_send(struct vsv *v, int ci, const void *buf, size_t len, int timeout_ms)
{
	struct vsv_conn	*c = &v->v_conn[ci];
	long		 deadline = now_ms() + timeout_ms;
	size_t		 done = 0;
	uint32_t	 n;
	int		 rc;

	while (done < len) {
		if (c->c_state != VSV_OPEN)
			return done > 0 ? (ssize_t)done : -ECONNRESET;
		n = (uint32_t)MIN(MIN(len - done, (size_t)VSV_TX_PAYLOAD),
		    (size_t)credit(c));
		if (n == 0) {
			if (timeout_ms == 0 || now_ms() > deadline)
				break;
			if ((rc = vsv_poll(v, 20)) < 0)
				return rc;
			continue;
		}
		if ((rc = vsv_send_raw(v, c->c_lport, c->c_rport,
		    VIRTIO_VSOCK_OP_RW, 0, (const uint8_t *)buf + done, n)) < 0)
			return rc;
		c->c_tx_cnt += n;
		done += n;
		/* Keep the rx side moving too. */
		if ((rc = vsv_poll(v, 0)) < 0)
			return rc;
	}
	return (ssize_t)done;
}

ssize_t
vsv_recv(struct vsv *v, int ci, void *buf, size_t len, int timeout_ms)
{
	struct vsv_conn	*c = &v->v_conn[ci];
	long		 deadline = now_ms() + timeout_ms;
	size_t		 n;
	int		 rc;

	while (c->c_len == 0) {
		if (c->c_state == VSV_RESET)
			return -ECONNRESET;
		if (c->c_peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)
			return 0;
		if (timeout_ms == 0 || now_ms() > deadline)
			return -EAGAIN;
		if ((rc = vsv_poll(v, 20)) < 0)
			return rc;
	}
	n = MIN(len, c->c_len);
	memcpy(buf, c->c_data, n);
	memmove(c->c_data, c->c_data + n, c->c_len - n);
	c->c_len -= n;
	c->c_fwd_cnt += (uint32_t)n;
	if (c->c_fwd_cnt - c->c_last_fwd >= c->c_buf_alloc / 2 &&
	    c->c_state == VSV_OPEN)
		(void)vsv_send_raw(v, c->c_lport, c->c_rport,
		    VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	return (ssize_t)n;
}

int
vsv_shutdown(struct vsv *v, int ci, uint32_t flags)
{
	struct vsv_conn	*c = &v->v_conn[ci];

	c->c_local_shut |= (uint8_t)flags;
	return vsv_send_raw(v, c->c_lport, c->c_rport,
	    VIRTIO_VSOCK_OP_SHUTDOWN, flags, NULL, 0);
}

int
vsv_reset(struct vsv *v, int ci)
{
	struct vsv_conn	*c = &v->v_conn[ci];
	int		 rc = 0;

	if (c->c_state == VSV_OPEN || c->c_state == VSV_CONNECTING)
		rc = vsv_send_raw(v, c->c_lport, c->c_rport,
		    VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
	c->c_state = VSV_FREE;
	return rc;
}
