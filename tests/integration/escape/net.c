/* escape_test: the network device (tests/devices/escape_net.c). */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/if_tun.h>

#include "../itest.h"
#include "escape_harness.h"

#define NET_TARGET	"10.77.0.1"	/* the tap's address, our namespace */

static char	net_tap[IFNAMSIZ];
static int	net_udp = -1;	/* bound to NET_TARGET: must stay silent */

static void
ifreq_addr(struct ifreq *ifr, const char *a)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	inet_pton(AF_INET, a, &sin.sin_addr);
	memcpy(&ifr->ifr_addr, &sin, sizeof(sin));
}

/*
 * This test process into a network namespace of its own, with a
 * persistent tap there that has NET_TARGET/24 and is up, and a datagram
 * socket on NET_TARGET.
 */
static void
net_prepare(void)
{
	struct sockaddr_in	sin;
	struct ifreq		ifr;
	int			fd, s;

	it_own_netns();
	snprintf(net_tap, sizeof(net_tap), "vhe%d", (int)getpid() % 100000);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", net_tap);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "%s", strerror(errno));
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(s, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", net_tap);
	ifreq_addr(&ifr, NET_TARGET);
	cr_assert_eq(ioctl(s, SIOCSIFADDR, &ifr), 0, "%s", strerror(errno));
	ifreq_addr(&ifr, "255.255.255.0");
	cr_assert_eq(ioctl(s, SIOCSIFNETMASK, &ifr), 0);
	cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	net_udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	cr_assert_geq(net_udp, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(9999);
	inet_pton(AF_INET, NET_TARGET, &sin.sin_addr);
	cr_assert_eq(bind(net_udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

static void
net_nothing_arrived(void)
{
	char	buf[64];

	cr_assert_eq(recv(net_udp, buf, sizeof(buf), 0), -1,
	    "a datagram reached " NET_TARGET " from the jailed child");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_neq(if_nametoindex(net_tap), 0, "the tap is still there");
}

/*
 * The kernel alone: nothing of the host's network from the child's
 * namespace, no /dev/net/tun, no packet socket, no SIOCGSKNS, no other
 * tap for its fd; and what the first child changes on the shared tap
 * (blocking reads, vnet header size, offloads) does not reach the second.
 */
Test(escape, net_jail_alone_holds)
{
	char		 policydir[4096], sock[256], spec[1024];
	struct run	*r;

	net_prepare();
	layer_policydir(policydir, sizeof(policydir), "escape-policy");
	snprintf(sock, sizeof(sock), "%s/escape-net.sock", tmpdir);
	snprintf(spec, sizeof(spec), "escape-net,socket=%s,tap=%s,"
	    "restart=always", sock, net_tap);
	r = run_device(env("VHOSTD_TEST"), policydir, spec, 2);
	jail_reports(r, 8);
	net_nothing_arrived();
	free(r);
}

/* One filter-layer attempt of the network device under net.policy. */
static void
one_net_attempt(const char *name, bool need_sigsys)
{
	char		 sock[256], spec[1024];
	struct run	*r;

	snprintf(sock, sizeof(sock), "%s/escape-net-%s.sock", tmpdir, name);
	snprintf(spec, sizeof(spec), "escape-net,socket=%s,tap=%s,"
	    "restart=never,attempt=%s", sock, net_tap, name);
	r = filter_attempt(name, spec);
	killed_or_refused(r, name, need_sigsys);
	free(r);
}

/*
 * net.policy: no socket, no open, no tap ioctl but TUNSETOFFLOAD on the
 * first queue with vhostd's offloads and TUNSETQUEUE (no persist, no
 * header size, no eBPF steering, no USO), no readv past the tap queues,
 * no O_ASYNC (EPERM).
 */
Test(escape, net_filter_holds)
{
	static const char *const kill[] = {
		"socket-unix", "open-tun-filtered", "tap-persist", "tap-hdrsz", "tap-steering", "offload-uso",
		"readv-other-fd",
	};
	unsigned int	i;

	net_prepare();
	for (i = 0; i < sizeof(kill) / sizeof(kill[0]); i++)
		one_net_attempt(kill[i], true);
	one_net_attempt("set-async", false);
	net_nothing_arrived();
}
