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

/* A descriptor of pid's that is a tap (/dev/net/tun), or -1. */
static int
tun_fd_of(pid_t pid)
{
	char		 dir[64], link[320], target[256];
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
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "/dev/net/tun") == 0)
			fd = atoi(e->d_name);
	}
	closedir(d);
	return fd;
}

Test(net_tapfd, a_tap_vhostd_opened_for_another_device_is_not_adopted)
{
	char		 tap[IFNAMSIZ], sa[256], sb[256];
	const char	*conf;
	long		 at;
	int		 fd;

	if (geteuid() != 0)
		cr_skip_test("needs root for a network namespace and a tap");
	if (access("/dev/net/tun", R_OK | W_OK) == -1)
		cr_skip_test("/dev/net/tun: %s", strerror(errno));
	if (unshare(CLONE_NEWNET) == -1)
		cr_skip_test("unshare(CLONE_NEWNET): %s", strerror(errno));
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
	char		 line[512], dir[64], link[320], target[64], want[64];
	unsigned long	 ino = 0;
	struct dirent	*e;
	size_t		 nl = strlen(name), ll;
	FILE		*f;
	DIR		*d;
	ssize_t		 n;
	int		 fd = -1;

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
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	cr_assert_not_null(d = opendir(dir));
	while (fd < 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want) == 0)
			fd = atoi(e->d_name);
	}
	closedir(d);
	return fd;
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
