/*
 * net_share_test.c - two net devices on one tap.  Their guests would see
 * each other's frames (the kernel spreads what comes to the tap over its
 * queues), and each would send as the other.  Blk refuses two devices on
 * one image; net claimed nothing, so two devices given one tap started:
 * two tap-fd= descriptors of one multi_queue tap, one descriptor given to
 * both, or tap=NAME twice on a multi_queue tap (a second TUNSETIFF just
 * attaches another queue).  Now the tap's interface (its network
 * namespace and name) is claimed whichever way it is given, and a second
 * device is refused at start, by -n and by a reload, naming both devices
 * and the interface; a device replaced by a reload keeps its tap.
 *
 * Runs in a network namespace of its own, with taps it creates there
 * (Criterion runs each test in its own process).
 */
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <linux/if_tun.h>

#include "itest.h"

TestSuite(net_share, .init = it_setup, .fini = it_teardown, .timeout = 120);

/*
 * A queue of the tap name (created persistent if missing), opened as a
 * VM manager opens it.
 */
static int
tap_queue(const char *name, bool multi)
{
	struct ifreq	ifr;
	int		fd;

	cr_assert_geq(fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
	    (multi ? IFF_MULTI_QUEUE : 0);
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF %s: %s", name,
	    strerror(errno));
	cr_assert_eq(ioctl(fd, TUNSETPERSIST, 1), 0);
	return fd;
}

/* A persistent tap, no fd of it left open. */
static void
make_tap(const char *name, bool multi)
{
	close(tap_queue(name, multi));
}

/*
 * vhostd (with -n, or a start) with fds as 3, 4, ... and two devices
 * must exit 1 naming want.
 */
static void
refused_once(bool check, const int *fds, unsigned int nfds, const char *want,
    const char *dev1, const char *dev2)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	int			 st = 0;

	o.o_fds = fds;
	o.o_nfds = nfds;
	if (check)
		it_start_opts(&it_vp, false, &o, "-n", "--device", dev1,
		    "--device", dev2, NULL);
	else
		it_start_opts(&it_vp, false, &o, "--device", dev1, "--device",
		    dev2, NULL);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "%s: both devices run on one tap:\n%s", check ? "-n" : "start",
	    it_vp.vp_log);
	cr_assert_eq(it_code(st), 1, "%s: exit %d:\n%s", check ? "-n" :
	    "start", it_code(st), it_vp.vp_log);
	cr_assert_not_null(strstr(it_vp.vp_log, want), "%s: no '%s' in:\n%s",
	    check ? "-n" : "start", want, it_vp.vp_log);
	cr_assert_not_null(strstr(it_vp.vp_log, "give each device its own "
	    "tap"), "no hint:\n%s", it_vp.vp_log);
	vproc_cleanup(&it_vp);
	memset(&it_vp, 0, sizeof(it_vp));
	it_vp.vp_err = it_vp.vp_pidfd = -1;
}

static void
refused(const int *fds, unsigned int nfds, const char *want,
    const char *dev1, const char *dev2)
{
	refused_once(true, fds, nfds, want, dev1, dev2);
	refused_once(false, fds, nfds, want, dev1, dev2);
}

Test(net_share, two_devices_on_one_tap_through_tap_fds_are_refused)
{
	char		 tap[IFNAMSIZ];
	const char	*a, *b, *want;
	int		 fds[2];

	it_own_netns();
	snprintf(tap, sizeof(tap), "vsq%d", (int)getpid() % 100000);
	/* Two queues of one tap: the kernel takes both. */
	fds[0] = tap_queue(tap, true);
	fds[1] = tap_queue(tap, true);
	a = it_fmt("net,name=a,socket=%s,tap-fd=3", it_path("a.sock"));
	b = it_fmt("net,name=b,socket=%s,tap-fd=4", it_path("b.sock"));
	want = it_fmt("[b] tap-fd: 4 (interface %s) is used by device a", tap);
	refused(fds, 2, want, a, b);
	/* One descriptor given to both. */
	b = it_fmt("net,name=b,socket=%s,tap-fd=3", it_path("b.sock"));
	want = it_fmt("[b] tap-fd: 3 (interface %s) is used by device a", tap);
	refused(fds, 1, want, a, b);
	cr_assert(!it_exists(it_path("b.sock")), "b's socket was left");
	/* By name and passed in: one interface. */
	a = it_fmt("net,name=a,socket=%s,tap=%s", it_path("a.sock"), tap);
	refused(fds, 1, want, a, b);
	close(fds[0]);
	close(fds[1]);
}

Test(net_share, two_devices_on_one_tap_by_name_are_refused)
{
	char		 mq[IFNAMSIZ], sq[IFNAMSIZ];
	const char	*a, *b, *want;

	it_own_netns();
	snprintf(mq, sizeof(mq), "vsm%d", (int)getpid() % 100000);
	snprintf(sq, sizeof(sq), "vss%d", (int)getpid() % 100000);
	/* multi_queue: the second TUNSETIFF attaches a queue, silently. */
	make_tap(mq, true);
	a = it_fmt("net,name=a,socket=%s,tap=%s", it_path("a.sock"), mq);
	b = it_fmt("net,name=b,socket=%s,tap=%s", it_path("b.sock"), mq);
	want = it_fmt("[b] tap: interface %s is used by device a", mq);
	refused(NULL, 0, want, a, b);
	/*
	 * Single-queue: the kernel refuses the second reader (EBUSY), and
	 * the message names the device that holds it.
	 */
	make_tap(sq, false);
	a = it_fmt("net,name=a,socket=%s,tap=%s", it_path("a.sock"), sq);
	b = it_fmt("net,name=b,socket=%s,tap=%s", it_path("b.sock"), sq);
	want = it_fmt("[b] tap: interface %s is used by device a", sq);
	refused(NULL, 0, want, a, b);
	/* Distinct taps are fine. */
	b = it_fmt("net,name=b,socket=%s,tap=%s", it_path("b.sock"), mq);
	it_start(&it_vp, "--device", a, "--device", b, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

static const char *
write_conf(const char *text)
{
	const char	*path = it_path("v.conf");
	FILE		*f;

	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/*
 * A reload: the same configuration keeps the running devices (their
 * children); a device added on a running device's tap is refused and
 * the running one goes on; a device changed on its own tap (by tap-fd
 * and by name) is replaced, not refused as conflicting with itself.
 */
Test(net_share, a_reload_keeps_each_device_on_its_tap)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			 t1[IFNAMSIZ], t2[IFNAMSIZ], sa[256], sc[256];
	char			 sb[256];
	const char		*conf, *base;
	pid_t			 pa, pc;
	long			 at;
	int			 fd;

	it_own_netns();
	snprintf(t1, sizeof(t1), "vsr%d", (int)getpid() % 100000);
	snprintf(t2, sizeof(t2), "vst%d", (int)getpid() % 100000);
	snprintf(sa, sizeof(sa), "%s", it_path("a.sock"));
	snprintf(sb, sizeof(sb), "%s", it_path("b.sock"));
	snprintf(sc, sizeof(sc), "%s", it_path("c.sock"));
	fd = tap_queue(t1, true);
	make_tap(t2, false);
	base = it_fmt("[a]\ntype = net\nsocket = %s\ntap-fd = 3\n\n[c]\n"
	    "type = net\nsocket = %s\ntap = %s\n", sa, sc, t2);
	conf = write_conf(base);
	o.o_fds = &fd;
	o.o_nfds = 1;
	it_start_opts(&it_vp, true, &o, "-c", conf, NULL);
	close(fd);
	cr_assert_gt(pa = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS),
	    0, "%s", it_vp.vp_log);
	cr_assert_gt(pc = vproc_child_pid(&it_vp, "c", 0, VPROC_TIMEOUT_MS),
	    0, "%s", it_vp.vp_log);

	/* The same configuration: nothing moves. */
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	at = vproc_wait_log(&it_vp, "reload: 0 device(s) added, removed or "
	    "changed", 0, VPROC_TIMEOUT_MS);
	cr_assert_geq(at, 0, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "a", 1, 0), -1, "a restarted:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "c", 1, 0), -1, "c restarted:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(kill(pa, 0), 0, "a's child %d is gone", (int)pa);
	cr_assert_eq(kill(pc, 0), 0, "c's child %d is gone", (int)pc);

	/* b on a's tap, by name: refused; a and c go on. */
	write_conf(it_fmt("%s\n[b]\ntype = net\nsocket = %s\ntap = %s\n",
	    base, sb, t1));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	at = vproc_wait_log(&it_vp, "not added", (size_t)at,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(at, 0, "b was added on a's tap:\n%s", it_vp.vp_log);
	cr_assert_not_null(strstr(it_vp.vp_log, it_fmt("[b] tap: interface "
	    "%s is used by device a", t1)), "%s", it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "b", 0, 0), -1, "b runs:\n%s",
	    it_vp.vp_log);
	cr_assert(!it_exists(sb), "b's socket was made");
	cr_assert_eq(kill(pa, 0), 0, "a's child %d is gone", (int)pa);

	/* a and c changed (their MAC), each on its own tap: replaced. */
	write_conf(it_fmt("[a]\ntype = net\nsocket = %s\ntap-fd = 3\n"
	    "mac = 52:54:00:00:00:0a\n\n[c]\ntype = net\nsocket = %s\n"
	    "tap = %s\nmac = 52:54:00:00:00:0c\n", sa, sc, t2));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 1, VPROC_TIMEOUT_MS), 0,
	    "a was not replaced:\n%s", it_vp.vp_log);
	cr_assert_gt(vproc_child_pid(&it_vp, "c", 1, VPROC_TIMEOUT_MS), 0,
	    "c was not replaced:\n%s", it_vp.vp_log);
	cr_assert_null(strstr(it_vp.vp_log, "[a] tap-fd: 3 (interface"),
	    "a conflicts with itself:\n%s", it_vp.vp_log);
	cr_assert_null(strstr(it_vp.vp_log, "[c] tap: interface"),
	    "c conflicts with itself:\n%s", it_vp.vp_log);
	it_stop(&it_vp);
}
