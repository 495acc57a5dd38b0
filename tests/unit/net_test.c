/*
 * net_test.c - the pieces of the virtio-net device that do not depend on
 * the engine: MAC and MTU options, the feature <-> tap offload mapping,
 * the feature dependency rules, transmit header validation with hostile
 * headers (every drop reason), the receive header fix-up, the RARP
 * announce frame, counters; then, inside a network namespace each test
 * creates for itself (Criterion runs every test in its own process),
 * real taps: create/remove, multi_queue detection and mismatch refusal,
 * offload probing, adopting passed fds, and frames through the tap and
 * back through a raw AF_PACKET socket the test opens on the tap.
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
#include "devices/net_opts.h"
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

/* ---- device options ---- */

static int
opts_of(struct net_opts *no, const char *const *kv, char *err, size_t len)
{
	int	rc;

	net_opts_init(no);
	for (; kv[0] != NULL; kv += 2)
		if ((rc = net_opts_set(no, kv[0], kv[1], err, len)) < 0)
			return rc;
	return net_opts_finish(no, "net0", err, len);
}

Test(net, opts_good)
{
	static const char *const a[] = { "tap", "tap0", "tap-create", "on",
	    "queues", "4", "mac", "52:54:00:00:00:01", "mtu", "9000", NULL };
	static const char *const b[] = { "tap-fd", "3:7:12", NULL };
	static const char *const c[] = { "tap", "t", NULL };
	struct net_opts	no;
	uint8_t		def[6];
	char		err[256] = "";

	cr_assert_eq(opts_of(&no, a, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(no.no_tap, "tap0");
	cr_assert(no.no_tap_create);
	cr_assert_eq(no.no_queues, 4);
	cr_assert_eq(no.no_mtu, 9000);
	cr_assert_eq(memcmp(no.no_mac, "\x52\x54\x00\x00\x00\x01", 6), 0);
	cr_assert_eq(opts_of(&no, b, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(no.no_ntap_fds, 3);
	cr_assert_eq(no.no_queues, 3, "one queue pair per fd");
	cr_assert_eq(no.no_tap_fds[0], 3);
	cr_assert_eq(no.no_tap_fds[1], 7);
	cr_assert_eq(no.no_tap_fds[2], 12);
	cr_assert_eq(no.no_tap_fds[3], -1);
	cr_assert_eq(opts_of(&no, c, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(no.no_queues, 1);
	cr_assert_eq(no.no_mtu, 1500);
	net_mac_default("net0", def);
	cr_assert_eq(memcmp(no.no_mac, def, 6), 0, "default MAC from seed");
}

Test(net, opts_bad)
{
	static const struct {
		const char *const	kv[8];
		const char		*msg;
	} cases[] = {
		{ { NULL }, "tap=NAME" },
		{ { "tap", "a", "tap-fd", "3", NULL }, "not both" },
		{ { "tap-fd", "3", "tap-create", "on", NULL }, "only goes" },
		{ { "tap-fd", "3:4", "queues", "3", NULL }, "one fd per" },
		{ { "tap", "a", "tap", "b", NULL }, "twice" },
		{ { "tap", "a/b", NULL }, "interface name" },
		{ { "tap", "", NULL }, "interface name" },
		{ { "tap", "abcdefghijklmnop", NULL }, "interface name" },
		{ { "tap-fd", "2", NULL }, "descriptors" },
		{ { "tap-fd", "3:3", NULL }, "distinct" },
		{ { "tap-fd", "3:", NULL }, "tap-fd" },
		{ { "tap-fd", ":3", NULL }, "tap-fd" },
		{ { "tap-fd", "3::4", NULL }, "tap-fd" },
		{ { "tap-fd", "x", NULL }, "tap-fd" },
		{ { "tap-fd", "3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18:19",
		    NULL }, "tap-fd" },
		{ { "tap", "a", "tap-create", "yes", NULL }, "on or off" },
		{ { "tap", "a", "queues", "0", NULL }, "1 to 16" },
		{ { "tap", "a", "queues", "17", NULL }, "1 to 16" },
		{ { "tap", "a", "mac", "01:00:00:00:00:01", NULL }, "unicast" },
		{ { "tap", "a", "mtu", "67", NULL }, "68 to 65535" },
		{ { "tap", "a", "speed", "10", NULL }, "unknown key" },
	};
	struct net_opts	no;
	char		err[256];
	size_t		i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_assert_eq(opts_of(&no, cases[i].kv, err, sizeof(err)),
		    -EINVAL, "case %zu", i);
		cr_assert_not_null(strstr(err, cases[i].msg),
		    "case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
	/* 16 fds is the limit, not past it. */
	{
		static const char *const kv[] = { "tap-fd",
		    "3:4:5:6:7:8:9:10:11:12:13:14:15:16:17:18", NULL };

		cr_assert_eq(opts_of(&no, kv, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(no.no_queues, 16);
	}
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
	cr_assert_eq(qs.qs_frames, 2);
	cr_assert_eq(qs.qs_bytes, 1560);
	cr_assert_eq(qs.qs_drops[NET_DROP_RUNT], 2);
	cr_assert_eq(qs.qs_drops[NET_DROP_RX_NO_ROOM], 1);
	cr_assert_eq(qs.qs_drops[NET_DROP_NONE], 0);
	cr_assert_eq(net_qstats_drops(&qs), 3);
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

/* ---- real taps, in a network namespace of the test's own ---- */

#define BASE_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
#define ETH_P_TEST	0x88b5		/* IEEE local experimental */

/*
 * Move this test's process (Criterion forks one per test) into a fresh
 * network namespace: every tap, address and frame below lives there and
 * dies with the process.
 */
static void
enter_netns(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace and taps");
	if (unshare(CLONE_NEWNET) == -1)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		cr_skip_test("/dev/net/tun: %s", strerror(errno));
}

/* A tap opened by the test itself (as a VM manager would). */
static int
raw_tap(const char *name, int flags, int persist)
{
	struct ifreq	ifr;
	int		fd;

	fd = open("/dev/net/tun", O_RDWR);
	cr_assert_geq(fd, 0, "open /dev/net/tun: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = (short)flags;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF %s: %s", name,
	    strerror(errno));
	if (persist) {
		cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
		close(fd);
		return -1;
	}
	return fd;
}

static short
tap_flags(int fd)
{
	struct ifreq	ifr;

	memset(&ifr, 0, sizeof(ifr));
	cr_assert_eq(ioctl(fd, TUNGETIFF, &ifr), 0, "TUNGETIFF: %s",
	    strerror(errno));
	return ifr.ifr_flags;
}

static void
if_up(const char *name)
{
	struct ifreq	ifr;
	int		s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "up %s: %s", name,
	    strerror(errno));
	close(s);
}

/* The tap's kernel side, seen through a raw packet socket bound to it. */
static int
packet_socket(const char *name, int vnet)
{
	struct sockaddr_ll	sll;
	int			s, one = 1;

	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	cr_assert_geq(s, 0, "AF_PACKET: %s", strerror(errno));
	if (vnet)
		cr_assert_eq(setsockopt(s, SOL_PACKET, PACKET_VNET_HDR, &one,
		    sizeof(one)), 0);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(name);
	cr_assert_neq(sll.sll_ifindex, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	return s;
}

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Read frames from fd (readv into iov) until match() accepts one or 5 s
 * pass; the stack of a fresh interface sends IPv6 frames of its own, so
 * foreign frames are skipped.  Returns the length read, or -1.
 */
static ssize_t
read_match(int fd, struct iovec *iov, int iovcnt,
    int (*match)(const struct iovec *, int, ssize_t))
{
	int64_t	deadline = now_ms() + 5000;
	ssize_t	n;

	for (;;) {
		struct pollfd	pfd = { .fd = fd, .events = POLLIN };
		int64_t		left = deadline - now_ms();

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = readv(fd, iov, iovcnt);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		cr_assert_geq(n, 0, "readv: %s", strerror(errno));
		if (match(iov, iovcnt, n))
			return n;
	}
}

static void
fill_frame(uint8_t *f, size_t len, uint8_t mark)
{
	memset(f, 0xff, 6);				/* broadcast */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6);
	f[12] = ETH_P_TEST >> 8;
	f[13] = ETH_P_TEST & 0xff;
	for (size_t i = 14; i < len; i++)
		f[i] = (uint8_t)(mark + i);
}

/* A frame of ours: test ethertype and the mark in the payload. */
static uint8_t	want_mark;

static int
match_plain(const struct iovec *iov, int iovcnt, ssize_t n)
{
	const uint8_t	*f = iov[iovcnt > 1 ? 1 : 0].iov_base;

	return n >= 16 && f[12] == (ETH_P_TEST >> 8) &&
	    f[13] == (ETH_P_TEST & 0xff) && f[14] == (uint8_t)(want_mark + 14);
}

Test(net, tap_create_then_remove)
{
	struct net_tap	t;
	char		err[256] = "";
	int		hdr = 0;

	enter_netns();
	cr_assert_eq(if_nametoindex("vt0"), 0);
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(t.nt_created);
	cr_assert_not(t.nt_multi);
	cr_assert_eq(t.nt_nfds, 1);
	cr_assert_neq(if_nametoindex("vt0"), 0, "created");
	cr_assert_eq(tap_flags(t.nt_fds[0]) & (BASE_FLAGS | IFF_PERSIST |
	    IFF_MULTI_QUEUE), BASE_FLAGS | IFF_PERSIST);
	cr_assert_eq(ioctl(t.nt_fds[0], TUNGETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(hdr, NET_TAP_HDR_LEN);
	cr_assert_eq(fcntl(t.nt_fds[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_assert_eq(fcntl(t.nt_fds[0], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	net_tap_release(&t);
	cr_assert_eq(if_nametoindex("vt0"), 0, "removed at release");
	net_tap_release(&t);		/* twice is harmless */
}

Test(net, tap_missing_without_create)
{
	struct net_tap	t;
	char		err[256] = "";

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, false, err, sizeof(err)),
	    -ENODEV);
	cr_assert_not_null(strstr(err, "tap-create=on"), "%s", err);
	cr_assert_eq(if_nametoindex("vt0"), 0, "nothing created");
	cr_assert_eq(t.nt_fds[0], -1);
	cr_assert_eq(net_tap_open(&t, "vt0", 2, false, err, sizeof(err)),
	    -ENODEV);
	cr_assert_not_null(strstr(err, "multi_queue"), "%s", err);
	cr_assert_eq(if_nametoindex("vt0"), 0);
}

Test(net, tap_existing_is_kept)
{
	struct net_tap	t;
	char		err[256] = "";

	enter_netns();
	raw_tap("vt0", BASE_FLAGS, 1);
	/* tap-create=on with an existing tap: adopted, not ours to remove. */
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not(t.nt_created);
	net_tap_release(&t);
	cr_assert_neq(if_nametoindex("vt0"), 0, "an existing tap stays");
	cr_assert_eq(net_tap_open(&t, "vt0", 1, false, err, sizeof(err)), 0,
	    "%s", err);
	net_tap_release(&t);
	cr_assert_neq(if_nametoindex("vt0"), 0);
}

Test(net, tap_multiqueue_create)
{
	struct net_tap	t;
	char		err[256] = "";
	unsigned int	i;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 4, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(t.nt_multi);
	cr_assert_eq(t.nt_nfds, 4);
	for (i = 0; i < 4; i++)
		cr_assert_eq(tap_flags(t.nt_fds[i]) & IFF_MULTI_QUEUE,
		    IFF_MULTI_QUEUE, "queue %u", i);
	for (i = 4; i < NET_TAP_QUEUES_MAX; i++)
		cr_assert_eq(t.nt_fds[i], -1);
	net_tap_release(&t);
	cr_assert_eq(if_nametoindex("vt0"), 0);
	cr_assert_eq(net_tap_open(&t, "vt0", 0, true, err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(net_tap_open(&t, "vt0", NET_TAP_QUEUES_MAX + 1, true,
	    err, sizeof(err)), -EINVAL);
	cr_assert_eq(net_tap_open(&t, "bad/name", 1, true, err, sizeof(err)),
	    -EINVAL);
	cr_assert_eq(if_nametoindex("vt0"), 0);
}

Test(net, tap_multiqueue_detection)
{
	struct net_tap	t;
	char		err[512] = "";

	enter_netns();
	/* A single-queue tap asked for two queues: refused, clearly. */
	raw_tap("vs0", BASE_FLAGS, 1);
	cr_assert_eq(net_tap_open(&t, "vs0", 2, false, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "single-queue"), "%s", err);
	cr_assert_not_null(strstr(err, "multi_queue"), "%s", err);
	cr_assert_eq(t.nt_fds[0], -1);
	cr_assert_neq(if_nametoindex("vs0"), 0, "refusal removes nothing");
	/* ... and nothing stayed attached: one queue opens now. */
	cr_assert_eq(net_tap_open(&t, "vs0", 1, false, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_not(t.nt_multi);
	net_tap_release(&t);
	/* A multi_queue tap asked for one queue: opened multi_queue. */
	raw_tap("vm0", BASE_FLAGS | IFF_MULTI_QUEUE, 1);
	cr_assert_eq(net_tap_open(&t, "vm0", 1, false, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert(t.nt_multi);
	cr_assert_eq(tap_flags(t.nt_fds[0]) & IFF_MULTI_QUEUE,
	    IFF_MULTI_QUEUE);
	net_tap_release(&t);
	cr_assert_eq(net_tap_open(&t, "vm0", 3, false, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(t.nt_nfds, 3);
	net_tap_release(&t);
	cr_assert_neq(if_nametoindex("vm0"), 0);
}

Test(net, tap_busy_and_not_a_tap)
{
	struct net_tap	t;
	char		err[256] = "";
	int		held;

	enter_netns();
	held = raw_tap("vb0", BASE_FLAGS, 0);
	cr_assert_eq(net_tap_open(&t, "vb0", 1, false, err, sizeof(err)),
	    -EBUSY);
	cr_assert_not_null(strstr(err, "in use"), "%s", err);
	close(held);
	raw_tap("vn0", IFF_TUN | IFF_NO_PI, 1);
	cr_assert_eq(net_tap_open(&t, "vn0", 1, false, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "not a tap"), "%s", err);
	cr_assert_eq(net_tap_open(&t, "lo", 1, true, err, sizeof(err)),
	    -EINVAL);
	cr_assert_not_null(strstr(err, "not a tap"), "%s", err);
	cr_assert_neq(if_nametoindex("lo"), 0);
}

Test(net, tap_offload_probe)
{
	struct net_tap	t;
	char		err[256] = "";
	unsigned int	want = NET_TUN_F_CSUM | NET_TUN_F_TSO4 |
			    NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN;
	int		probed;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	cr_log_info("tap offloads accepted: %#x", t.nt_offloads);
	printf("net_test: tap offloads accepted here: %#x\n", t.nt_offloads);
	cr_assert_eq(t.nt_offloads & want, want, "%#x", t.nt_offloads);
	cr_assert_eq(net_tap_set_offload(t.nt_fds[0], 0x80000000u), -EINVAL,
	    "an unknown offload bit is refused");
	cr_assert_eq(net_tap_set_offload(t.nt_fds[0], NET_TUN_F_CSUM |
	    NET_TUN_F_TSO4), 0);
	probed = net_tap_probe_offloads(t.nt_fds[0]);
	cr_assert_eq((unsigned int)probed, t.nt_offloads, "probe repeats");
	/* What we offer the guest from it obeys the virtio rules. */
	cr_assert_eq(net_features_check(net_tap_features(t.nt_offloads),
	    NULL), 0);
	net_tap_release(&t);
	cr_assert_lt(net_tap_probe_offloads(-1), 0);
}

Test(net, tap_adopt_passed_fds)
{
	struct net_tap	t;
	char		err[256] = "";
	int		fd, fds[3], p[2], hdr = 0;

	enter_netns();
	fd = raw_tap("va0", BASE_FLAGS, 0);	/* blocking, no CLOEXEC */
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_str_eq(t.nt_name, "va0");
	cr_assert(t.nt_adopted);
	cr_assert_not(t.nt_created);
	cr_assert_eq(t.nt_fds[0], fd);
	cr_assert_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	cr_assert_eq(ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(hdr, NET_TAP_HDR_LEN);
	net_tap_release(&t);
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "release closes adopted fds");

	/*
	 * Without IFF_VNET_HDR, a tun: refused, kept.  (IFF_NO_PI is not
	 * checkable: TUNGETIFF reports its bit as IFF_NOFILTER.)
	 */
	fd = raw_tap("va1", IFF_TAP | IFF_NO_PI, 0);
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "IFF_VNET_HDR"), "%s", err);
	cr_assert_geq(fcntl(fd, F_GETFD), 0, "the caller still owns it");
	close(fd);
	fd = raw_tap("vu0", IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, 0);
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "tun"), "%s", err);
	close(fd);
	/* Not a tap at all; an unattached /dev/net/tun; a bad number. */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(net_tap_adopt(&t, &p[0], 1, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not an attached tap"), "%s", err);
	close(p[0]);
	close(p[1]);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EINVAL);
	close(fd);
	fd = -5;
	cr_assert_eq(net_tap_adopt(&t, &fd, 1, err, sizeof(err)), -EBADF);
	cr_assert_eq(net_tap_adopt(&t, fds, 0, err, sizeof(err)), -EINVAL);

	/* Queues of one multi_queue tap: adopted; the same fd twice: not. */
	fds[0] = raw_tap("vq0", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	fds[1] = raw_tap("vq0", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	fds[2] = fds[0];
	cr_assert_eq(net_tap_adopt(&t, fds, 3, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "twice"), "%s", err);
	cr_assert_eq(net_tap_adopt(&t, fds, 2, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert(t.nt_multi);
	cr_assert_eq(t.nt_nfds, 2);
	net_tap_release(&t);
	/* Two different taps, or two fds of a single-queue tap: refused. */
	fds[0] = raw_tap("vq1", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	fds[1] = raw_tap("vq2", BASE_FLAGS | IFF_MULTI_QUEUE, 0);
	cr_assert_eq(net_tap_adopt(&t, fds, 2, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "one tap"), "%s", err);
	close(fds[1]);
	fds[1] = raw_tap("vs1", BASE_FLAGS, 0);
	close(fds[0]);
	fds[0] = fds[1];
	fds[1] = dup(fds[0]);
	cr_assert_eq(net_tap_adopt(&t, fds, 2, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, "not multi_queue"), "%s", err);
	close(fds[0]);
	close(fds[1]);
}

Test(net, tap_frames_both_ways)
{
	struct net_tap	t;
	struct net_hdr	h;
	struct iovec	wv[2], rv[2];
	uint8_t		hdr[12] = { 0 }, frame[1000], got[2048], rh[12];
	uint64_t	acked = NET_BIT(NET_F_VERSION_1) | B(MRG_RXBUF);
	char		err[256] = "";
	ssize_t		n;
	int		s;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	if_up("vt0");
	s = packet_socket("vt0", 0);

	/* Guest to network: header + frame written to the tap. */
	fill_frame(frame, 60, 0x11);
	wv[0] = (struct iovec){ hdr, sizeof(hdr) };
	wv[1] = (struct iovec){ frame, 60 };
	cr_assert_eq(writev(t.nt_fds[0], wv, 2), 72, "writev: %s",
	    strerror(errno));
	want_mark = 0x11;
	rv[0] = (struct iovec){ got, sizeof(got) };
	n = read_match(s, rv, 1, match_plain);
	cr_assert_eq(n, 60, "the kernel side sees the frame (%zd)", n);
	cr_assert_eq(memcmp(got, frame, 60), 0);

	/* Network to guest: the tap gives a vnet header, then the frame. */
	fill_frame(frame, 200, 0x22);
	cr_assert_eq(send(s, frame, 200, 0), 200, "send: %s", strerror(errno));
	want_mark = 0x22;
	rv[0] = (struct iovec){ rh, sizeof(rh) };
	rv[1] = (struct iovec){ got, sizeof(got) };
	n = read_match(t.nt_fds[0], rv, 2, match_plain);
	cr_assert_eq(n, 212, "12-byte header + 200 (%zd)", n);
	cr_assert_eq(memcmp(got, frame, 200), 0);
	cr_assert_eq(net_hdr_load(&h, rh, 12), 0);
	cr_assert_eq(h.nh_gso_type, VIRTIO_NET_HDR_GSO_NONE);
	cr_assert_eq(net_hdr_fix_rx(&h, (size_t)n - 12, acked, 1),
	    NET_DROP_NONE);

	cr_assert_eq(net_rx_result((size_t)n, 12, sizeof(got)),
	    NET_DROP_NONE);

	/*
	 * A frame longer than the buffers: the tap truncates it and
	 * returns the truncated length (pinned here: the rx path depends
	 * on it), so only a spare byte after the guest buffers shows the
	 * frame did not fit; net_rx_result() turns that into a drop.
	 */
	fill_frame(frame, 1000, 0x33);
	cr_assert_eq(send(s, frame, 1000, 0), 1000);
	want_mark = 0x33;
	rv[1] = (struct iovec){ got, 100 };
	n = read_match(t.nt_fds[0], rv, 2, match_plain);
	printf("net_test: readv of a 1000-byte frame into 12+100 bytes "
	    "returned %zd\n", n);
	cr_assert_eq(n, 112, "the tap truncates silently (%zd)", n);
	fill_frame(frame, 1000, 0x44);
	cr_assert_eq(send(s, frame, 1000, 0), 1000);
	want_mark = 0x44;
	{
		struct iovec	sv[3];
		uint8_t		spare;

		sv[0] = (struct iovec){ rh, sizeof(rh) };
		sv[1] = (struct iovec){ got, 100 };
		sv[2] = (struct iovec){ &spare, 1 };
		n = read_match(t.nt_fds[0], sv, 3, match_plain);
		cr_assert_eq(n, 113);
		cr_assert_eq(net_rx_result((size_t)n, 12, 100),
		    NET_DROP_RX_NO_ROOM, "the spare byte shows it");
		/* An exact fit is no drop. */
		fill_frame(frame, 100, 0x55);
		cr_assert_eq(send(s, frame, 100, 0), 100);
		want_mark = 0x55;
		n = read_match(t.nt_fds[0], sv, 3, match_plain);
		cr_assert_eq(n, 112);
		cr_assert_eq(net_rx_result((size_t)n, 12, 100),
		    NET_DROP_NONE);
	}
	close(s);
	net_tap_release(&t);
}

/* Ethernet + IPv4 + TCP, documentation addresses, paylen bytes of data. */
static size_t
build_tcp4(uint8_t *f, size_t paylen)
{
	uint32_t	sum = 0;
	uint8_t		*ip = f + 14, *tcp = f + 34;
	size_t		i, tot = 40 + paylen;

	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00",
	    14);
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, "\xc0\x00\x02\x01\xc0\x00\x02\x02", 8);
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	tcp[0] = 0x04;			/* source port 1234 */
	tcp[1] = 0xd2;
	tcp[2] = 0x16;			/* destination port 5678 */
	tcp[3] = 0x2e;
	tcp[7] = 1;			/* seq 1 */
	tcp[12] = 5 << 4;
	tcp[13] = 0x10;			/* ACK */
	tcp[14] = 0xff;
	tcp[15] = 0xff;
	for (i = 0; i < paylen; i++)
		f[54 + i] = (uint8_t)i;
	return 54 + paylen;
}

static int
match_tcp(const struct iovec *iov, int iovcnt, ssize_t n)
{
	const uint8_t	*f = iov[iovcnt > 1 ? 1 : 0].iov_base;

	return n >= 54 && f[12] == 0x08 && f[13] == 0 && f[23] == 6 &&
	    f[36] == 0x16 && f[37] == 0x2e;
}

/*
 * The offloads set from the acked features decide what the tap hands
 * us: with GUEST_TSO4 acked (TUN_F_CSUM|TSO4) a 3000-byte TCP send
 * arrives as one GSO frame; with nothing acked the kernel segments it.
 */
Test(net, tap_offloads_follow_acked_features)
{
	struct net_tap	t;
	struct net_hdr	h;
	struct iovec	v[2];
	uint8_t		vh[10] = { 0 }, frame[3100], rh[12], got[4096];
	uint64_t	acked = NET_BIT(NET_F_VERSION_1) | B(MRG_RXBUF) |
			    B(GUEST_CSUM) | B(GUEST_TSO4);
	char		err[256] = "";
	size_t		len, payload = 0;
	ssize_t		n;
	int		s, segs = 0;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 1, true, err, sizeof(err)), 0,
	    "%s", err);
	if_up("vt0");
	s = packet_socket("vt0", 1);
	len = build_tcp4(frame, 3000);
	/* virtio_net_hdr (10 bytes): partial csum, TSO4, MSS 1000. */
	vh[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh[1] = VIRTIO_NET_HDR_GSO_TCPV4;
	vh[2] = 54;
	vh[4] = 1000 & 0xff;
	vh[5] = 1000 >> 8;
	vh[6] = 34;
	vh[8] = 16;
	v[0] = (struct iovec){ vh, sizeof(vh) };
	v[1] = (struct iovec){ frame, len };

	cr_assert_eq(net_tap_set_offload(t.nt_fds[0],
	    net_tap_offload_flags(acked, t.nt_offloads)), 0);
	cr_assert_eq(writev(s, v, 2), (ssize_t)(sizeof(vh) + len),
	    "GSO send: %s", strerror(errno));
	v[0] = (struct iovec){ rh, sizeof(rh) };
	v[1] = (struct iovec){ got, sizeof(got) };
	n = read_match(t.nt_fds[0], v, 2, match_tcp);
	cr_assert_eq(n, (ssize_t)(12 + len), "one GSO frame (%zd)", n);
	cr_assert_eq(net_hdr_load(&h, rh, 12), 0);
	cr_assert_eq(h.nh_gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
	cr_assert_eq(h.nh_gso_size, 1000);
	cr_assert(h.nh_flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	cr_assert_eq(net_hdr_fix_rx(&h, len, acked, 1), NET_DROP_NONE);
	cr_assert_eq(net_hdr_fix_rx(&h, len, acked & ~B(GUEST_TSO4), 1),
	    NET_DROP_GSO_UNACKED, "the guest would get what it did not ack");

	/* Nothing acked: no offloads, the kernel segments for us. */
	cr_assert_eq(net_tap_set_offload(t.nt_fds[0],
	    net_tap_offload_flags(NET_BIT(NET_F_VERSION_1), t.nt_offloads)),
	    0);
	v[0] = (struct iovec){ vh, sizeof(vh) };
	v[1] = (struct iovec){ frame, len };
	cr_assert_eq(writev(s, v, 2), (ssize_t)(sizeof(vh) + len));
	v[0] = (struct iovec){ rh, sizeof(rh) };
	v[1] = (struct iovec){ got, sizeof(got) };
	while (payload < 3000) {
		n = read_match(t.nt_fds[0], v, 2, match_tcp);
		cr_assert_gt(n, 12 + 54, "segment %d (%zd)", segs, n);
		cr_assert_leq(n, 12 + 54 + 1000, "segment %d is %zd", segs, n);
		cr_assert_eq(net_hdr_load(&h, rh, 12), 0);
		cr_assert_eq(h.nh_gso_type, VIRTIO_NET_HDR_GSO_NONE);
		cr_assert_eq(net_hdr_fix_rx(&h, (size_t)n - 12,
		    NET_BIT(NET_F_VERSION_1), 1), NET_DROP_NONE);
		payload += (size_t)n - 12 - 54;
		segs++;
	}
	cr_assert_eq(segs, 3);
	cr_assert_eq(payload, 3000);

	/* Guest TSO (HOST_TSO4): the tap takes the GSO frame whole. */
	{
		uint8_t		th[12];
		struct net_hdr	tx = tso4();

		tx.nh_gso_size = 1000;
		cr_assert_eq(net_hdr_check_tx(&tx, len, B(CSUM) |
		    B(HOST_TSO4), MAXF), NET_DROP_NONE);
		net_hdr_store(&tx, th, 12);
		close(s);
		s = packet_socket("vt0", 0);
		v[0] = (struct iovec){ th, sizeof(th) };
		v[1] = (struct iovec){ frame, len };
		cr_assert_eq(writev(t.nt_fds[0], v, 2), (ssize_t)(12 + len),
		    "TSO write: %s", strerror(errno));
		v[0] = (struct iovec){ got, sizeof(got) };
		n = read_match(s, v, 1, match_tcp);
		cr_assert_eq(n, (ssize_t)len, "the stack sees one %zu-byte "
		    "frame (%zd)", len, n);
	}
	close(s);
	net_tap_release(&t);
}

Test(net, tap_reset_and_mtu)
{
	struct net_tap	t;
	char		err[256] = "";
	unsigned int	mtu = 0;
	int		fl;

	enter_netns();
	cr_assert_eq(net_tap_open(&t, "vt0", 2, true, err, sizeof(err)), 0,
	    "%s", err);
	/* What a dead child could leave: blocking fds. */
	fl = fcntl(t.nt_fds[1], F_GETFL);
	cr_assert_eq(fcntl(t.nt_fds[1], F_SETFL, fl & ~O_NONBLOCK), 0);
	cr_assert_eq(net_tap_set_offload(t.nt_fds[1], NET_TUN_F_CSUM), 0);
	cr_assert_eq(net_tap_reset(&t), 0);
	cr_assert_eq(fcntl(t.nt_fds[1], F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	/* MTU: set from mtu=, read back; the kernel's bounds stand. */
	cr_assert_eq(net_tap_get_mtu(&t, &mtu), 0);
	cr_assert_eq(mtu, 1500);
	cr_assert_eq(net_tap_set_mtu(&t, 9000), 0);
	cr_assert_eq(net_tap_get_mtu(&t, &mtu), 0);
	cr_assert_eq(mtu, 9000);
	cr_assert_eq(net_tap_set_mtu(&t, 67), -EINVAL);
	net_tap_release(&t);
	cr_assert_eq(net_tap_reset(&t), -EBADF);
	cr_assert_eq(net_tap_get_mtu(&t, &mtu), -ENODEV, "tap gone");
}

/*
 * What the jailed child may do with its tap, under the real
 * policies/x86_64/net.policy: frames and TUNSETOFFLOAD; every other tap
 * ioctl, open and socket() kill it.
 */
enum { P_ALLOWED, P_SETIFF, P_DETACH, P_PERSIST, P_HDRSZ, P_STEER, P_OPEN,
    P_SOCKET, P__N };

static void
policy_child(const struct policy_filter *pf, int fd, int what)
{
	struct ifreq	ifr;
	uint8_t		hdr[12] = { 0 }, frame[60], buf[256];
	struct iovec	v[2];
	int		n = 12;

	memset(&ifr, 0, sizeof(ifr));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    policy_filter_load(pf) != 0)
		_exit(100);
	switch (what) {
	case P_ALLOWED:
		if (net_tap_set_offload(fd, NET_TUN_F_CSUM |
		    NET_TUN_F_TSO4) != 0)
			_exit(1);
		fill_frame(frame, sizeof(frame), 0x66);
		v[0] = (struct iovec){ hdr, sizeof(hdr) };
		v[1] = (struct iovec){ frame, sizeof(frame) };
		if (writev(fd, v, 2) != 72)
			_exit(2);
		v[1] = (struct iovec){ buf, sizeof(buf) };
		/* Nothing queued (EAGAIN) or the stack's own IPv6 frames. */
		if (readv(fd, v, 2) < 0 && errno != EAGAIN)
			_exit(3);
		_exit(0);
	case P_SETIFF:
		ifr.ifr_flags = IFF_TAP;
		(void)ioctl(fd, TUNSETIFF, &ifr);
		break;
	case P_DETACH:
		ifr.ifr_flags = IFF_DETACH_QUEUE;
		(void)ioctl(fd, TUNSETQUEUE, &ifr);
		break;
	case P_PERSIST:
		(void)ioctl(fd, TUNSETPERSIST, 1);
		break;
	case P_HDRSZ:
		(void)ioctl(fd, TUNSETVNETHDRSZ, &n);
		break;
	case P_STEER:
		n = -1;
		(void)ioctl(fd, TUNSETSTEERINGEBPF, &n);
		break;
	case P_OPEN:
		(void)open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		break;
	case P_SOCKET:
		(void)socket(AF_PACKET, SOCK_RAW, 0);
		break;
	}
	_exit(50);	/* survived a forbidden call */
}

Test(net, policy_allows_frames_and_offload_only)
{
	struct policy_filter	*pf;
	struct net_tap		 t;
	char			 err[512] = "";
	int			 what, status;
	pid_t			 pid;

	enter_netns();
	pf = policy_compile_file("policies/x86_64/net.policy",
	    POLICY_MODE_KILL, err, sizeof(err));
	cr_assert_not_null(pf, "%s", err);
	cr_assert_eq(net_tap_open(&t, "vt0", 2, true, err, sizeof(err)), 0,
	    "%s", err);
	if_up("vt0");
	for (what = 0; what < P__N; what++) {
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0)
			policy_child(pf, t.nt_fds[1], what);
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		if (what == P_ALLOWED)
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "allowed path: status %#x", status);
#ifdef VHOSTD_SANITIZE
		else if (what == P_OPEN)
			/* make SAN=1 filters allow openat for the runtime. */
			cr_assert(WIFEXITED(status) || WIFSIGNALED(status));
#endif
		else
			cr_assert(WIFSIGNALED(status) &&
			    WTERMSIG(status) == SIGSYS,
			    "case %d not killed: status %#x", what, status);
	}
	/* Nothing the children tried changed the tap. */
	cr_assert_eq(tap_flags(t.nt_fds[1]) & IFF_MULTI_QUEUE,
	    IFF_MULTI_QUEUE);
	policy_filter_free(pf);
	net_tap_release(&t);
	cr_assert_eq(if_nametoindex("vt0"), 0);
}
