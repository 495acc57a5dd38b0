/*
 * net_opts.h - the options of a net device (--device net,KEY=VALUE,...),
 * parsed once into a typed struct: one row per key in net_opts.c.
 *
 *   tap=NAME             the tap to open (parent, before fork)
 *   tap-create=on|off    create NAME when missing, remove it at exit
 *   tap-fd=N[:M...]      tap fds passed in (one per queue pair), instead
 *   queues=N             queue pairs (default 1, or the tap-fd count)
 *   mac=xx:..:xx         unicast MAC (default: stable, from the seed)
 *   mtu=N                68..65535 (default 1500)
 *
 * Independent of the device table's option type: the glue feeds it
 * key/value pairs.  Library code: 0 or -errno with a message in err.
 */
#ifndef VHOSTD_DEVICES_NET_OPTS_H
#define VHOSTD_DEVICES_NET_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net_tap.h"

struct net_opts {
	char		no_tap[IFNAMSIZ];	/* "" with tap-fd= */
	bool		no_tap_create;
	int		no_tap_fds[NET_TAP_QUEUES_MAX];
	unsigned int	no_ntap_fds;
	unsigned int	no_queues;		/* 0 until set or finished */
	uint8_t		no_mac[NET_ETH_ALEN];
	bool		no_mac_set;
	uint16_t	no_mtu;
	unsigned int	no_seen;		/* bit per key row: given once */
};

/* Defaults: no tap, 1500, queues unset. */
void	net_opts_init(struct net_opts *no);

/*
 * Apply one KEY=VALUE.  Unknown keys, bad values and a key given twice
 * are -EINVAL with "key=value: what is expected" in err.
 */
int	net_opts_set(struct net_opts *no, const char *key, const char *val,
	    char *err, size_t errlen);

/*
 * After the last key: exactly one of tap= and tap-fd=; tap-create= only
 * with tap=; queues= equal to the tap-fd count when both are given; the
 * default MAC from seed (the device's name or socket path) when mac= was
 * not given.  0 or -EINVAL with a message.
 */
int	net_opts_finish(struct net_opts *no, const char *seed, char *err,
	    size_t errlen);

#endif /* VHOSTD_DEVICES_NET_OPTS_H */
