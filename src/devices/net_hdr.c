/*
 * net_hdr.c - virtio-net header validation, the RARP announce frame and
 * per-queue counters (see net_hdr.h).  Pure: no system calls.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "net_hdr.h"

/* The drop reasons' names, from NET_DROP_LIST. */
#define NET_DROP_NAME(e, s)	[NET_DROP_##e] = (s),
static const char *const net_drop_names[NET_DROP__MAX] = {
	[NET_DROP_NONE] = "none",
	NET_DROP_LIST(NET_DROP_NAME)
};
#undef NET_DROP_NAME

/* The counters' names: the passes, then "drops:" and each reason. */
/* A literal concatenated: no parentheses possible. */
#define NET_CTR_NAME(e, s)	"drops:" s, /* NOLINT(bugprone-macro-parentheses) */
const char *const net_ctr_names[NET_CTR__MAX] = {
	"frames", "bytes", "batches", "rx_waits",
	NET_DROP_LIST(NET_CTR_NAME)
};
#undef NET_CTR_NAME

/* Help texts: the first name of a metric gives it. */
const char *const net_ctr_help[NET_CTR__MAX] = {
	[NET_CTR_FRAMES] = "frames passed (rx: tap to guest, tx: guest to tap)",
	[NET_CTR_BYTES] = "bytes of the frames passed, without the "
	    "virtio-net header",
	[NET_CTR_BATCHES] = "wake-ups that moved at least one frame",
	[NET_CTR_RX_WAITS] = "times rx stopped reading the tap for want of "
	    "guest buffers",
	[NET_CTR_DROP_BASE] = "frames dropped, by reason",
};

_Static_assert(NET_CTR_RX_WAITS + 1 == NET_CTR_DROP_BASE,
    "net_ctr_names lists the passes before the drops");

/*
 * One row per gso type: the feature the transmit side (HOST_*) and the
 * receive side (GUEST_*, either of two) need, and the transport header
 * length the checksum start must leave room for.
 */
struct net_gso_row {
	uint8_t		gr_type;
	uint64_t	gr_host;
	uint64_t	gr_guest;
	size_t		gr_thlen;
};

static const struct net_gso_row net_gso_rows[] = {
	{ VIRTIO_NET_HDR_GSO_TCPV4, NET_BIT(VIRTIO_NET_F_HOST_TSO4),
	    NET_BIT(VIRTIO_NET_F_GUEST_TSO4), 20 },
	{ VIRTIO_NET_HDR_GSO_TCPV6, NET_BIT(VIRTIO_NET_F_HOST_TSO6),
	    NET_BIT(VIRTIO_NET_F_GUEST_TSO6), 20 },
	{ VIRTIO_NET_HDR_GSO_UDP, NET_BIT(VIRTIO_NET_F_HOST_UFO),
	    NET_BIT(VIRTIO_NET_F_GUEST_UFO), 8 },
	{ VIRTIO_NET_HDR_GSO_UDP_L4, NET_BIT(VIRTIO_NET_F_HOST_USO),
	    NET_BIT(VIRTIO_NET_F_GUEST_USO4) |
	    NET_BIT(VIRTIO_NET_F_GUEST_USO6), 8 },
};

/* 5.1.3.1: a feature and what it needs (any one of the bits in need). */
struct net_dep_row {
	uint64_t	dr_feature;
	uint64_t	dr_need;
	const char	*dr_why;
};

static const struct net_dep_row net_dep_rows[] = {
	{ NET_BIT(VIRTIO_NET_F_GUEST_TSO4), NET_BIT(VIRTIO_NET_F_GUEST_CSUM),
	    "GUEST_TSO4 needs GUEST_CSUM" },
	{ NET_BIT(VIRTIO_NET_F_GUEST_TSO6), NET_BIT(VIRTIO_NET_F_GUEST_CSUM),
	    "GUEST_TSO6 needs GUEST_CSUM" },
	{ NET_BIT(VIRTIO_NET_F_GUEST_ECN), NET_BIT(VIRTIO_NET_F_GUEST_TSO4) |
	    NET_BIT(VIRTIO_NET_F_GUEST_TSO6),
	    "GUEST_ECN needs GUEST_TSO4 or GUEST_TSO6" },
	{ NET_BIT(VIRTIO_NET_F_GUEST_UFO), NET_BIT(VIRTIO_NET_F_GUEST_CSUM),
	    "GUEST_UFO needs GUEST_CSUM" },
	{ NET_BIT(VIRTIO_NET_F_GUEST_USO4), NET_BIT(VIRTIO_NET_F_GUEST_CSUM),
	    "GUEST_USO4 needs GUEST_CSUM" },
	{ NET_BIT(VIRTIO_NET_F_GUEST_USO6), NET_BIT(VIRTIO_NET_F_GUEST_CSUM),
	    "GUEST_USO6 needs GUEST_CSUM" },
	{ NET_BIT(VIRTIO_NET_F_HOST_TSO4), NET_BIT(VIRTIO_NET_F_CSUM),
	    "HOST_TSO4 needs CSUM" },
	{ NET_BIT(VIRTIO_NET_F_HOST_TSO6), NET_BIT(VIRTIO_NET_F_CSUM),
	    "HOST_TSO6 needs CSUM" },
	{ NET_BIT(VIRTIO_NET_F_HOST_ECN), NET_BIT(VIRTIO_NET_F_HOST_TSO4) |
	    NET_BIT(VIRTIO_NET_F_HOST_TSO6),
	    "HOST_ECN needs HOST_TSO4 or HOST_TSO6" },
	{ NET_BIT(VIRTIO_NET_F_HOST_UFO), NET_BIT(VIRTIO_NET_F_CSUM),
	    "HOST_UFO needs CSUM" },
	{ NET_BIT(VIRTIO_NET_F_HOST_USO), NET_BIT(VIRTIO_NET_F_CSUM),
	    "HOST_USO needs CSUM" },
};

const char *
net_drop_name(enum net_drop reason)
{
	if ((unsigned int)reason >= NET_DROP__MAX)
		return "?";
	return net_drop_names[reason];
}

size_t
net_hdr_len(uint64_t features)
{
	if (features & (NET_BIT(NET_F_VERSION_1) |
	    NET_BIT(VIRTIO_NET_F_MRG_RXBUF)))
		return NET_HDR_LEN;
	return NET_HDR_LEN_LEGACY;
}

static uint16_t
get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static void
put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

int
net_hdr_load(struct net_hdr *h, const void *buf, size_t hdr_len)
{
	const uint8_t	*p = buf;

	if (hdr_len != NET_HDR_LEN && hdr_len != NET_HDR_LEN_LEGACY)
		return -EINVAL;
#define W(f)	offsetof(struct net_hdr_wire, f)
	h->nh_flags = p[W(nw_flags)];
	h->nh_gso_type = p[W(nw_gso_type)];
	h->nh_hdr_len = get_le16(p + W(nw_hdr_len));
	h->nh_gso_size = get_le16(p + W(nw_gso_size));
	h->nh_csum_start = get_le16(p + W(nw_csum_start));
	h->nh_csum_offset = get_le16(p + W(nw_csum_offset));
	h->nh_num_buffers = hdr_len == NET_HDR_LEN ?
	    get_le16(p + W(nw_num_buffers)) : 0;
	return 0;
}

int
net_hdr_store(const struct net_hdr *h, void *buf, size_t hdr_len)
{
	uint8_t	*p = buf;

	if (hdr_len != NET_HDR_LEN && hdr_len != NET_HDR_LEN_LEGACY)
		return -EINVAL;
	p[W(nw_flags)] = h->nh_flags;
	p[W(nw_gso_type)] = h->nh_gso_type;
	put_le16(p + W(nw_hdr_len), h->nh_hdr_len);
	put_le16(p + W(nw_gso_size), h->nh_gso_size);
	put_le16(p + W(nw_csum_start), h->nh_csum_start);
	put_le16(p + W(nw_csum_offset), h->nh_csum_offset);
	if (hdr_len == NET_HDR_LEN)
		put_le16(p + W(nw_num_buffers), h->nh_num_buffers);
	return 0;
}

static const struct net_gso_row *
net_gso_lookup(uint8_t base)
{
	size_t	i;

	for (i = 0; i < sizeof(net_gso_rows) / sizeof(net_gso_rows[0]); i++)
		if (net_gso_rows[i].gr_type == base)
			return &net_gso_rows[i];
	return NULL;
}

/* The checksum field (2 bytes at start + offset) must lie in the frame. */
static bool
net_csum_in_frame(const struct net_hdr *h, size_t frame_len)
{
	return (size_t)h->nh_csum_start + h->nh_csum_offset + 2 <= frame_len;
}

/*
 * The checks both directions share; need picks the HOST_* (tx) or
 * GUEST_* (rx) column, csum_bit the feature NEEDS_CSUM needs.
 */
static enum net_drop
net_hdr_check(const struct net_hdr *h, size_t frame_len, uint64_t features,
    bool tx, uint64_t csum_bit)
{
	const struct net_gso_row	*row = NULL;
	uint8_t				 base;
	uint64_t			 need;

	if (frame_len < NET_ETH_HLEN)
		return NET_DROP_RUNT;
	base = h->nh_gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	if (base != VIRTIO_NET_HDR_GSO_NONE) {
		if ((row = net_gso_lookup(base)) == NULL)
			return NET_DROP_GSO_TYPE;
	} else if (h->nh_gso_type & VIRTIO_NET_HDR_GSO_ECN)
		return NET_DROP_GSO_TYPE;
	if (frame_len > NET_GSO_FRAME_MAX)
		return NET_DROP_TOO_BIG;
	if (h->nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(features & csum_bit))
			return NET_DROP_CSUM_UNACKED;
		if (!net_csum_in_frame(h, frame_len))
			return NET_DROP_CSUM_RANGE;
	}
	if (row == NULL)
		return NET_DROP_NONE;
	need = tx ? row->gr_host : row->gr_guest;
	if (!(features & need))
		return NET_DROP_GSO_UNACKED;
	if (h->nh_gso_type & VIRTIO_NET_HDR_GSO_ECN) {
		need = tx ? NET_BIT(VIRTIO_NET_F_HOST_ECN) :
		    NET_BIT(VIRTIO_NET_F_GUEST_ECN);
		if (!(features & need))
			return NET_DROP_GSO_UNACKED;
	}
	if (!(h->nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return NET_DROP_GSO_NO_CSUM;
	if (h->nh_gso_size == 0)
		return NET_DROP_GSO_SIZE;
	/* The transport header must follow csum_start inside the frame. */
	if ((size_t)h->nh_csum_start + row->gr_thlen > frame_len)
		return NET_DROP_HDR_LEN;
	return NET_DROP_NONE;
}

enum net_drop
net_hdr_check_tx(struct net_hdr *h, size_t frame_len, uint64_t features,
    size_t max_frame)
{
	enum net_drop	reason;

	/* DATA_VALID and RSC_INFO are device-to-driver only. */
	if (h->nh_flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return NET_DROP_BAD_FLAGS;
	reason = net_hdr_check(h, frame_len, features, true,
	    NET_BIT(VIRTIO_NET_F_CSUM));
	if (reason != NET_DROP_NONE)
		return reason;
	if (h->nh_gso_type == VIRTIO_NET_HDR_GSO_NONE && frame_len > max_frame)
		return NET_DROP_TOO_BIG;
	if (h->nh_hdr_len > frame_len)
		return NET_DROP_HDR_LEN;
	h->nh_num_buffers = 0;
	return NET_DROP_NONE;
}

enum net_drop
net_hdr_tx_prepare(struct net_hdr *h, const void *hdr, size_t chain_len,
    uint64_t features, size_t max_frame)
{
	size_t	hlen = net_hdr_len(features);

	if (chain_len < hlen)
		return NET_DROP_SHORT_HDR;
	(void)net_hdr_load(h, hdr, hlen);
	return net_hdr_check_tx(h, chain_len - hlen, features, max_frame);
}

enum net_drop
net_hdr_fix_rx(struct net_hdr *h, size_t frame_len, uint64_t features,
    uint16_t num_buffers)
{
	enum net_drop	reason;

	if (num_buffers == 0)
		return NET_DROP_RX_NO_BUFS;
	if (num_buffers > 1 && !(features & NET_BIT(VIRTIO_NET_F_MRG_RXBUF)))
		return NET_DROP_RX_NO_ROOM;
	if (h->nh_flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM |
	    VIRTIO_NET_HDR_F_DATA_VALID))
		return NET_DROP_BAD_FLAGS;
	reason = net_hdr_check(h, frame_len, features, false,
	    NET_BIT(VIRTIO_NET_F_GUEST_CSUM));
	if (reason != NET_DROP_NONE)
		return reason;
	if (!(features & NET_BIT(VIRTIO_NET_F_GUEST_CSUM)))
		h->nh_flags &= ~VIRTIO_NET_HDR_F_DATA_VALID;
	/* hdr_len is a hint; never let it point past the frame. */
	if (h->nh_hdr_len > frame_len)
		h->nh_hdr_len = (uint16_t)frame_len;
	h->nh_num_buffers = num_buffers;
	return NET_DROP_NONE;
}

enum net_drop
net_rx_result(size_t n, size_t hdr_len, size_t cap)
{
	if (n > hdr_len + cap)
		return NET_DROP_RX_NO_ROOM;
	if (n < hdr_len + NET_ETH_HLEN)
		return NET_DROP_RUNT;
	return NET_DROP_NONE;
}

size_t
net_rx_frame_max(uint64_t features, unsigned int mtu, uint16_t ethertype)
{
	size_t	link = NET_ETH_HLEN;

	if (!(features & NET_BIT(VIRTIO_NET_F_MTU)))
		return SIZE_MAX;
	if (ethertype == NET_ETHERTYPE_VLAN || ethertype == NET_ETHERTYPE_QINQ)
		link += NET_VLAN_HLEN;
	return (size_t)mtu + link;
}

unsigned int
net_rx_split(const uint32_t *caps, unsigned int ncaps, size_t hdr_len,
    size_t total, uint32_t *used)
{
	unsigned int	i;
	size_t		left = total, take;

	if (ncaps == 0 || caps[0] < hdr_len || total < hdr_len)
		return 0;
	for (i = 0; i < ncaps && left > 0; i++) {
		take = caps[i] < left ? caps[i] : left;
		used[i] = (uint32_t)take;
		left -= take;
		/* A zero-sized buffer after the first carries nothing. */
		if (take == 0)
			return 0;
	}
	if (left > 0)
		return 0;
	return i;
}

int
net_rarp_build(uint8_t *buf, size_t len, const uint8_t mac[NET_ETH_ALEN])
{
	uint8_t	*p = buf;

	if (len < NET_RARP_LEN)
		return -EINVAL;
	memset(buf, 0, NET_RARP_LEN);
	memset(p, 0xff, NET_ETH_ALEN);			/* destination */
	memcpy(p + 6, mac, NET_ETH_ALEN);		/* source */
	p[12] = NET_ETHERTYPE_RARP >> 8;
	p[13] = NET_ETHERTYPE_RARP & 0xff;
	p += NET_ETH_HLEN;
	p[1] = 1;					/* htype Ethernet */
	p[2] = 0x08;					/* ptype IPv4 */
	p[4] = NET_ETH_ALEN;				/* hlen */
	p[5] = 4;					/* plen */
	p[7] = 3;					/* op reverse request */
	memcpy(p + 8, mac, NET_ETH_ALEN);		/* sender hw */
	memcpy(p + 18, mac, NET_ETH_ALEN);		/* target hw */
	return NET_RARP_LEN;
}

const char *
net_ctr_name(unsigned int ctr)
{
	if (ctr >= NET_CTR__MAX)
		return "?";
	return net_ctr_names[ctr];
}

unsigned int
net_ctr_of_drop(enum net_drop reason)
{
	if (reason == NET_DROP_NONE || (unsigned int)reason >= NET_DROP__MAX)
		return NET_CTR__MAX;
	return NET_CTR_DROP_BASE + (unsigned int)reason - 1;
}

void
net_qstats_pass(struct net_qstats *qs, size_t len)
{
	qs->qs_c[NET_CTR_FRAMES]++;
	qs->qs_c[NET_CTR_BYTES] += len;
}

void
net_qstats_drop(struct net_qstats *qs, enum net_drop reason)
{
	unsigned int	c = net_ctr_of_drop(reason);

	if (c < NET_CTR__MAX)
		qs->qs_c[c]++;
}

uint64_t
net_qstats_dropped(const struct net_qstats *qs, enum net_drop reason)
{
	unsigned int	c = net_ctr_of_drop(reason);

	return c < NET_CTR__MAX ? qs->qs_c[c] : 0;
}

uint64_t
net_qstats_drops(const struct net_qstats *qs)
{
	uint64_t	sum = 0;
	unsigned int	i;

	for (i = NET_CTR_DROP_BASE; i < NET_CTR__MAX; i++)
		sum += qs->qs_c[i];
	return sum;
}

void
net_qstats_format(const struct net_qstats *qs, char *buf, size_t len)
{
	unsigned int	i;
	size_t		off = 0;
	int		n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < NET_CTR__MAX && off < len; i++) {
		if (i >= NET_CTR_DROP_BASE && qs->qs_c[i] == 0)
			continue;
		n = snprintf(buf + off, len - off, "%s%s=%llu",
		    off > 0 ? " " : "", net_ctr_names[i],
		    (unsigned long long)qs->qs_c[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int
net_features_check(uint64_t features, const char **why)
{
	size_t	i;

	for (i = 0; i < sizeof(net_dep_rows) / sizeof(net_dep_rows[0]); i++) {
		const struct net_dep_row *r = &net_dep_rows[i];

		if ((features & r->dr_feature) && !(features & r->dr_need)) {
			if (why != NULL)
				*why = r->dr_why;
			return -EINVAL;
		}
	}
	return 0;
}
