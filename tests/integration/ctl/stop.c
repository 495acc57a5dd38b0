/*
 * stop.c - a device stopped by ctl stays stopped through reloads, also while its
 * stop is still under way, and takes a changed configuration for its
 * next start.
 */
#include <time.h>

#include "ctl_harness.h"

/*
 * An operator's stop holds through reloads, as systemd holds a stopped
 * unit: a reload (SIGHUP or ctl reload) with the device unchanged does
 * not start it; a changed configuration of a stopped device is taken
 * (the next start uses it) but not started.
 */
Test(ctl, reload_keeps_a_stopped_device_stopped)
{
	const char	*a = it_path("a.sock"), *a2 = it_path("a2.sock");
	const char	*ctl = it_path("ctl.sock"), *conf;
	long		 off;

	conf = write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n",
	    a));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS), 0);
	cr_assert_eq(ctl_run(ctl, "stop", "r", NULL), 0, "%s", ctl_err);

	/* Unchanged: ctl reload, then SIGHUP (its outcome is logged). */
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
	assert_status(ctl, "d['devices'][0]['state'] == 'stopped' and "
	    "d['devices'][0]['pid'] == 0");
	off = (long)strlen(it_vp.vp_log);
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "reload: 0 device(s) added, "
	    "removed or changed", (size_t)off, VPROC_TIMEOUT_MS), 0, "%s",
	    it_vp.vp_log);
	assert_status(ctl, "d['devices'][0]['state'] == 'stopped' and "
	    "d['devices'][0]['pid'] == 0");
	cr_assert(!it_exists(a), "a reload brought the socket back");
	cr_assert_eq(vproc_child_pid(&it_vp, "r", 1, 0), -1, "a reload "
	    "started the stopped device:\n%s", it_vp.vp_log);

	/* Changed (another socket): taken, not started. */
	write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n", a2));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
	cr_assert_geq(vproc_wait_log(&it_vp, "r: configuration changed; it "
	    "stays stopped", 0, VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	assert_status(ctl, "d['devices'][0]['state'] == 'stopped' and "
	    "d['devices'][0]['pid'] == 0");
	cr_assert(!it_exists(a) && !it_exists(a2), "a stopped device has a "
	    "socket");
	cr_assert_eq(vproc_child_pid(&it_vp, "r", 1, 0), -1, "%s",
	    it_vp.vp_log);
	/* start: the new configuration. */
	cr_assert_eq(ctl_run(ctl, "start", "r", NULL), 0, "%s", ctl_err);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 1, VPROC_TIMEOUT_MS), 0);
	it_assert_entropy(a2);
	cr_assert(!it_exists(a));
	it_stop(&it_vp);
}

/*
 * Whether signal sig is in the mask field ("ShdPnd", "SigBlk") of
 * /proc/PID/status.
 */
static bool
proc_sig(pid_t pid, const char *field, int sig)
{
	char			 line[256];
	unsigned long long	 mask = 0;
	size_t			 flen = strlen(field);
	FILE			*f;
	bool			 found = false;

	if ((f = fopen(it_fmt("/proc/%d/status", (int)pid), "re")) == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, flen) == 0 && line[flen] == ':' &&
		    sscanf(line + flen + 1, " %llx", &mask) == 1) {
			found = true;
			break;
		}
	fclose(f);
	return found && (mask & (1ull << (sig - 1))) != 0;
}

/* Poll (10 ms steps, VPROC_TIMEOUT_MS at most) until proc_sig holds. */
static bool
wait_proc_sig(pid_t pid, const char *field, int sig)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	int		i;

	for (i = 0; i < VPROC_TIMEOUT_MS / 10; i++) {
		if (proc_sig(pid, field, sig))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * vhostd ctl stop NAME in the background: its pid; its stdout is read
 * from *outfd.
 */
static pid_t
ctl_stop_async(const char *ctl, const char *name, int *outfd)
{
	int	p[2];
	pid_t	pid;

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_geq(pid = fork(), 0);
	if (pid == 0) {
		dup2(p[1], 1);
		execl(it_env("VHOSTD"), "vhostd", "ctl", it_fmt("--control=%s",
		    ctl), "stop", name, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*outfd = p[0];
	return pid;
}

/* What a reload does while the stop is under way. */
enum pending_reload {
	PR_CHANGED,		/* r's socket changes */
	PR_UNCHANGED,		/* the same file */
	PR_REMOVED_AND_BACK	/* a reload without r, then one with it */
};

#define R_STATE	"[x for x in d['devices'] if x['name'] == 'r'][0]"

/*
 * A stop still under way (its child has SIGTERM pending: here it is
 * SIGSTOPped, and the grace is long) when reloads come: once the child
 * is gone the device stays stopped, with the new configuration if one
 * changed it; the stop answers "stopped".  A second device, s, keeps
 * the configuration non-empty.
 */
static void
pending_stop_then_reload(enum pending_reload what)
{
	const char	*a = it_path("a.sock"), *a2 = it_path("a2.sock");
	const char	*b = it_path("b.sock"), *ctl = it_path("ctl.sock");
	const char	*conf, *sdev;
	char		 out[256], sconf[512];
	pid_t		 c0, cp;
	ssize_t		 n;
	int		 fd, st;

	sdev = it_fmt("[s]\ntype = rng\nsocket = %s\n", b);
	snprintf(sconf, sizeof(sconf), "%s", sdev);
	conf = write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n%s",
	    a, sconf));
	it_start(&it_vp, "--grace=60", "--control", ctl, "-c", conf, NULL);
	c0 = vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	cr_assert_gt(vproc_child_pid(&it_vp, "s", 0, VPROC_TIMEOUT_MS), 0);
	/*
	 * Once the child takes SIGTERM through its signalfd (blocked: before
	 * that SIGTERM would kill it even stopped), stop it: it cannot act
	 * on the SIGTERM until SIGCONT.
	 */
	cr_assert(wait_proc_sig(c0, "SigBlk", SIGTERM), "child %d never "
	    "blocked SIGTERM", (int)c0);
	cr_assert_eq(kill(c0, SIGSTOP), 0);
	cp = ctl_stop_async(ctl, "r", &fd);
	cr_assert(wait_proc_sig(c0, "ShdPnd", SIGTERM), "no SIGTERM for the "
	    "child after ctl stop:\n%s", it_vp.vp_log);

	if (what == PR_CHANGED)
		write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n%s",
		    a2, sconf));
	if (what == PR_REMOVED_AND_BACK) {
		write_file("v.conf", sconf);
		cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s",
		    ctl_err, it_vp.vp_log);
		write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n%s",
		    a, sconf));
	}
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	cr_assert_eq(kill(c0, SIGCONT), 0);
	cr_assert_eq(vproc_wait_gone(c0, VPROC_TIMEOUT_MS), 0);
	n = vproc_read_line(fd, out, sizeof(out), VPROC_TIMEOUT_MS);
	cr_assert_gt(n, 0, "ctl stop did not answer:\n%s", it_vp.vp_log);
	cr_assert_eq(waitpid(cp, &st, 0), cp);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ctl stop: %s", out);
	cr_assert_neq(strstr(out, "r: stopped"), NULL, "ctl stop answered "
	    "'%s'\n%s", out, it_vp.vp_log);
	close(fd);
	if (what == PR_CHANGED)
		cr_assert_geq(vproc_wait_log(&it_vp, "r: configuration "
		    "changed; it stays stopped", 0, VPROC_TIMEOUT_MS), 0,
		    "%s", it_vp.vp_log);
	assert_status(ctl, R_STATE "['state'] == 'stopped' and " R_STATE
	    "['pid'] == 0");
	cr_assert_eq(vproc_child_pid(&it_vp, "r", 1, 0), -1, "the stopped "
	    "device was started:\n%s", it_vp.vp_log);
	cr_assert(!it_exists(a) && !it_exists(a2), "a stopped device has a "
	    "socket");
	it_assert_entropy(b);
	cr_assert_eq(ctl_run(ctl, "start", "r", NULL), 0, "%s", ctl_err);
	it_assert_entropy(what == PR_CHANGED ? a2 : a);
	it_stop(&it_vp);
}

Test(ctl, reload_during_a_stop_takes_the_change_and_stays_stopped)
{
	pending_stop_then_reload(PR_CHANGED);
}

Test(ctl, reload_during_a_stop_of_an_unchanged_device_stays_stopped)
{
	pending_stop_then_reload(PR_UNCHANGED);
}

Test(ctl, removed_and_back_during_a_stop_stays_stopped)
{
	pending_stop_then_reload(PR_REMOVED_AND_BACK);
}
