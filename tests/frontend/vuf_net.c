/*
 * vuf_net.c - virtio-net frames through the in-tree front end (see
 * vuf_net.h).
 */
#include <errno.h>
#include <string.h>

#include "vuf_net.h"

int
vuf_net_init(struct vuf_net *n, struct vuf *f)
{
	memset(n, 0, sizeof(*n));
	n->n_f = f;
	return 0;
}

size_t
vuf_net_hdr_len(const struct vuf *f)
{
	if (vuf_has_feature(f, VIRTIO_F_VERSION_1) ||
	    vuf_has_feature(f, VUF_NET_F_MRG_RXBUF))
		return 12;
	return 10;
}

/* Add rx buffer head (already allocated) to the ring, not kicked. */
static int
vuf_net_add_rx(struct vuf_net *n, unsigned int pair, uint8_t *buf)
{
	struct vuf_seg	seg;

	seg.sg_gpa = vuf_ptr_to_gpa(n->n_f, buf);
	seg.sg_len = n->n_rx_size[pair];
	seg.sg_write = true;
	return vuf_vq_add(n->n_f, 2 * pair, &seg, 1, false, buf);
}

int
vuf_net_post_rx(struct vuf_net *n, unsigned int pair, unsigned int count,
    uint32_t size)
{
	uint64_t	 gpa;
	uint8_t		*buf;
	unsigned int	 i;
	int		 head;

	if (pair >= VUF_NET_MAX_PAIRS)
		return vuf_fail(n->n_f, -EINVAL, "pair %u", pair);
	n->n_rx_size[pair] = size;
	for (i = 0; i < count; i++) {
		if ((buf = vuf_alloc(n->n_f, size, 64, &gpa)) == NULL)
			return -ENOMEM;
		if ((head = vuf_net_add_rx(n, pair, buf)) < 0)
			return head;
	}
	return vuf_vq_kick(n->n_f, 2 * pair, false);
}

/* Reap one used rx element, waiting. */
static int
vuf_net_reap1(struct vuf_net *n, unsigned int q, struct vuf_used *u,
    int timeout_ms)
{
	int	rc;

	for (;;) {
		if ((rc = vuf_vq_reap(n->n_f, q, u, 1)) != 0)
			return rc < 0 ? rc : 0;
		if ((rc = vuf_vq_wait(n->n_f, q, timeout_ms)) < 0)
			return rc;
	}
}

int
vuf_net_recv(struct vuf_net *n, unsigned int pair, void *hdr, void *out,
    size_t outlen, size_t *len, unsigned int *nbufs, int timeout_ms)
{
	struct vuf	*f = n->n_f;
	struct vuf_used	 u;
	size_t		 hlen = vuf_net_hdr_len(f), got = 0, take;
	unsigned int	 want = 1, i;
	uint8_t		*b;
	int		 rc, err = 0;

	*len = 0;
	*nbufs = 0;
	for (i = 0; i < want; i++) {
		if ((rc = vuf_net_reap1(n, 2 * pair, &u, timeout_ms)) < 0)
			return rc;
		b = u.u_cookie;
		if (u.u_len > n->n_rx_size[pair])
			err = vuf_fail(f, -EPROTO, "used length %u > buffer %u",
			    u.u_len, n->n_rx_size[pair]);
		if (i == 0) {
			if (u.u_len < hlen)
				err = vuf_fail(f, -EPROTO, "used length %u < "
				    "header", u.u_len);
			if (hdr != NULL)
				memcpy(hdr, b, hlen);
			if (vuf_has_feature(f, VUF_NET_F_MRG_RXBUF))
				want = (unsigned int)(b[10] | (b[11] << 8));
			if (want == 0 || want > VUF_NET_RX_MAX_BUFS) {
				err = vuf_fail(f, -EPROTO, "num_buffers %u",
				    want);
				want = 1;
			}
			take = err == 0 ? u.u_len - hlen : 0;
			b += hlen;
		} else
			take = err == 0 ? u.u_len : 0;
		if (got + take > outlen && err == 0)
			err = vuf_fail(f, -EMSGSIZE, "frame longer than %zu",
			    outlen);
		if (err == 0)
			memcpy((uint8_t *)out + got, b, take);
		got += take;
		(*nbufs)++;
		if ((rc = vuf_net_add_rx(n, pair, u.u_cookie)) < 0)
			return rc;
	}
	*len = got;
	if ((rc = vuf_vq_kick(f, 2 * pair, false)) < 0)
		return rc;
	return err;
}

int
vuf_net_send(struct vuf_net *n, unsigned int pair, const void *hdr,
    size_t hlen, const void *frame, size_t len, bool split)
{
	struct vuf_seg	segs[2];
	unsigned int	ns = 0;

	if (pair >= VUF_NET_MAX_PAIRS || hlen + len + 64 > VUF_NET_TX_MAX)
		return vuf_fail(n->n_f, -EINVAL, "pair %u, %zu bytes", pair,
		    hlen + len);
	if (n->n_tx[pair] == NULL && (n->n_tx[pair] = vuf_alloc(n->n_f,
	    VUF_NET_TX_MAX, 64, &n->n_tx_gpa[pair])) == NULL)
		return -ENOMEM;
	memcpy(n->n_tx[pair], hdr, hlen);
	/* Split: the frame 64 bytes further, in a segment of its own. */
	memcpy(n->n_tx[pair] + hlen + (split ? 64 : 0), frame, len);
	segs[ns].sg_gpa = n->n_tx_gpa[pair];
	segs[ns].sg_len = (uint32_t)(split ? hlen : hlen + len);
	segs[ns++].sg_write = false;
	if (split) {
		segs[ns].sg_gpa = n->n_tx_gpa[pair] + hlen + 64;
		segs[ns].sg_len = (uint32_t)len;
		segs[ns++].sg_write = false;
	}
	return vuf_vq_exec(n->n_f, 2 * pair + 1, segs, ns, false, NULL);
}
