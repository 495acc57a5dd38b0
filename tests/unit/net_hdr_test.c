/*
 * net_hdr_test.c - the pieces of the virtio-net device that need no tap
 * and no engine: MAC and MTU parsing, the feature <-> tap offload
 * mapping, the feature dependency rules, transmit header validation with
 * hostile headers (every drop reason), the receive header fix-up and the
 * mergeable split, the RARP announce frame, counters.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>

#include "devices/net_hdr.h"
#include "devices/net_tap.h"
#include "policy.h"

#define B(x)	NET_BIT(VIRTIO_NET_F_##x)

/* ---- MAC and MTU ---- */

Test(net, mac_parse_accepts_unicast)
{
	uint8_t	mac[6];

	cr_assert_eq(net_mac_parse("52:54:00:12:34:56", mac), 0);
	cr_assert_eq(memcmp(mac, "\x52\x54\x00\x12\x34\x56", 6), 0);
	cr_assert_eq(net_mac_parse("02:AB:cd:Ef:00:01", mac), 0);
	cr_assert_eq(memcmp(mac, "\x02\xab\xcd\xef\x00\x01", 6), 0);
}

Test(net, mac_parse_refuses_bad)
{
	static const char *const bad[] = {
		"", "52:54:00:12:34", "52:54:00:12:34:56:78",
		"52-54-00-12-34-56", "52:54:00:12:34:5g", "5:54:00:12:34:567",
		"52:54:00:12:34:56 ", " 52:54:00:12:34:5",
		"01:00:5e:00:00:01",		/* multicast */
		"ff:ff:ff:ff:ff:ff",		/* broadcast */
		"33:33:00:00:00:01",		/* IPv6 multicast */
		"00:00:00:00:00:00",		/* all zero */
	};
	uint8_t		mac[6] = { 9, 9, 9, 9, 9, 9 };
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(net_mac_parse(bad[i], mac), -EINVAL, "'%s'",
		    bad[i]);
	cr_assert_eq(net_mac_parse(NULL, mac), -EINVAL);
	cr_assert_eq(memcmp(mac, "\x09\x09\x09\x09\x09\x09", 6), 0,
	    "a refused address leaves mac alone");
}

Test(net, mac_default_stable_local_unicast)
{
	uint8_t	a[6], b[6], c[6], z[6] = { 0 };
	char	buf[18];

	net_mac_default("net0", a);
	net_mac_default("net0", b);
	net_mac_default("net1", c);
	cr_assert_eq(memcmp(a, b, 6), 0, "same seed, same address");
	cr_assert_neq(memcmp(a, c, 6), 0, "another seed, another address");
	cr_assert_eq(a[0] & 1, 0, "unicast");
	cr_assert_eq(a[0] & 2, 2, "locally administered");
	cr_assert_eq(c[0] & 3, 2);
	cr_assert_neq(memcmp(a, z, 6), 0);
	net_mac_format(a, buf, sizeof(buf));
	cr_assert_eq(net_mac_parse(buf, b), 0, "default %s parses", buf);
	cr_assert_eq(memcmp(a, b, 6), 0);
	net_mac_default("", z);
	cr_assert_eq(z[0] & 3, 2);
}

Test(net, mtu_parse_range)
{
	uint16_t	mtu = 7;

	cr_assert_eq(net_mtu_parse("68", &mtu), 0);
	cr_assert_eq(mtu, 68);
	cr_assert_eq(net_mtu_parse("1500", &mtu), 0);
	cr_assert_eq(mtu, 1500);
	cr_assert_eq(net_mtu_parse("65535", &mtu), 0);
	cr_assert_eq(mtu, 65535);
	cr_assert_lt(net_mtu_parse("67", &mtu), 0);
	cr_assert_lt(net_mtu_parse("65536", &mtu), 0);
	cr_assert_lt(net_mtu_parse("0", &mtu), 0);
	cr_assert_lt(net_mtu_parse("-1500", &mtu), 0);
	cr_assert_lt(net_mtu_parse("1500x", &mtu), 0);
	cr_assert_lt(net_mtu_parse("", &mtu), 0);
	cr_assert_lt(net_mtu_parse(NULL, &mtu), 0);
	cr_assert_eq(mtu, 65535, "a refused value leaves mtu alone");
}

Test(net, tap_name_rules)
{
	cr_assert_eq(net_tap_name_ok("tap0"), 0);
	cr_assert_eq(net_tap_name_ok("123456789012345"), 0);	/* 15 */
	cr_assert_lt(net_tap_name_ok("1234567890123456"), 0);	/* 16 */
	cr_assert_lt(net_tap_name_ok(""), 0);
	cr_assert_lt(net_tap_name_ok(NULL), 0);
	cr_assert_lt(net_tap_name_ok("."), 0);
	cr_assert_lt(net_tap_name_ok(".."), 0);
	cr_assert_lt(net_tap_name_ok("a/b"), 0);
	cr_assert_lt(net_tap_name_ok("a:b"), 0);
	cr_assert_lt(net_tap_name_ok("a b"), 0);
	cr_assert_lt(net_tap_name_ok("a\nb"), 0);
}

/* ---- features and offloads ---- */

Test(net, features_from_offloads)
{
	uint64_t	host = B(CSUM) | B(HOST_TSO4) | B(HOST_TSO6) |
			    B(HOST_ECN);
	uint64_t	f;

	cr_assert_eq(net_tap_features(0), host, "no offloads: host side only");
	f = net_tap_features(NET_TUN_F_CSUM);
	cr_assert_eq(f, host | B(GUEST_CSUM));
	f = net_tap_features(NET_TUN_F_CSUM | NET_TUN_F_TSO4 |
	    NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN | NET_TUN_F_UFO);
	cr_assert_eq(f, host | B(HOST_UFO) | B(GUEST_CSUM) | B(GUEST_TSO4) |
	    B(GUEST_TSO6) | B(GUEST_ECN) | B(GUEST_UFO));
	/* TSO without CSUM is not an offload the tap can have. */
	f = net_tap_features(NET_TUN_F_TSO4 | NET_TUN_F_TSO_ECN);
	cr_assert_eq(f & (B(GUEST_TSO4) | B(GUEST_ECN) | B(GUEST_CSUM)), 0);
	/* ECN without a TSO offers no GUEST_ECN. */
	f = net_tap_features(NET_TUN_F_CSUM | NET_TUN_F_TSO_ECN);
	cr_assert_eq(f & B(GUEST_ECN), 0);
	/* Whatever the tap accepts, the offer obeys the dependency rules. */
	for (unsigned int o = 0; o < 0x80; o++)
		cr_assert_eq(net_features_check(net_tap_features(o), NULL), 0,
		    "offloads %#x", o);
}

Test(net, offload_flags_from_acked)
{
	unsigned int	all = NET_TUN_F_CSUM | NET_TUN_F_TSO4 |
			    NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN | NET_TUN_F_UFO;
	uint64_t	every = B(GUEST_CSUM) | B(GUEST_TSO4) |
			    B(GUEST_TSO6) | B(GUEST_ECN) | B(GUEST_UFO);

	cr_assert_eq(net_tap_offload_flags(every, all), all);
	cr_assert_eq(net_tap_offload_flags(0, all), 0);
	/* HOST_* acks are about the other direction: no tap offload. */
	cr_assert_eq(net_tap_offload_flags(B(CSUM) | B(HOST_TSO4) |
	    B(HOST_ECN) | B(HOST_UFO), all), 0);
	cr_assert_eq(net_tap_offload_flags(B(GUEST_CSUM), all),
	    NET_TUN_F_CSUM);
	/* Without GUEST_CSUM nothing, whatever else was acked. */
	cr_assert_eq(net_tap_offload_flags(every & ~B(GUEST_CSUM), all), 0);
	cr_assert_eq(net_tap_offload_flags(B(GUEST_CSUM) | B(GUEST_TSO6),
	    all), NET_TUN_F_CSUM | NET_TUN_F_TSO6);
	/* ECN only along with a TSO. */
	cr_assert_eq(net_tap_offload_flags(B(GUEST_CSUM) | B(GUEST_ECN), all),
	    NET_TUN_F_CSUM);
	cr_assert_eq(net_tap_offload_flags(B(GUEST_CSUM) | B(GUEST_TSO4) |
	    B(GUEST_ECN), all), NET_TUN_F_CSUM | NET_TUN_F_TSO4 |
	    NET_TUN_F_TSO_ECN);
	/* Masked by what the tap accepts. */
	cr_assert_eq(net_tap_offload_flags(every, NET_TUN_F_CSUM |
	    NET_TUN_F_TSO4), NET_TUN_F_CSUM | NET_TUN_F_TSO4);
	cr_assert_eq(net_tap_offload_flags(every, NET_TUN_F_CSUM |
	    NET_TUN_F_TSO_ECN), NET_TUN_F_CSUM, "ECN needs a kept TSO");
	cr_assert_eq(net_tap_offload_flags(every, 0), 0);
	/* Round trip: ack everything offered, get back what was probed. */
	cr_assert_eq(net_tap_offload_flags(net_tap_features(all), all), all);
}

Test(net, feature_dependencies)
{
	static const struct {
		uint64_t	f;
		int		ok;
	} cases[] = {
		{ 0, 1 },
		{ B(GUEST_TSO4), 0 }, { B(GUEST_TSO4) | B(GUEST_CSUM), 1 },
		{ B(GUEST_TSO6), 0 }, { B(GUEST_UFO), 0 },
		{ B(GUEST_ECN) | B(GUEST_CSUM), 0 },
		{ B(GUEST_ECN) | B(GUEST_CSUM) | B(GUEST_TSO6), 1 },
		{ B(GUEST_USO4), 0 }, { B(GUEST_USO6), 0 },
		{ B(HOST_TSO4), 0 }, { B(HOST_TSO4) | B(CSUM), 1 },
		{ B(HOST_TSO6), 0 }, { B(HOST_UFO), 0 }, { B(HOST_USO), 0 },
		{ B(HOST_ECN) | B(CSUM), 0 },
		{ B(HOST_ECN) | B(CSUM) | B(HOST_TSO4), 1 },
		/* CSUM does not stand in for GUEST_CSUM, nor the reverse. */
		{ B(GUEST_TSO4) | B(CSUM), 0 },
		{ B(HOST_TSO4) | B(GUEST_CSUM), 0 },
	};
	const char	*why;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		if (cases[i].ok)
			cr_assert_eq(net_features_check(cases[i].f, &why), 0,
			    "case %zu", i);
		else {
			cr_assert_eq(net_features_check(cases[i].f, &why),
			    -EINVAL, "case %zu", i);
			cr_assert_not_null(why);
		}
	}
}

/* ---- the header ---- */

Test(net, hdr_len_by_features)
{
	cr_assert_eq(net_hdr_len(0), 10);
	cr_assert_eq(net_hdr_len(B(CSUM) | B(GUEST_CSUM)), 10);
	cr_assert_eq(net_hdr_len(B(MRG_RXBUF)), 12);
	cr_assert_eq(net_hdr_len(NET_BIT(NET_F_VERSION_1)), 12);
	cr_assert_eq(net_hdr_len(NET_BIT(NET_F_VERSION_1) | B(MRG_RXBUF)), 12);
}

Test(net, hdr_load_store_little_endian)
{
	const uint8_t	wire[12] = { 0x01, 0x81, 0x36, 0x00, 0xa8, 0x05,
			    0x22, 0x00, 0x10, 0x00, 0x03, 0x01 };
	uint8_t		out[12];
	struct net_hdr	h;

	cr_assert_eq(net_hdr_load(&h, wire, 12), 0);
	cr_assert_eq(h.nh_flags, 1);
	cr_assert_eq(h.nh_gso_type, 0x81);
	cr_assert_eq(h.nh_hdr_len, 54);
	cr_assert_eq(h.nh_gso_size, 1448);
	cr_assert_eq(h.nh_csum_start, 34);
	cr_assert_eq(h.nh_csum_offset, 16);
	cr_assert_eq(h.nh_num_buffers, 0x103);
	memset(out, 0xee, sizeof(out));
	cr_assert_eq(net_hdr_store(&h, out, 12), 0);
	cr_assert_eq(memcmp(out, wire, 12), 0);
	/* 10 bytes: no num_buffers read, none written. */
	cr_assert_eq(net_hdr_load(&h, wire, 10), 0);
	cr_assert_eq(h.nh_num_buffers, 0);
	memset(out, 0xee, sizeof(out));
	cr_assert_eq(net_hdr_store(&h, out, 10), 0);
	cr_assert_eq(memcmp(out, wire, 10), 0);
	cr_assert_eq(out[10], 0xee);
	cr_assert_eq(net_hdr_load(&h, wire, 11), -EINVAL);
	cr_assert_eq(net_hdr_store(&h, out, 0), -EINVAL);
}

#define TX_ALL	(B(CSUM) | B(HOST_TSO4) | B(HOST_TSO6) | B(HOST_ECN) | \
		 B(HOST_UFO) | B(HOST_USO))
#define MAXF	(1500 + NET_ETH_HLEN + NET_VLAN_HLEN)

/* A well-formed TSO4 header for a frame of len bytes. */
static struct net_hdr
tso4(void)
{
	struct net_hdr	h = {
		.nh_flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.nh_gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
		.nh_hdr_len = 54, .nh_gso_size = 1448,
		.nh_csum_start = 34, .nh_csum_offset = 16,
		.nh_num_buffers = 7,
	};
	return h;
}

Test(net, tx_accepts_good_headers)
{
	struct net_hdr	h = { 0 };

	h.nh_num_buffers = 99;
	cr_assert_eq(net_hdr_check_tx(&h, 60, 0, MAXF), NET_DROP_NONE);
	cr_assert_eq(h.nh_num_buffers, 0, "normalised for the tap");
	cr_assert_eq(net_hdr_check_tx(&h, NET_ETH_HLEN, 0, MAXF),
	    NET_DROP_NONE, "an Ethernet header alone");
	cr_assert_eq(net_hdr_check_tx(&h, MAXF, 0, MAXF), NET_DROP_NONE);
	h.nh_flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.nh_csum_start = 34;
	h.nh_csum_offset = 6;
	cr_assert_eq(net_hdr_check_tx(&h, 42, B(CSUM), MAXF), NET_DROP_NONE,
	    "UDP checksum field ends at the last byte");
	h = tso4();
	cr_assert_eq(net_hdr_check_tx(&h, 64000, TX_ALL, MAXF),
	    NET_DROP_NONE);
	cr_assert_eq(h.nh_num_buffers, 0);
	h = tso4();
	h.nh_gso_type = VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN;
	h.nh_csum_start = 54;
	cr_assert_eq(net_hdr_check_tx(&h, 9000, B(CSUM) | B(HOST_TSO6) |
	    B(HOST_ECN), MAXF), NET_DROP_NONE);
	h = tso4();
	h.nh_gso_type = VIRTIO_NET_HDR_GSO_UDP;
	h.nh_csum_offset = 6;
	cr_assert_eq(net_hdr_check_tx(&h, 9000, B(CSUM) | B(HOST_UFO), MAXF),
	    NET_DROP_NONE);
	h = tso4();
	h.nh_gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	h.nh_csum_offset = 6;
	cr_assert_eq(net_hdr_check_tx(&h, 9000, B(CSUM) | B(HOST_USO), MAXF),
	    NET_DROP_NONE);
}

/* Every drop reason a hostile transmit header can earn. */
Test(net, tx_hostile_headers)
{
	static const struct {
		const char	*what;
		struct net_hdr	h;
		size_t		len;
		uint64_t	features;
		enum net_drop	want;
	} cases[] = {
		{ "runt", { 0 }, 13, TX_ALL, NET_DROP_RUNT },
		{ "empty", { 0 }, 0, TX_ALL, NET_DROP_RUNT },
		{ "over mtu", { 0 }, MAXF + 1, TX_ALL, NET_DROP_TOO_BIG },
		{ "gso over 64K", { .nh_flags = 1, .nh_gso_type = 1,
		    .nh_gso_size = 1448, .nh_csum_start = 34,
		    .nh_csum_offset = 16 }, NET_GSO_FRAME_MAX + 1, TX_ALL,
		    NET_DROP_TOO_BIG },
		{ "data valid from guest", { .nh_flags = 2 }, 60, TX_ALL,
		    NET_DROP_BAD_FLAGS },
		{ "rsc info from guest", { .nh_flags = 4 }, 60, TX_ALL,
		    NET_DROP_BAD_FLAGS },
		{ "unknown flag", { .nh_flags = 0x81 }, 60, TX_ALL,
		    NET_DROP_BAD_FLAGS },
		{ "csum unacked", { .nh_flags = 1, .nh_csum_start = 34,
		    .nh_csum_offset = 6 }, 60, B(GUEST_CSUM),
		    NET_DROP_CSUM_UNACKED },
		{ "csum start past end", { .nh_flags = 1,
		    .nh_csum_start = 60 }, 60, TX_ALL, NET_DROP_CSUM_RANGE },
		{ "csum field straddles end", { .nh_flags = 1,
		    .nh_csum_start = 50, .nh_csum_offset = 9 }, 60, TX_ALL,
		    NET_DROP_CSUM_RANGE },
		{ "csum u16 wrap", { .nh_flags = 1, .nh_csum_start = 0xffff,
		    .nh_csum_offset = 0xffff }, 60, TX_ALL,
		    NET_DROP_CSUM_RANGE },
		{ "gso type 2", { .nh_flags = 1, .nh_gso_type = 2,
		    .nh_gso_size = 100 }, 60, TX_ALL, NET_DROP_GSO_TYPE },
		{ "gso type 0x7f", { .nh_gso_type = 0x7f }, 60, TX_ALL,
		    NET_DROP_GSO_TYPE },
		{ "ecn alone", { .nh_gso_type = 0x80 }, 60, TX_ALL,
		    NET_DROP_GSO_TYPE },
		{ "tso4 unacked", { .nh_flags = 1, .nh_gso_type = 1,
		    .nh_gso_size = 1448, .nh_csum_start = 34,
		    .nh_csum_offset = 16 }, 3000, B(CSUM) | B(HOST_TSO6),
		    NET_DROP_GSO_UNACKED },
		{ "tso6 unacked", { .nh_flags = 1, .nh_gso_type = 4,
		    .nh_gso_size = 1448, .nh_csum_start = 54,
		    .nh_csum_offset = 16 }, 3000, B(CSUM) | B(HOST_TSO4),
		    NET_DROP_GSO_UNACKED },
		{ "ufo unacked", { .nh_flags = 1, .nh_gso_type = 3,
		    .nh_gso_size = 1448, .nh_csum_start = 34,
		    .nh_csum_offset = 6 }, 3000, B(CSUM) | B(HOST_TSO4),
		    NET_DROP_GSO_UNACKED },
		{ "uso unacked", { .nh_flags = 1, .nh_gso_type = 5,
		    .nh_gso_size = 1448, .nh_csum_start = 34,
		    .nh_csum_offset = 6 }, 3000, B(CSUM) | B(HOST_UFO),
		    NET_DROP_GSO_UNACKED },
		{ "ecn unacked", { .nh_flags = 1, .nh_gso_type = 0x81,
		    .nh_gso_size = 1448, .nh_csum_start = 34,
		    .nh_csum_offset = 16 }, 3000, B(CSUM) | B(HOST_TSO4),
		    NET_DROP_GSO_UNACKED },
		{ "guest bits do not ack tx gso", { .nh_flags = 1,
		    .nh_gso_type = 1, .nh_gso_size = 1448,
		    .nh_csum_start = 34, .nh_csum_offset = 16 }, 3000,
		    B(CSUM) | B(GUEST_TSO4), NET_DROP_GSO_UNACKED },
		{ "gso without csum", { .nh_gso_type = 1,
		    .nh_gso_size = 1448 }, 3000, TX_ALL,
		    NET_DROP_GSO_NO_CSUM },
		{ "gso size 0", { .nh_flags = 1, .nh_gso_type = 1,
		    .nh_csum_start = 34, .nh_csum_offset = 16 }, 3000, TX_ALL,
		    NET_DROP_GSO_SIZE },
		{ "tcp header past end", { .nh_flags = 1, .nh_gso_type = 1,
		    .nh_gso_size = 1448, .nh_csum_start = 42,
		    .nh_csum_offset = 16 }, 60, TX_ALL, NET_DROP_HDR_LEN },
		{ "hdr_len past end", { .nh_hdr_len = 61 }, 60, TX_ALL,
		    NET_DROP_HDR_LEN },
		{ "hdr_len max", { .nh_hdr_len = 0xffff }, 1000, TX_ALL,
		    NET_DROP_HDR_LEN },
	};
	bool		seen[NET_DROP__MAX] = { false };
	struct net_hdr	h;
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum net_drop	got;

		h = cases[i].h;
		got = net_hdr_check_tx(&h, cases[i].len, cases[i].features,
		    MAXF);
		cr_assert_eq(got, cases[i].want, "%s: got %s, want %s",
		    cases[i].what, net_drop_name(got),
		    net_drop_name(cases[i].want));
		seen[got] = true;
	}
	/* The chain must hold the header: 12 bytes, 10 when legacy. */
	{
		uint8_t	raw[12] = { 0 };

		cr_assert_eq(net_hdr_tx_prepare(&h, raw, 11,
		    NET_BIT(NET_F_VERSION_1), MAXF), NET_DROP_SHORT_HDR);
		seen[NET_DROP_SHORT_HDR] = true;
		cr_assert_eq(net_hdr_tx_prepare(&h, raw, 0, 0, MAXF),
		    NET_DROP_SHORT_HDR);
		cr_assert_eq(net_hdr_tx_prepare(&h, raw, 10 + 13, 0, MAXF),
		    NET_DROP_RUNT, "legacy header, 13-byte frame");
		cr_assert_eq(net_hdr_tx_prepare(&h, raw, 12 + 14,
		    NET_BIT(NET_F_VERSION_1), MAXF), NET_DROP_NONE);
		/* The frame length is what follows the header. */
		raw[0] = 1;
		raw[6] = 40;	/* csum_start 40, offset 0: needs 42 bytes */
		cr_assert_eq(net_hdr_tx_prepare(&h, raw, 12 + 41,
		    NET_BIT(NET_F_VERSION_1) | B(CSUM), MAXF),
		    NET_DROP_CSUM_RANGE);
		cr_assert_eq(net_hdr_tx_prepare(&h, raw, 12 + 42,
		    NET_BIT(NET_F_VERSION_1) | B(CSUM), MAXF), NET_DROP_NONE);
	}
	/* Every header-related reason has a case here. */
	for (i = NET_DROP_SHORT_HDR; i <= NET_DROP_HDR_LEN; i++)
		cr_assert(seen[i], "no case for %s", net_drop_name(i));
	/* Sanity of the good twin: the TSO4 case passes with its feature. */
	h = tso4();
	cr_assert_eq(net_hdr_check_tx(&h, 3000, B(CSUM) | B(HOST_TSO4), MAXF),
	    NET_DROP_NONE);
}

Test(net, rx_fixup)
{
	uint64_t	f = NET_BIT(NET_F_VERSION_1) | B(MRG_RXBUF) |
			    B(GUEST_CSUM) | B(GUEST_TSO4);
	struct net_hdr	h = { 0 };

	cr_assert_eq(net_hdr_fix_rx(&h, 60, f, 3), NET_DROP_NONE);
	cr_assert_eq(h.nh_num_buffers, 3);
	cr_assert_eq(net_hdr_fix_rx(&h, 60, f, 0), NET_DROP_RX_NO_BUFS);
	/* Without MRG_RXBUF one frame is one buffer. */
	h = (struct net_hdr){ 0 };
	cr_assert_eq(net_hdr_fix_rx(&h, 60, NET_BIT(NET_F_VERSION_1), 2),
	    NET_DROP_RX_NO_ROOM);
	cr_assert_eq(net_hdr_fix_rx(&h, 60, NET_BIT(NET_F_VERSION_1), 1),
	    NET_DROP_NONE);
	cr_assert_eq(h.nh_num_buffers, 1);
	/* DATA_VALID survives with GUEST_CSUM, is cleared without. */
	h = (struct net_hdr){ .nh_flags = VIRTIO_NET_HDR_F_DATA_VALID };
	cr_assert_eq(net_hdr_fix_rx(&h, 60, f, 1), NET_DROP_NONE);
	cr_assert_eq(h.nh_flags, VIRTIO_NET_HDR_F_DATA_VALID);
	cr_assert_eq(net_hdr_fix_rx(&h, 60, B(MRG_RXBUF), 1), NET_DROP_NONE);
	cr_assert_eq(h.nh_flags, 0);
	/* A partial checksum the guest did not ack. */
	h = (struct net_hdr){ .nh_flags = 1, .nh_csum_start = 34,
	    .nh_csum_offset = 6 };
	cr_assert_eq(net_hdr_fix_rx(&h, 60, B(MRG_RXBUF), 1),
	    NET_DROP_CSUM_UNACKED);
	cr_assert_eq(net_hdr_fix_rx(&h, 40, f, 1), NET_DROP_CSUM_RANGE);
	/* GSO: TSO4 acked, TSO6 not; HOST_TSO6 does not count for rx. */
	h = tso4();
	cr_assert_eq(net_hdr_fix_rx(&h, 20000, f, 2), NET_DROP_NONE);
	h = tso4();
	h.nh_gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	cr_assert_eq(net_hdr_fix_rx(&h, 20000, f | B(HOST_TSO6), 2),
	    NET_DROP_GSO_UNACKED);
	h = tso4();
	h.nh_gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	cr_assert_eq(net_hdr_fix_rx(&h, 20000, f, 2), NET_DROP_GSO_UNACKED);
	cr_assert_eq(net_hdr_fix_rx(&h, 20000, f | B(GUEST_ECN), 2),
	    NET_DROP_NONE);
	h = (struct net_hdr){ .nh_flags = 4 };
	cr_assert_eq(net_hdr_fix_rx(&h, 60, f, 1), NET_DROP_BAD_FLAGS);
	h = (struct net_hdr){ 0 };
	cr_assert_eq(net_hdr_fix_rx(&h, 10, f, 1), NET_DROP_RUNT);
	cr_assert_eq(net_hdr_fix_rx(&h, NET_GSO_FRAME_MAX + 1, f, 1),
	    NET_DROP_TOO_BIG);
	/* hdr_len is clamped to the frame, never trusted past it. */
	h = (struct net_hdr){ .nh_hdr_len = 500 };
	cr_assert_eq(net_hdr_fix_rx(&h, 60, f, 1), NET_DROP_NONE);
	cr_assert_eq(h.nh_hdr_len, 60);
}

/* 5.1.6.3.2: MTU plus the link header, a VLAN tag's 4 bytes more. */
Test(net, rx_frame_max_follows_the_mtu_feature)
{
	uint64_t	f = NET_BIT(NET_F_VERSION_1) | B(MTU);

	cr_assert_eq(net_rx_frame_max(f, 1500, 0x0800), 1514);
	cr_assert_eq(net_rx_frame_max(f, 1500, NET_ETHERTYPE_VLAN), 1518);
	cr_assert_eq(net_rx_frame_max(f, 1500, NET_ETHERTYPE_QINQ), 1518);
	cr_assert_eq(net_rx_frame_max(f, 1400, 0x86dd), 1414);
	cr_assert_eq(net_rx_frame_max(f, 65535, 0), 65535 + 14);
	cr_assert_eq(net_rx_frame_max(NET_BIT(NET_F_VERSION_1), 1500, 0x0800),
	    SIZE_MAX, "without VIRTIO_NET_F_MTU only the buffers bound rx");
}

Test(net, rx_result_rules)
{
	cr_assert_eq(net_rx_result(12 + 60, 12, 1514), NET_DROP_NONE);
	cr_assert_eq(net_rx_result(12 + 1514, 12, 1514), NET_DROP_NONE);
	cr_assert_eq(net_rx_result(12 + 1515, 12, 1514), NET_DROP_RX_NO_ROOM);
	cr_assert_eq(net_rx_result(10 + 14, 10, 100), NET_DROP_NONE);
	cr_assert_eq(net_rx_result(12 + 13, 12, 100), NET_DROP_RUNT);
	cr_assert_eq(net_rx_result(0, 12, 100), NET_DROP_RUNT);
}

Test(net, rx_split_over_buffers)
{
	const uint32_t	caps[4] = { 1526, 1526, 1526, 4096 };
	uint32_t	used[4] = { 0 };

	/* A small frame: one buffer, header + frame. */
	cr_assert_eq(net_rx_split(caps, 4, 12, 12 + 60, used), 1);
	cr_assert_eq(used[0], 72);
	/* Exactly one buffer full. */
	cr_assert_eq(net_rx_split(caps, 4, 12, 1526, used), 1);
	cr_assert_eq(used[0], 1526);
	/* One byte more: two buffers. */
	cr_assert_eq(net_rx_split(caps, 4, 12, 1527, used), 2);
	cr_assert_eq(used[0], 1526);
	cr_assert_eq(used[1], 1);
	/* A 64 KiB GSO frame does not fit four buffers. */
	cr_assert_eq(net_rx_split(caps, 4, 12, 12 + 65536, used), 0);
	cr_assert_eq(net_rx_split(caps, 4, 12, 1526 * 3 + 4096, used), 4);
	cr_assert_eq(used[3], 4096);
	/* A first buffer smaller than the header is a driver bug. */
	{
		const uint32_t	tiny[2] = { 11, 1500 };

		cr_assert_eq(net_rx_split(tiny, 2, 12, 100, used), 0);
		cr_assert_eq(net_rx_split(tiny, 2, 10, 100, used), 2);
	}
	/* A zero-length buffer in the middle carries nothing: refused. */
	{
		const uint32_t	hole[3] = { 100, 0, 100 };

		cr_assert_eq(net_rx_split(hole, 3, 12, 150, used), 0);
		cr_assert_eq(net_rx_split(hole, 3, 12, 100, used), 1);
	}
	cr_assert_eq(net_rx_split(caps, 0, 12, 72, used), 0);
	cr_assert_eq(net_rx_split(caps, 4, 12, 11, used), 0);
}

Test(net, rarp_frame_bytes)
{
	static const uint8_t want[NET_RARP_LEN] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff,	/* broadcast */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,	/* source */
		0x80, 0x35,				/* RARP */
		0x00, 0x01, 0x08, 0x00, 0x06, 0x04,	/* eth, ipv4, 6, 4 */
		0x00, 0x03,				/* reverse request */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,	/* sender hw */
		0x00, 0x00, 0x00, 0x00,			/* sender ip */
		0x52, 0x54, 0x00, 0xab, 0xcd, 0xef,	/* target hw */
		0x00, 0x00, 0x00, 0x00,			/* target ip */
		/* zero padding to 60 */
	};
	const uint8_t	mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef };
	uint8_t		buf[NET_RARP_LEN + 4];

	memset(buf, 0xaa, sizeof(buf));
	cr_assert_eq(net_rarp_build(buf, sizeof(buf), mac), NET_RARP_LEN);
	cr_assert_eq(memcmp(buf, want, NET_RARP_LEN), 0);
	cr_assert_eq(buf[NET_RARP_LEN], 0xaa, "nothing past 60 bytes");
	cr_assert_eq(net_rarp_build(buf, NET_RARP_LEN - 1, mac), -EINVAL);
}

Test(net, qstats_and_names)
{
	struct net_qstats	qs;
	char			buf[256];
	int			i;

	memset(&qs, 0, sizeof(qs));
	net_qstats_pass(&qs, 60);
	net_qstats_pass(&qs, 1500);
	net_qstats_drop(&qs, NET_DROP_RUNT);
	net_qstats_drop(&qs, NET_DROP_RUNT);
	net_qstats_drop(&qs, NET_DROP_RX_NO_ROOM);
	net_qstats_drop(&qs, NET_DROP_NONE);
	net_qstats_drop(&qs, NET_DROP__MAX);
	net_qstats_drop(&qs, (enum net_drop)-1);
	cr_assert_eq(qs.qs_c[NET_CTR_FRAMES], 2);
	cr_assert_eq(qs.qs_c[NET_CTR_BYTES], 1560);
	cr_assert_eq(net_qstats_dropped(&qs, NET_DROP_RUNT), 2);
	cr_assert_eq(net_qstats_dropped(&qs, NET_DROP_RX_NO_ROOM), 1);
	cr_assert_eq(net_qstats_dropped(&qs, NET_DROP_NONE), 0);
	cr_assert_eq(net_qstats_drops(&qs), 3);
	net_qstats_format(&qs, buf, sizeof(buf));
	cr_assert_str_eq(buf, "frames=2 bytes=1560 batches=0 rx_waits=0 "
	    "drops:runt=2 drops:rx_no_room=1");
	/* One name per counter, each distinct, drops named after reasons. */
	for (i = 0; i < NET_CTR__MAX; i++) {
		cr_assert_neq(strcmp(net_ctr_name((unsigned int)i), "?"), 0);
		for (int j = 0; j < i; j++)
			cr_assert_neq(strcmp(net_ctr_name((unsigned int)i),
			    net_ctr_name((unsigned int)j)), 0);
	}
	cr_assert_str_eq(net_ctr_name(net_ctr_of_drop(NET_DROP_TX_SEGS)),
	    "drops:tx_segs");
	cr_assert_eq(net_ctr_of_drop(NET_DROP_NONE), NET_CTR__MAX);
	cr_assert_str_eq(net_ctr_name(NET_CTR__MAX), "?");
	for (i = 0; i < NET_DROP__MAX; i++) {
		cr_assert_not_null(net_drop_name(i));
		cr_assert_neq(strcmp(net_drop_name(i), "?"), 0, "reason %d", i);
		for (int j = 0; j < i; j++)
			cr_assert_neq(strcmp(net_drop_name(i),
			    net_drop_name(j)), 0, "%d and %d", i, j);
	}
	cr_assert_str_eq(net_drop_name(NET_DROP__MAX), "?");
	cr_assert_str_eq(net_drop_name((enum net_drop)-3), "?");
}

