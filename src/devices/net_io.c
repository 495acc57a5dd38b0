/*
 * net_io.c - the virtio-net data path (see net.h): frames move with one
 * readv or writev each, straight between guest buffers and the tap; the
 * only bytes copied are the virtio-net headers (copied out once, checked,
 * rewritten for the other side).
 *
 * rx (tap -> guest, ring 2i): while the ring is ready the tap is watched;
 * each wake-up reads frames until the tap is empty or the work budget is
 * spent (the tap stays readable: the loop comes back after the front
 * end's messages had their turn).  Buffers: with MRG_RXBUF, chains are
 * popped until they can hold the largest frame the tap may give (the MTU,
 * or 64 KiB with guest GSO), the frame is read over them, the first
 * num_buffers are used and the rest held for the next frame (a ring too
 * small for the largest frame is read over once all of it is held);
 * without it, one chain per frame.  The read has one spare byte past the
 * buffers: the tap truncates a frame that does not fit without saying
 * so, and only that byte shows it; such a frame is dropped and counted
 * (rx-no-room), never delivered cut.  With VIRTIO_NET_F_MTU, a frame
 * without GSO longer than the MTU and its link header is dropped too
 * (too_big: net_rx_mtu).  With no buffers (or, mergeable, too few), the tap
 * is no longer watched until the guest kicks the ring: no busy loop.
 *
 * tx (guest -> tap, ring 2i+1): each chain's header is copied out,
 * checked against the acked features (net_hdr_tx_prepare: a bad header
 * is dropped and counted by reason), and written to the tap with the
 * frame's segments as they are in guest memory.  Work budget per wake-up,
 * then vu_queue_reschedule.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <net/if.h>
#include <linux/if_tun.h>

#include "../util/log.h"
#include "../util/util.h"
#include "../virtio/iov.h"
#include "../virtio/virtq.h"
#include "net.h"
#include "net_tap.h"

/* Ring index to pair and direction. */
#define NET_RING_RX(q)		(((q) & 1) == 0)
#define NET_PAIR_OF(q)		((q) / 2)

static bool
net_gso_acked(uint64_t f)
{
	return (f & (NET_BIT(VIRTIO_NET_F_GUEST_TSO4) |
	    NET_BIT(VIRTIO_NET_F_GUEST_TSO6) |
	    NET_BIT(VIRTIO_NET_F_GUEST_UFO))) != 0;
}

/* Largest frame (no header) the tap may hand us / we let through. */
static size_t
net_frame_max(const struct net_state *ns, bool rx)
{
	if (rx && net_gso_acked(ns->ns_features))
		return NET_GSO_FRAME_MAX;
	return (size_t)ns->ns_mtu + NET_ETH_HLEN + NET_VLAN_HLEN;
}

static void	net_tap_readable(int fd, void *arg);

int
net_queue_attach(int fd, bool multi, bool on)
{
	struct ifreq	ifr;

	if (!multi)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	/* EINVAL: attached (detached) already. */
	if (ioctl(fd, TUNSETQUEUE, &ifr) == -1 && errno != EINVAL)
		return -errno;
	return 0;
}

/* Watch the tap of pair p (frames for the guest) or stop watching it. */
static void
net_watch(struct net_pair *p, struct vu_dev *dev, bool on)
{
	struct net_state	*ns = p->np_ns;
	int			 rc;

	if (on == p->np_watching)
		return;
	if (on) {
		if ((rc = vu_dev_watch(dev, p->np_fd, net_tap_readable,
		    p)) < 0) {
			ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(),
			    "net: cannot watch tap queue %u: %s", p->np_idx,
			    strerror(-rc));
			return;
		}
		p->np_dev = dev;
	} else
		vu_dev_unwatch(dev, p->np_fd);
	p->np_watching = on;
}

/*
 * Pop one more rx chain into the hold.  1: added; 0: the ring is empty;
 * 2: the hold is full (the chain stays in the ring); -EIO: the queue is
 * broken (a malformed chain, or a buffer smaller than the virtio-net
 * header, which 5.1.6.3.1 forbids).
 */
static int
net_rx_take(struct net_state *ns, struct net_pair *p, struct virtq *vq,
    struct vu_dev *dev)
{
	struct net_rxhold	*h = &p->np_hold;
	struct virtq_elem	*e = &ns->ns_elem;
	struct net_rxbuf	*b;
	int			 rc;

	if (h->rh_nbufs == NET_RX_MAX_BUFS)
		return 2;
	if ((rc = virtq_pop(vq, e)) < 0) {
		vu_dev_set_broken(dev, "net: malformed rx descriptor chain");
		return -EIO;
	}
	if (rc == 0)
		return 0;
	if (e->in_len < ns->ns_hdr_len || e->in_len > UINT32_MAX) {
		(void)virtq_unpop(vq);
		vu_dev_set_broken(dev, "net: rx buffer smaller than the "
		    "virtio-net header");
		return -EIO;
	}
	if (e->in_num > NET_GUEST_IOV_MAX - h->rh_niov) {
		(void)virtq_unpop(vq);
		if (h->rh_nbufs > 0)
			return 2;
		vu_dev_set_broken(dev, "net: rx chain of more segments than "
		    "one read takes");
		return -EIO;
	}
	b = &h->rh_buf[h->rh_nbufs++];
	b->rb_head = e->head;
	b->rb_niov = (uint16_t)e->in_num;
	b->rb_cap = (uint32_t)e->in_len;
	memcpy(&h->rh_iov[h->rh_niov], e->in, e->in_num * sizeof(e->in[0]));
	h->rh_niov += e->in_num;
	h->rh_cap += e->in_len;
	return 1;
}

/* The first k held chains were used: forget them. */
static void
net_rx_consume(struct net_rxhold *h, unsigned int k)
{
	unsigned int	i, niov = 0;
	size_t		cap = 0;

	for (i = 0; i < k; i++) {
		niov += h->rh_buf[i].rb_niov;
		cap += h->rh_buf[i].rb_cap;
	}
	memmove(h->rh_buf, h->rh_buf + k,
	    (h->rh_nbufs - k) * sizeof(h->rh_buf[0]));
	memmove(h->rh_iov, h->rh_iov + niov,
	    (h->rh_niov - niov) * sizeof(h->rh_iov[0]));
	h->rh_nbufs -= k;
	h->rh_niov -= niov;
	h->rh_cap -= cap;
}

void
net_io_rx_release(struct net_pair *p, struct vu_dev *dev)
{
	struct net_rxhold	*h = &p->np_hold;
	struct virtq		*vq;

	if (h->rh_nbufs == 0)
		return;
	vq = vu_queue(dev, 2 * p->np_idx);
	if (vq == NULL || virtq_rewind(vq, h->rh_nbufs) < 0)
		ratelimit_warnx(&p->np_ns->ns_warnlog, ratelimit_now(),
		    "net: pair %u: %u rx buffers could not be given back to "
		    "the ring", p->np_idx, h->rh_nbufs);
	h->rh_nbufs = h->rh_niov = 0;
	h->rh_cap = 0;
}

/*
 * Not enough rx buffers: stop reading the tap until the guest kicks the
 * ring (it made more available).  1 when buffers arrived meanwhile (look
 * again), 0 to wait.
 */
static int
net_rx_wait(struct net_pair *p, struct virtq *vq, struct vu_dev *dev)
{
	net_watch(p, dev, false);
	if (virtq_enable_notify(vq)) {
		net_watch(p, dev, true);
		return 1;
	}
	p->np_rx.qs_c[NET_CTR_RX_WAITS]++;
	return 0;
}

/*
 * The readv segments for the held buffers: the tap's header into hdr,
 * the frame into the guest's buffers past their header (nbufs chains),
 * then one spare byte.  Returns the segment count.
 */
static int
net_rx_iov(struct net_state *ns, const struct net_rxhold *h,
    unsigned int niov, uint8_t *hdr, uint8_t *spare)
{
	struct iovec	*v = ns->ns_iov;
	size_t		 skip = ns->ns_hdr_len, s;
	unsigned int	 i, cnt = 0;

	v[cnt].iov_base = hdr;
	v[cnt++].iov_len = NET_TAP_HDR_LEN;
	for (i = 0; i < niov; i++) {
		v[cnt] = h->rh_iov[i];
		if (skip > 0) {
			s = MIN(skip, v[cnt].iov_len);
			v[cnt].iov_base = (uint8_t *)v[cnt].iov_base + s;
			v[cnt].iov_len -= s;
			skip -= s;
			if (v[cnt].iov_len == 0)
				continue;
		}
		cnt++;
	}
	v[cnt].iov_base = spare;
	v[cnt++].iov_len = 1;
	return (int)cnt;
}

/*
 * 5.1.6.3.2: once VIRTIO_NET_F_MTU is negotiated, a frame without GSO
 * (gso_type NONE, or ECN alone) longer than the guest's MTU (the device's,
 * or a lower one NET_SET_MTU took) plus its link header is not passed:
 * the tap's own MTU may be higher (an adopted tap, a lower NET_SET_MTU).
 * The link header is 14 bytes, 18 with one VLAN tag (net_rx_frame_max).
 * The ethertype is read back from the guest's buffer (niov segments of
 * the held chains) where the frame went: a guest that changes it
 * meanwhile moves only its own limit, by 4 bytes.  GSO frames are bounded
 * by the buffers.  NET_DROP_NONE or NET_DROP_TOO_BIG.
 */
static enum net_drop
net_rx_mtu(const struct net_state *ns, const struct net_rxhold *h,
    unsigned int niov, const struct net_hdr *nh, size_t flen)
{
	uint8_t	et[2];

	if ((nh->nh_gso_type & ~VIRTIO_NET_HDR_GSO_ECN) !=
	    VIRTIO_NET_HDR_GSO_NONE ||
	    flen <= net_rx_frame_max(ns->ns_features, ns->ns_mtu, 0))
		return NET_DROP_NONE;
	/* net_rx_result: the frame holds an Ethernet header. */
	if (iov_to_buf(h->rh_iov, niov, ns->ns_hdr_len + 12, et,
	    sizeof(et)) != sizeof(et))
		return NET_DROP_RUNT;
	if (flen > net_rx_frame_max(ns->ns_features, ns->ns_mtu,
	    (uint16_t)(et[0] << 8 | et[1])))
		return NET_DROP_TOO_BIG;
	return NET_DROP_NONE;
}

/*
 * One frame from the tap of pair p into the guest's buffers.  2: a frame
 * was delivered (*bytes its length); 1: a frame was dropped (counted), or
 * buffers arrived while giving up: go on; 0: the tap is empty, or rx
 * waits for buffers; -1: the queue is broken.
 */
static int
net_rx_one(struct net_state *ns, struct net_pair *p, struct virtq *vq,
    struct vu_dev *dev, size_t *bytes)
{
	struct net_rxhold	*h = &p->np_hold;
	bool			 mrg;
	size_t			 hlen = ns->ns_hdr_len, need, cap, flen;
	uint8_t			 taphdr[NET_TAP_HDR_LEN], ghdr[NET_HDR_LEN];
	uint8_t			 spare;
	uint32_t		 caps[NET_RX_MAX_BUFS], used[NET_RX_MAX_BUFS];
	struct net_hdr		 nh;
	enum net_drop		 r;
	unsigned int		 i, nb, niov;
	ssize_t			 n;
	int			 rc = 1, cnt;

	*bytes = 0;
	mrg = (ns->ns_features & NET_BIT(VIRTIO_NET_F_MRG_RXBUF)) != 0;
	need = hlen + net_frame_max(ns, true);
	/* One chain, or (mergeable) enough for the largest frame. */
	while (h->rh_nbufs == 0 || (mrg && h->rh_cap < need)) {
		if ((rc = net_rx_take(ns, p, vq, dev)) != 1)
			break;
	}
	if (rc < 0)
		return -1;
	/*
	 * Too few buffers: wait for more, unless every entry of the ring is
	 * held (a ring smaller than the largest frame): no more can come, so
	 * read over what there is (the spare byte catches what does not fit).
	 */
	if (h->rh_nbufs == 0 || (rc == 0 && mrg && h->rh_cap < need &&
	    h->rh_nbufs < virtq_num(vq)))
		return net_rx_wait(p, vq, dev);
	if (mrg) {
		niov = h->rh_niov;
		cap = h->rh_cap - hlen;
	} else {
		niov = h->rh_buf[0].rb_niov;
		cap = h->rh_buf[0].rb_cap - hlen;
	}
	cnt = net_rx_iov(ns, h, niov, taphdr, &spare);
	if ((n = readv(p->np_fd, ns->ns_iov, cnt)) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		/* A tap that went away stays readable: wait for a kick. */
		net_qstats_drop(&p->np_rx, NET_DROP_TAP_ERR);
		ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(), "net: pair "
		    "%u: reading the tap: %s", p->np_idx, strerror(errno));
		net_watch(p, dev, false);
		return 0;
	}
	if ((r = net_rx_result((size_t)n, NET_TAP_HDR_LEN, cap)) !=
	    NET_DROP_NONE) {
		net_qstats_drop(&p->np_rx, r);
		*bytes = (size_t)n;
		return 1;
	}
	flen = (size_t)n - NET_TAP_HDR_LEN;
	(void)net_hdr_load(&nh, taphdr, NET_TAP_HDR_LEN);
	if (mrg) {
		for (i = 0; i < h->rh_nbufs; i++)
			caps[i] = h->rh_buf[i].rb_cap;
		nb = net_rx_split(caps, h->rh_nbufs, hlen, hlen + flen, used);
	} else {
		nb = 1;
		used[0] = (uint32_t)(hlen + flen);
	}
	r = nb == 0 ? NET_DROP_RX_NO_ROOM :
	    net_hdr_fix_rx(&nh, flen, ns->ns_features, (uint16_t)nb);
	if (r == NET_DROP_NONE)
		r = net_rx_mtu(ns, h, niov, &nh, flen);
	if (r != NET_DROP_NONE) {
		net_qstats_drop(&p->np_rx, r);
		*bytes = flen;
		return 1;
	}
	(void)net_hdr_store(&nh, ghdr, hlen);
	(void)iov_from_buf(h->rh_iov, h->rh_buf[0].rb_niov, 0, ghdr, hlen);
	for (i = 0; i < nb; i++)
		virtq_push(vq, h->rh_buf[i].rb_head, used[i]);
	net_rx_consume(h, nb);
	net_qstats_pass(&p->np_rx, flen);
	*bytes = flen;
	return 2;
}

_Static_assert(NET_CTR__MAX <= CTR_DEV_MAX, "net's counters fit cq_dev");

/*
 * The ring's counters into its block of the child's region (util/
 * counters.h), where the parent reads them (vhostd ctl stats): the
 * device's own (cq_dev, named by net_ctr_names), the bytes, and as
 * errors the drops that are the guest's fault (a bad transmit header:
 * invalid) or the tap's (io).  Values are the ring's totals for this
 * child, so they only grow; copied once per wake-up.
 */
static void
net_publish(const struct net_pair *p, struct vu_dev *dev, bool rx)
{
#if CTR_ENABLED
	const struct net_qstats	*qs = rx ? &p->np_rx : &p->np_tx;
	struct ctr_queue	*cq;
	uint64_t		 io;

	cq = vu_queue_counters(dev, 2 * p->np_idx + (rx ? 0 : 1));
	memcpy(cq->cq_dev, qs->qs_c, sizeof(qs->qs_c));
	io = net_qstats_dropped(qs, NET_DROP_TAP_ERR);
	cq->cq_errors[CTR_ERR_IO] = io;
	if (rx)
		cq->cq_read_bytes = qs->qs_c[NET_CTR_BYTES];
	else {
		cq->cq_write_bytes = qs->qs_c[NET_CTR_BYTES];
		cq->cq_errors[CTR_ERR_INVALID] = net_qstats_drops(qs) - io;
	}
#endif
}

/* Frames from the tap to the guest, one budget's worth. */
static void
net_rx_run(struct net_pair *p, struct vu_dev *dev)
{
	struct net_state	*ns = p->np_ns;
	unsigned int		 q = 2 * p->np_idx, pushed = 0;
	struct virtq		*vq;
	struct vu_budget	 budget;
	size_t			 bytes;
	int			 rc;

	if ((vq = vu_queue(dev, q)) == NULL || !vu_queue_ready(dev, q)) {
		net_watch(p, dev, false);
		return;
	}
	vu_budget_init(&budget);
	for (;;) {
		if ((rc = net_rx_one(ns, p, vq, dev, &bytes)) <= 0)
			break;
		if (rc == 2)
			pushed++;
		/* The tap stays readable: a spent budget comes back. */
		if (vu_budget_charge(&budget, bytes))
			break;
	}
	if (pushed > 0) {
		vu_queue_notify(dev, q);
		p->np_rx.qs_c[NET_CTR_BATCHES]++;
	}
	net_publish(p, dev, true);
}

static void
net_tap_readable(int fd, void *arg)
{
	struct net_pair	*p = arg;

	if (p->np_dev != NULL)
		net_rx_run(p, p->np_dev);
}

/*
 * One chain from the guest to the tap.  NET_DROP_NONE (*flen the frame's
 * length) or why it was dropped.
 */
static enum net_drop
net_tx_one(struct net_state *ns, struct net_pair *p,
    const struct virtq_elem *e, size_t *flen)
{
	uint8_t		ghdr[NET_HDR_LEN], taphdr[NET_TAP_HDR_LEN];
	struct iovec	*v = ns->ns_iov;
	struct net_hdr	nh;
	enum net_drop	r;
	size_t		hlen = ns->ns_hdr_len, skip = hlen, s;
	unsigned int	i, cnt = 0;

	*flen = 0;
	memset(ghdr, 0, sizeof(ghdr));
	(void)iov_to_buf(e->out, e->out_num, 0, ghdr, hlen);
	r = net_hdr_tx_prepare(&nh, ghdr, e->out_len, ns->ns_features,
	    net_frame_max(ns, false));
	if (r != NET_DROP_NONE)
		return r;
	*flen = e->out_len - hlen;
	if (e->out_num > NET_IOV_MAX - 1)
		return NET_DROP_TX_SEGS;
	(void)net_hdr_store(&nh, taphdr, NET_TAP_HDR_LEN);
	v[cnt].iov_base = taphdr;
	v[cnt++].iov_len = sizeof(taphdr);
	for (i = 0; i < e->out_num; i++) {
		v[cnt] = e->out[i];
		if (skip > 0) {
			s = MIN(skip, v[cnt].iov_len);
			v[cnt].iov_base = (uint8_t *)v[cnt].iov_base + s;
			v[cnt].iov_len -= s;
			skip -= s;
			if (v[cnt].iov_len == 0)
				continue;
		}
		cnt++;
	}
	if (writev(p->np_fd, v, (int)cnt) < 0) {
		ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(), "net: pair "
		    "%u: writing to the tap: %s", p->np_idx, strerror(errno));
		return NET_DROP_TAP_ERR;
	}
	return NET_DROP_NONE;
}

/* Frames from the guest to the tap, one budget's worth. */
static void
net_tx_run(struct net_state *ns, struct net_pair *p, struct vu_dev *dev,
    unsigned int q)
{
	struct virtq_elem	*e = &ns->ns_elem;
	struct virtq		*vq;
	struct vu_budget	 budget;
	enum net_drop		 r;
	unsigned int		 n = 0;
	size_t			 flen;
	int			 rc;

	if ((vq = vu_queue(dev, q)) == NULL)
		return;
	vu_budget_init(&budget);
	while ((rc = virtq_pop(vq, e)) == 1) {
		if ((r = net_tx_one(ns, p, e, &flen)) == NET_DROP_NONE)
			net_qstats_pass(&p->np_tx, flen);
		else
			net_qstats_drop(&p->np_tx, r);
		virtq_push(vq, e->head, 0);
		n++;
		if (vu_budget_charge(&budget, e->out_len) &&
		    virtq_has_avail(vq) && vu_queue_reschedule(dev, q) == 0)
			break;
	}
	if (n > 0) {
		vu_queue_notify(dev, q);
		p->np_tx.qs_c[NET_CTR_BATCHES]++;
	}
	net_publish(p, dev, false);
	if (rc < 0)
		vu_dev_set_broken(dev, "net: malformed tx descriptor chain");
}

void
net_io_queue_handler(struct vu_dev *dev, unsigned int qidx)
{
	struct net_state	*ns = vu_dev_priv(dev);
	struct net_pair		*p;

	if (ns == NULL || NET_PAIR_OF(qidx) >= ns->ns_npairs)
		return;
	p = &ns->ns_pair[NET_PAIR_OF(qidx)];
	if (NET_RING_RX(qidx)) {
		/* A kick on rx: buffers; read the tap again. */
		net_watch(p, dev, true);
		net_rx_run(p, dev);
	} else
		net_tx_run(ns, p, dev, qidx);
}

/*
 * A ring's counters, when it stops: rate-limited, as a front end can stop
 * and start rings at will (vhostd ctl stats has them all the time).
 */
static void
net_log_stats(struct net_pair *p, bool rx)
{
	char	buf[512];

	if (!ratelimit_allow(&p->np_ns->ns_statlog, ratelimit_now()))
		return;
	net_qstats_format(rx ? &p->np_rx : &p->np_tx, buf, sizeof(buf));
	log_info("net: pair %u %s: %s", p->np_idx, rx ? "rx" : "tx", buf);
}

/*
 * A ring became ready: rx watches the tap.  A ring stopped: rx stops
 * watching and gives its held buffers back (the front end's
 * GET_VRING_BASE answer counts them as not taken); both log their
 * counters.
 */
void
net_io_queue_state(struct vu_dev *dev, unsigned int qidx, bool ready)
{
	struct net_state	*ns = vu_dev_priv(dev);
	struct net_pair		*p;
	int			 rc;

	if (ns == NULL || NET_PAIR_OF(qidx) >= ns->ns_npairs)
		return;
	p = &ns->ns_pair[NET_PAIR_OF(qidx)];
	if (NET_RING_RX(qidx)) {
		if ((rc = net_queue_attach(p->np_fd, ns->ns_multi, ready)) < 0)
			ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(), "net: "
			    "pair %u: %s the tap queue: %s", p->np_idx, ready ?
			    "attaching" : "detaching", strerror(-rc));
		net_watch(p, dev, ready);
		if (ready)
			return;
		net_io_rx_release(p, dev);
		p->np_dev = NULL;
	} else if (ready)
		return;
	net_publish(p, dev, NET_RING_RX(qidx));
	net_log_stats(p, NET_RING_RX(qidx));
}

/* Guest memory changes: held rx buffers point into it; give them back. */
void
net_io_mem_quiesce(struct vu_dev *dev)
{
	struct net_state	*ns = vu_dev_priv(dev);
	unsigned int		 i;

	if (ns == NULL)
		return;
	for (i = 0; i < ns->ns_npairs; i++)
		net_io_rx_release(&ns->ns_pair[i], dev);
}

int
net_io_inject(struct net_state *ns, const uint8_t *frame, size_t len)
{
	uint8_t		hdr[NET_TAP_HDR_LEN];
	struct iovec	v[2];

	memset(hdr, 0, sizeof(hdr));
	v[0].iov_base = hdr;
	v[0].iov_len = sizeof(hdr);
	v[1].iov_base = (void *)(uintptr_t)frame;
	v[1].iov_len = len;
	if (writev(ns->ns_pair[0].np_fd, v, 2) < 0)
		return -errno;
	return 0;
}
