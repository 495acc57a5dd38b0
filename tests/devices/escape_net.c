/*
 * escape_net.c - a test-only device (vhostd_test "escape-net"): the real
 * network device (net.c: same keys, the same tap opened by the parent,
 * the same state; policy escape-net.policy including net.policy), taken
 * over once jailed and filtered.  Instead of serving, it turns what a
 * hijacked net child has against the host: its tap queue fds (shared
 * with the parent and every later child), /dev/net/tun, the network.
 *
 * Keys: every net key and attempt=NAME (run only that attempt; default:
 * every attempt of the jail layer).
 *
 * Layers, as in escape.c.  "jail" attempts are stopped by the kernel
 * alone: the child's empty root (no /dev/net/tun), its own network
 * namespace (no interface but lo, nothing of the namespace the tap lives
 * in reachable), no capabilities (no packet socket, no SIOCGSKNS on the
 * tap), the tap fd's own rules, and the parent's reset of the tap before
 * each child (a change the first child leaves on the shared description
 * must not reach the second: "inherited-state").  The test runs them
 * under a policy that lets their system calls through
 * (tests/data/escape-policy/escape-net.policy).  "filter" attempts are
 * stopped only by net.policy: each alone under
 * tests/data/escape-policy-kill/escape-net.policy must end in SIGSYS (or
 * EPERM where the policy says "return EPERM").
 *
 * Reports "escape: N attempts, M succeeded" like escape.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "devices/device.h"
#include "devices/net.h"
#include "devices/net_tap.h"
#include "util/log.h"

#include "escape_common.h"

/* The address the test gives the tap in its own namespace. */
#define EN_TARGET	"10.77.0.1"

enum en_layer { EN_JAIL, EN_FILTER };

struct en_state {
	struct net_state	*en_net;
	char			 en_only[ESCAPE_ONLY_LEN];	/* "" when not given */
};

/* The plain data: this header, then net's own. */
struct en_res {
	char	er_only[ESCAPE_ONLY_LEN];
};

struct en_attempt {
	const char	*ea_name;
	enum en_layer	 ea_layer;
	bool		(*ea_fn)(struct en_state *en);
};

static int
en_tap(const struct en_state *en)
{
	return en->en_net->ns_pair[0].np_fd;
}

static bool
try_open_tun(struct en_state *en)
{
	int	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	log_info("escape: open /dev/net/tun: %s", fd >= 0 ? "opened" :
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static bool
try_packet_socket(struct en_state *en)
{
	int	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x0003));

	log_info("escape: packet socket: %s", s >= 0 ? "made" :
	    strerror(errno));
	if (s >= 0)
		close(s);
	return s >= 0;
}

/* Any interface but lo in the child's namespace. */
static bool
try_list_interfaces(struct en_state *en)
{
	struct ifreq	ifr;
	bool		found = false;
	int		s, i;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_info("escape: list interfaces: socket: %s",
		    strerror(errno));
		return false;
	}
	for (i = 1; i < 256; i++) {
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_ifindex = i;
		if (ioctl(s, SIOCGIFNAME, &ifr) == 0 &&
		    strcmp(ifr.ifr_name, "lo") != 0) {
			log_info("escape: interface %d: %s", i, ifr.ifr_name);
			found = true;
		}
	}
	close(s);
	return found;
}

/* The tap itself, by name, from a socket of the child's. */
static bool
try_tap_by_name(struct en_state *en)
{
	struct ifreq	ifr;
	int		s, rc;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(en_tap(en), TUNGETIFF, &ifr) != 0) {
		log_info("escape: TUNGETIFF: %s", strerror(errno));
		return false;
	}
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	rc = ioctl(s, SIOCGIFINDEX, &ifr);
	log_info("escape: tap %s by name: %s", ifr.ifr_name, rc == 0 ?
	    "found" : strerror(errno));
	close(s);
	return rc == 0;
}

/* A datagram to the address the tap has in the test's namespace. */
static bool
try_reach_tap_netns(struct en_state *en)
{
	struct sockaddr_in	sin;
	ssize_t			n;
	int			s;

	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return false;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9999);
	inet_pton(AF_INET, EN_TARGET, &sin.sin_addr);
	n = sendto(s, "escape", 6, 0, (struct sockaddr *)&sin, sizeof(sin));
	log_info("escape: datagram to " EN_TARGET ": %s", n > 0 ? "sent" :
	    strerror(errno));
	close(s);
	return n > 0;
}

/* The tap's namespace as an fd (SIOCGSKNS needs CAP_NET_ADMIN there). */
static bool
try_tap_netns_fd(struct en_state *en)
{
	int	fd = ioctl(en_tap(en), SIOCGSKNS);

	log_info("escape: SIOCGSKNS on the tap: %s", fd >= 0 ? "got it" :
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Attach the queue fd to another tap (or create one). */
static bool
try_tap_setiff(struct en_state *en)
{
	struct ifreq	ifr;
	int		rc;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "escape0");
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	rc = ioctl(en_tap(en), TUNSETIFF, &ifr);
	log_info("escape: TUNSETIFF on the tap: %s", rc == 0 ? "attached" :
	    strerror(errno));
	return rc == 0;
}

/*
 * What the previous child changed on the shared tap description must be
 * undone before this one starts (net_spawn): blocking reads, another
 * vnet header size.  Then change them, for the next child to check.
 */
static bool
try_inherited_state(struct en_state *en)
{
	int	fd = en_tap(en), hdr = 0, fl, ten = 10;
	bool	got = false;

	fl = fcntl(fd, F_GETFL);
	if (ioctl(fd, TUNGETVNETHDRSZ, &hdr) != 0)
		hdr = -1;
	log_info("escape: tap at start: %s, vnet header %d bytes",
	    fl >= 0 && (fl & O_NONBLOCK) ? "non-blocking" : "BLOCKING", hdr);
	if (fl < 0 || !(fl & O_NONBLOCK) || hdr != NET_TAP_HDR_LEN)
		got = true;
	/* Left behind for the next child. */
	(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	(void)ioctl(fd, TUNSETVNETHDRSZ, &ten);
	(void)net_tap_set_offload(fd, NET_TUN_F_CSUM | NET_TUN_F_TSO4);
	return got;
}

/* Filter layer: each must end the child. */
static bool
try_socket_unix(struct en_state *en)
{
	int	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s >= 0)
		close(s);
	return s >= 0;
}

static bool
try_tap_persist(struct en_state *en)
{
	return ioctl(en_tap(en), TUNSETPERSIST, 0) == 0;
}

static bool
try_tap_hdrsz(struct en_state *en)
{
	int	ten = 10;

	return ioctl(en_tap(en), TUNSETVNETHDRSZ, &ten) == 0;
}

static bool
try_tap_steering(struct en_state *en)
{
	int	prog = -1;

	return ioctl(en_tap(en), TUNSETSTEERINGEBPF, &prog) == 0;
}

static bool
try_offload_uso(struct en_state *en)
{
	return net_tap_set_offload(en_tap(en), NET_TUN_F_CSUM |
	    NET_TUN_F_USO4 | NET_TUN_F_USO6) == 0;
}

static bool
try_readv_other_fd(struct en_state *en)
{
	char		buf[16];
	struct iovec	v = { buf, sizeof(buf) };

	return readv(12, &v, 1) >= 0;
}

/* O_ASYNC on the shared description: refused with EPERM. */
static bool
try_set_async(struct en_state *en)
{
	int	fd = en_tap(en), fl = fcntl(fd, F_GETFL);

	(void)fcntl(fd, F_SETFL, fl | O_ASYNC);
	return (fcntl(fd, F_GETFL) & O_ASYNC) != 0;
}

static const struct en_attempt en_attempts[] = {
	{ "inherited-state",	EN_JAIL,	try_inherited_state },
	{ "open-tun",		EN_JAIL,	try_open_tun },
	{ "packet-socket",	EN_JAIL,	try_packet_socket },
	{ "list-interfaces",	EN_JAIL,	try_list_interfaces },
	{ "tap-by-name",	EN_JAIL,	try_tap_by_name },
	{ "reach-tap-netns",	EN_JAIL,	try_reach_tap_netns },
	{ "tap-netns-fd",	EN_JAIL,	try_tap_netns_fd },
	{ "tap-setiff",		EN_JAIL,	try_tap_setiff },
	{ "socket-unix",	EN_FILTER,	try_socket_unix },
	{ "open-tun-filtered",	EN_FILTER,	try_open_tun },
	{ "tap-persist",	EN_FILTER,	try_tap_persist },
	{ "tap-hdrsz",		EN_FILTER,	try_tap_hdrsz },
	{ "tap-steering",	EN_FILTER,	try_tap_steering },
	{ "offload-uso",	EN_FILTER,	try_offload_uso },
	{ "readv-other-fd",	EN_FILTER,	try_readv_other_fd },
	{ "set-async",		EN_FILTER,	try_set_async },
};

enum { EN_K_ATTEMPT = NET_K_COUNT, EN_K_COUNT };

/* Parent: net's resources, with attempt= put first in the plain data. */
static int
en_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	struct en_res		 er;
	const char		*v;
	unsigned int		 j;
	int			 rc;

	memset(&er, 0, sizeof(er));
	if ((v = dev_opt_str(opts, EN_K_ATTEMPT)) != NULL) {
		for (j = 0; j < ARRAY_SIZE(en_attempts); j++)
			if (strcmp(v, en_attempts[j].ea_name) == 0)
				break;
		if (j == ARRAY_SIZE(en_attempts)) {
			snprintf(err, errlen, "attempt=%s: no such attempt",
			    v);
			return -EINVAL;
		}
		snprintf(er.er_only, sizeof(er.er_only), "%s", v);
	}
	/* net's keys come first, under net's indices. */
	rc = net_device_type.dt_open(opts, check_only, res, err, errlen);
	if (rc != 0 || check_only)
		return rc;
	return escape_res_wrap(res, er.er_only, err, errlen);
}

static int
en_init(const struct device_child_res *res, void **statep)
{
	struct device_child_res	 nres = *res;
	struct en_state		*en;
	int			 rc;

	if ((en = calloc(1, sizeof(*en))) == NULL)
		return -ENOMEM;
	if (escape_res_unwrap(res, en->en_only, &nres) != 0) {
		free(en);
		return -EINVAL;
	}
	if ((rc = net_device_type.dt_init(&nres, (void **)&en->en_net)) < 0) {
		free(en);
		return rc;
	}
	*statep = en;
	return 0;
}

static void
en_free(void *state)
{
	struct en_state	*en = state;

	if (en == NULL)
		return;
	net_device_type.dt_free(en->en_net);
	free(en);
}

static uint16_t
en_num_queues(void *state)
{
	return net_device_type.dt_num_queues(((struct en_state *)state)->en_net);
}

/* Child, jailed and filtered: try everything, report. */
static int
en_child_init(void *state)
{
	struct en_state			*en = state;
	const struct en_attempt		*ea;
	unsigned int			 i, n = 0, got = 0;

	for (i = 0; i < ARRAY_SIZE(en_attempts); i++) {
		ea = &en_attempts[i];
		if (escape_selected(en->en_only, ea->ea_name,
		    ea->ea_layer == EN_JAIL))
			escape_tried(ea->ea_name, ea->ea_fn(en), &n, &got);
	}
	return escape_report(n, got);
}

static void
en_queue(struct vu_dev *dev, unsigned int qidx)
{
}

/* Never serves: the attempts end the child before any connection. */
static const struct vu_dev_ops en_ops = {
	.queue_handler = en_queue,
};

/* net's keys (by index), then attempt=. */
static struct dev_key en_keys[EN_K_COUNT];

static int
net_spawn_of_type(struct device_res *res)
{
	return net_device_type.dt_spawn(res);
}

static void
net_close_of_type(struct device_res *res)
{
	net_device_type.dt_close(res);
}

/* The table: net's rows copied at start-up (they are net.c's own). */
__attribute__((constructor)) static void
en_keys_init(void)
{
	memcpy(en_keys, net_device_type.dt_keys,
	    sizeof(en_keys[0]) * NET_K_COUNT);
	en_keys[EN_K_ATTEMPT].dk_name = "attempt";
	en_keys[EN_K_ATTEMPT].dk_kind = DK_STRING;
	en_keys[EN_K_ATTEMPT].dk_help = "test only: run only this attempt";
}

const struct device_type escape_net_device_type = {
	.dt_name = "escape-net",
	.dt_caps_type = "escape",
	.dt_description = "test only: a hijacked network device trying to "
	    "escape",
	.dt_keys = en_keys,
	.dt_nkeys = EN_K_COUNT,
	.dt_ops = &en_ops,
	.dt_open = en_open,
	/* net's: they see only the fds and net's dr_parent. */
	.dt_spawn = net_spawn_of_type,
	.dt_close = net_close_of_type,
	.dt_init = en_init,
	.dt_start = en_child_init,
	.dt_num_queues = en_num_queues,
	.dt_free = en_free,
};
