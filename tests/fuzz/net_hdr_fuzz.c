/*
 * net_hdr_fuzz.c - libFuzzer target for the virtio-net header checks.
 *
 * Input: bytes 0-7 the acked features (little endian), 8-11 the chain
 * length (u32), 12-13 the MTU, 14-15 num_buffers, 16-27 the header as
 * the guest (tx) or the tap (rx) wrote it.  Whatever the input, a header
 * the checks accept must keep every promise the data path relies on
 * (checksum field inside the frame, GSO only as acked and with a size,
 * hdr_len inside the frame, length bounds); load/store round-trips; the
 * offload flags derived from the features obey the tap's rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_hdr.h"
#include "devices/net_tap.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

static uint64_t
le(const uint8_t *p, int n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/* The promises of an accepted header, either direction. */
static void
promises(const struct net_hdr *h, size_t frame_len, uint64_t f, bool tx)
{
	uint8_t	base = h->nh_gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	CHECK(frame_len >= NET_ETH_HLEN);
	CHECK(frame_len <= NET_GSO_FRAME_MAX);
	CHECK(h->nh_hdr_len <= frame_len);
	if (h->nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		CHECK(f & NET_BIT(tx ? VIRTIO_NET_F_CSUM :
		    VIRTIO_NET_F_GUEST_CSUM));
		CHECK((size_t)h->nh_csum_start + h->nh_csum_offset + 2 <=
		    frame_len);
	}
	if (base == VIRTIO_NET_HDR_GSO_NONE) {
		CHECK(!(h->nh_gso_type & VIRTIO_NET_HDR_GSO_ECN));
		return;
	}
	CHECK(h->nh_gso_size != 0);
	CHECK(h->nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	CHECK((size_t)h->nh_csum_start + 8 <= frame_len);
	switch (base) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		CHECK(f & NET_BIT(tx ? VIRTIO_NET_F_HOST_TSO4 :
		    VIRTIO_NET_F_GUEST_TSO4));
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		CHECK(f & NET_BIT(tx ? VIRTIO_NET_F_HOST_TSO6 :
		    VIRTIO_NET_F_GUEST_TSO6));
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		CHECK(f & NET_BIT(tx ? VIRTIO_NET_F_HOST_UFO :
		    VIRTIO_NET_F_GUEST_UFO));
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		CHECK(f & (tx ? NET_BIT(VIRTIO_NET_F_HOST_USO) :
		    NET_BIT(VIRTIO_NET_F_GUEST_USO4) |
		    NET_BIT(VIRTIO_NET_F_GUEST_USO6)));
		break;
	default:
		abort();
	}
	if (h->nh_gso_type & VIRTIO_NET_HDR_GSO_ECN)
		CHECK(f & NET_BIT(tx ? VIRTIO_NET_F_HOST_ECN :
		    VIRTIO_NET_F_GUEST_ECN));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		raw[NET_HDR_LEN], back[NET_HDR_LEN], rarp[NET_RARP_LEN];
	struct net_hdr	h, h2;
	struct net_qstats qs;
	uint64_t	f;
	size_t		chain, max_frame, hlen;
	uint16_t	nbuf;
	unsigned int	off, acc;
	enum net_drop	r;

	if (size < 16 + NET_HDR_LEN)
		return 0;
	f = le(data, 8);
	chain = (size_t)le(data + 8, 4);
	max_frame = (size_t)le(data + 12, 2) + NET_ETH_HLEN + NET_VLAN_HLEN;
	nbuf = (uint16_t)le(data + 14, 2);
	memcpy(raw, data + 16, NET_HDR_LEN);
	hlen = net_hdr_len(f);
	memset(&qs, 0, sizeof(qs));

	/* Transmit. */
	r = net_hdr_tx_prepare(&h, raw, chain, f, max_frame);
	CHECK((unsigned int)r < NET_DROP__MAX);
	net_qstats_drop(&qs, r);
	if (r == NET_DROP_NONE) {
		CHECK(chain >= hlen);
		promises(&h, chain - hlen, f, true);
		CHECK((h.nh_flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM) == 0);
		CHECK(h.nh_num_buffers == 0);
		if (h.nh_gso_type == VIRTIO_NET_HDR_GSO_NONE)
			CHECK(chain - hlen <= max_frame);
		/* What goes to the tap decodes to the same header. */
		CHECK(net_hdr_store(&h, back, NET_HDR_LEN) == 0);
		CHECK(net_hdr_load(&h2, back, NET_HDR_LEN) == 0);
		CHECK(memcmp(&h, &h2, sizeof(h)) == 0);
	} else if (chain < hlen)
		CHECK(r == NET_DROP_SHORT_HDR);

	/* Receive: the same bytes as the tap's header. */
	CHECK(net_hdr_load(&h, raw, NET_HDR_LEN) == 0);
	r = net_hdr_fix_rx(&h, chain, f, nbuf);
	CHECK((unsigned int)r < NET_DROP__MAX);
	net_qstats_drop(&qs, r);
	if (r == NET_DROP_NONE) {
		promises(&h, chain, f, false);
		CHECK(h.nh_num_buffers == nbuf && nbuf >= 1);
		if (!(f & NET_BIT(VIRTIO_NET_F_MRG_RXBUF)))
			CHECK(nbuf == 1);
		if (!(f & NET_BIT(VIRTIO_NET_F_GUEST_CSUM)))
			CHECK(!(h.nh_flags & VIRTIO_NET_HDR_F_DATA_VALID));
	}
	r = net_rx_result(chain, hlen, max_frame);
	CHECK(r == NET_DROP_NONE || r == NET_DROP_RUNT ||
	    r == NET_DROP_RX_NO_ROOM);
	if (r == NET_DROP_NONE)
		CHECK(chain >= hlen + NET_ETH_HLEN && chain <= hlen + max_frame);
	CHECK(net_qstats_drops(&qs) <= 2);

	/* Split: the used lengths add up, each within its buffer. */
	{
		uint32_t	caps[8], used[8];
		unsigned int	nb, i;
		size_t		sum = 0, room = 0;

		for (i = 0; i < 8; i++) {
			caps[i] = (uint32_t)(le(data + 16 + (i % 6) * 2, 2) +
			    (i == 0 ? 0 : 1));
			room += caps[i];
		}
		nb = net_rx_split(caps, 8, hlen, chain, used);
		CHECK(nb <= 8);
		if (nb > 0) {
			for (i = 0; i < nb; i++) {
				CHECK(used[i] <= caps[i] && used[i] > 0);
				if (i + 1 < nb)
					CHECK(used[i] == caps[i]);
				sum += used[i];
			}
			CHECK(sum == chain);
			CHECK(used[0] >= hlen);
		} else
			CHECK(caps[0] < hlen || chain < hlen || chain > room);
	}

	/* Offloads: derived flags never exceed what the tap accepts. */
	acc = raw[0] & 0x7f;
	off = net_tap_offload_flags(f, acc);
	CHECK((off & ~acc) == 0);
	if (off != 0)
		CHECK(off & NET_TUN_F_CSUM);
	if (off & NET_TUN_F_TSO_ECN)
		CHECK(off & (NET_TUN_F_TSO4 | NET_TUN_F_TSO6));
	CHECK(net_features_check(net_tap_features(acc), NULL) == 0);
	(void)net_features_check(f, NULL);

	/* RARP from any MAC: fixed layout. */
	CHECK(net_rarp_build(rarp, sizeof(rarp), data + 16) == NET_RARP_LEN);
	CHECK(rarp[12] == 0x80 && rarp[13] == 0x35);
	CHECK(memcmp(rarp + 6, data + 16, 6) == 0);
	CHECK(memcmp(rarp + 32, data + 16, 6) == 0);
	return 0;
}
