/*
 * net_tap.h - the tap behind a virtio-net device, parent side: open a tap
 * by name (creating it when asked), or adopt tap fds passed in (as libvirt
 * does); set the vnet header size; probe the offloads the tap accepts and
 * map them to the feature bits to offer; map acked features to the
 * TUNSETOFFLOAD flags; MAC and MTU options.
 *
 * Runs in the privileged parent before fork, except net_tap_set_offload(),
 * which the jailed child calls at SET_FEATURES (one ioctl on a tap fd it
 * was given; the policy allows ioctl(fd, TUNSETOFFLOAD) and nothing else).
 * Library code: returns 0 or -errno, with a message in err.
 */
#ifndef VHOSTD_DEVICES_NET_TAP_H
#define VHOSTD_DEVICES_NET_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>
#include <sys/stat.h>

#include "net_hdr.h"

/* Queue pairs (one tap fd each); the kernel allows 256 per tap. */
#define NET_TAP_QUEUES_MAX	16

/* TUNSETOFFLOAD flags (linux/if_tun.h; USO is newer than Debian's). */
#define NET_TUN_F_CSUM		0x01
#define NET_TUN_F_TSO4		0x02
#define NET_TUN_F_TSO6		0x04
#define NET_TUN_F_TSO_ECN	0x08
#define NET_TUN_F_UFO		0x10
#define NET_TUN_F_USO4		0x20
#define NET_TUN_F_USO6		0x40

/* The vnet header size vhostd always sets on the tap (see net_tap_open). */
#define NET_TAP_HDR_LEN		NET_HDR_LEN

struct net_tap {
	char		nt_name[IFNAMSIZ];
	int		nt_fds[NET_TAP_QUEUES_MAX];	/* -1 when unused */
	unsigned int	nt_nfds;
	bool		nt_created;	/* we created it: release removes it */
	bool		nt_multi;	/* IFF_MULTI_QUEUE */
	bool		nt_adopted;	/* fds passed in, not opened by us */
	unsigned int	nt_offloads;	/* NET_TUN_F_* the tap accepts */
};

/* Every fd -1, nothing open. */
void	net_tap_init(struct net_tap *t);

/*
 * Open queues fds (1..NET_TAP_QUEUES_MAX) on the tap called name, with
 * IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, plus IFF_MULTI_QUEUE when queues > 1
 * or when the existing tap is multi_queue.  A single-queue tap asked for
 * queues > 1 is refused with a message saying how to recreate it.  A
 * missing tap is -ENODEV unless create is set; then it is created (and
 * made persistent) and net_tap_release() removes it.  A tap that vanishes
 * and is re-created between the check and the attach is refused, never
 * silently created.  Sets the vnet header size to NET_TAP_HDR_LEN and
 * probes nt_offloads.  Every fd is O_CLOEXEC and O_NONBLOCK.  On failure
 * nothing stays open or created.  0 or -errno (message in err).
 */
int	net_tap_open(struct net_tap *t, const char *name, unsigned int queues,
	    bool create, char *err, size_t errlen);

/*
 * Adopt n tap fds passed in (tap-fd=N[:M...]).  Each must be attached
 * (TUNGETIFF) to the same tap, with IFF_TAP and IFF_VNET_HDR (an fd's
 * flags cannot be changed once attached: a tap opened without vnet_hdr is
 * refused); n > 1 needs IFF_MULTI_QUEUE; the same fd twice is refused.
 * IFF_NO_PI is required but cannot be checked (TUNGETIFF reports that bit
 * as IFF_NOFILTER whatever the opener asked): VM managers open taps with
 * it (libvirt and QEMU always do).  Sets CLOEXEC, O_NONBLOCK and the vnet
 * header size, probes the offloads.  The tap holds duplicates (the same
 * open file descriptions, other numbers; release closes them and never
 * removes the tap): the caller keeps its fds, whether or not the call
 * succeeds.
 */
int	net_tap_adopt(struct net_tap *t, const int *fds, unsigned int n,
	    char *err, size_t errlen);

/*
 * The network namespace of a tap, as the stat of its nsfs file (st_dev,
 * st_ino name the namespace): with fd an attached tap fd, the namespace
 * the interface is in now (TUNGETDEVNETNS; a tap passed in may live in
 * another namespace than vhostd, or have been moved since it was
 * opened); with fd -1, the calling thread's own, where tap=NAME looks the
 * name up and attaches.  0 or -errno (TUNGETDEVNETNS needs Linux 5.2 and
 * CAP_NET_ADMIN over the namespace).
 */
int	net_tap_netns(int fd, struct stat *st);

/*
 * Close every fd; a tap we created is made non-persistent first so the
 * kernel removes it once the last fd (ours and any child's) is closed.
 * Safe to call twice and on an initialised but unopened tap.
 */
void	net_tap_release(struct net_tap *t);

/*
 * Before each child starts: undo what a dead child could have changed on
 * the tap it shared with the parent: offloads back to none (the new child
 * sets them from the features its guest acks) and O_NONBLOCK set again on
 * every fd (the open file descriptions are shared; a child that cleared
 * it would make the next one block in readv).  0 or -errno.
 */
int	net_tap_reset(struct net_tap *t);

/*
 * Set the MTU of the tap (SIOCSIFMTU through a datagram socket in the
 * parent: mtu= of the device, which the config space also reports);
 * net_tap_get_mtu reads it (SIOCGIFMTU) into *cur.  0 or -errno.
 */
int	net_tap_set_mtu(const struct net_tap *t, uint16_t mtu);
int	net_tap_get_mtu(const struct net_tap *t, unsigned int *cur);

/*
 * Validate a tap name (non-empty, < IFNAMSIZ, no '/', ':', space or '%':
 * TUNSETIFF takes a name with '%' as a template and creates vt0 of vt%d).
 */
int	net_tap_name_ok(const char *name);

/*
 * Probe which NET_TUN_F_* combinations the tap behind fd accepts
 * (TUNSETOFFLOAD with each, in dependency order), then reset the tap to
 * no offloads.  Returns the accepted mask (0 when none, e.g. no vnet
 * header) or -errno when the final reset fails.
 */
int	net_tap_probe_offloads(int fd);

/*
 * The virtio-net feature bits to offer for a tap accepting offloads
 * (NET_TUN_F_*): CSUM and HOST_TSO4/6/ECN always (the tap takes GSO
 * frames from us whatever its offloads), HOST_UFO when it accepts UFO,
 * GUEST_* for what it can hand us.
 */
uint64_t	net_tap_features(unsigned int offloads);

/*
 * The TUNSETOFFLOAD flags for acked features: GUEST_CSUM -> CSUM, and
 * with it GUEST_TSO4/6 -> TSO4/6, GUEST_ECN (with a TSO) -> TSO_ECN,
 * GUEST_UFO -> UFO; masked by what the tap accepts.
 */
unsigned int	net_tap_offload_flags(uint64_t acked, unsigned int accepted);

/* ioctl(fd, TUNSETOFFLOAD, flags): the child's one tap ioctl.  0/-errno. */
int	net_tap_set_offload(int fd, unsigned int flags);

/*
 * Parse "xx:xx:xx:xx:xx:xx" (hex, either case) into mac; refuse
 * multicast/broadcast and all-zero addresses.  0 or -EINVAL.
 */
int	net_mac_parse(const char *s, uint8_t mac[NET_ETH_ALEN]);

/*
 * A stable default MAC for a device: a hash of seed (the device or socket
 * name) with the locally administered bit set and the multicast bit
 * clear.  The same seed always gives the same address.
 */
void	net_mac_default(const char *seed, uint8_t mac[NET_ETH_ALEN]);

/* "xx:xx:xx:xx:xx:xx" into buf (at least 18 bytes). */
void	net_mac_format(const uint8_t mac[NET_ETH_ALEN], char *buf, size_t len);

/* Parse a decimal MTU in NET_MTU_MIN..NET_MTU_MAX.  0 or -EINVAL/-ERANGE. */
int	net_mtu_parse(const char *s, uint16_t *mtu);

#endif /* VHOSTD_DEVICES_NET_TAP_H */
