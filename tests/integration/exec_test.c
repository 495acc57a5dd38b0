/*
 * exec_test.c - device children are exec'd, not only cloned (issue 9.4):
 * the parent and each child have their own load address (so their own
 * stack canary and heap layout), and a child holds exactly what it keeps,
 * renumbered to 3..n (listener, then the device's descriptors), plus what
 * it creates itself after the jail.
 */
#include <dirent.h>
#include <limits.h>

#include "itest.h"

TestSuite(exec, .init = it_setup, .fini = it_teardown, .timeout = 60);

/* Start address of the first mapping of the vhostd binary in pid. */
static unsigned long
exe_base(pid_t pid, const char *exe)
{
	char		 path[64], line[PATH_MAX + 128];
	unsigned long	 start = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	cr_assert_not_null(f = fopen(path, "r"), "%s: %s", path,
	    strerror(errno));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, exe) != NULL) {
			start = strtoul(line, NULL, 16);
			break;
		}
	fclose(f);
	cr_assert_neq(start, 0, "no mapping of %s in %s", exe, path);
	return start;
}

/* What fd n of pid names ("socket:[..]", a path, ...), "" if none. */
static const char *
fd_target(pid_t pid, int n)
{
	static char	buf[PATH_MAX];
	char		path[64];
	ssize_t		len;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, n);
	if ((len = readlink(path, buf, sizeof(buf) - 1)) < 0)
		return "";
	buf[len] = '\0';
	return buf;
}

/* Highest fd of pid; every number up to it must be open. */
static int
fd_max(pid_t pid)
{
	struct dirent	*de;
	char		 path[64];
	DIR		*d;
	int		 max = -1, n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	cr_assert_not_null(d = opendir(path), "%s", path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		if (atoi(de->d_name) > max)
			max = atoi(de->d_name);
	}
	closedir(d);
	cr_assert_eq(n, max + 1, "fds of %d are not contiguous (%d open, "
	    "highest %d)", (int)pid, n, max);
	return max;
}

/* Until the child made its signalfd: jailed, filtered, in its loop. */
static void
wait_serving(pid_t pid)
{
	int	i, n;

	for (i = 0; i < 500; i++) {
		for (n = 3; n < 32; n++)
			if (strstr(fd_target(pid, n), "signalfd") != NULL)
				return;
		usleep(10000);
	}
	cr_assert_fail("child %d never reached its loop", (int)pid);
}

/*
 * Descriptors 0..2 are null, null and the log pipe, 3 the
 * listener, then nkeep - 1 device files; everything above is what the
 * child made itself (anonymous inodes, libevent's pipe), never a socket,
 * a file or a memfd of the parent's.
 */
static void
assert_fds(pid_t pid, const char *const *keep, unsigned int nkeep)
{
	const char	*t;
	unsigned int	 i;
	int		 n, max;

	max = fd_max(pid);
	/* /dev/null, as the jail's own root names it ("/null"). */
	cr_assert_not_null(strstr(fd_target(pid, 0), "null"), "%s",
	    fd_target(pid, 0));
	cr_assert_not_null(strstr(fd_target(pid, 1), "null"), "%s",
	    fd_target(pid, 1));
	cr_assert_eq(strncmp(fd_target(pid, 2), "pipe:", 5), 0);
	for (i = 0; i < nkeep; i++) {
		t = fd_target(pid, 3 + (int)i);
		cr_assert_eq(strncmp(t, keep[i], strlen(keep[i])), 0,
		    "child %d fd %u is %s, expected %s", (int)pid, 3 + i, t,
		    keep[i]);
	}
	for (n = 3 + (int)nkeep; n <= max; n++) {
		t = fd_target(pid, n);
		cr_assert(strncmp(t, "anon_inode:", 11) == 0 ||
		    strncmp(t, "pipe:", 5) == 0,
		    "child %d fd %d is %s, not one it made itself", (int)pid,
		    n, t);
	}
}

Test(exec, children_have_own_load_address_and_only_their_fds)
{
	const char *const	 rng_keep[] = { "socket:" };
	const char		*keep_blk[2];
	char			 exe[PATH_MAX], img[256];
	unsigned long		 bp, ba, bb;
	pid_t			 a, b;
	FILE			*f;
	int			 aslr = 2, fd;

	if ((f = fopen("/proc/sys/kernel/randomize_va_space", "r")) != NULL) {
		if (fscanf(f, "%d", &aslr) != 1)
			aslr = 2;
		fclose(f);
	}
	if (aslr == 0)
		cr_skip_test("address space randomisation is off on this host");
	cr_assert_not_null(realpath(it_env("VHOSTD"), exe));
	snprintf(img, sizeof(img), "%s/disk.img", it_dir);
	cr_assert_geq(fd = open(img, O_CREAT | O_RDWR | O_CLOEXEC, 0600), 0);
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	close(fd);
	keep_blk[0] = "socket:";
	keep_blk[1] = img;
	it_start(&it_vp, "--device", it_fmt("rng,name=a,socket=%s",
	    it_path("a.sock")), "--device", it_fmt("blk,name=b,socket=%s,"
	    "path=%s", it_path("b.sock"), img), NULL);
	a = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	b = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(a > 0 && b > 0, "%s", it_vp.vp_log);
	wait_serving(a);
	wait_serving(b);
	bp = exe_base(it_vp.vp_pid, exe);
	ba = exe_base(a, exe);
	bb = exe_base(b, exe);
	fprintf(stderr, "exec: load addresses parent %#lx, a %#lx, b %#lx\n",
	    bp, ba, bb);
	cr_assert(bp != ba && bp != bb && ba != bb,
	    "same load address: parent %#lx, a %#lx, b %#lx", bp, ba, bb);
	assert_fds(a, rng_keep, 1);
	assert_fds(b, keep_blk, 2);
	/* They serve as before. */
	it_assert_entropy(it_path("a.sock"));
	it_stop(&it_vp);
}

/*
 * The compiled filter crosses the exec with its mode: in LOG mode the
 * exec'd child names the forbidden system call (its name table is built
 * again from the program the parent compiled).
 */
Test(exec, log_mode_filter_crosses_the_exec)
{
	const char	*pol = it_path("pol");
	char		 cmd[1024];
	uint8_t		 buf[16];
	char		 err[256];
	int		 st;

	cr_assert_eq(mkdir(pol, 0755), 0);
	/* rng's policy without getrandom, the call rng makes per request. */
	snprintf(cmd, sizeof(cmd), "cp '%s/common.policy' '%s/' && "
	    "grep -v '^getrandom' '%s/rng.policy' > '%s/rng.policy'",
	    it_env("VHOSTD_POLICYDIR"), pol, it_env("VHOSTD_POLICYDIR"), pol);
	cr_assert_eq(system(cmd), 0);
	it_start(&it_vp, "--policy-dir", pol, "--seccomp=log", "--device",
	    it_fmt("rng,socket=%s,restart=never", it_path("rng.sock")), NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS), 0);
	(void)it_entropy(it_path("rng.sock"), buf, sizeof(buf), err,
	    sizeof(err));
	cr_assert_geq(vproc_wait_log(&it_vp, "forbidden syscall getrandom(",
	    0, VPROC_TIMEOUT_MS), 0, "stderr:\n%s", it_vp.vp_log);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
}
