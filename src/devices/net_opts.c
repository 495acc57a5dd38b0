/*
 * net_opts.c - net device options: one row per key (see net_opts.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "net_opts.h"

typedef int	(*net_opt_fn)(struct net_opts *, const char *);

static int
opt_tap(struct net_opts *no, const char *v)
{
	if (net_tap_name_ok(v) < 0)
		return -EINVAL;
	memcpy(no->no_tap, v, strlen(v) + 1);
	return 0;
}

static int
opt_tap_create(struct net_opts *no, const char *v)
{
	if (strcmp(v, "on") == 0)
		no->no_tap_create = true;
	else if (strcmp(v, "off") == 0)
		no->no_tap_create = false;
	else
		return -EINVAL;
	return 0;
}

/* N[:M...]: distinct descriptors >= 3 (0-2 are stdio), at most 16. */
static int
opt_tap_fd(struct net_opts *no, const char *v)
{
	char		num[16];
	const char	*p = v, *end;
	uint64_t	fd;
	unsigned int	n = 0, i;
	size_t		len;

	for (;;) {
		end = strchr(p, ':');
		len = end != NULL ? (size_t)(end - p) : strlen(p);
		if (len == 0 || len >= sizeof(num) || n == NET_TAP_QUEUES_MAX)
			return -EINVAL;
		memcpy(num, p, len);
		num[len] = '\0';
		if (parse_u64(num, 3, 65535, &fd) < 0)
			return -EINVAL;
		for (i = 0; i < n; i++)
			if (no->no_tap_fds[i] == (int)fd)
				return -EINVAL;
		no->no_tap_fds[n++] = (int)fd;
		if (end == NULL)
			break;
		p = end + 1;
	}
	no->no_ntap_fds = n;
	return 0;
}

static int
opt_queues(struct net_opts *no, const char *v)
{
	uint64_t	q;

	if (parse_u64(v, 1, NET_TAP_QUEUES_MAX, &q) < 0)
		return -EINVAL;
	no->no_queues = (unsigned int)q;
	return 0;
}

static int
opt_mac(struct net_opts *no, const char *v)
{
	if (net_mac_parse(v, no->no_mac) < 0)
		return -EINVAL;
	no->no_mac_set = true;
	return 0;
}

static int
opt_mtu(struct net_opts *no, const char *v)
{
	return net_mtu_parse(v, &no->no_mtu) < 0 ? -EINVAL : 0;
}

static const struct net_opt_row {
	const char	*or_key;
	net_opt_fn	 or_fn;
	const char	*or_expect;
} net_opt_rows[] = {
	{ "tap", opt_tap, "an interface name (1 to 15 characters, no '/', "
	    "':' or spaces)" },
	{ "tap-create", opt_tap_create, "on or off" },
	{ "tap-fd", opt_tap_fd, "N[:M...]: 1 to 16 distinct descriptors >= 3" },
	{ "queues", opt_queues, "1 to 16" },
	{ "mac", opt_mac, "a unicast address xx:xx:xx:xx:xx:xx, not all zero" },
	{ "mtu", opt_mtu, "68 to 65535" },
};

void
net_opts_init(struct net_opts *no)
{
	unsigned int	i;

	memset(no, 0, sizeof(*no));
	for (i = 0; i < NET_TAP_QUEUES_MAX; i++)
		no->no_tap_fds[i] = -1;
	no->no_mtu = NET_MTU_DEFAULT;
}

int
net_opts_set(struct net_opts *no, const char *key, const char *val,
    char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < ARRAY_SIZE(net_opt_rows); i++) {
		const struct net_opt_row *r = &net_opt_rows[i];

		if (strcmp(key, r->or_key) != 0)
			continue;
		if (no->no_seen & (1u << i)) {
			snprintf(err, errlen, "%s= given twice", key);
			return -EINVAL;
		}
		if (val == NULL || r->or_fn(no, val) < 0) {
			snprintf(err, errlen, "%s=%s: expected %s", key,
			    val != NULL ? val : "", r->or_expect);
			return -EINVAL;
		}
		no->no_seen |= 1u << i;
		return 0;
	}
	snprintf(err, errlen, "unknown key '%s' (net takes tap, tap-create, "
	    "tap-fd, queues, mac, mtu)", key);
	return -EINVAL;
}

int
net_opts_finish(struct net_opts *no, const char *seed, char *err,
    size_t errlen)
{
	bool	has_tap = no->no_tap[0] != '\0', has_fd = no->no_ntap_fds > 0;

	if (has_tap == has_fd) {
		snprintf(err, errlen, has_tap ? "give tap= or tap-fd=, not "
		    "both" : "give tap=NAME (the tap to open) or tap-fd=N "
		    "(a tap fd passed in)");
		return -EINVAL;
	}
	if (has_fd && no->no_tap_create) {
		snprintf(err, errlen, "tap-create= only goes with tap=");
		return -EINVAL;
	}
	if (has_fd) {
		if (no->no_queues != 0 && no->no_queues != no->no_ntap_fds) {
			snprintf(err, errlen, "queues=%u but tap-fd= gives %u "
			    "fds: one fd per queue pair", no->no_queues,
			    no->no_ntap_fds);
			return -EINVAL;
		}
		no->no_queues = no->no_ntap_fds;
	} else if (no->no_queues == 0)
		no->no_queues = 1;
	if (!no->no_mac_set)
		net_mac_default(seed, no->no_mac);
	return 0;
}
