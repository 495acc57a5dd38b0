/*
 * net_hdr.h - virtio-net header, pure helpers for the net device
 * (devices/net.c, net_io.c): feature bits, the header size a
 * feature set implies, validation of a transmit header copied out of
 * guest memory, adjustment of the header the tap gives for a received
 * frame, the RARP announce frame (SEND_RARP) and per-queue counters.
 *
 * No system calls, no guest memory: callers copy the header out once and
 * pass the copy.  All multi-byte header fields are little endian on the
 * wire (VERSION_1; legacy x86 guests are little endian too).
 */
#ifndef VHOSTD_DEVICES_NET_HDR_H
#define VHOSTD_DEVICES_NET_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* virtio 1.x 5.1.3: feature bits. */
#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU		3
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9
#define VIRTIO_NET_F_GUEST_UFO		10
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_HOST_UFO		14
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16
#define VIRTIO_NET_F_CTRL_VQ		17
#define VIRTIO_NET_F_MQ			22
#define VIRTIO_NET_F_GUEST_USO4		54
#define VIRTIO_NET_F_GUEST_USO6		55
#define VIRTIO_NET_F_HOST_USO		56
/* The transport bit the header size depends on (also in vhost/proto.h). */
#define NET_F_VERSION_1			32

#define NET_BIT(b)			(1ULL << (b))

/* 5.1.4: config space status bits. */
#define VIRTIO_NET_S_LINK_UP		1
#define VIRTIO_NET_S_ANNOUNCE		2

/* 5.1.6: header flags and gso types. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_F_DATA_VALID	2
#define VIRTIO_NET_HDR_F_RSC_INFO	4
#define VIRTIO_NET_HDR_GSO_NONE		0
#define VIRTIO_NET_HDR_GSO_TCPV4	1
#define VIRTIO_NET_HDR_GSO_UDP		3
#define VIRTIO_NET_HDR_GSO_TCPV6	4
#define VIRTIO_NET_HDR_GSO_UDP_L4	5
#define VIRTIO_NET_HDR_GSO_ECN		0x80

/* Header sizes: num_buffers exists with VERSION_1 or MRG_RXBUF. */
#define NET_HDR_LEN_LEGACY		10
#define NET_HDR_LEN			12

/* Ethernet. */
#define NET_ETH_ALEN			6
#define NET_ETH_HLEN			14
#define NET_VLAN_HLEN			4
#define NET_MTU_MIN			68
#define NET_MTU_MAX			65535
#define NET_MTU_DEFAULT			1500
/* Largest GSO frame the tap takes or gives (64 KiB IP + link header). */
#define NET_GSO_FRAME_MAX		(65535 + NET_ETH_HLEN + NET_VLAN_HLEN)
/* RARP announce frame: padded to the Ethernet minimum (no FCS). */
#define NET_RARP_LEN			60
#define NET_ETHERTYPE_RARP		0x8035
/* VLAN tag protocol identifiers (802.1Q, 802.1ad): a tag of NET_VLAN_HLEN. */
#define NET_ETHERTYPE_VLAN		0x8100
#define NET_ETHERTYPE_QINQ		0x88a8

/*
 * The header on the wire (virtio 1.x 5.1.6: struct virtio_net_hdr, then
 * num_buffers with VERSION_1 or MRG_RXBUF), little endian.  For layout
 * only: code decodes it with net_hdr_load(), never uses it in place.
 */
struct net_hdr_wire {
	uint8_t		nw_flags;
	uint8_t		nw_gso_type;
	uint16_t	nw_hdr_len;
	uint16_t	nw_gso_size;
	uint16_t	nw_csum_start;
	uint16_t	nw_csum_offset;
	uint16_t	nw_num_buffers;		/* not in the 10-byte layout */
} __attribute__((packed));

_Static_assert(sizeof(struct net_hdr_wire) == NET_HDR_LEN,
    "virtio-net header is 12 bytes");
_Static_assert(offsetof(struct net_hdr_wire, nw_num_buffers) ==
    NET_HDR_LEN_LEGACY, "num_buffers follows the 10-byte header");

/*
 * The header in host byte order.  net_hdr_load() fills it from the wire
 * bytes, net_hdr_store() writes it back; num_buffers is 0 for the
 * 10-byte layout.
 */
struct net_hdr {
	uint8_t		nh_flags;
	uint8_t		nh_gso_type;
	uint16_t	nh_hdr_len;
	uint16_t	nh_gso_size;
	uint16_t	nh_csum_start;
	uint16_t	nh_csum_offset;
	uint16_t	nh_num_buffers;
};

/*
 * Why a frame was dropped: one row per reason (enum name, counter name).
 * The enum, the name table and the counters below are generated from it.
 */
#define NET_DROP_LIST(X)						\
	X(SHORT_HDR,	"short_hdr")	/* tx: chain shorter than the header */ \
	X(RUNT,		"runt")		/* shorter than an Ethernet header */ \
	X(TOO_BIG,	"too_big")	/* longer than the MTU (or GSO max) */ \
	X(BAD_FLAGS,	"bad_flags")	/* unknown or direction-invalid flag */ \
	X(CSUM_UNACKED,	"csum_unacked")	/* NEEDS_CSUM without CSUM */	\
	X(CSUM_RANGE,	"csum_range")	/* csum_start/offset off the frame */ \
	X(GSO_TYPE,	"gso_type")	/* unknown gso_type */		\
	X(GSO_UNACKED,	"gso_unacked")	/* gso_type (or ECN) not acked */ \
	X(GSO_NO_CSUM,	"gso_no_csum")	/* GSO without NEEDS_CSUM */	\
	X(GSO_SIZE,	"gso_size")	/* GSO with gso_size 0 */	\
	X(HDR_LEN,	"hdr_len")	/* hdr_len past the frame */	\
	X(RX_NO_ROOM,	"rx_no_room")	/* rx: guest buffers too small */ \
	X(RX_NO_BUFS,	"rx_no_bufs")	/* rx: no guest buffers */	\
	X(TAP_ERR,	"tap_error")	/* read/write on the tap failed */ \
	X(TX_SEGS,	"tx_segs")	/* tx: more segments than writev takes */

#define NET_DROP_ENUM(e, s)	NET_DROP_##e,
enum net_drop {
	NET_DROP_NONE = 0,
	NET_DROP_LIST(NET_DROP_ENUM)
	NET_DROP__MAX
};
#undef NET_DROP_ENUM

/* "short_hdr", "runt", ...; "?" for out of range values. */
const char	*net_drop_name(enum net_drop reason);

/* 12 with VERSION_1 or MRG_RXBUF in features, else 10. */
size_t	net_hdr_len(uint64_t features);

/*
 * Decode hdr_len (10 or 12) bytes at buf into *h.  Copies; buf is not
 * kept.  0, or -EINVAL when hdr_len is neither 10 nor 12.
 */
int	net_hdr_load(struct net_hdr *h, const void *buf, size_t hdr_len);

/* Encode *h into hdr_len (10 or 12) bytes at buf.  0 or -EINVAL. */
int	net_hdr_store(const struct net_hdr *h, void *buf, size_t hdr_len);

/*
 * Check a transmit header (guest to tap) against the acked features and
 * the frame length (bytes after the header).  max_frame bounds a non-GSO
 * frame (MTU + Ethernet + VLAN header); GSO frames are bounded by
 * NET_GSO_FRAME_MAX.  On success the header is normalised for the tap:
 * num_buffers 0.  Returns NET_DROP_NONE or the reason to drop.
 */
enum net_drop	net_hdr_check_tx(struct net_hdr *h, size_t frame_len,
		    uint64_t features, size_t max_frame);

/*
 * The transmit path in one call: chain_len is the length of the readable
 * chain (header and frame), hdr the first net_hdr_len(features) bytes of
 * it, copied out of guest memory by the caller (fewer when the chain is
 * shorter).  Decodes into *h and checks it as net_hdr_check_tx() with
 * frame_len = chain_len - header.  NET_DROP_SHORT_HDR when the chain
 * cannot hold the header.
 */
enum net_drop	net_hdr_tx_prepare(struct net_hdr *h, const void *hdr,
		    size_t chain_len, uint64_t features, size_t max_frame);

/*
 * Adjust the header the tap gave for a received frame of frame_len bytes
 * before it goes to the guest: offloads the guest did not ack are a drop
 * (the tap's offloads follow the acked features, so this is the kernel
 * disagreeing), DATA_VALID is cleared without GUEST_CSUM, num_buffers is
 * set.  Returns NET_DROP_NONE or the reason.
 */
enum net_drop	net_hdr_fix_rx(struct net_hdr *h, size_t frame_len,
		    uint64_t features, uint16_t num_buffers);

/*
 * The longest frame (bytes after the virtio-net header) rx may give the
 * guest without GSO: with VIRTIO_NET_F_MTU in features, mtu plus the link
 * header (virtio 1.2 5.1.6.3.2: the device MUST NOT pass a frame longer
 * than mtu plus the low level Ethernet header length, gso_type NONE or
 * ECN), that is NET_ETH_HLEN, and NET_VLAN_HLEN more when the frame's
 * ethertype (bytes 12-13, big endian) is an 802.1Q or 802.1ad tag: one
 * tag, as Linux's AF_PACKET and virtio_net allow.  SIZE_MAX without
 * VIRTIO_NET_F_MTU (the guest's buffers bound the frame).
 */
size_t	net_rx_frame_max(uint64_t features, unsigned int mtu,
	    uint16_t ethertype);

/*
 * Judge one readv() from the tap into [header of hdr_len][guest buffers
 * of cap bytes][one spare byte]: the tap truncates a frame longer than
 * the buffers and returns the truncated length, so only the spare byte
 * shows that it did not fit.  n is readv's return (>= 0).  NET_DROP_NONE
 * (frame length n - hdr_len), NET_DROP_RUNT (shorter than a header and
 * an Ethernet header) or NET_DROP_RX_NO_ROOM (did not fit: drop it and
 * give the buffers back).
 */
enum net_drop	net_rx_result(size_t n, size_t hdr_len, size_t cap);

/*
 * Split a received frame over the guest buffers it was read into, for
 * the used ring (mergeable rx).  caps[i] is the writable size of buffer
 * (chain) i, in ring order; the header fills the first hdr_len bytes of
 * buffer 0; total is header plus frame (readv's return, already judged
 * by net_rx_result).  Fills used[i] for each buffer the frame touches and
 * returns how many (num_buffers; the rest go back to the ring unused).
 * Returns 0 when buffer 0 cannot hold the header (5.1.6.3.1: a driver
 * bug: the device should be marked broken) or total exceeds the buffers.
 */
unsigned int	net_rx_split(const uint32_t *caps, unsigned int ncaps,
		    size_t hdr_len, size_t total, uint32_t *used);

/*
 * Build the RARP announce frame for mac (SEND_RARP: the back end sends it
 * on behalf of the migrated guest so switches learn where the MAC is):
 * broadcast destination, source mac, ethertype 0x8035, reverse request
 * with sender and target hardware address mac, padded with zeros.  buf
 * must hold NET_RARP_LEN bytes.  Returns NET_RARP_LEN, or -EINVAL when
 * len is too small.
 */
int	net_rarp_build(uint8_t *buf, size_t len, const uint8_t mac[NET_ETH_ALEN]);

/*
 * Per-ring counters: a plain array of u64 indexed by enum net_ctr, named
 * by net_ctr_name() (one static table): frames and bytes passed (bytes
 * without the virtio-net header), wake-ups that moved a frame, times rx
 * stopped for want of guest buffers, then one drop counter per reason.
 */
enum net_ctr {
	NET_CTR_FRAMES,
	NET_CTR_BYTES,
	NET_CTR_BATCHES,
	NET_CTR_RX_WAITS,
	NET_CTR_DROP_BASE,	/* + reason - 1: NET_DROP_SHORT_HDR first */
	NET_CTR__MAX = NET_CTR_DROP_BASE + NET_DROP__MAX - 1
};

struct net_qstats {
	uint64_t	qs_c[NET_CTR__MAX];
};

/*
 * The counters' names, also the metric names of vhostd ctl stats
 * (struct ctr_desc: "frames", "bytes", "batches", "rx_waits", then
 * "drops:REASON", one metric with a kind= label) and their help texts.
 */
extern const char *const net_ctr_names[NET_CTR__MAX];
extern const char *const net_ctr_help[NET_CTR__MAX];
/* net_ctr_names[ctr], or "?" for out of range values. */
const char	*net_ctr_name(unsigned int ctr);
/* The counter of a drop reason (NET_DROP_NONE: none, NET_CTR__MAX). */
unsigned int	net_ctr_of_drop(enum net_drop reason);
/* Count one frame of len bytes passed (len excludes the header). */
void	net_qstats_pass(struct net_qstats *qs, size_t len);
/* Count one drop (NET_DROP_NONE and out-of-range reasons are ignored). */
void	net_qstats_drop(struct net_qstats *qs, enum net_drop reason);
/* Drops of one reason. */
uint64_t	net_qstats_dropped(const struct net_qstats *qs,
		    enum net_drop reason);
/* Sum of every drop counter. */
uint64_t	net_qstats_drops(const struct net_qstats *qs);
/*
 * "frames=N bytes=N batches=N rx_waits=N" then " drops:REASON=N" for each
 * reason that is not 0, into buf (truncated to len).
 */
void	net_qstats_format(const struct net_qstats *qs, char *buf, size_t len);

/*
 * Check an acked feature set against the dependencies of virtio 1.x
 * 5.1.3.1 (e.g. GUEST_TSO4 needs GUEST_CSUM, HOST_ECN needs HOST_TSO4 or
 * HOST_TSO6).  0, or -EINVAL with the first broken rule in why (may be
 * NULL).
 */
int	net_features_check(uint64_t features, const char **why);

#endif /* VHOSTD_DEVICES_NET_HDR_H */
