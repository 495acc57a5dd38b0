/*
 * net_tap.c - the tap behind a virtio-net device: opened or created by
 * name, or adopted from passed fds, by the privileged parent before fork;
 * offload probing and the feature <-> offload mapping; MAC and MTU
 * options (see net_tap.h).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <linux/if_tun.h>

#include "../util/fdinherit.h"
#include "../util/util.h"
#include "net_tap.h"

#define NET_TAP_BASE_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR)
#define NET_TUN_PATH		"/dev/net/tun"

void
net_tap_init(struct net_tap *t)
{
	unsigned int	i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < NET_TAP_QUEUES_MAX; i++)
		t->nt_fds[i] = -1;
}

int
net_tap_name_ok(const char *name)
{
	size_t	len, i;

	if (name == NULL || (len = strlen(name)) == 0 || len >= IFNAMSIZ)
		return -EINVAL;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == ':' || name[i] == '%' ||
		    isspace((unsigned char)name[i]) ||
		    !isprint((unsigned char)name[i]))
			return -EINVAL;
	return 0;
}

/* TUNSETIFF on an unattached /dev/net/tun fd.  0 or -errno. */
static int
net_tap_attach(int fd, const char *name, int flags)
{
	struct ifreq	ifr;

	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_flags = (short)flags;
	if (ioctl(fd, TUNSETIFF, &ifr) == -1)
		return -errno;
	return 0;
}

static int
net_tun_open(void)
{
	int	fd;

	if ((fd = open(NET_TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -errno;
	return fd;
}

int
net_tap_netns(int fd, struct stat *st)
{
	int	ns, rc = 0;

	if (fd < 0)
		return stat("/proc/thread-self/ns/net", st) == -1 ? -errno : 0;
	if ((ns = ioctl(fd, TUNGETDEVNETNS)) == -1)
		return -errno;
	if (fstat(ns, st) == -1)
		rc = -errno;
	close_reset(&ns);
	return rc;
}

void
net_tap_release(struct net_tap *t)
{
	unsigned int	i;

	if (t->nt_created && t->nt_nfds > 0 && t->nt_fds[0] != -1)
		(void)ioctl(t->nt_fds[0], TUNSETPERSIST, 0);
	t->nt_created = false;
	for (i = 0; i < NET_TAP_QUEUES_MAX; i++)
		close_reset(&t->nt_fds[i]);
	t->nt_nfds = 0;
}

/* Header size and offload probe, common to open and adopt. */
static int
net_tap_finish(struct net_tap *t, char *err, size_t errlen)
{
	int	hdr = NET_TAP_HDR_LEN, rc;

	if (ioctl(t->nt_fds[0], TUNSETVNETHDRSZ, &hdr) == -1) {
		rc = -errno;
		snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ %d: %s",
		    t->nt_name, hdr, strerror(-rc));
		return rc;
	}
	if ((rc = net_tap_probe_offloads(t->nt_fds[0])) < 0) {
		snprintf(err, errlen, "tap %s: TUNSETOFFLOAD 0: %s",
		    t->nt_name, strerror(-rc));
		return rc;
	}
	t->nt_offloads = (unsigned int)rc;
	return 0;
}

/*
 * Attach fd to the existing tap name (index idx), adapting to its
 * multi_queue flag when one queue is asked for.
 */
static int
net_tap_attach_existing(struct net_tap *t, int fd, const char *name,
    unsigned int idx, unsigned int queues, char *err, size_t errlen)
{
	int	mq = queues > 1 ? IFF_MULTI_QUEUE : 0, rc;

	rc = net_tap_attach(fd, name, NET_TAP_BASE_FLAGS | mq);
	if (rc == -EINVAL &&
	    net_tap_attach(fd, name, NET_TAP_BASE_FLAGS | (mq ^
	    IFF_MULTI_QUEUE)) == 0) {
		if (mq) {
			snprintf(err, errlen, "tap %s is single-queue: "
			    "queues=%u needs a multi_queue tap (ip tuntap del "
			    "dev %s mode tap; ip tuntap add dev %s mode tap "
			    "multi_queue) or use queues=1", name, queues,
			    name, name);
			return -EINVAL;
		}
		mq = IFF_MULTI_QUEUE;	/* a multi_queue tap, one queue */
		rc = 0;
	}
	if (rc == -EINVAL) {
		snprintf(err, errlen, "%s exists but is not a tap device "
		    "(a tun, or another kind of interface)", name);
		return rc;
	}
	if (rc == -EBUSY) {
		snprintf(err, errlen, "tap %s is in use (a single-queue tap "
		    "has one reader)", name);
		return rc;
	}
	if (rc < 0) {
		snprintf(err, errlen, "tap %s: TUNSETIFF: %s", name,
		    strerror(-rc));
		return rc;
	}
	/*
	 * If the tap vanished between the look-up and TUNSETIFF, the attach
	 * created a new, non-persistent tap: refuse it (closing fd removes
	 * it) rather than serve a tap nobody configured.
	 */
	if (if_nametoindex(name) != idx) {
		snprintf(err, errlen, "tap %s was removed while vhostd opened "
		    "it; not creating it (give tap-create=on to create)", name);
		return -ENODEV;
	}
	t->nt_multi = mq != 0;
	return 0;
}

int
net_tap_open(struct net_tap *t, const char *name, unsigned int queues,
    bool create, char *err, size_t errlen)
{
	unsigned int	idx, i;
	int		fd, rc, flags;

	net_tap_init(t);
	if (net_tap_name_ok(name) < 0) {
		snprintf(err, errlen, "tap=%s: not a valid interface name",
		    name != NULL ? name : "");
		return -EINVAL;
	}
	if (queues < 1 || queues > NET_TAP_QUEUES_MAX) {
		snprintf(err, errlen, "queues=%u: expected 1 to %d", queues,
		    NET_TAP_QUEUES_MAX);
		return -EINVAL;
	}
	memcpy(t->nt_name, name, strlen(name) + 1);
	if ((fd = net_tun_open()) < 0) {
		snprintf(err, errlen, "%s: %s", NET_TUN_PATH, strerror(-fd));
		return fd;
	}
	t->nt_fds[0] = fd;
	t->nt_nfds = 1;
	if ((idx = if_nametoindex(name)) == 0) {
		if (!create) {
			snprintf(err, errlen, "tap %s does not exist (create "
			    "it with ip tuntap add dev %s mode tap%s, or give "
			    "tap-create=on)", name, name,
			    queues > 1 ? " multi_queue" : "");
			rc = -ENODEV;
			goto fail;
		}
		flags = NET_TAP_BASE_FLAGS | IFF_TUN_EXCL |
		    (queues > 1 ? IFF_MULTI_QUEUE : 0);
		if ((rc = net_tap_attach(fd, name, flags)) < 0) {
			snprintf(err, errlen, "tap %s: create: %s%s", name,
			    strerror(-rc), rc == -EBUSY ?
			    " (it appeared meanwhile; retry)" : "");
			goto fail;
		}
		if (ioctl(fd, TUNSETPERSIST, 1) == -1) {
			rc = -errno;
			snprintf(err, errlen, "tap %s: TUNSETPERSIST: %s",
			    name, strerror(-rc));
			goto fail;
		}
		t->nt_created = true;
		t->nt_multi = queues > 1;
	} else if ((rc = net_tap_attach_existing(t, fd, name, idx, queues,
	    err, errlen)) < 0)
		goto fail;
	flags = NET_TAP_BASE_FLAGS | (t->nt_multi ? IFF_MULTI_QUEUE : 0);
	for (i = 1; i < queues; i++) {
		if ((fd = net_tun_open()) < 0) {
			rc = fd;
			snprintf(err, errlen, "%s: %s", NET_TUN_PATH,
			    strerror(-rc));
			goto fail;
		}
		t->nt_fds[i] = fd;
		t->nt_nfds = i + 1;
		if ((rc = net_tap_attach(fd, name, flags)) < 0) {
			snprintf(err, errlen, "tap %s: queue %u: TUNSETIFF: %s",
			    name, i, strerror(-rc));
			goto fail;
		}
	}
	if ((rc = net_tap_finish(t, err, errlen)) < 0)
		goto fail;
	return 0;
fail:
	net_tap_release(t);
	return rc;
}

int
net_tap_adopt(struct net_tap *t, const int *fds, unsigned int n, char *err,
    size_t errlen)
{
	struct ifreq	ifr;
	unsigned int	i, j;
	int		rc;

	net_tap_init(t);
	if (n < 1 || n > NET_TAP_QUEUES_MAX) {
		snprintf(err, errlen, "tap-fd: %u fds, expected 1 to %d", n,
		    NET_TAP_QUEUES_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (fds[j] == fds[i]) {
				snprintf(err, errlen, "tap-fd: fd %d given "
				    "twice", fds[i]);
				return -EINVAL;
			}
		/*
		 * Only what vhostd was started with: a number it opened
		 * itself is another device's tap (or socket), and adopting
		 * it would give this guest the other guest's frames.
		 */
		if (fds[i] >= 0 && fd_inherited_check(fds[i]) < 0) {
			snprintf(err, errlen, "tap-fd %d: not a descriptor "
			    "vhostd was started with (tap-fd= names taps "
			    "passed in at exec)", fds[i]);
			return -EBADF;
		}
		memset(&ifr, 0, sizeof(ifr));
		if (fds[i] < 0 || ioctl(fds[i], TUNGETIFF, &ifr) == -1) {
			rc = fds[i] < 0 ? -EBADF : -errno;
			snprintf(err, errlen, "tap-fd %d: not an attached tap "
			    "fd (TUNGETIFF: %s)", fds[i], strerror(-rc));
			return rc == -EBADF ? rc : -EINVAL;
		}
		ifr.ifr_name[IFNAMSIZ - 1] = '\0';
		if ((ifr.ifr_flags & TUN_TYPE_MASK) != IFF_TAP) {
			snprintf(err, errlen, "tap-fd %d: %s is a tun, not a "
			    "tap", fds[i], ifr.ifr_name);
			return -EINVAL;
		}
		/*
		 * IFF_NO_PI cannot be checked: TUNGETIFF reports bit 0x1000
		 * as IFF_NOFILTER (no TUNSETTXFILTER) whatever the fd was
		 * opened with.  IFF_VNET_HDR is reported as set.
		 */
		if (!(ifr.ifr_flags & IFF_VNET_HDR)) {
			snprintf(err, errlen, "tap-fd %d: tap %s was opened "
			    "without IFF_VNET_HDR; open it with IFF_TAP|"
			    "IFF_NO_PI|IFF_VNET_HDR (vnet_hdr=on)", fds[i],
			    ifr.ifr_name);
			return -EINVAL;
		}
		if (i == 0) {
			memcpy(t->nt_name, ifr.ifr_name, IFNAMSIZ);
			t->nt_multi = (ifr.ifr_flags & IFF_MULTI_QUEUE) != 0;
		} else if (strcmp(t->nt_name, ifr.ifr_name) != 0) {
			snprintf(err, errlen, "tap-fd %d is tap %s, fd %d is "
			    "tap %s: every fd must be a queue of one tap",
			    fds[i], ifr.ifr_name, fds[0], t->nt_name);
			return -EINVAL;
		}
	}
	if (n > 1 && !t->nt_multi) {
		snprintf(err, errlen, "tap-fd: %u fds but tap %s is not "
		    "multi_queue", n, t->nt_name);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if ((rc = fd_set_cloexec(fds[i], 1)) < 0 ||
		    (rc = fd_set_nonblock(fds[i], 1)) < 0) {
			snprintf(err, errlen, "tap-fd %d: fcntl: %s", fds[i],
			    strerror(-rc));
			return rc;
		}
	/*
	 * Duplicates (the same open file descriptions): the numbers stay the
	 * caller's, so a later device naming the same numbers (a reload)
	 * never closes what this one uses.
	 */
	for (i = 0; i < n; i++) {
		if ((t->nt_fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1) {
			rc = -errno;
			snprintf(err, errlen, "tap-fd %d: dup: %s", fds[i],
			    strerror(-rc));
			net_tap_release(t);
			return rc;
		}
		t->nt_nfds = i + 1;
	}
	t->nt_adopted = true;
	if ((rc = net_tap_finish(t, err, errlen)) < 0) {
		net_tap_release(t);
		return rc;
	}
	return 0;
}

int
net_tap_reset(struct net_tap *t)
{
	unsigned int	i;
	int		rc;

	if (t->nt_nfds == 0)
		return -EBADF;
	if ((rc = net_tap_set_offload(t->nt_fds[0], 0)) < 0)
		return rc;
	for (i = 0; i < t->nt_nfds; i++)
		if ((rc = fd_set_nonblock(t->nt_fds[i], 1)) < 0)
			return rc;
	return 0;
}

/* SIOCGIFMTU / SIOCSIFMTU on the tap by name, through a datagram socket. */
static int
net_tap_mtu_ioctl(const struct net_tap *t, unsigned long req, int *mtu)
{
	struct ifreq	ifr;
	int		s, rc = 0;

	if (t->nt_name[0] == '\0')
		return -EBADF;
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->nt_name, strlen(t->nt_name));
	ifr.ifr_mtu = *mtu;
	if (ioctl(s, req, &ifr) == -1)
		rc = -errno;
	else
		*mtu = ifr.ifr_mtu;
	close_reset(&s);
	return rc;
}

int
net_tap_set_mtu(const struct net_tap *t, uint16_t mtu)
{
	int	v = mtu;

	if (mtu < NET_MTU_MIN)
		return -EINVAL;
	return net_tap_mtu_ioctl(t, SIOCSIFMTU, &v);
}

int
net_tap_get_mtu(const struct net_tap *t, unsigned int *cur)
{
	int	v = 0, rc;

	if ((rc = net_tap_mtu_ioctl(t, SIOCGIFMTU, &v)) < 0)
		return rc;
	*cur = (unsigned int)v;
	return 0;
}

int
net_tap_set_offload(int fd, unsigned int flags)
{
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) == -1)
		return -errno;
	return 0;
}

int
net_tap_probe_offloads(int fd)
{
	unsigned int	acc = 0, tso;
	int		rc;

	if (net_tap_set_offload(fd, NET_TUN_F_CSUM) == 0) {
		acc |= NET_TUN_F_CSUM;
		if (net_tap_set_offload(fd, NET_TUN_F_CSUM |
		    NET_TUN_F_TSO4) == 0)
			acc |= NET_TUN_F_TSO4;
		if (net_tap_set_offload(fd, NET_TUN_F_CSUM |
		    NET_TUN_F_TSO6) == 0)
			acc |= NET_TUN_F_TSO6;
		tso = acc & (NET_TUN_F_TSO4 | NET_TUN_F_TSO6);
		if (tso != 0 && net_tap_set_offload(fd, NET_TUN_F_CSUM | tso |
		    NET_TUN_F_TSO_ECN) == 0)
			acc |= NET_TUN_F_TSO_ECN;
		if (net_tap_set_offload(fd, NET_TUN_F_CSUM |
		    NET_TUN_F_UFO) == 0)
			acc |= NET_TUN_F_UFO;
		/* The tap takes USO for both families or neither. */
		if (net_tap_set_offload(fd, NET_TUN_F_CSUM | NET_TUN_F_USO4 |
		    NET_TUN_F_USO6) == 0)
			acc |= NET_TUN_F_USO4 | NET_TUN_F_USO6;
	}
	if ((rc = net_tap_set_offload(fd, 0)) < 0)
		return rc;
	return (int)acc;
}

uint64_t
net_tap_features(unsigned int offloads)
{
	uint64_t	f;

	f = NET_BIT(VIRTIO_NET_F_CSUM) | NET_BIT(VIRTIO_NET_F_HOST_TSO4) |
	    NET_BIT(VIRTIO_NET_F_HOST_TSO6) | NET_BIT(VIRTIO_NET_F_HOST_ECN);
	if (offloads & NET_TUN_F_UFO)
		f |= NET_BIT(VIRTIO_NET_F_HOST_UFO);
	if (!(offloads & NET_TUN_F_CSUM))
		return f;
	f |= NET_BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (offloads & NET_TUN_F_TSO4)
		f |= NET_BIT(VIRTIO_NET_F_GUEST_TSO4);
	if (offloads & NET_TUN_F_TSO6)
		f |= NET_BIT(VIRTIO_NET_F_GUEST_TSO6);
	if ((offloads & NET_TUN_F_TSO_ECN) &&
	    (offloads & (NET_TUN_F_TSO4 | NET_TUN_F_TSO6)))
		f |= NET_BIT(VIRTIO_NET_F_GUEST_ECN);
	if (offloads & NET_TUN_F_UFO)
		f |= NET_BIT(VIRTIO_NET_F_GUEST_UFO);
	return f;
}

unsigned int
net_tap_offload_flags(uint64_t acked, unsigned int accepted)
{
	unsigned int	f;

	if (!(acked & NET_BIT(VIRTIO_NET_F_GUEST_CSUM)) ||
	    !(accepted & NET_TUN_F_CSUM))
		return 0;
	f = NET_TUN_F_CSUM;
	if (acked & NET_BIT(VIRTIO_NET_F_GUEST_TSO4))
		f |= NET_TUN_F_TSO4;
	if (acked & NET_BIT(VIRTIO_NET_F_GUEST_TSO6))
		f |= NET_TUN_F_TSO6;
	if (acked & NET_BIT(VIRTIO_NET_F_GUEST_UFO))
		f |= NET_TUN_F_UFO;
	f &= accepted;
	if ((acked & NET_BIT(VIRTIO_NET_F_GUEST_ECN)) &&
	    (f & (NET_TUN_F_TSO4 | NET_TUN_F_TSO6)))
		f |= NET_TUN_F_TSO_ECN & accepted;
	return f;
}

static int
net_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
net_mac_parse(const char *s, uint8_t mac[NET_ETH_ALEN])
{
	uint8_t	m[NET_ETH_ALEN];
	int	i, hi, lo;

	if (s == NULL || strlen(s) != 3 * NET_ETH_ALEN - 1)
		return -EINVAL;
	for (i = 0; i < NET_ETH_ALEN; i++) {
		const char *p = s + (size_t)3 * (size_t)i;

		if ((hi = net_hexval(p[0])) < 0 || (lo = net_hexval(p[1])) < 0)
			return -EINVAL;
		if (i < NET_ETH_ALEN - 1 && p[2] != ':')
			return -EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
	}
	if (m[0] & 1)				/* multicast, broadcast */
		return -EINVAL;
	if ((m[0] | m[1] | m[2] | m[3] | m[4] | m[5]) == 0)
		return -EINVAL;
	memcpy(mac, m, NET_ETH_ALEN);
	return 0;
}

void
net_mac_default(const char *seed, uint8_t mac[NET_ETH_ALEN])
{
	uint64_t	h = 0xcbf29ce484222325ULL;	/* FNV-1a 64 */
	const char	*p;
	int		i;

	for (p = seed != NULL ? seed : ""; *p != '\0'; p++) {
		h ^= (uint8_t)*p;
		h *= 0x100000001b3ULL;
	}
	for (i = 0; i < NET_ETH_ALEN; i++)
		mac[i] = (uint8_t)(h >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);	/* local, unicast */
}

void
net_mac_format(const uint8_t mac[NET_ETH_ALEN], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
	    mac[2], mac[3], mac[4], mac[5]);
}

int
net_mtu_parse(const char *s, uint16_t *mtu)
{
	uint64_t	v;
	int		rc;

	if (s == NULL)
		return -EINVAL;
	if ((rc = parse_u64(s, NET_MTU_MIN, NET_MTU_MAX, &v)) < 0)
		return rc;
	*mtu = (uint16_t)v;
	return 0;
}
