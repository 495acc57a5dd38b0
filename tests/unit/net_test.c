/*
 * net_test.c - the net device type (src/devices/net.c): the key table and
 * what dt_open refuses (through the common configuration builder); then,
 * in a network namespace each test makes for itself, the parent half on
 * real taps (created, adopted, the MTU, the reset before each child) and
 * the child half through an engine (features offered and acked into the
 * tap's offloads, config space, NET_SET_MTU, SEND_RARP on the tap), and
 * what policies/x86_64/net.policy lets the child do with its tap.
 * Frames through the data path: tests/integration/net_test.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "devices/device.h"
#include "devices/net.h"
#include "devices/net_tap.h"
#include "kvprep.h"
#include "nettap.h"
#include "policy.h"
#include "vhost/vhost_int.h"

#define B(x)	NET_BIT(VIRTIO_NET_F_##x)

static char	tap[IFNAMSIZ];

static int
open_net(const struct device_opt *o, unsigned int n, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	device_res_init(res);
	err[0] = '\0';
	return kv_open(&net_device_type, o, n, check_only, res, err, errlen);
}

Test(net, keys_and_refusals)
{
	static const struct {
		struct device_opt	o[3];
		unsigned int		n;
		const char		*msg;
	} bad[] = {
		{ { { "queues", "1" } }, 1, "give tap=NAME" },
		{ { { "tap", "t0" }, { "tap-fd", "5" } }, 2, "not both" },
		{ { { "tap-fd", "5" }, { "tap-create", "on" } }, 2,
		    "only with tap" },
		{ { { "tap-fd", "5:5" } }, 1, "twice" },
		{ { { "tap-fd", "2" } }, 1, "descriptors >= 3" },
		{ { { "tap-fd", "5:" } }, 1, "N[:M...]" },
		{ { { "tap-fd", "x" } }, 1, "N[:M...]" },
		{ { { "tap-fd", "3:4:5:6:7:8:9:10:11" } }, 1, "N[:M...]" },
		{ { { "tap-fd", "5" }, { "queues", "2" } }, 2,
		    "one per queue pair" },
		{ { { "tap", "a/b" } }, 1, "interface name" },
		{ { { "tap", "x" }, { "mac", "01:00:00:00:00:01" } }, 2,
		    "unicast" },
		{ { { "tap", "x" }, { "mac", "00:00:00:00:00:00" } }, 2,
		    "unicast" },
		{ { { "tap", "x" }, { "queues", "9" } }, 2, "queues" },
		{ { { "tap", "x" }, { "mtu", "67" } }, 2, "mtu" },
		{ { { "tap", "abcdefghijklmnop" } }, 1, "tap" },
		{ { { "tap", "x" }, { "speed", "10" } }, 2, "unknown key" },
	};
	struct device_res	res;
	char			err[512];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_lt(open_net(bad[i].o, bad[i].n, true, &res, err,
		    sizeof(err)), 0, "case %zu accepted", i);
		cr_assert_not_null(strstr(err, bad[i].msg),
		    "case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
		device_res_release(&net_device_type, &res);
	}
	cr_assert_str_eq(net_device_type.dt_caps_type, "net");
	cr_assert_eq(net_device_type.dt_counters.cd_count, NET_CTR__MAX);
	cr_assert_leq(net_device_type.dt_counters.cd_count, CTR_DEV_MAX);
}

/* ---- real taps, in a network namespace of this test's own ---- */

static void
net_netns(void)
{
	enter_netns();
	snprintf(tap, sizeof(tap), "vn%d", (int)getpid() % 100000);
}

/* Whether the tap does TSO now (its offloads, as ethtool -k shows). */
static int
tap_tso(void)
{
	struct ethtool_value	ev = { .cmd = ETHTOOL_GTSO };
	struct ifreq		ifr;
	int			s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	ifr.ifr_data = (void *)&ev;
	cr_assert_eq(ioctl(s, SIOCETHTOOL, &ifr), 0, "ETHTOOL_GTSO: %s",
	    strerror(errno));
	close(s);
	return (int)ev.data;
}

static unsigned int
tap_mtu(void)
{
	struct ifreq	ifr;
	int		s;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	cr_assert_eq(ioctl(s, SIOCGIFMTU, &ifr), 0);
	close(s);
	return (unsigned int)ifr.ifr_mtu;
}

Test(net, check_only_claims_nothing)
{
	struct device_opt	o[2] = { { "tap", NULL }, { "tap-create", "on" } };
	struct device_res	res;
	char			err[512];

	net_netns();
	o[0].value = tap;
	cr_assert_eq(open_net(o, 1, true, &res, err, sizeof(err)), -ENODEV);
	cr_assert_not_null(strstr(err, "does not exist"), "%s", err);
	device_res_release(&net_device_type, &res);
	cr_assert_eq(open_net(o, 2, true, &res, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(res.dr_nfds, 0);
	device_res_release(&net_device_type, &res);
	cr_assert_eq(if_nametoindex(tap), 0, "vhostd -n created a tap");
}

Test(net, open_creates_and_close_removes)
{
	struct device_opt	 o[4] = { { "tap", NULL }, { "tap-create", "on" },
	    { "queues", "2" }, { "mtu", "9000" } };
	const struct net_res	*nr;
	struct device_res	 res;
	struct ifreq		 ifr;
	uint8_t			 mac[NET_ETH_ALEN];
	char			 err[512];
	unsigned int		 i;

	net_netns();
	o[0].value = tap;
	cr_assert_eq(open_net(o, 4, false, &res, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_neq(if_nametoindex(tap), 0);
	cr_assert_eq(res.dr_nfds, 2, "one fd per queue pair");
	cr_assert_eq(res.dr_len, sizeof(struct net_res));
	nr = res.dr_data;
	cr_assert_eq(nr->nr_npairs, 2);
	cr_assert_eq(nr->nr_mtu, 9000);
	cr_assert_eq(tap_mtu(), 9000, "mtu= is set on the tap");
	net_mac_default(tap, mac);
	cr_assert_eq(memcmp(nr->nr_mac, mac, sizeof(mac)), 0);
	for (i = 0; i < res.dr_nfds; i++) {
		memset(&ifr, 0, sizeof(ifr));
		cr_assert_eq(ioctl(res.dr_fds[i], TUNGETIFF, &ifr), 0);
		cr_assert_str_eq(ifr.ifr_name, tap);
		cr_assert(ifr.ifr_flags & IFF_MULTI_QUEUE);
		cr_assert(ifr.ifr_flags & IFF_VNET_HDR);
		cr_assert(fcntl(res.dr_fds[i], F_GETFD) & FD_CLOEXEC);
		cr_assert(fcntl(res.dr_fds[i], F_GETFL) & O_NONBLOCK);
	}
	device_res_release(&net_device_type, &res);
	cr_assert_eq(if_nametoindex(tap), 0, "tap-create=on: removed");
}

/* Tap fds passed in: adopted; mtu= offered, the tap's own MTU kept. */
Test(net, open_adopts_passed_fds)
{
	struct device_opt	 o[3] = { { "tap-fd", NULL }, { "mtu", "4000" },
	    { "mac", "52:54:00:12:34:56" } };
	const struct net_res	*nr;
	struct device_res	 res;
	struct ifreq		 ifr;
	char			 err[512], list[32];
	int			 fd[2], i;

	net_netns();
	for (i = 0; i < 2; i++) {
		fd[i] = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		cr_assert_geq(fd[i], 0);
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
		    IFF_MULTI_QUEUE;
		cr_assert_eq(ioctl(fd[i], TUNSETIFF, &ifr), 0);
	}
	snprintf(list, sizeof(list), "%d:%d", fd[0], fd[1]);
	o[0].value = list;
	cr_assert_eq(open_net(o, 3, false, &res, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(res.dr_nfds, 2);
	nr = res.dr_data;
	cr_assert_eq(nr->nr_npairs, 2);
	cr_assert_eq(nr->nr_mtu, 4000);
	cr_assert_eq(tap_mtu(), 1500, "a tap passed in keeps its MTU");
	cr_assert_eq(memcmp(nr->nr_mac, "\x52\x54\x00\x12\x34\x56", 6), 0);
	cr_assert_neq(res.dr_fds[0], fd[0], "a duplicate: the number stays "
	    "the caller's");
	device_res_release(&net_device_type, &res);
	cr_assert_geq(fcntl(fd[0], F_GETFD), 0, "the caller's fd was closed");
	close(fd[0]);
	close(fd[1]);
}

/*
 * What a child changes on the shared tap (offloads, blocking reads, the
 * vnet header size) is undone before the next child (dt_spawn).
 */
Test(net, spawn_resets_what_a_child_changed)
{
	struct device_opt	o[2] = { { "tap", NULL }, { "tap-create", "on" } };
	struct device_res	res;
	char			err[512];
	int			fd, hdr = 10;

	net_netns();
	o[0].value = tap;
	cr_assert_eq(open_net(o, 2, false, &res, err, sizeof(err)), 0, "%s",
	    err);
	fd = res.dr_fds[0];
	/* The child, taken over. */
	cr_assert_eq(net_tap_set_offload(fd, NET_TUN_F_CSUM | NET_TUN_F_TSO4),
	    0);
	cr_assert_eq(fd_set_nonblock(fd, 0), 0);
	cr_assert_eq(ioctl(fd, TUNSETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(tap_tso(), 1, "the check sees offloads");
	/* The next spawn. */
	cr_assert_eq(net_device_type.dt_spawn(&res), 0);
	cr_assert_eq(tap_tso(), 0, "offloads left on for the next child");
	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK, "left blocking");
	cr_assert_eq(ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(hdr, NET_TAP_HDR_LEN, "vnet header size left at %d", hdr);
	device_res_release(&net_device_type, &res);
}

/* A multi_queue tap: a queue the child detached is attached again. */
Test(net, spawn_attaches_every_queue_again)
{
	struct device_opt	o[3] = { { "tap", NULL }, { "tap-create", "on" },
	    { "queues", "2" } };
	struct device_res	res;
	struct ifreq		ifr;
	char			err[512];

	net_netns();
	o[0].value = tap;
	cr_assert_eq(open_net(o, 3, false, &res, err, sizeof(err)), 0, "%s",
	    err);
	/* Detaching a detached queue is EINVAL: that tells them apart. */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_DETACH_QUEUE;
	cr_assert_eq(ioctl(res.dr_fds[1], TUNSETQUEUE, &ifr), 0);
	cr_assert_eq(ioctl(res.dr_fds[1], TUNSETQUEUE, &ifr), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(net_device_type.dt_spawn(&res), 0);
	cr_assert_eq(ioctl(res.dr_fds[1], TUNSETQUEUE, &ifr), 0,
	    "the queue was left detached: %s", strerror(errno));
	device_res_release(&net_device_type, &res);
}

/* ---- the child half, through an engine ---- */

static struct vu_dev		 dev;
static struct device_res	 cres;
static void			*cstate;
static int			 csv[2] = { -1, -1 };

static int
watch_add(void *ctx, int fd, void (*cb)(int, void *), void *arg)
{
	return 0;
}

static void
watch_del(void *ctx, int fd)
{
}

static const struct vu_watch_ops watch_ops = {
	.watch_add = watch_add,
	.watch_del = watch_del,
};

/* A tap of two pairs opened by the parent half, a child state on it. */
static void
child_up(void)
{
	struct device_opt	 o[4] = { { "tap", NULL }, { "tap-create", "on" },
	    { "queues", "2" }, { "mac", "52:54:00:00:00:07" } };
	struct device_child_res	 cr;
	char			 err[512];

	net_netns();
	o[0].value = tap;
	cr_assert_eq(open_net(o, 4, false, &cres, err, sizeof(err)), 0, "%s",
	    err);
	device_res_view(&cres, &cr);
	cr_assert_eq(net_device_type.dt_init(&cr, &cstate), 0);
	cr_assert_eq(net_device_type.dt_num_queues(cstate), 4);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, csv),
	    0);
	cr_assert_eq(vu_dev_init(&dev, csv[0], 4, net_device_type.dt_ops,
	    cstate, &watch_ops, NULL), 0);
}

static void
child_down(void)
{
	vu_dev_fini(&dev);
	net_device_type.dt_free(cstate);
	device_res_release(&net_device_type, &cres);
	close(csv[0]);
	close(csv[1]);
}

Test(net, features_follow_the_tap_and_the_guest)
{
	const struct vu_dev_ops	*ops = net_device_type.dt_ops;
	uint64_t		 f;

	child_up();
	f = ops->get_features(&dev);
	cr_assert(f & B(MAC) && f & B(STATUS) && f & B(MTU) && f & B(MRG_RXBUF));
	cr_assert(f & B(CSUM) && f & B(HOST_TSO4) && f & B(HOST_TSO6));
	cr_assert_eq(f & B(CTRL_VQ), 0, "QEMU keeps the control queue");
	cr_assert(f & B(MQ), "two pairs: QEMU shows the guest MQ only when "
	    "the back end offers it");
	cr_assert_eq(f & B(GUEST_TSO4), net_tap_features(
	    ((struct net_state *)cstate)->ns_offloads) & B(GUEST_TSO4));
	if (!(f & B(GUEST_TSO4)))
		cr_skip_test("this tap takes no TSO offload");
	cr_assert_eq(tap_tso(), 0);
	cr_assert_eq(ops->set_features(&dev, B(GUEST_CSUM) | B(GUEST_TSO4) |
	    B(MRG_RXBUF)), 0);
	cr_assert_eq(tap_tso(), 1, "the guest acked TSO4: the tap hands it "
	    "TSO frames");
	cr_assert_eq(ops->set_features(&dev, B(GUEST_TSO4)), -EINVAL,
	    "GUEST_TSO4 without GUEST_CSUM");
	cr_assert_eq(tap_tso(), 1, "a refused set changes nothing");
	cr_assert_eq(ops->set_features(&dev, B(MRG_RXBUF)), 0);
	cr_assert_eq(tap_tso(), 0, "not acked: off again");
	ops->set_features(&dev, B(GUEST_CSUM) | B(GUEST_TSO4));
	ops->reset(&dev);
	cr_assert_eq(tap_tso(), 0, "reset: no offloads");
	child_down();
}

Test(net, config_space)
{
	const struct vu_dev_ops	*ops = net_device_type.dt_ops;
	uint8_t			 c[16];
	uint64_t		 mtu;

	child_up();
	memset(c, 0xaa, sizeof(c));
	cr_assert_eq(ops->get_config(&dev, c, 0, sizeof(c)), 0);
	cr_assert_eq(memcmp(c, "\x52\x54\x00\x00\x00\x07", 6), 0, "mac");
	cr_assert_eq(c[6] | c[7] << 8, VIRTIO_NET_S_LINK_UP, "status");
	cr_assert_eq(c[8] | c[9] << 8, 2, "max_virtqueue_pairs");
	cr_assert_eq(c[10] | c[11] << 8, 1500, "mtu: the tap's");
	cr_assert_eq(c[12] | c[13] | c[14] | c[15], 0, "past the fields");
	cr_assert_eq(ops->get_config(&dev, c, 8, 2), 0);
	cr_assert_eq(c[0] | c[1] << 8, 2);
	mtu = 1400;
	cr_assert_eq(ops->request(&dev, VHOST_USER_NET_SET_MTU, &mtu,
	    sizeof(mtu)), 0);
	cr_assert_eq(ops->get_config(&dev, c, 10, 2), 0);
	cr_assert_eq(c[0] | c[1] << 8, 1400, "NET_SET_MTU");
	mtu = 9000;
	cr_assert_eq(ops->request(&dev, VHOST_USER_NET_SET_MTU, &mtu,
	    sizeof(mtu)), -EINVAL, "above the device's MTU (the tap's 1500)");
	cr_assert_eq(ops->get_config(&dev, c, 10, 2), 0);
	cr_assert_eq(c[0] | c[1] << 8, 1400, "a refused MTU changed nothing");
	mtu = 1500;
	cr_assert_eq(ops->request(&dev, VHOST_USER_NET_SET_MTU, &mtu,
	    sizeof(mtu)), 0, "the device's own MTU");
	mtu = 67;
	cr_assert_eq(ops->request(&dev, VHOST_USER_NET_SET_MTU, &mtu,
	    sizeof(mtu)), -EINVAL);
	mtu = 70000;
	cr_assert_eq(ops->request(&dev, VHOST_USER_NET_SET_MTU, &mtu,
	    sizeof(mtu)), -EINVAL);
	cr_assert_eq(ops->get_protocol_features(&dev),
	    (1ull << VHOST_USER_PROTOCOL_F_MTU) |
	    (1ull << VHOST_USER_PROTOCOL_F_RARP));
	cr_assert(ops->requests & VU_REQUEST_BIT(VHOST_USER_SEND_RARP));
	child_down();
}

/* SEND_RARP: the announce frame leaves through the tap. */
Test(net, send_rarp_writes_the_announce_to_the_tap)
{
	const struct vu_dev_ops	*ops = net_device_type.dt_ops;
	struct sockaddr_ll	 sll;
	struct ifreq		 ifr;
	uint8_t			 want[NET_RARP_LEN], got[256];
	uint64_t		 payload = 0;
	ssize_t			 n = -1;
	int			 s, u, i;

	child_up();
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	cr_assert_eq(ioctl(u, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(u, SIOCSIFFLAGS, &ifr), 0);
	close(u);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(NET_ETHERTYPE_RARP));
	cr_assert_geq(s, 0);
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(NET_ETHERTYPE_RARP);
	sll.sll_ifindex = (int)if_nametoindex(tap);
	cr_assert_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	memcpy(&payload, "\x52\x54\x00\xab\xcd\xef", 6);
	cr_assert_eq(ops->request(&dev, VHOST_USER_SEND_RARP, &payload,
	    sizeof(payload)), 0);
	for (i = 0; i < 50 && n < 0; i++) {
		struct pollfd	pfd = { .fd = s, .events = POLLIN };

		if (poll(&pfd, 1, 100) == 1)
			n = recv(s, got, sizeof(got), 0);
	}
	cr_assert_eq(n, NET_RARP_LEN, "no RARP frame from the tap");
	net_rarp_build(want, sizeof(want), (const uint8_t *)&payload);
	cr_assert_eq(memcmp(got, want, NET_RARP_LEN), 0);
	memcpy(&payload, "\x01\x00\x00\x00\x00\x01", 6);
	cr_assert_eq(ops->request(&dev, VHOST_USER_SEND_RARP, &payload,
	    sizeof(payload)), -EINVAL, "a multicast MAC");
	close(s);
	child_down();
}

/* ---- net.policy ---- */

/*
 * What the jailed child may do with its tap, under the real
 * policies/x86_64/net.policy: frames (readv/writev on tap queue fds 4..)
 * and TUNSETOFFLOAD on fd 4 with the offloads vhostd sets; every other
 * tap ioctl, TUNSETOFFLOAD elsewhere or with other flags, readv/writev
 * past the queue numbers, open and socket() kill it.
 */
enum { P_ALLOWED, P_SETIFF, P_DETACH, P_PERSIST, P_HDRSZ, P_STEER, P_OPEN,
    P_SOCKET, P_OFFLOAD_FD5, P_OFFLOAD_USO, P_READV_FD12, P_WRITEV_FD12,
    P__N };

static void
policy_child(const struct policy_filter *pf, int fd, int what)
{
	struct ifreq	ifr;
	uint8_t		hdr[12] = { 0 }, frame[60], buf[256];
	struct iovec	v[2];
	int		n = 12;

	memset(&ifr, 0, sizeof(ifr));
	/* As in the jail: the first tap queue is fd 4, a second one 5. */
	if (dup2(fd, 4) != 4 || dup2(fd, 5) != 5 || dup2(fd, 12) != 12)
		_exit(101);
	fd = 4;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
	    policy_filter_load(pf) != 0)
		_exit(100);
	switch (what) {
	case P_OFFLOAD_FD5:
		(void)net_tap_set_offload(5, NET_TUN_F_CSUM);
		break;
	case P_OFFLOAD_USO:
		(void)net_tap_set_offload(fd, NET_TUN_F_CSUM | NET_TUN_F_USO4 |
		    NET_TUN_F_USO6);
		break;
	case P_READV_FD12:
		v[0] = (struct iovec){ buf, sizeof(buf) };
		if (readv(12, v, 1) < 0)
			_exit(51);
		break;
	case P_WRITEV_FD12:
		v[0] = (struct iovec){ buf, sizeof(buf) };
		if (writev(12, v, 1) < 0)
			_exit(51);
		break;
	case P_ALLOWED:
		if (net_tap_set_offload(fd, NET_TUN_F_CSUM |
		    NET_TUN_F_TSO4 | NET_TUN_F_TSO6 | NET_TUN_F_TSO_ECN |
		    NET_TUN_F_UFO) != 0 || net_tap_set_offload(fd, 0) != 0)
			_exit(1);
		/* A pair the guest does not use: detached, then back. */
		ifr.ifr_flags = IFF_DETACH_QUEUE;
		if (ioctl(5, TUNSETQUEUE, &ifr) != 0)
			_exit(4);
		ifr.ifr_flags = IFF_ATTACH_QUEUE;
		if (ioctl(5, TUNSETQUEUE, &ifr) != 0)
			_exit(5);
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
		/* TUNSETQUEUE only on the tap queue numbers. */
		ifr.ifr_flags = IFF_DETACH_QUEUE;
		(void)ioctl(12, TUNSETQUEUE, &ifr);
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
