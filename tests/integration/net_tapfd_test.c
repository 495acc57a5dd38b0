/*
 * net_tapfd_test.c - tap-fd=N names a descriptor of vhostd's own table.
 * Meant for taps a manager passed in at exec (libvirt's way), it used to
 * take any number that was a tap: also one vhostd had opened itself for
 * another device, so a configuration naming it (a typo, a stale number
 * in a reloaded file) gave the second device's guest the first guest's
 * tap, every frame of it.  Now only descriptors vhostd was started with
 * are adopted; the reload is refused and names the key.
 *
 * Runs in a network namespace of its own, with a tap it creates there
 * (Criterion runs each test in its own process).
 */
#include <dirent.h>
#include <sched.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <linux/if_tun.h>

#include "itest.h"

TestSuite(net_tapfd, .init = it_setup, .fini = it_teardown, .timeout = 120);

static const char *
write_conf(const char *name, const char *text)
{
	const char	*path = it_path(name);
	FILE		*f;

	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* A descriptor of pid's whose /proc link reads target, or -1. */
static int
fd_linked_to(pid_t pid, const char *target)
{
	char		 dir[64], link[320], got[256];
	struct dirent	*e;
	DIR		*d;
	ssize_t		 n;
	int		 fd = -1;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	cr_assert_not_null(d = opendir(dir));
	while (fd < 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, got, sizeof(got) - 1);
		if (n <= 0)
			continue;
		got[n] = '\0';
		if (strcmp(got, target) == 0)
			fd = atoi(e->d_name);
	}
	closedir(d);
	return fd;
}

/* A descriptor of pid's that is a tap (/dev/net/tun), or -1. */
static int
tun_fd_of(pid_t pid)
{
	return fd_linked_to(pid, "/dev/net/tun");
}

Test(net_tapfd, a_tap_vhostd_opened_for_another_device_is_not_adopted)
{
	char		 tap[IFNAMSIZ], sa[256], sb[256];
	const char	*conf;
	long		 at;
	int		 fd;

	it_own_netns();
	snprintf(tap, sizeof(tap), "vtf%d", (int)getpid() % 100000);
	snprintf(sa, sizeof(sa), "%s", it_path("a.sock"));
	snprintf(sb, sizeof(sb), "%s", it_path("b.sock"));
	conf = write_conf("v.conf", it_fmt("[a]\ntype = net\nsocket = %s\n"
	    "tap = %s\ntap-create = on\n", sa, tap));
	it_start(&it_vp, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	fd = tun_fd_of(it_vp.vp_pid);
	cr_assert_geq(fd, 3, "vhostd holds no tap fd:\n%s", it_vp.vp_log);

	/* b names a's tap by its number in vhostd. */
	write_conf("v.conf", it_fmt("[a]\ntype = net\nsocket = %s\n"
	    "tap = %s\ntap-create = on\n\n[b]\ntype = net\nsocket = %s\n"
	    "tap-fd = %d\n", sa, tap, sb, fd));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	at = vproc_wait_log(&it_vp, "tap-fd", 0, VPROC_TIMEOUT_MS);
	cr_assert_geq(at, 0, "b was given a's tap (fd %d):\n%s", fd,
	    it_vp.vp_log);
	cr_assert_not_null(strstr(it_vp.vp_log, "not a descriptor vhostd was "
	    "started with"), "%s", it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "b", 0, 0), -1, "b runs:\n%s",
	    it_vp.vp_log);
	cr_assert(!it_exists(sb), "b's socket was made:\n%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/* pid's descriptor for the unix socket bound at .../name, or -1. */
static int
listener_fd_of(pid_t pid, const char *name)
{
	char		 line[512], want[64];
	unsigned long	 ino = 0;
	size_t		 nl = strlen(name), ll;
	FILE		*f;

	cr_assert_not_null(f = fopen("/proc/net/unix", "r"));
	while (ino == 0 && fgets(line, sizeof(line), f) != NULL) {
		ll = strcspn(line, "\n");
		line[ll] = '\0';
		if (ll > nl && strcmp(line + ll - nl, name) == 0 &&
		    line[ll - nl - 1] == ' ' &&
		    sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &ino) != 1)
			ino = 0;
	}
	fclose(f);
	if (ino == 0)
		return -1;
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	return fd_linked_to(pid, want);
}

/*
 * The same for fd=N: vhostd's listener of device a named as b's.  Before,
 * b's children accepted on a's socket, so a's front end (a VM expecting
 * a's device) could be served by b.
 */
Test(net_tapfd, a_listener_vhostd_made_for_another_device_is_not_adopted)
{
	char		 sa[256];
	const char	*conf;
	int		 fd;

	snprintf(sa, sizeof(sa), "%s", it_path("alpha.sock"));
	conf = write_conf("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n",
	    sa));
	it_start(&it_vp, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	fd = listener_fd_of(it_vp.vp_pid, "alpha.sock");
	cr_assert_geq(fd, 3, "vhostd holds no listener for a");

	write_conf("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n\n[b]\n"
	    "type = rng\nfd = %d\n", sa, fd));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "not a descriptor vhostd was "
	    "started with", 0, VPROC_TIMEOUT_MS), 0, "b was given a's "
	    "listener (fd %d):\n%s", fd, it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "b", 0, 0), -1, "b runs:\n%s",
	    it_vp.vp_log);
	it_assert_entropy(sa);
	it_stop(&it_vp);
}

/*
 * A socket-activated fd is one vhostd was started with, and stayed
 * adoptable by fd=N after a device had taken it by its name: b (fd=3)
 * accepted on a's activated socket, so a's front end could be served by
 * b's device.
 */
Test(net_tapfd, an_activated_fd_another_device_took_is_not_adopted)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	const char		*conf, *sa = it_path("a.sock");
	char			*envv[3];
	int			 fds[1];

	fds[0] = it_unix_socket(sa, true);
	envv[0] = (char *)"LISTEN_FDS=1";
	envv[1] = (char *)"LISTEN_FDNAMES=a";
	envv[2] = NULL;
	o.o_fds = fds;
	o.o_nfds = 1;
	o.o_env = envv;
	o.o_listen_pid = true;
	conf = write_conf("v.conf", "[a]\ntype = rng\n");
	it_start_opts(&it_vp, true, &o, "-c", conf, NULL);
	close(fds[0]);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);

	write_conf("v.conf", "[a]\ntype = rng\n\n[b]\ntype = rng\nfd = 3\n");
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "fd 3: the listener of another "
	    "device", 0, VPROC_TIMEOUT_MS), 0, "b was given a's activated "
	    "socket:\n%s", it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "b", 0, 0), -1, "b runs:\n%s",
	    it_vp.vp_log);
	it_assert_entropy(sa);
	it_stop(&it_vp);
}

/* Is pid's descriptor fd a tap (/dev/net/tun)? */
static bool
is_tun_fd(pid_t pid, int fd)
{
	char	link[64], target[64];
	ssize_t	n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)pid, fd);
	if ((n = readlink(link, target, sizeof(target) - 1)) <= 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "/dev/net/tun") == 0;
}

/*
 * The record is of a number and a file, and every /dev/net/tun fd is the
 * same file (one inode).  An inherited tap at fd 3 that vhostd closed (a
 * device naming it as fd=3 is refused, and the refused fd is closed) left
 * 3 recorded; the tap vhostd opened next for device n got number 3, and
 * tap-fd=3 in a later reload gave device m n's tap.  A closed number is
 * no longer one vhostd was started with.
 */
Test(net_tapfd, a_closed_inherited_number_reused_for_a_tap_is_not_adopted)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			 t1[IFNAMSIZ], t2[IFNAMSIZ], sa[256], sn[256];
	char			 sm[256];
	struct ifreq		 ifr;
	const char		*conf;
	int			 fds[2], fd;

	it_own_netns();
	snprintf(t1, sizeof(t1), "vtg%d", (int)getpid() % 100000);
	snprintf(t2, sizeof(t2), "vth%d", (int)getpid() % 100000);
	snprintf(sa, sizeof(sa), "%s", it_path("a.sock"));
	snprintf(sn, sizeof(sn), "%s", it_path("n.sock"));
	snprintf(sm, sizeof(sm), "%s", it_path("m.sock"));
	cr_assert_geq(fds[0] = open("/dev/net/tun", O_RDWR | O_CLOEXEC), 0);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t1);
	cr_assert_eq(ioctl(fds[0], TUNSETIFF, &ifr), 0, "%s",
	    strerror(errno));
	/* n's listener, so that no socket of vhostd's takes number 3. */
	fds[1] = it_unix_socket(sn, true);
	o.o_fds = fds;
	o.o_nfds = 2;
	conf = write_conf("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n",
	    sa));
	it_start_opts(&it_vp, true, &o, "-c", conf, NULL);
	close(fds[0]);
	close(fds[1]);
	cr_assert(is_tun_fd(it_vp.vp_pid, 3), "vhostd has no tap at 3:\n%s",
	    it_vp.vp_log);

	/* fd=3 is the tap, not a socket: refused, and 3 closed. */
	write_conf("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n\n[c]\n"
	    "type = rng\nfd = 3\n", sa));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "fd 3: not a socket", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);

	/* n's tap, opened by vhostd. */
	write_conf("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n\n[n]\n"
	    "type = net\nfd = 4\ntap = %s\ntap-create = on\n", sa, t2));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "n", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	fd = is_tun_fd(it_vp.vp_pid, 3) ? 3 : tun_fd_of(it_vp.vp_pid);
	cr_assert_geq(fd, 3, "vhostd holds no tap for n:\n%s", it_vp.vp_log);

	write_conf("v.conf", it_fmt("[a]\ntype = rng\nsocket = %s\n\n[n]\n"
	    "type = net\nfd = 4\ntap = %s\ntap-create = on\n\n[m]\n"
	    "type = net\nsocket = %s\ntap-fd = %d\n", sa, t2, sm, fd));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "not a descriptor vhostd was "
	    "started with", 0, VPROC_TIMEOUT_MS), 0, "m was given n's tap "
	    "(fd %d):\n%s", fd, it_vp.vp_log);
	cr_assert_eq(vproc_child_pid(&it_vp, "m", 0, 0), -1, "m runs:\n%s",
	    it_vp.vp_log);
	it_stop(&it_vp);
}
