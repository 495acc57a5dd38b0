/*
 * vuf_net.h - virtio-net frames through the in-tree front end, as a guest
 * driver moves them: rx buffers posted on ring 2i (one writable segment
 * each), frames reassembled from num_buffers used buffers (mergeable) and
 * the buffers posted again; tx frames as one chain (header and frame in
 * one segment, or split in two) on ring 2i+1, submitted and waited for.
 */
#ifndef VHOSTD_TESTS_VUF_NET_H
#define VHOSTD_TESTS_VUF_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vuf.h"

#define VUF_NET_MAX_PAIRS	(VUF_MAX_QUEUES / 2)
#define VUF_NET_TX_MAX		(70u << 10)	/* header + GSO frame */
#define VUF_NET_RX_MAX_BUFS	512

/* virtio-net feature bits the tests use. */
#define VUF_NET_F_CSUM		0
#define VUF_NET_F_GUEST_CSUM	1
#define VUF_NET_F_MTU		3
#define VUF_NET_F_MAC		5
#define VUF_NET_F_GUEST_TSO4	7
#define VUF_NET_F_HOST_TSO4	11
#define VUF_NET_F_MRG_RXBUF	15
#define VUF_NET_F_STATUS	16

struct vuf_net {
	struct vuf	*n_f;
	uint8_t		*n_tx[VUF_NET_MAX_PAIRS];	/* one frame at a time */
	uint64_t	 n_tx_gpa[VUF_NET_MAX_PAIRS];
	/* rx buffers by head: host pointer and size. */
	uint8_t		*n_rx[VUF_NET_MAX_PAIRS][VUF_NET_RX_MAX_BUFS];
	uint32_t	 n_rx_size[VUF_NET_MAX_PAIRS];
};

/* Bind to f (set up, rings started).  0 or -errno. */
int	vuf_net_init(struct vuf_net *n, struct vuf *f);

/* The header length f negotiated: 12 with VERSION_1 or MRG_RXBUF. */
size_t	vuf_net_hdr_len(const struct vuf *f);

/*
 * Post count rx buffers of size bytes each on pair's rx ring and kick.
 * Buffers are reposted by vuf_net_recv; call once per pair (size fixed).
 */
int	vuf_net_post_rx(struct vuf_net *n, unsigned int pair,
	    unsigned int count, uint32_t size);

/*
 * Wait up to timeout_ms for one frame on pair: its header (hdr_len
 * bytes) into hdr (may be NULL), the frame into out (at most outlen,
 * -EMSGSIZE if longer), *len its length, *nbufs the buffers it took.
 * The buffers are posted again (kicked).  -ETIMEDOUT when none came.
 */
int	vuf_net_recv(struct vuf_net *n, unsigned int pair, void *hdr,
	    void *out, size_t outlen, size_t *len, unsigned int *nbufs,
	    int timeout_ms);

/*
 * Send one frame on pair: hdr (hlen bytes, any length, for hostile
 * headers) then len frame bytes, one segment or (split) header and frame
 * in two; kick and wait until the device used it.  0 or -errno.
 */
int	vuf_net_send(struct vuf_net *n, unsigned int pair, const void *hdr,
	    size_t hlen, const void *frame, size_t len, bool split);

#endif /* VHOSTD_TESTS_VUF_NET_H */
