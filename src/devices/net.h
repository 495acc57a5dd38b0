/*
 * net.h - virtio-net over a tap, shared by the device's files: net.c (the
 * key table, the parent half, features, config space, device requests)
 * and net_io.c (the child's data path: rx from the tap into guest
 * buffers, tx from guest buffers to the tap).
 *
 * Rings: pair i is ring 2i (rx, device to driver) and ring 2i+1 (tx), on
 * tap queue fd i.  The control queue stays with the front end (QEMU), as
 * with every vhost-user net back end: CTRL_VQ is not offered.
 */
#ifndef VHOSTD_DEVICES_NET_H
#define VHOSTD_DEVICES_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../util/ratelimit.h"
#include "../vhost/vhost.h"
#include "net_hdr.h"

/* Queue pairs: two rings each, within the engine's VU_MAX_QUEUES. */
#define NET_PAIRS_MAX		(VU_MAX_QUEUES / 2)

/* readv/writev take at most IOV_MAX (1024) segments: the tap's header
 * and the spare byte (rx) leave the rest for guest buffers. */
#define NET_IOV_MAX		1024
#define NET_GUEST_IOV_MAX	(NET_IOV_MAX - 2)
/* Most rx chains held for one frame (mergeable buffers). */
#define NET_RX_MAX_BUFS		256

/* The device's keys (device.h), rows in net.c. */
enum net_key {
	NET_K_TAP,
	NET_K_TAP_CREATE,
	NET_K_TAP_FD,
	NET_K_QUEUES,
	NET_K_MAC,
	NET_K_MTU,
	NET_K_COUNT
};

/*
 * What the parent hands the child (plain data; the tap fds follow in
 * the resources, one per pair, in pair order).
 */
struct net_res {
	uint8_t		nr_mac[NET_ETH_ALEN];
	uint16_t	nr_mtu;
	uint16_t	nr_npairs;
	uint32_t	nr_offloads;	/* NET_TUN_F_* the tap accepts */
	bool		nr_multi;	/* IFF_MULTI_QUEUE: queues detach */
};

/* One rx chain held for the next frame. */
struct net_rxbuf {
	uint16_t	rb_head;
	uint16_t	rb_niov;	/* its segments in rh_iov */
	uint32_t	rb_cap;		/* writable bytes */
};

/*
 * Rx chains popped and not yet used: a frame takes the first ones, the
 * rest wait for the next frame, and all go back to the ring
 * (virtq_rewind) when it stops or guest memory changes.
 */
struct net_rxhold {
	struct net_rxbuf	rh_buf[NET_RX_MAX_BUFS];
	struct iovec		rh_iov[NET_GUEST_IOV_MAX];
	unsigned int		rh_nbufs;
	unsigned int		rh_niov;
	size_t			rh_cap;
};

struct net_state;

/* One queue pair: a tap queue fd, an rx and a tx ring. */
struct net_pair {
	struct net_state	*np_ns;
	struct vu_dev		*np_dev;	/* while a ring is ready */
	unsigned int		 np_idx;
	int			 np_fd;		/* the tap queue (not owned) */
	bool			 np_watching;	/* tap readable -> rx */
	struct net_rxhold	 np_hold;
	struct net_qstats	 np_rx;
	struct net_qstats	 np_tx;
};

struct net_state {
	uint16_t		 ns_npairs;
	uint8_t			 ns_mac[NET_ETH_ALEN];
	uint16_t		 ns_mtu;	/* the guest's (NET_SET_MTU) */
	uint16_t		 ns_mtu_max;	/* the device's: mtu= or the tap's */
	uint32_t		 ns_offloads;	/* the tap accepts */
	bool			 ns_multi;	/* multi_queue tap */
	uint64_t		 ns_features;	/* acked */
	size_t			 ns_hdr_len;	/* the guest's: 10 or 12 */
	struct ratelimit_log	 ns_warnlog;	/* what the guest can cause */
	struct ratelimit	 ns_statlog;	/* counters at ring stops */
	struct net_pair		 ns_pair[NET_PAIRS_MAX];
	struct virtq_elem	 ns_elem;	/* too big for the stack */
	struct iovec		 ns_iov[NET_IOV_MAX];	/* readv/writev */
};

/* net_io.c: the engine's queue hooks. */
void	net_io_queue_handler(struct vu_dev *dev, unsigned int qidx);
void	net_io_queue_state(struct vu_dev *dev, unsigned int qidx, bool ready);
void	net_io_mem_quiesce(struct vu_dev *dev);
/*
 * Attach (on) or detach the tap queue fd of a multi_queue tap
 * (TUNSETQUEUE): the kernel steers frames to attached queues only, so a
 * pair whose rx ring is not ready (QEMU enables as many pairs as the
 * guest uses) must not get any.  0 or -errno; nothing for a single-queue
 * tap.
 */
int	net_queue_attach(int fd, bool multi, bool on);
/* Give held rx chains of pair p back to its ring.  Tests too. */
void	net_io_rx_release(struct net_pair *p, struct vu_dev *dev);
/*
 * Write one frame (the tap's header, zeroed, then len bytes) to the tap
 * of pair 0: the RARP announce.  0 or -errno.
 */
int	net_io_inject(struct net_state *ns, const uint8_t *frame, size_t len);

#endif /* VHOSTD_DEVICES_NET_H */
