/*
 * net_io_fuzz.c - libFuzzer target for the virtio-net data path
 * (src/devices/net_io.c, with net.c's ops and the engine under it): a
 * guest's rx and tx descriptor chains and virtio-net headers, and the
 * frames a tap hands the device, against a fake tap.
 *
 * The device is the real one: net_device_type's dt_init on a struct
 * net_res, its ops in an engine (vu_dev_new) that a front end set up over
 * a socketpair with real messages (features, protocol features with
 * REPLY_ACK, MTU and RARP, a memfd memory table, two rings).  The tap is
 * a SOCK_SEQPACKET socketpair: one frame per message, and a readv into
 * fewer bytes than the frame truncates it without saying so, as a tap
 * does.  The tap ioctls the device makes (TUNSETOFFLOAD, TUNSETQUEUE) are
 * answered here for that socket only; the offloads set are recorded.
 * The guest (its memory, shadow and rings) is net_io_fuzz_guest.h.
 *
 * Input: byte 0 the ring size (2 << b % 8), byte 1 what the tap accepts
 * (NET_TUN_F_*), bytes 2-3 the device's mtu (below 68: 1500), bytes 4-11
 * the features the driver wants (masked with what the device offers).
 * Then commands, each a byte (cmd % 8) and its operands:
 *	0 tx chain: segments (count, length, flags), the 12 header bytes;
 *	  the frame bytes are a pattern.  Kick tx.
 *	1 rx chains: count, segments, length.  Kick rx.
 *	2 a frame from the tap: its 12-byte vnet header and length.
 *	3 NET_SET_MTU (u16), with REPLY_ACK.
 *	4 the rx ring stopped (GET_VRING_BASE) and started again.
 *	5 the memory table sent again (held rx buffers are given back).
 *	6 SEND_RARP (6 bytes).
 *	7 the event loop runs (deferred work, readable fds).
 * After each command the loop runs until idle and the checks run.
 *
 * A finding, besides a crash or a sanitizer report: a byte of guest
 * memory the device may not write changed (anything but the used rings
 * and the writable buffers of rx chains: a frame written past the guest's
 * buffers, or into a readable one); a used entry for a chain the guest
 * did not give (or gave back already), or longer than the chain's
 * writable bytes; a frame given to the guest that is not, byte for byte,
 * the next frame the tap gave (after drops), or whose num_buffers is not
 * the number of buffers it took, or that is longer than the MTU allows
 * (VIRTIO_NET_F_MTU acked, no GSO: the MTU plus 14 bytes, 18 behind a
 * VLAN tag); a frame written to the tap that is not
 * the next tx chain's frame, that is longer than the MTU allows (no GSO)
 * or than NET_GSO_FRAME_MAX, or that claims an offload the driver did
 * not ack; a tx chain not given back while the ring runs; an MTU above
 * the device's own taken by NET_SET_MTU (the tap was set up for that
 * one), or a valid one refused.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/if_tun.h>

#include "devices/device.h"
#include "devices/net.h"
#include "devices/net_hdr.h"
#include "devices/net_tap.h"
#include "util/log.h"
#include "util/util.h"
#include "vhost/vhost.h"
#include "virtio/virtio.h"
#include "virtio/virtq.h"

#include "fuzz_common.h"
#include "net_io_fuzz_guest.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FRAMES	64
#define FRAME_MAX	(NET_GSO_FRAME_MAX + 64)
#define CANARY		0xa5

#define RXQ		0
#define TXQ		1

/* A frame the tap gave, not yet delivered or known dropped. */
struct rxframe {
	uint32_t	seq;
	size_t		len;
};

static struct {
	void		(*cb)(void *);
	void		*arg;
} defers[2 * MAX_WATCH];
static unsigned int	ndefers;

static int		 sv[2] = { -1, -1 };
static int		 tapfd = -1;	/* the device's end */
static int		 tappeer = -1;	/* the kernel's end, ours */
static unsigned int	 tap_offload;	/* TUNSETOFFLOAD as the device set */
static uint64_t		 acked;
static size_t		 hlen;
static unsigned int	 mtu;		/* what the device took */
static unsigned int	 dev_mtu;	/* the device's own (mtu=) */
static struct rxframe	 rxq[MAX_FRAMES];
static unsigned int	 nrx;
static uint32_t		 seq;
static uint8_t		 frame[FRAME_MAX];
static uint8_t		 got[FRAME_MAX];
static struct vu_dev	*dev;

/*
 * The device's tap ioctls, on the fake tap only: TUNSETOFFLOAD (recorded)
 * and TUNSETQUEUE succeed; every other ioctl is the kernel's.
 */
int
ioctl(int fd, unsigned long req, ...)
{
	va_list	ap;
	void	*arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd == tapfd) {
		if (req == TUNSETOFFLOAD) {
			tap_offload = (unsigned int)(uintptr_t)arg;
			return 0;
		}
		if (req == TUNSETQUEUE)
			return 0;
		errno = ENOTTY;
		return -1;
	}
	return (int)syscall(SYS_ioctl, fd, req, arg);
}

static int
defer(void *ctx, void (*cb)(void *), void *arg)
{
	unsigned int	i;

	for (i = 0; i < ndefers; i++)
		if (defers[i].arg == arg)
			return 0;
	if (ndefers == sizeof(defers) / sizeof(defers[0]))
		return -ENOSPC;
	defers[ndefers].cb = cb;
	defers[ndefers++].arg = arg;
	return 0;
}

static void
defer_cancel(void *ctx, void *arg)
{
	unsigned int	i;

	for (i = 0; i < ndefers; i++)
		if (defers[i].arg == arg) {
			defers[i] = defers[--ndefers];
			return;
		}
}

static const struct vu_watch_ops watch_ops = {
	.watch_add = watch_add,
	.watch_del = watch_del,
	.defer = defer,
	.defer_cancel = defer_cancel,
};

/* The glue's loop: readable fds and deferred runs until idle (bounded). */
static void
run_loop(void)
{
	struct pollfd	pfd[MAX_WATCH];
	unsigned int	idx[MAX_WATCH], i, n, round;
	void		(*cb)(void *);
	void		*arg;
	bool		ran;

	for (round = 0; round < 64; round++) {
		ran = false;
		for (i = 0, n = 0; i < MAX_WATCH; i++)
			if (watches[i].cb != NULL) {
				pfd[n].fd = watches[i].fd;
				pfd[n].events = POLLIN;
				pfd[n].revents = 0;
				idx[n++] = i;
			}
		if (n > 0 && poll(pfd, n, 0) > 0)
			for (i = 0; i < n; i++)
				if ((pfd[i].revents & POLLIN) &&
				    watches[idx[i]].cb != NULL &&
				    watches[idx[i]].fd == pfd[i].fd) {
					watches[idx[i]].cb(pfd[i].fd,
					    watches[idx[i]].arg);
					ran = true;
				}
		while (ndefers > 0) {
			cb = defers[0].cb;
			arg = defers[0].arg;
			defers[0] = defers[--ndefers];
			cb(arg);
			ran = true;
		}
		if (!ran)
			break;
	}
}

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/*
 * Send one message and let the engine handle it.  With reply, the answer
 * (a GET's u64, or with NEED_REPLY the ack's status) goes to *reply.
 * The engine's verdict: 0 or -errno (the connection would be dropped).
 */
static int
msg(uint32_t req, uint32_t flags, const void *payload, uint32_t size,
    const int *fds, unsigned int nfds, uint64_t *reply)
{
	struct vhost_user_msg	m;
	int			rfds[VHOST_USER_MAX_FDS];
	unsigned int		rn, i;
	int			rc;

	memset(&m, 0, sizeof(m));
	m.hdr.request = req;
	m.hdr.flags = VHOST_USER_VERSION | flags;
	m.hdr.size = size;
	if (size > 0)
		memcpy(&m.payload, payload, size);
	if (vu_msg_send(sv[1], &m, fds, nfds) != 0)
		abort();
	if ((rc = vu_dev_dispatch(dev)) != 0)
		return rc;
	if (reply == NULL)
		return 0;
	if (vu_msg_recv(sv[1], &m, rfds, &rn) != 0 || m.hdr.size < 8 ||
	    m.hdr.request != req)
		abort();
	for (i = 0; i < rn; i++)
		close(rfds[i]);
	memcpy(reply, &m.payload, sizeof(*reply));
	return 0;
}

static int
msg_u64(uint32_t req, uint32_t flags, uint64_t v, uint64_t *reply)
{
	return msg(req, flags, &v, sizeof(v), NULL, 0, reply);
}

static int
msg_state(uint32_t req, uint32_t idx, uint32_t num, uint64_t *reply)
{
	struct vhost_user_vring_state	st = { idx, num };

	return msg(req, 0, &st, sizeof(st), NULL, 0, reply);
}

static int
set_mem_table(void)
{
	struct vhost_user_memory	mt;

	memset(&mt, 0, sizeof(mt));
	mt.nregions = 1;
	mt.regions[0].guest_phys_addr = 0;
	mt.regions[0].memory_size = GUEST_SIZE;
	mt.regions[0].userspace_addr = GUEST_UVA;
	mt.regions[0].mmap_offset = 0;
	return msg(VHOST_USER_SET_MEM_TABLE, 0, &mt, 8 + sizeof(mt.regions[0]),
	    &memfd, 1, NULL);
}

/* Ring q: size, base, addresses, kick and call fds, enabled. */
static int
start_ring(unsigned int q, uint16_t base)
{
	struct vhost_user_vring_addr	a;
	struct ring			*r = &rings[q];
	uint64_t			v;

	memset(&a, 0, sizeof(a));
	a.index = q;
	a.desc_user_addr = GUEST_UVA + DESC_GPA(q);
	a.avail_user_addr = GUEST_UVA + AVAIL_GPA(q);
	a.used_user_addr = GUEST_UVA + USED_GPA(q);
	if (msg_state(VHOST_USER_SET_VRING_NUM, q, r->num, NULL) != 0 ||
	    msg_state(VHOST_USER_SET_VRING_BASE, q, base, NULL) != 0 ||
	    msg(VHOST_USER_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0,
	    NULL) != 0)
		return -1;
	v = q;
	if (msg(VHOST_USER_SET_VRING_CALL, 0, &v, sizeof(v), &r->call, 1,
	    NULL) != 0 ||
	    msg(VHOST_USER_SET_VRING_KICK, 0, &v, sizeof(v), &r->kick, 1,
	    NULL) != 0 ||
	    msg_state(VHOST_USER_SET_VRING_ENABLE, q, 1, NULL) != 0)
		return -1;
	return 0;
}

/*
 * Frames the guest got: each the next frame the tap gave (those before
 * it were dropped), whole, its num_buffers the buffers it took.
 */
static void
check_rx(void)
{
	const struct chain	*c, *first;
	struct net_hdr		 nh;
	uint8_t			 h[NET_HDR_LEN];
	uint32_t		 len, s;
	size_t			 flen, at;
	unsigned int		 nb, i, k;
	bool			 tagged;

	while ((first = used_next(RXQ, &len)) != NULL) {
		CHECK(len >= hlen);
		chain_read(first, 0, h, hlen);
		CHECK(net_hdr_load(&nh, h, hlen) == 0);
		nb = hlen == NET_HDR_LEN ? nh.nh_num_buffers : 1;
		if (!(acked & NET_BIT(VIRTIO_NET_F_MRG_RXBUF)))
			CHECK(nb == 1);
		CHECK(nb >= 1);
		flen = len - hlen;
		chain_read(first, hlen, got, flen);
		at = flen;
		for (k = 1; k < nb; k++) {
			CHECK((c = used_next(RXQ, &len)) != NULL);
			CHECK(at + len <= sizeof(got));
			chain_read(c, 0, got + at, len);
			at += len;
		}
		CHECK(at >= NET_ETH_HLEN);
		/* 5.1.6.3.2: no frame past the MTU without GSO. */
		if ((acked & NET_BIT(VIRTIO_NET_F_MTU)) &&
		    (nh.nh_gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
		    VIRTIO_NET_HDR_GSO_NONE) {
			tagged = (got[12] == 0x81 && got[13] == 0x00) ||
			    (got[12] == 0x88 && got[13] == 0xa8);
			CHECK(at <= (size_t)mtu + NET_ETH_HLEN +
			    (tagged ? NET_VLAN_HLEN : 0));
		}
		memcpy(&s, got, 4);
		for (i = 0; i < nrx && rxq[i].seq != s; i++)
			;
		CHECK(i < nrx);		/* a frame nobody sent */
		CHECK(rxq[i].len == at);
		frame_fill(frame, at, s);
		CHECK(memcmp(frame, got, at) == 0);
		nrx -= i + 1;
		memmove(rxq, rxq + i + 1, nrx * sizeof(rxq[0]));
	}
}

/* The offload a tap header claims was acked (tx: the HOST_ bits). */
static void
check_tx_hdr(const struct net_hdr *nh, size_t flen)
{
	uint8_t	base = nh->nh_gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	CHECK(flen <= NET_GSO_FRAME_MAX);
	if (nh->nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		CHECK(acked & NET_BIT(VIRTIO_NET_F_CSUM));
	switch (base) {
	case VIRTIO_NET_HDR_GSO_NONE:
		CHECK(flen <= (size_t)mtu + NET_ETH_HLEN + NET_VLAN_HLEN);
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		CHECK(acked & NET_BIT(VIRTIO_NET_F_HOST_TSO4));
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		CHECK(acked & NET_BIT(VIRTIO_NET_F_HOST_TSO6));
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		CHECK(acked & NET_BIT(VIRTIO_NET_F_HOST_UFO));
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		CHECK(acked & NET_BIT(VIRTIO_NET_F_HOST_USO));
		break;
	default:
		abort();
	}
	if (nh->nh_gso_type & VIRTIO_NET_HDR_GSO_ECN)
		CHECK(acked & NET_BIT(VIRTIO_NET_F_HOST_ECN));
}

/* One frame off the tap's wire, or -1. */
static ssize_t
tap_take(void)
{
	ssize_t	n;

	n = recv(tappeer, got, sizeof(got), MSG_DONTWAIT | MSG_TRUNC);
	CHECK(n < (ssize_t)sizeof(got));
	return n;
}

/*
 * The chain's frame (what follows the guest's header in its readable
 * bytes) is on the tap, with a header the device may send; or nothing
 * (dropped).  Every tx chain comes back used while the ring runs.
 */
static void
check_tx(size_t rlen, uint32_t s)
{
	struct net_hdr	nh;
	uint32_t	len;
	ssize_t		n;

	if (vu_queue_ready(dev, TXQ))
		CHECK(used_next(TXQ, &len) != NULL && len == 0);
	else
		while (used_next(TXQ, &len) != NULL)
			CHECK(len == 0);
	if ((n = tap_take()) < 0)
		return;
	CHECK(rlen >= hlen);
	CHECK((size_t)n >= NET_TAP_HDR_LEN);
	CHECK((size_t)n - NET_TAP_HDR_LEN == rlen - hlen);
	CHECK(net_hdr_load(&nh, got, NET_TAP_HDR_LEN) == 0);
	check_tx_hdr(&nh, (size_t)n - NET_TAP_HDR_LEN);
	frame_fill(frame, rlen - hlen, s);
	CHECK(memcmp(got + NET_TAP_HDR_LEN, frame, rlen - hlen) == 0);
	CHECK(tap_take() < 0);		/* one chain, one frame */
}

static void
cmd_tx(struct script *sc)
{
	uint32_t	len[SEGMAX];
	bool		wr[SEGMAX];
	uint8_t		hdr[NET_HDR_LEN], b, fl;
	uint16_t	l;
	unsigned int	nseg, i;
	size_t		rlen = 0;

	if (!take(sc, &b, 1))
		return;
	nseg = 1 + b % 4;
	for (i = 0; i < nseg; i++) {
		if (!take(sc, &l, 2) || !take(sc, &fl, 1))
			return;
		/* Big segments sometimes: frames past any MTU. */
		len[i] = fl & 4 ? (uint32_t)l : l % 2048;
		wr[i] = (fl & 3) == 3;
	}
	if (!take(sc, hdr, sizeof(hdr)))
		return;
	seq++;
	if (!post_chain(TXQ, nseg, len, wr, hdr, hlen, seq, &rlen))
		return;
	kick(TXQ);
	run_loop();
	check_tx(rlen, seq);
}

static void
cmd_rx_bufs(struct script *sc)
{
	uint32_t	len[SEGMAX];
	bool		wr[SEGMAX];
	uint8_t		b, c, fl;
	uint16_t	l;
	unsigned int	n, nseg, i, k;
	size_t		rlen;

	if (!take(sc, &b, 1) || !take(sc, &c, 1) || !take(sc, &l, 2) ||
	    !take(sc, &fl, 1))
		return;
	n = 1 + b % 8;
	nseg = 1 + c % 3;
	for (k = 0; k < n; k++) {
		for (i = 0; i < nseg; i++) {
			len[i] = (fl & 1 ? l : l % 4096) / nseg;
			/* A readable segment before the writable ones is
			 * the guest's mistake; after them, malformed. */
			wr[i] = !((fl & 2) && i == 0) && !((fl & 4) &&
			    i == nseg - 1);
		}
		if (!post_chain(RXQ, nseg, len, wr, NULL, 0, 0, &rlen))
			break;
	}
	kick(RXQ);
	run_loop();
}

static void
cmd_tap_frame(struct script *sc)
{
	struct iovec	iov[2];
	uint8_t		th[NET_TAP_HDR_LEN];
	uint16_t	l;
	size_t		len;

	if (!take(sc, th, sizeof(th)) || !take(sc, &l, 2))
		return;
	len = l & 1 ? (size_t)l + 40 : (size_t)l % 1600;
	if (nrx == MAX_FRAMES)
		return;
	seq++;
	frame_fill(frame, len, seq);
	iov[0].iov_base = th;
	iov[0].iov_len = sizeof(th);
	iov[1].iov_base = frame;
	iov[1].iov_len = len;
	if (writev(tappeer, iov, 2) < 0)
		return;
	rxq[nrx].seq = seq;
	rxq[nrx++].len = len;
	run_loop();
}

static void
cmd_set_mtu(struct script *sc)
{
	uint16_t	v;
	uint64_t	st = 1;

	if (!take(sc, &v, 2))
		return;
	if (msg_u64(VHOST_USER_NET_SET_MTU, VHOST_USER_NEED_REPLY_MASK, v,
	    &st) != 0)
		abort();
	/* Never above the device's MTU: the tap was set up for that. */
	if (st == 0) {
		CHECK(v <= dev_mtu);
		mtu = v;
	} else if (v >= NET_MTU_MIN && v <= dev_mtu)
		abort();		/* a valid MTU refused */
}

/* GET_VRING_BASE stops the rx ring (held chains go back), then restart. */
static void
cmd_rx_restart(void)
{
	uint64_t	base;

	if (msg_state(VHOST_USER_GET_VRING_BASE, RXQ, 0, &base) != 0)
		abort();
	if (start_ring(RXQ, (uint16_t)(base >> 32)) != 0)
		abort();
	run_loop();
}

static void
cmd_rarp(struct script *sc)
{
	uint8_t		mac[8] = { 0 }, want[NET_RARP_LEN];
	uint64_t	v, st = 1;
	ssize_t		n;

	if (!take(sc, mac, 6))
		return;
	memcpy(&v, mac, sizeof(v));
	if (msg_u64(VHOST_USER_SEND_RARP, VHOST_USER_NEED_REPLY_MASK, v,
	    &st) != 0)
		abort();
	n = tap_take();
	if (st != 0) {
		CHECK(n < 0);
		return;
	}
	CHECK(n == NET_TAP_HDR_LEN + NET_RARP_LEN);
	(void)net_rarp_build(want, sizeof(want), mac);
	CHECK(memcmp(got + NET_TAP_HDR_LEN, want, NET_RARP_LEN) == 0);
}

/* The device on a fresh fake tap and engine, set up as a front end does. */
static int
setup(const uint8_t *data, struct device_res *res, void **state)
{
	struct device_child_res	 cr;
	struct net_res		 nr;
	uint64_t		 offered, want, pf;
	unsigned int		 q;
	int			 tp[2];

	memset(guest, 0, DATA_GPA);
	memset(shadow, 0, DATA_GPA);
	memset(guest + DATA_GPA, CANARY, hiwater - DATA_GPA);
	memset(shadow + DATA_GPA, CANARY, hiwater - DATA_GPA);
	nwr = 0;
	hiwater = bump = DATA_GPA;
	memset(watches, 0, sizeof(watches));
	ndefers = 0;
	nrx = 0;
	seq = 0;
	tap_offload = 0;
	memset(rings, 0, sizeof(rings));
	for (q = 0; q < 2; q++) {
		rings[q].num = (uint16_t)(2u << data[0] % 8);
		rings[q].kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		rings[q].call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		(void)allow_writes(USED_GPA(q), 0x1000);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0, tp) != 0)
		abort();
	tapfd = tp[0];
	tappeer = tp[1];
	memset(&nr, 0, sizeof(nr));
	memcpy(nr.nr_mac, "\x52\x54\x00\x12\x34\x56", NET_ETH_ALEN);
	nr.nr_mtu = (uint16_t)le(data + 2, 2);
	if (nr.nr_mtu < NET_MTU_MIN)
		nr.nr_mtu = NET_MTU_DEFAULT;
	nr.nr_npairs = 1;
	nr.nr_offloads = data[1] & 0x7f;
	device_res_init(res);
	if (device_res_add_fd(res, tapfd) != 0 ||
	    device_res_set_data(res, &nr, sizeof(nr)) != 0)
		abort();
	device_res_view(res, &cr);
	if (net_device_type.dt_init(&cr, state) != 0 ||
	    vu_dev_new(&dev, sv[0], net_device_type.dt_num_queues(*state),
	    net_device_type.dt_ops, *state, &watch_ops, NULL) != 0)
		abort();
	mtu = dev_mtu = nr.nr_mtu;

	/* The front end's order (QEMU): features, protocol features, ... */
	if (msg(VHOST_USER_SET_OWNER, 0, NULL, 0, NULL, 0, NULL) != 0 ||
	    msg(VHOST_USER_GET_FEATURES, 0, NULL, 0, NULL, 0, &offered) != 0 ||
	    msg(VHOST_USER_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0,
	    &pf) != 0)
		abort();
	want = le(data + 4, 8) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
	acked = want & offered;
	if (net_features_check(acked, NULL) < 0)
		acked &= (1ull << VIRTIO_F_VERSION_1) |
		    (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
		    (1ull << VIRTIO_RING_F_EVENT_IDX) |
		    NET_BIT(VIRTIO_NET_F_MRG_RXBUF) | NET_BIT(VIRTIO_NET_F_MAC);
	pf &= (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    (1ull << VHOST_USER_PROTOCOL_F_MTU) |
	    (1ull << VHOST_USER_PROTOCOL_F_RARP);
	if (msg_u64(VHOST_USER_SET_PROTOCOL_FEATURES, 0, pf, NULL) != 0 ||
	    msg_u64(VHOST_USER_SET_FEATURES, 0, acked, NULL) != 0 ||
	    set_mem_table() != 0 || start_ring(RXQ, 0) != 0 ||
	    start_ring(TXQ, 0) != 0)
		abort();
	hlen = net_hdr_len(acked);
	/* The offloads on the tap are the acked ones, and the tap's. */
	CHECK(tap_offload == net_tap_offload_flags(acked, nr.nr_offloads));
	return 0;
}

static void
teardown(struct device_res *res, void *state)
{
	unsigned int	q;

	vu_dev_free(dev);
	dev = NULL;
	net_device_type.dt_free(state);
	device_res_release(&net_device_type, res);
	tapfd = -1;
	close_reset(&tappeer);
	close_reset(&sv[0]);
	close_reset(&sv[1]);
	for (q = 0; q < 2; q++) {
		close_reset(&rings[q].kick);
		close_reset(&rings[q].call);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool		 inited;
	struct script		 sc;
	struct device_res	 res;
	void			*state;
	uint8_t			 cmd;
	uint64_t		 v;
	unsigned int		 n = 0;

	if (!inited) {
		log_init(-1, LOG_TO_STDERR, "net_io_fuzz");
		if ((memfd = memfd_create("net_io_fuzz", MFD_CLOEXEC)) < 0 ||
		    ftruncate(memfd, GUEST_SIZE) != 0)
			abort();
		guest = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, memfd, 0);
		shadow = malloc(GUEST_SIZE);
		if (guest == MAP_FAILED || shadow == NULL)
			abort();
		hiwater = GUEST_SIZE;
		inited = true;
	}
	if (size < 12)
		return 0;
	setup(data, &res, &state);
	sc.p = data + 12;
	sc.n = size - 12;
	while (n++ < 256 && take(&sc, &cmd, 1)) {
		switch (cmd % 8) {
		case 0:
			cmd_tx(&sc);
			break;
		case 1:
			cmd_rx_bufs(&sc);
			break;
		case 2:
			cmd_tap_frame(&sc);
			break;
		case 3:
			cmd_set_mtu(&sc);
			break;
		case 4:
			cmd_rx_restart();
			break;
		case 5:
			if (set_mem_table() != 0)
				abort();
			run_loop();
			break;
		case 6:
			cmd_rarp(&sc);
			break;
		case 7:
			run_loop();
			break;
		}
		check_rx();
		check_memory();
		CHECK(tap_take() < 0);	/* no frame the guest did not send */
		/* Calls: drained, as the front end would. */
		(void)eventfd_read(rings[RXQ].call, &v);
		(void)eventfd_read(rings[TXQ].call, &v);
	}
	teardown(&res, state);
	return 0;
}
