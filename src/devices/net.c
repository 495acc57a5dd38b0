/*
 * net.c - virtio-net (virtio 1.x, 5.1) over a tap: the key table, the
 * parent half, features, config space and the device requests
 * (NET_SET_MTU, SEND_RARP).  The data path is in net_io.c, the tap
 * itself (open, create, adopt, offloads) in net_tap.c, the header rules
 * in net_hdr.c.
 *
 * The parent opens /dev/net/tun (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, and
 * IFF_MULTI_QUEUE for queues > 1), one fd per queue pair, or adopts tap
 * fds passed in (tap-fd=, as VM managers pass them); it creates the tap
 * only with tap-create=on, and removes it in dt_close.  The child gets
 * the fds, never /dev/net/tun, and has no socket().
 *
 * What a taken-over child could leave behind: the tap fds share their
 * open file descriptions with the parent (a tap has one description per
 * queue: a new one would be a new queue, and a single-queue tap takes one
 * reader only), so before each child (net_spawn) the parent puts back
 * everything a child can change on them: the offloads (TUNSETOFFLOAD, the
 * only tap ioctl net.policy allows, on fd 4 only), the vnet header size
 * and byte order (forbidden to the child; reset anyway), O_NONBLOCK (the
 * child may toggle it through F_SETFL), and, on a multi_queue tap, which
 * queues are attached (the child detaches the queues of pairs the guest
 * does not use, TUNSETQUEUE, so the kernel steers no frames to them; every
 * queue is attached again before the next child).  Other tap ioctls
 * (TUNSETIFF, TUNSETPERSIST, TUNSETVNETHDRSZ, filters, eBPF steering)
 * kill the child.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <linux/if_tun.h>

#include "../util/log.h"
#include "../util/util.h"
#include "device.h"
#include "net.h"
#include "net_tap.h"

/* struct virtio_net_config (virtio 1.x 5.1.4), the fields offered. */
struct net_config {
	uint8_t		mac[NET_ETH_ALEN];
	uint16_t	status;
	uint16_t	max_virtqueue_pairs;
	uint16_t	mtu;
} __attribute__((packed));

_Static_assert(sizeof(struct net_config) == 12, "virtio_net_config");

#define NET_STR(x)	#x
#define NET_XSTR(x)	NET_STR(x)

static const struct dev_key net_keys[NET_K_COUNT] = {
	[NET_K_TAP] = { .dk_name = "tap", .dk_kind = DK_STRING,
	    .dk_max = IFNAMSIZ - 1, .dk_alias = "tap", .dk_flags = DKF_STATUS,
	    .dk_help = "the tap to open (ip tuntap add dev NAME mode tap; "
	    "multi_queue for queues > 1)" },
	[NET_K_TAP_CREATE] = { .dk_name = "tap-create", .dk_kind = DK_BOOL,
	    .dk_default = "off", .dk_alias = "tap-create",
	    .dk_help = "create the tap when it does not exist, and remove "
	    "it when the device goes" },
	[NET_K_TAP_FD] = { .dk_name = "tap-fd", .dk_kind = DK_STRING,
	    .dk_max = 128, .dk_alias = "tap-fd", .dk_flags = DKF_STATUS,
	    .dk_help = "N[:M...]: tap fds passed in, one per queue pair, "
	    "instead of tap=" },
	[NET_K_QUEUES] = { .dk_name = "queues", .dk_kind = DK_UINT,
	    .dk_min = 1, .dk_max = NET_PAIRS_MAX, .dk_flags = DKF_STATUS,
	    .dk_help = "rx/tx queue pairs (default 1, or one per tap-fd; "
	    "QEMU: -netdev vhost-user,queues=N)" },
	[NET_K_MAC] = { .dk_name = "mac", .dk_kind = DK_STRING,
	    .dk_max = 17,
	    .dk_help = "the guest's MAC address (default: stable, derived "
	    "from the tap's name)" },
	[NET_K_MTU] = { .dk_name = "mtu", .dk_kind = DK_UINT,
	    .dk_min = NET_MTU_MIN, .dk_max = NET_MTU_MAX,
	    .dk_help = "MTU offered to the guest and set on a tap opened by "
	    "name (default: the tap's, or " NET_XSTR(NET_MTU_DEFAULT) ")" },
};

/* The parent's own: the tap as it opened or adopted it. */
struct net_parent {
	struct net_tap	np_tap;
};

/* "N[:M...]": distinct descriptors >= 3, at most NET_PAIRS_MAX. */
static int
net_parse_fds(const char *v, int *fds, unsigned int *nfds, char *err,
    size_t errlen)
{
	char		 num[16];
	const char	*p = v, *end;
	uint64_t	 fd;
	unsigned int	 n = 0, i;
	size_t		 len;

	for (;;) {
		end = strchr(p, ':');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len >= sizeof(num) || n == NET_PAIRS_MAX)
			goto bad;
		memcpy(num, p, len);
		num[len] = '\0';
		if (parse_u64(num, 3, 65535, &fd) < 0)
			goto bad;
		for (i = 0; i < n; i++)
			if (fds[i] == (int)fd) {
				snprintf(err, errlen, "tap-fd=%s: fd %d given "
				    "twice", v, (int)fd);
				return -EINVAL;
			}
		fds[n++] = (int)fd;
		if (end == NULL)
			break;
		p = end + 1;
	}
	*nfds = n;
	return 0;
bad:
	snprintf(err, errlen, "tap-fd=%s: expected N[:M...], 1 to %d distinct "
	    "descriptors >= 3", v, NET_PAIRS_MAX);
	return -EINVAL;
}

/* How to resolve a conflict between two devices' taps. */
#define NET_CLAIM_HINT	"give each device its own tap (one device serves " \
	"several queue pairs: queues=N)"

/*
 * Claim the tap's interface (struct device_claim), so that two devices
 * never share a tap: their guests would see each other's frames, each
 * queue taking a share.  tap=NAME is claimed by its name in vhostd's own
 * namespace (fd -1), before it is opened, so that a refused attach (a
 * single-queue tap has one reader) names our own device that holds it;
 * tap-fd= by the interface its first fd is attached to, in the namespace
 * the interface is in.  Both are keyed alike: tap=tap0 and a tap-fd of
 * tap0 are one claim.  A namespace that cannot be read (no /proc;
 * TUNGETDEVNETNS without CAP_NET_ADMIN over it) leaves the tap
 * unclaimed, said at each open rather than refused: vhostd served
 * such taps before it checked.
 */
static int
net_claim(struct device_res *res, int fd, const char *ifname,
    unsigned int key, char *err, size_t errlen)
{
	struct stat	st;
	int		rc;

	if ((rc = net_tap_netns(fd, &st)) < 0) {
		log_info("net: tap %s: cannot tell its network namespace "
		    "(%s); not checked against the taps of other devices",
		    ifname, strerror(-rc));
		return 0;
	}
	if ((rc = device_res_add_iface_claim(res, &st, ifname, key,
	    NET_CLAIM_HINT)) < 0) {
		snprintf(err, errlen, "tap %s: too many interfaces claimed",
		    ifname);
		return rc;
	}
	return 0;
}

/*
 * vhostd -n: the options and whether the tap can be had, no lasting
 * claim (the tap is not opened); tap-fd= is claimed as net_open claims
 * it, so that -n finds what a start refuses.
 */
static int
net_check(struct device_res *res, const char *tap, bool create,
    const int *fds, unsigned int nfds, char *err, size_t errlen)
{
	struct ifreq	ifr;
	char		name[IFNAMSIZ] = "";
	unsigned int	i;

	if (tap != NULL) {
		if (!create && if_nametoindex(tap) == 0) {
			snprintf(err, errlen, "tap %s does not exist (create "
			    "it with ip tuntap add dev %s mode tap, or give "
			    "tap-create=on)", tap, tap);
			return -ENODEV;
		}
		return 0;
	}
	for (i = 0; i < nfds; i++) {
		memset(&ifr, 0, sizeof(ifr));
		if (ioctl(fds[i], TUNGETIFF, &ifr) == -1) {
			snprintf(err, errlen, "tap-fd %d: not an attached tap "
			    "fd (TUNGETIFF: %s)", fds[i], strerror(errno));
			return -EINVAL;
		}
		if (i == 0)
			memcpy(name, ifr.ifr_name, IFNAMSIZ);
	}
	name[IFNAMSIZ - 1] = '\0';
	return net_claim(res, fds[0], name, NET_K_TAP_FD, err, errlen);
}

static void
net_parent_free(struct net_parent *np)
{
	if (np == NULL)
		return;
	net_tap_release(&np->np_tap);
	free(np);
}

static void
net_close(struct device_res *res)
{
	net_parent_free(res->dr_parent);
	res->dr_parent = NULL;
}

/*
 * A reload replaces a running net device (prev) on the same tap with the
 * same number of queues: this device takes duplicates of prev's queue
 * fds (the same open file descriptions) instead of opening the tap again,
 * which a single-queue tap would refuse while prev holds it.  A tap prev
 * created stays until the last of the two is closed.  True when taken.
 */
static bool
net_take_over(struct net_parent *np, const struct device_res *prev,
    const char *tap, unsigned int queues)
{
	const struct net_parent	*pp;
	unsigned int		 i;
	int			 fd;

	pp = prev != NULL ? prev->dr_parent : NULL;
	if (pp == NULL || pp->np_tap.nt_adopted ||
	    strcmp(pp->np_tap.nt_name, tap) != 0 ||
	    pp->np_tap.nt_nfds != queues)
		return false;
	for (i = 0; i < queues; i++) {
		if ((fd = fcntl(pp->np_tap.nt_fds[i], F_DUPFD_CLOEXEC, 3)) ==
		    -1) {
			net_tap_release(&np->np_tap);
			net_tap_init(&np->np_tap);
			return false;
		}
		np->np_tap.nt_fds[i] = fd;
		np->np_tap.nt_nfds = i + 1;
	}
	memcpy(np->np_tap.nt_name, pp->np_tap.nt_name,
	    sizeof(np->np_tap.nt_name));
	np->np_tap.nt_multi = pp->np_tap.nt_multi;
	np->np_tap.nt_offloads = pp->np_tap.nt_offloads;
	/* Removed when this device goes, if prev was to remove it. */
	np->np_tap.nt_created = pp->np_tap.nt_created;
	return true;
}

/*
 * The MTU: mtu= is set on a tap opened by name (in the parent's network
 * namespace) and offered; without it, the tap's own.  A tap passed in
 * (tap-fd) may live in another namespace: its MTU is its manager's, and
 * mtu= is only offered.
 */
static int
net_mtu(const struct dev_options *o, const struct net_parent *np,
    struct net_res *nr, char *err, size_t errlen)
{
	unsigned int	cur = 0;
	int		rc;

	if (dev_opt_given(o, NET_K_MTU)) {
		nr->nr_mtu = (uint16_t)dev_opt_u64(o, NET_K_MTU);
		if (np->np_tap.nt_adopted)
			return 0;
		if ((rc = net_tap_set_mtu(&np->np_tap, nr->nr_mtu)) < 0) {
			snprintf(err, errlen, "mtu=%u: cannot set it on tap "
			    "%s: %s", nr->nr_mtu, np->np_tap.nt_name,
			    strerror(-rc));
			return rc;
		}
		return 0;
	}
	nr->nr_mtu = NET_MTU_DEFAULT;
	if (!np->np_tap.nt_adopted && net_tap_get_mtu(&np->np_tap, &cur) == 0 &&
	    cur >= NET_MTU_MIN && cur <= NET_MTU_MAX)
		nr->nr_mtu = (uint16_t)cur;
	return 0;
}

/*
 * Parent: open, create or adopt the tap.  res gets one fd per queue pair
 * (duplicates of the parent's: the same open file descriptions), a struct
 * net_res, and the tap itself as dr_parent (net_close releases it, and
 * removes a tap it created).
 */
static int
net_open(const struct dev_options *o, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	struct net_parent	*np;
	struct net_res		 nr;
	const char		*tap = dev_opt_str(o, NET_K_TAP);
	const char		*fdlist = dev_opt_str(o, NET_K_TAP_FD);
	const char		*mac = dev_opt_str(o, NET_K_MAC);
	bool			 create = dev_opt_u64(o, NET_K_TAP_CREATE) != 0;
	int			 fds[NET_PAIRS_MAX], fd, rc;
	unsigned int		 nfds = 0, queues, i;

	memset(&nr, 0, sizeof(nr));
	res->dr_errkey = fdlist != NULL ? NET_K_TAP_FD : NET_K_TAP;
	if ((tap == NULL) == (fdlist == NULL)) {
		snprintf(err, errlen, "%s", tap != NULL ? "tap, tap-fd: give "
		    "one of them, not both" : "tap: give tap=NAME (the tap to "
		    "open) or tap-fd=N (a tap fd passed in)");
		return -EINVAL;
	}
	if (fdlist != NULL && dev_opt_given(o, NET_K_TAP_CREATE)) {
		snprintf(err, errlen, "tap-create: only with tap=NAME");
		return -EINVAL;
	}
	if (tap != NULL && net_tap_name_ok(tap) < 0) {
		snprintf(err, errlen, "tap=%s: not an interface name (1 to 15 "
		    "characters, no '/', ':', '%%' or spaces)", tap);
		return -EINVAL;
	}
	if (fdlist != NULL &&
	    (rc = net_parse_fds(fdlist, fds, &nfds, err, errlen)) < 0)
		return rc;
	queues = dev_opt_given(o, NET_K_QUEUES) ?
	    (unsigned int)dev_opt_u64(o, NET_K_QUEUES) : nfds > 0 ? nfds : 1;
	if (fdlist != NULL && queues != nfds) {
		res->dr_errkey = NET_K_QUEUES;
		snprintf(err, errlen, "queues=%u: tap-fd= gives %u fds, one "
		    "per queue pair", queues, nfds);
		return -EINVAL;
	}
	if (mac != NULL && net_mac_parse(mac, nr.nr_mac) < 0) {
		res->dr_errkey = NET_K_MAC;
		snprintf(err, errlen, "mac=%s: expected a unicast address "
		    "xx:xx:xx:xx:xx:xx, not all zero", mac);
		return -EINVAL;
	}
	if (tap != NULL && (rc = net_claim(res, -1, tap, NET_K_TAP, err,
	    errlen)) < 0)
		return rc;
	if (check_only)
		return net_check(res, tap, create, fds, nfds, err, errlen);
	if ((np = calloc(1, sizeof(*np))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	net_tap_init(&np->np_tap);
	res->dr_parent = np;
	if (tap != NULL && net_take_over(np, res->dr_prev, tap, queues))
		rc = 0;
	else if (tap != NULL)
		rc = net_tap_open(&np->np_tap, tap, queues, create, err,
		    errlen);
	else
		rc = net_tap_adopt(&np->np_tap, fds, nfds, err, errlen);
	if (rc < 0 || (fdlist != NULL && (rc = net_claim(res,
	    np->np_tap.nt_fds[0], np->np_tap.nt_name, NET_K_TAP_FD, err,
	    errlen)) < 0))
		return rc;
	res->dr_errkey = NET_K_MTU;
	if ((rc = net_mtu(o, np, &nr, err, errlen)) < 0)
		return rc;
	res->dr_errkey = -1;
	if (mac == NULL)
		net_mac_default(np->np_tap.nt_name, nr.nr_mac);
	nr.nr_npairs = (uint16_t)queues;
	nr.nr_offloads = np->np_tap.nt_offloads;
	nr.nr_multi = np->np_tap.nt_multi;
	for (i = 0; i < np->np_tap.nt_nfds; i++) {
		if ((fd = fcntl(np->np_tap.nt_fds[i], F_DUPFD_CLOEXEC, 3)) ==
		    -1) {
			rc = -errno;
			snprintf(err, errlen, "tap %s: dup: %s",
			    np->np_tap.nt_name, strerror(-rc));
			return rc;
		}
		if ((rc = device_res_add_fd(res, fd)) < 0) {
			snprintf(err, errlen, "too many descriptors to keep");
			return rc;
		}
	}
	if ((rc = device_res_set_data(res, &nr, sizeof(nr))) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	log_debug("net: tap %s, %u queue pair(s), offloads 0x%x, mtu %u%s",
	    np->np_tap.nt_name, queues, nr.nr_offloads, nr.nr_mtu,
	    np->np_tap.nt_created ? " (created)" : "");
	return 0;
}

/*
 * Before each child: the tap as the parent set it up, whatever the last
 * child did (see the head comment).  Offloads off, O_NONBLOCK on every
 * queue (net_tap_reset), the vnet header size, little-endian headers,
 * every queue attached.
 */
static int
net_spawn(struct device_res *res)
{
	struct net_parent	*np = res->dr_parent;
	int			 hdr = NET_TAP_HDR_LEN, le = 0, rc;
	unsigned int		 i;

	if (np == NULL || np->np_tap.nt_nfds == 0)
		return 0;
	for (i = 0; i < np->np_tap.nt_nfds; i++)
		if ((rc = net_queue_attach(np->np_tap.nt_fds[i],
		    np->np_tap.nt_multi, true)) < 0) {
			log_warnx("net: cannot attach queue %u of tap %s again "
			    "for the next child: %s", i, np->np_tap.nt_name,
			    strerror(-rc));
			return rc;
		}
	if ((rc = net_tap_reset(&np->np_tap)) < 0 ||
	    (ioctl(np->np_tap.nt_fds[0], TUNSETVNETHDRSZ, &hdr) == -1 &&
	    (rc = -errno) < 0)) {
		log_warnx("net: cannot reset tap %s for the next child: %s",
		    np->np_tap.nt_name, strerror(-rc));
		return rc;
	}
	/* Without CONFIG_TUN_VNET_CROSS_LE there is nothing to reset. */
	(void)ioctl(np->np_tap.nt_fds[0], TUNSETVNETLE, &le);
	return 0;
}

/* Child, before the filter: the state from the parent's net_res. */
static int
net_init(const struct device_child_res *res, void **statep)
{
	const struct net_res	*nr;
	struct net_state	*ns;
	unsigned int		 i;

	if ((nr = device_child_data(res, sizeof(*nr))) == NULL ||
	    nr->nr_npairs == 0 || nr->nr_npairs > NET_PAIRS_MAX ||
	    res->cr_nfds != nr->nr_npairs || nr->nr_mtu < NET_MTU_MIN)
		return -EINVAL;
	if ((ns = calloc(1, sizeof(*ns))) == NULL)
		return -ENOMEM;
	ratelimit_log_init(&ns->ns_warnlog, 0, 0);
	/* Every ring's stop at once, then one line a second. */
	ratelimit_init(&ns->ns_statlog, 2 * NET_PAIRS_MAX, 1);
	ns->ns_npairs = nr->nr_npairs;
	memcpy(ns->ns_mac, nr->nr_mac, sizeof(ns->ns_mac));
	ns->ns_mtu = ns->ns_mtu_max = nr->nr_mtu;
	ns->ns_offloads = nr->nr_offloads;
	ns->ns_hdr_len = NET_HDR_LEN;
	ns->ns_multi = nr->nr_multi;
	for (i = 0; i < ns->ns_npairs; i++) {
		ns->ns_pair[i].np_ns = ns;
		ns->ns_pair[i].np_idx = i;
		ns->ns_pair[i].np_fd = res->cr_fds[i];
		/* No frames for a pair until the guest uses it. */
		(void)net_queue_attach(ns->ns_pair[i].np_fd, ns->ns_multi,
		    false);
	}
	*statep = ns;
	return 0;
}

static uint16_t
net_num_queues(void *state)
{
	return (uint16_t)(((struct net_state *)state)->ns_npairs * 2);
}

/* The fds are the resources': not closed here. */
static void
net_free(void *state)
{
	free(state);
}

/*
 * MAC, STATUS, MTU, MRG_RXBUF, the offloads the tap accepts
 * (net_tap_features), and MQ with more than one pair; the engine adds
 * VERSION_1, EVENT_IDX and INDIRECT_DESC.  No CTRL_VQ: QEMU keeps the
 * control queue and offers it itself, but it passes MQ to the guest only
 * when the back end offers it (QEMU's user_feature_bits), and a guest
 * uses more than one pair only with MQ.  The pairs themselves go through
 * GET_QUEUE_NUM.
 */
static uint64_t
net_get_features(struct vu_dev *dev)
{
	struct net_state	*ns = vu_dev_priv(dev);
	uint64_t		 f;

	f = NET_BIT(VIRTIO_NET_F_MAC) | NET_BIT(VIRTIO_NET_F_STATUS) |
	    NET_BIT(VIRTIO_NET_F_MTU) | NET_BIT(VIRTIO_NET_F_MRG_RXBUF) |
	    net_tap_features(ns->ns_offloads);
	if (ns->ns_npairs > 1)
		f |= NET_BIT(VIRTIO_NET_F_MQ);
	return f;
}

/*
 * The acked features: checked against the dependencies of 5.1.3.1, the
 * header size follows, and the tap's offloads are set to what the guest
 * can take (TUNSETOFFLOAD on the first queue: offloads are the tap's, not
 * a queue's).
 */
static int
net_set_features(struct vu_dev *dev, uint64_t features)
{
	struct net_state	*ns = vu_dev_priv(dev);
	const char		*why = NULL;
	unsigned int		 off;
	int			 rc;

	if (net_features_check(features, &why) < 0) {
		ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(), "net: "
		    "SET_FEATURES 0x%llx refused: %s",
		    (unsigned long long)features, why);
		return -EINVAL;
	}
	off = net_tap_offload_flags(features, ns->ns_offloads);
	if ((rc = net_tap_set_offload(ns->ns_pair[0].np_fd, off)) < 0) {
		ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(), "net: "
		    "TUNSETOFFLOAD 0x%x: %s", off, strerror(-rc));
		return rc;
	}
	/* Held rx buffers were sized for the header in use. */
	net_io_mem_quiesce(dev);
	ns->ns_features = features;
	ns->ns_hdr_len = net_hdr_len(features);
	return 0;
}

static int
net_get_config(struct vu_dev *dev, uint8_t *buf, uint32_t offset,
    uint32_t len)
{
	struct net_state	*ns = vu_dev_priv(dev);
	struct net_config	 c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, ns->ns_mac, sizeof(c.mac));
	c.status = htole16(VIRTIO_NET_S_LINK_UP);
	c.max_virtqueue_pairs = htole16(ns->ns_npairs);
	c.mtu = htole16(ns->ns_mtu);
	memset(buf, 0, len);
	if (offset < sizeof(c))
		memcpy(buf, (uint8_t *)&c + offset,
		    MIN(len, sizeof(c) - offset));
	return 0;
}

/* Forget the guest's features: no offloads until it acks them again. */
static void
net_reset(struct vu_dev *dev)
{
	struct net_state	*ns = vu_dev_priv(dev);

	ns->ns_features = 0;
	ns->ns_hdr_len = NET_HDR_LEN;
	(void)net_tap_set_offload(ns->ns_pair[0].np_fd, 0);
}

static uint64_t
net_get_protocol_features(struct vu_dev *dev)
{
	return (1ull << VHOST_USER_PROTOCOL_F_MTU) |
	    (1ull << VHOST_USER_PROTOCOL_F_RARP);
}

/*
 * NET_SET_MTU: the MTU the front end gives the guest (QEMU's host_mtu);
 * it bounds transmitted frames and sizes the rx buffers wanted.  Never
 * above the device's own MTU (mtu=, set on a tap opened by name, or the
 * tap's): a larger one is refused and the MTU stays, so a front end
 * cannot make the child write frames the tap was not set up for.  QEMU
 * then reports "MTU not supported by the backend" and does not start
 * the device (with REPLY_ACK; without, it cannot tell, and frames past
 * the device's MTU are dropped as too_big).  DPDK's vhost library checks
 * only 68..65535; lower values are taken as they are.
 * SEND_RARP: announce the guest's MAC (after a migration) with a RARP
 * frame written to the tap, as QEMU does for back ends that cannot.
 */
static int
net_request(struct vu_dev *dev, uint32_t request, const void *payload,
    uint32_t size)
{
	struct net_state	*ns = vu_dev_priv(dev);
	uint8_t			 frame[NET_RARP_LEN], mac[NET_ETH_ALEN];
	uint64_t		 v;
	int			 rc;

	if (size < sizeof(v))
		return -EINVAL;
	switch (request) {
	case VHOST_USER_NET_SET_MTU:
		memcpy(&v, payload, sizeof(v));
		if (v < NET_MTU_MIN || v > NET_MTU_MAX) {
			ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(),
			    "net: NET_SET_MTU %llu refused: expected %d to %d",
			    (unsigned long long)v, NET_MTU_MIN, NET_MTU_MAX);
			return -EINVAL;
		}
		if (v > ns->ns_mtu_max) {
			ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(),
			    "net: NET_SET_MTU %llu refused: above the device's "
			    "MTU %u (give the device mtu=%llu, or the guest a "
			    "smaller MTU: QEMU's host_mtu=)",
			    (unsigned long long)v, ns->ns_mtu_max,
			    (unsigned long long)v);
			return -EINVAL;
		}
		ns->ns_mtu = (uint16_t)v;
		return 0;
	case VHOST_USER_SEND_RARP:
		memcpy(mac, payload, sizeof(mac));
		if ((mac[0] & 1) || (mac[0] | mac[1] | mac[2] | mac[3] |
		    mac[4] | mac[5]) == 0)
			return -EINVAL;
		(void)net_rarp_build(frame, sizeof(frame), mac);
		if ((rc = net_io_inject(ns, frame, sizeof(frame))) < 0) {
			ratelimit_warnx(&ns->ns_warnlog, ratelimit_now(),
			    "net: SEND_RARP: %s", strerror(-rc));
			return rc;
		}
		return 0;
	default:
		return -ENOTSUP;
	}
}

static const struct vu_dev_ops net_ops = {
	.get_features = net_get_features,
	.set_features = net_set_features,
	.get_config = net_get_config,
	.queue_handler = net_io_queue_handler,
	.queue_state = net_io_queue_state,
	.mem_quiesce = net_io_mem_quiesce,
	.reset = net_reset,
	.get_protocol_features = net_get_protocol_features,
	.requests = VU_REQUEST_BIT(VHOST_USER_NET_SET_MTU) |
	    VU_REQUEST_BIT(VHOST_USER_SEND_RARP),
	.request = net_request,
};

const struct device_type net_device_type = {
	.dt_name = "net",
	.dt_caps_type = "net",
	.dt_description = "virtio network device over a tap",
	.dt_keys = net_keys,
	.dt_nkeys = NET_K_COUNT,
	.dt_ops = &net_ops,
	/*
	 * Private memory: the state (with 8 pairs, their held rx buffers
	 * and iovecs: about 0.3 MiB), the engine's and libevent's: a few
	 * MiB serving; 32 MiB of room.
	 */
	.dt_mem_limit = 32ull << 20,
	/* Per ring (rx 2i, tx 2i+1): vhostd ctl stats, vhostd_net_*. */
	.dt_counters = { net_ctr_names, net_ctr_help, NET_CTR__MAX },
	.dt_open = net_open,
	.dt_spawn = net_spawn,
	.dt_close = net_close,
	.dt_init = net_init,
	.dt_num_queues = net_num_queues,
	.dt_free = net_free,
};
