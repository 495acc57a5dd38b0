/*
 * scale_test.c - a host with many devices (issue 10.5): 256 rng devices
 * in one vhostd start, become ready, are all served, and stop with every
 * socket removed and every child gone.  The device table has no fixed
 * size (it used to stop at 64), and nothing per device is so costly that
 * start-up or shutdown crawls.  make bench runs the same with 1000.
 */
#include <dirent.h>
#include <time.h>

#include "itest.h"

#define SCALE_N		256

TestSuite(scale, .init = it_setup, .fini = it_teardown, .timeout = 120);

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Entries of directory path whose name ends in suffix. */
static unsigned int
count_entries(const char *path, const char *suffix)
{
	struct dirent	*de;
	DIR		*d;
	unsigned int	 n = 0;
	size_t		 l, sl = strlen(suffix);

	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (de->d_name[0] != '.' && l >= sl &&
		    strcmp(de->d_name + l - sl, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

Test(scale, many_devices_start_serve_and_stop)
{
	static char		*argv[2 * SCALE_N + 8];
	static char		 specs[SCALE_N][128];
	static pid_t		 pids[SCALE_N];
	struct vproc_opts	 opts = { .o_stdout = -1 };
	char			 line[64], fdpath[64], name[32];
	double			 t0, t_ready, t_all, deadline;
	unsigned int		 i, n = 0, started;
	int			 rp[2], st;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"--policy-dir";
	argv[n++] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[n++] = (char *)"--ready-fd=3";
	for (i = 0; i < SCALE_N; i++) {
		snprintf(specs[i], sizeof(specs[i]),
		    "rng,name=r%u,socket=%s/r%u.sock", i, it_dir, i);
		argv[n++] = (char *)"--device";
		argv[n++] = specs[i];
	}
	argv[n] = NULL;
	cr_assert_eq(pipe2(rp, O_CLOEXEC), 0);
	opts.o_fds = &rp[1];
	opts.o_nfds = 1;
	t0 = now_s();
	cr_assert_eq(vproc_start(&it_vp, argv, &opts), 0);
	close(rp[1]);
	if (vproc_read_line(rp[0], line, sizeof(line), 30000) <= 0)
		cr_assert_fail("vhostd with %d devices did not become ready; "
		    "stderr:\n%.2000s", SCALE_N, it_vp.vp_log);
	t_ready = now_s() - t0;
	close(rp[0]);
	fprintf(stderr, "scale: %d devices ready after %.3f s\n", SCALE_N,
	    t_ready);
	/* Generous: the bound is 1 s for 1000 on an idle host. */
	cr_assert_lt(t_ready, 5.0, "ready after %.3f s", t_ready);
	/* Every socket accepts from readiness on. */
	cr_assert_eq(count_entries(it_dir, ".sock"), SCALE_N);
	/* Every child starts: "NAME: started child PID" for each. */
	deadline = now_s() + 60;
	for (i = 0; i < SCALE_N; i++) {
		snprintf(name, sizeof(name), "r%u", i);
		pids[i] = vproc_child_pid(&it_vp, name, 0,
		    (int)((deadline - now_s()) * 1000) + 1);
		cr_assert_gt(pids[i], 0, "device %s never started a child",
		    name);
	}
	t_all = now_s() - t0;
	started = vproc_count(&it_vp, ": started child ");
	fprintf(stderr, "scale: %u children started after %.3f s\n",
	    started, t_all);
	cr_assert_eq(started, SCALE_N);
	/* Served: the first, one in the middle, the last. */
	it_assert_entropy(it_path("r0.sock"));
	it_assert_entropy(it_path(it_fmt("r%u.sock", SCALE_N / 2)));
	it_assert_entropy(it_path(it_fmt("r%u.sock", SCALE_N - 1)));
	/* A few descriptors per device in the parent, not more. */
	snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd", (int)it_vp.vp_pid);
	n = count_entries(fdpath, "");
	fprintf(stderr, "scale: parent holds %u fds for %d devices\n", n,
	    SCALE_N);
	cr_assert_lt(n, 4 * SCALE_N + 64, "%u fds", n);
	/* Stop: exit 0, every socket removed, every child gone. */
	t0 = now_s();
	cr_assert_eq(kill(it_vp.vp_pid, SIGTERM), 0);
	cr_assert_eq(vproc_wait_exit(&it_vp, 60000, &st), 0,
	    "vhostd did not exit after SIGTERM");
	fprintf(stderr, "scale: stopped after %.3f s\n", now_s() - t0);
	cr_assert_eq(it_code(st), 0, "exit %d; stderr:\n%.2000s",
	    it_code(st), it_vp.vp_log);
	cr_assert_eq(count_entries(it_dir, ".sock"), 0, "sockets left behind");
	for (i = 0; i < SCALE_N; i++)
		cr_assert(kill(pids[i], 0) == -1 && errno == ESRCH,
		    "child %d of r%u still alive", (int)pids[i], i);
	/* Each child's exit was logged. */
	for (i = 0; i < SCALE_N; i++) {
		snprintf(name, sizeof(name), "r%u: child %d ", i,
		    (int)pids[i]);
		cr_assert_not_null(strstr(it_vp.vp_log, name),
		    "no exit logged for r%u", i);
	}
}
