/*
 * verbs.c - ctl start, stop, restart and reset against what is served, status with
 * the image, read-only flag and queues, a device that gave up revived by
 * reset or by a reload, and the unit's control path (-i NAME).
 */
#include <time.h>

#include "ctl_harness.h"

/*
 * stop: the child goes, the socket file goes (connect refused), status
 * says stopped; start: served again; restart: a new child on the same
 * socket inode; unknown names and verbs are clear errors.
 */
Test(ctl, stop_start_restart_change_what_is_served)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	const char	*ctl = it_path("ctl.sock");
	pid_t		 pa, pa2, pa3;
	ino_t		 ino;
	long		 t0;

	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,name=a,socket=%s", a), "--device",
	    it_fmt("rng,name=b,socket=%s", b), NULL);
	pa = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(pa, 0, "%s", it_vp.vp_log);
	it_assert_entropy(a);
	pa = vproc_child_pid(&it_vp, "a", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(pa, 0, "%s", it_vp.vp_log);

	t0 = now_ms();
	cr_assert_eq(ctl_run(ctl, "stop", "a", NULL), 0, "%s", ctl_err);
	fprintf(stderr, "ctl: stop answered in %ld ms\n", now_ms() - t0);
	cr_assert_neq(strstr(ctl_out, "a: stopped"), NULL, "%s", ctl_out);
	/* stop answers once the child is gone. */
	cr_assert_eq(vproc_wait_gone(pa, 0), 0, "child %d still there",
	    (int)pa);
	cr_assert(!it_exists(a), "a stopped device keeps its socket");
	cr_assert(!it_connects(a));
	assert_status(ctl, "[(x['name'], x['state'], x['pid']) for x in "
	    "d['devices']][0] == ('a', 'stopped', 0) and "
	    "d['devices'][1]['state'] == 'running'");
	/* b is not disturbed. */
	it_assert_entropy(b);
	/* A second stop is no error; start of a running one is. */
	cr_assert_eq(ctl_run(ctl, "stop", "a", NULL), 0, "%s", ctl_err);
	cr_assert_eq(ctl_run(ctl, "start", "b", NULL), 1);
	cr_assert_neq(strstr(ctl_err, "b is running already"), NULL, "%s",
	    ctl_err);

	cr_assert_eq(ctl_run(ctl, "start", "a", NULL), 0, "%s", ctl_err);
	cr_assert_neq(strstr(ctl_out, "a: started, child"), NULL, "%s",
	    ctl_out);
	pa2 = vproc_child_pid(&it_vp, "a", 2, VPROC_TIMEOUT_MS);
	cr_assert_gt(pa2, 0, "%s", it_vp.vp_log);
	assert_status(ctl, it_fmt("[x for x in d['devices'] if x['name'] == "
	    "'a'][0]['state'] == 'running' and [x for x in d['devices'] if "
	    "x['name'] == 'a'][0]['pid'] == %d", (int)pa2));
	it_assert_entropy(a);

	/* restart: a new child, the same socket file (not unlinked). */
	pa2 = vproc_child_pid(&it_vp, "a", 3, VPROC_TIMEOUT_MS);
	ino = inode(a);
	cr_assert_eq(ctl_run(ctl, "restart", "a", NULL), 0, "%s", ctl_err);
	pa3 = vproc_child_pid(&it_vp, "a", 4, VPROC_TIMEOUT_MS);
	cr_assert_gt(pa3, 0, "%s", it_vp.vp_log);
	cr_assert_neq(strstr(ctl_out, it_fmt("a: restarted, child %d",
	    (int)pa3)), NULL, "%s", ctl_out);
	cr_assert_eq(vproc_wait_gone(pa2, VPROC_TIMEOUT_MS), 0);
	cr_assert_eq(inode(a), ino, "restart replaced the socket file");
	it_assert_entropy(a);
	/* An operator's restart is not a failure. */
	cr_assert_eq(vproc_count(&it_vp, "device fault"), 0, "%s",
	    it_vp.vp_log);

	/* Clear errors: a name nobody has, a verb nobody knows. */
	cr_assert_eq(ctl_run(ctl, "stop", "zz", NULL), 1);
	cr_assert_neq(strstr(ctl_err, "no device 'zz'"), NULL, "%s", ctl_err);
	cr_assert_eq(ctl_run(ctl, "status", "zz", NULL), 1);
	cr_assert_neq(strstr(ctl_err, "no device 'zz'"), NULL, "%s", ctl_err);
	cr_assert_eq(ctl_run(ctl, "explode", "a", NULL), 2);
	cr_assert_neq(strstr(ctl_err, "unknown command 'explode'"), NULL, "%s",
	    ctl_err);
	cr_assert_eq(ctl_run(ctl, "stop", NULL), 2);
	cr_assert_neq(strstr(ctl_err, "stop needs a device NAME"), NULL, "%s",
	    ctl_err);
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 1);
	cr_assert_neq(strstr(ctl_err, "without a configuration file"), NULL,
	    "%s", ctl_err);
	it_stop(&it_vp);
}

/*
 * With every device stopped by ctl, vhostd waits for a start (it does not
 * exit as it does when its last device ends by itself).
 */
Test(ctl, all_stopped_waits_for_start)
{
	const char	*a = it_path("a.sock"), *ctl = it_path("ctl.sock");

	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,name=a,socket=%s", a), NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS), 0);
	cr_assert_eq(ctl_run(ctl, "stop", "a", NULL), 0, "%s", ctl_err);
	cr_assert_eq(ctl_run(ctl, "status", "a", NULL), 0, "%s", ctl_err);
	cr_assert_neq(strstr(ctl_out, " stopped "), NULL, "%s", ctl_out);
	cr_assert_eq(ctl_run(ctl, "start", "a", NULL), 0, "%s", ctl_err);
	it_assert_entropy(a);
	it_stop(&it_vp);
}

/* status NAME: the device's summary from its key table. */
Test(ctl, status_shows_image_read_only_and_queues)
{
	const char	*img = make_image("d.img"), *d = it_path("d.sock");
	const char	*ctl = it_path("ctl.sock");

	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("blk,name=d,socket=%s,path=%s,read-only=on,queues=2", d,
	    img), "--device", it_fmt("rng,name=r,socket=%s",
	    it_path("r.sock")), NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS), 0);
	assert_status(ctl, it_fmt("[x['device'] for x in d['devices']] == "
	    "[{'path': '%s', 'read-only': True, 'queues': 2}, {}]", img));
	cr_assert_eq(ctl_run(ctl, "status", "d", NULL), 0, "%s", ctl_err);
	cr_assert_neq(strstr(ctl_out, it_fmt("path=%s,read-only=on,queues=2",
	    img)), NULL, "%s", ctl_out);
	cr_assert_eq(strstr(ctl_out, "\nr "), NULL, "status d lists r:\n%s",
	    ctl_out);
	it_stop(&it_vp);
}

/*
 * A device that gave up (every child killed by its policy) is revived by
 * ctl reset once the cause is fixed, and by a reload.
 */
static void
give_up_then_revive(bool by_reload)
{
	const char	*pol = it_path("pol"), *sock = it_path("r.sock");
	const char	*ctl = it_path("ctl.sock"), *conf;

	cr_assert_eq(system(it_fmt("cp -r '%s' '%s'",
	    it_env("VHOSTD_POLICYDIR"), pol)), 0);
	/* No epoll: every child dies at once with SIGSYS. */
	write_file("pol/rng.policy", "exit_group: 1\nwrite: 1\n");
	conf = write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n",
	    sock));
	it_start(&it_vp, "--policy-dir", pol, "--restart-limit=2/60",
	    "--control", ctl, "-c", conf, NULL);
	cr_assert_geq(vproc_wait_log(&it_vp, "r: 2 failures within 60s; "
	    "giving up", 0, 20000), 0, "%s", it_vp.vp_log);
	/* Answered after the give-up is complete (one loop): no race. */
	assert_status(ctl, "d['devices'][0]['state'] == 'failed'");
	cr_assert(!it_exists(sock), "a device given up keeps its socket");
	/* Fixed; a start alone does not count the old failures away. */
	cr_assert_eq(system(it_fmt("cp '%s/rng.policy' '%s/rng.policy'",
	    it_env("VHOSTD_POLICYDIR"), pol)), 0);
	if (by_reload) {
		/* The same file: "nothing changed", but r is retried. */
		cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
		cr_assert_neq(strstr(ctl_out, "r: failed; started again by "
		    "the reload"), NULL, "%s", ctl_out);
	} else {
		cr_assert_eq(ctl_run(ctl, "reset", "r", NULL), 0, "%s",
		    ctl_err);
		cr_assert_neq(strstr(ctl_out, "r: restart counters cleared, "
		    "child"), NULL, "%s", ctl_out);
	}
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 2, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	assert_status(ctl, "d['devices'][0]['state'] == 'running' and "
	    "d['devices'][0]['restarts'] == 0");
	it_assert_entropy(sock);
	it_stop(&it_vp);
}

Test(ctl, reset_revives_a_device_that_gave_up)
{
	give_up_then_revive(false);
}

Test(ctl, reload_retries_a_device_that_gave_up)
{
	give_up_then_revive(true);
}


/* The unit's control path: vhostd ctl -i NAME finds /run/vhostd/NAME.ctl. */
Test(ctl, instance_name_finds_the_units_control_socket)
{
	const char	*sock = it_path("r.sock");
	char		 name[64], path[128], *argv[8];
	int		 st;

	if (mkdir("/run/vhostd", 0755) == -1 && errno != EEXIST)
		cr_skip_test("cannot create /run/vhostd: %s", strerror(errno));
	snprintf(name, sizeof(name), "ctltest-%d", (int)getpid());
	snprintf(path, sizeof(path), "/run/vhostd/%s.ctl", name);
	it_start(&it_vp, it_fmt("--control=%s", path), "--device",
	    it_fmt("rng,name=r,socket=%s", sock), NULL);
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"ctl";
	argv[2] = (char *)"-i";
	argv[3] = name;
	argv[4] = (char *)"status";
	argv[5] = NULL;
	st = vproc_run(argv, ctl_out, sizeof(ctl_out), ctl_err,
	    sizeof(ctl_err), VPROC_TIMEOUT_MS);
	cr_assert_eq(it_code(st), 0, "%s", ctl_err);
	cr_assert_neq(strstr(ctl_out, sock), NULL, "%s", ctl_out);
	/* A mistyped instance: a clear error naming the path tried. */
	argv[3] = (char *)"no-such-instance-x";
	st = vproc_run(argv, ctl_out, sizeof(ctl_out), ctl_err,
	    sizeof(ctl_err), VPROC_TIMEOUT_MS);
	cr_assert_eq(it_code(st), 1);
	cr_assert_neq(strstr(ctl_err, "/run/vhostd/no-such-instance-x.ctl"),
	    NULL, "%s", ctl_err);
	it_stop(&it_vp);
	cr_assert(!it_exists(path));
}
