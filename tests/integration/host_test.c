/*
 * host_test.c - the host supervisor with real children, jailed and
 * filtered (--seccomp=kill), driven by the in-tree front end: entropy
 * arrives, sockets are cleaned up, children are restarted, shutdown
 * leaves nothing behind, stale sockets are replaced and live ones refused.
 */
#include "itest.h"

TestSuite(host, .init = it_setup, .fini = it_teardown, .timeout = 60);

Test(host, entropy_arrives)
{
	const char	*sock = it_path("rng.sock");
	struct stat	 st;

	it_start(&it_vp, "--seccomp=kill", "--device",
	    it_fmt("rng,socket=%s", sock), NULL);
	cr_assert_eq(stat(sock, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	it_assert_entropy(sock);
	it_stop(&it_vp);
	cr_assert_eq(vproc_count(&it_vp, "seccomp"), 0, "%s", it_vp.vp_log);
}

Test(host, socket_removed_after_exit_with_restart_never)
{
	const char	*sock = it_path("rng.sock");
	int		 st;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s,restart=never", sock),
	    NULL);
	it_assert_entropy(sock);
	/* The front end hung up: the child ends, its socket goes. */
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "vhostd kept running; stderr:\n%s", it_vp.vp_log);
	cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
	cr_assert(!it_exists(sock), "%s still exists", sock);
	cr_assert_neq(vproc_count(&it_vp, "rng: child "), 0);
	cr_assert_neq(strstr(it_vp.vp_log, "exited with status 0"), NULL, "%s",
	    it_vp.vp_log);
}

Test(host, killed_child_is_restarted_and_serves)
{
	const char	*sock = it_path("rng.sock");
	char		 needle[64];
	pid_t		 c1, c2;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", sock), NULL);
	c1 = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "%s", it_vp.vp_log);
	cr_assert_eq(kill(c1, SIGKILL), 0);
	snprintf(needle, sizeof(needle), "child %d killed by signal SIGKILL",
	    (int)c1);
	cr_assert_geq(vproc_wait_log(&it_vp, needle, 0, VPROC_TIMEOUT_MS), 0,
	    "exit not logged:\n%s", it_vp.vp_log);
	c2 = vproc_child_pid(&it_vp, "rng", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c2, 0, "not restarted:\n%s", it_vp.vp_log);
	cr_assert_neq(c1, c2);
	cr_assert(it_exists(sock));
	it_assert_entropy(sock);
	it_stop(&it_vp);
}

Test(host, sigterm_leaves_no_sockets_and_no_processes)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	pid_t		 ca, cb;

	it_start(&it_vp, "--device", it_fmt("rng,name=a,socket=%s", a),
	    "--device", it_fmt("rng,name=b,socket=%s", b), NULL);
	ca = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cb = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(ca > 0 && cb > 0, "%s", it_vp.vp_log);
	cr_assert(it_exists(a) && it_exists(b));
	it_stop(&it_vp);
	cr_assert(!it_exists(a), "%s left behind", a);
	cr_assert(!it_exists(b), "%s left behind", b);
	cr_assert(kill(ca, 0) == -1 && errno == ESRCH, "child %d alive", ca);
	cr_assert(kill(cb, 0) == -1 && errno == ESRCH, "child %d alive", cb);
}

Test(host, stale_socket_is_replaced)
{
	const char	*sock = it_path("rng.sock");

	/* Bound, then closed: the file stays and nobody answers. */
	close(it_unix_socket(sock, false));
	cr_assert(it_exists(sock));
	cr_assert(!it_connects(sock));
	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", sock), NULL);
	it_assert_entropy(sock);
	it_stop(&it_vp);
}

Test(host, live_socket_is_refused)
{
	const char	*sock = it_path("rng.sock");
	int		 lfd, st;

	lfd = it_unix_socket(sock, true);
	it_start_opts(&it_vp, false, NULL, "--device",
	    it_fmt("rng,socket=%s", sock), NULL);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_neq(it_code(st), 0, "started over a live socket");
	cr_assert_neq(strstr(it_vp.vp_log, sock), NULL, "path not named: %s",
	    it_vp.vp_log);
	cr_assert_neq(strstr(it_vp.vp_log, "another process is listening"),
	    NULL, "%s", it_vp.vp_log);
	/* The other process's socket is untouched. */
	cr_assert(it_connects(sock));
	close(lfd);
}

Test(host, probe_does_not_take_the_device_away)
{
	const char	*sock = it_path("rng.sock");

	/* restart=never: if the probe ended the child, the device is gone. */
	it_start(&it_vp, "--device", it_fmt("rng,socket=%s,restart=never", sock),
	    NULL);
	cr_assert(it_connects(sock));
	cr_assert(it_connects(sock));
	it_assert_entropy(sock);
	cr_assert_geq(vproc_wait_log(&it_vp, "started child", 0,
	    VPROC_TIMEOUT_MS), 0);
	cr_assert_eq(vproc_count(&it_vp, "started child"), 1, "%s", it_vp.vp_log);
}

Test(host, child_dies_with_the_parent_and_next_start_replaces_socket)
{
	const char	*sock = it_path("rng.sock");
	struct vproc	 vp2;
	pid_t		 c;
	int		 st;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", sock), NULL);
	c = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c, 0);
	cr_assert_eq(kill(it_vp.vp_pid, SIGKILL), 0);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_eq(vproc_wait_gone(c, VPROC_TIMEOUT_MS), 0,
	    "child %d outlived its parent", (int)c);
	cr_assert(it_exists(sock), "a SIGKILLed parent cannot clean up");
	it_start(&vp2, "--device", it_fmt("rng,socket=%s", sock), NULL);
	it_assert_entropy(sock);
	it_stop(&vp2);
	vproc_cleanup(&vp2);
}

Test(host, malformed_message_ends_only_that_connection)
{
	const char		*sock = it_path("rng.sock");
	struct vhost_user_header hdr;
	struct vuf		 f;
	pid_t			 c1;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", sock), NULL);
	c1 = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	/* A header claiming a 64 KiB payload: bigger than any message. */
	memset(&hdr, 0, sizeof(hdr));
	hdr.request = VHOST_USER_SET_FEATURES;
	hdr.flags = VHOST_USER_VERSION;
	hdr.size = 65536;
	cr_assert_eq(vuf_send_raw(&f, &hdr, NULL, 0, NULL, 0), 0);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
	    "the device kept the connection: %s", vuf_error(&f));
	vuf_fini(&f);
	/* The parent lives on and the next front end is served. */
	cr_assert_eq(kill(it_vp.vp_pid, 0), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "rng", 1, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	it_assert_entropy(sock);
	cr_assert_neq(c1, vproc_child_pid(&it_vp, "rng", 1, 0));
	it_stop(&it_vp);
}

Test(host, sigterm_during_child_start_up_is_not_lost)
{
	const char	*sock = it_path("rng.sock");
	char		*argv[8];
	int		 st, i;

	/*
	 * Stop vhostd while its children are still in the jail: each is the
	 * init of its pid namespace, which would drop a default-disposition
	 * SIGTERM.  With a 30 s grace, a lost SIGTERM shows as a hang.
	 */
	for (i = 0; i < 5; i++) {
		argv[0] = (char *)it_env("VHOSTD");
		argv[1] = (char *)"--policy-dir";
		argv[2] = (char *)it_env("VHOSTD_POLICYDIR");
		argv[3] = (char *)"--grace=30";
		argv[4] = (char *)"--device";
		argv[5] = it_fmt("rng,socket=%s", sock);
		argv[6] = NULL;
		cr_assert_eq(vproc_start(&it_vp, argv, NULL), 0);
		cr_assert_gt(vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS),
		    0, "%s", it_vp.vp_log);
		cr_assert_eq(kill(it_vp.vp_pid, SIGTERM), 0);
		cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
		    "SIGTERM lost during start-up:\n%s", it_vp.vp_log);
		cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
		cr_assert_eq(vproc_count(&it_vp, "still running"), 0, "%s",
		    it_vp.vp_log);
		vproc_cleanup(&it_vp);
	}
}

Test(host, runs_unprivileged_in_a_user_namespace)
{
	const char	*sock = it_path("rng.sock");
	char		 probe[512], *argv[12], err[512];
	uint8_t		 buf[64];
	int		 st;

	/* As "nobody": the jail takes a user namespace instead of root. */
	if (access("/usr/sbin/runuser", X_OK) != 0)
		cr_skip_test("runuser (util-linux) is missing");
	snprintf(probe, sizeof(probe), "/usr/sbin/runuser -u nobody -- "
	    "test -x '%s' -a -r '%s/rng.policy'", it_env("VHOSTD"),
	    it_env("VHOSTD_POLICYDIR"));
	if (system(probe) != 0)
		cr_skip_test("user nobody cannot reach %s", it_env("VHOSTD"));
	if (system("/usr/sbin/runuser -u nobody -- unshare -U true "
	    "2>/dev/null") != 0)
		cr_skip_test("this host allows no unprivileged user namespaces");
	cr_assert_eq(chmod(it_dir, 0777), 0);
	argv[0] = (char *)"/usr/sbin/runuser";
	argv[1] = (char *)"-u";
	argv[2] = (char *)"nobody";
	argv[3] = (char *)"--";
	argv[4] = (char *)it_env("VHOSTD");
	argv[5] = (char *)"--policy-dir";
	argv[6] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[7] = (char *)"--device";
	argv[8] = it_fmt("rng,socket=%s,restart=never", sock);
	argv[9] = NULL;
	cr_assert_eq(vproc_start(&it_vp, argv, NULL), 0);
	if (vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS) <= 0 ||
	    it_entropy(sock, buf, sizeof(buf), err, sizeof(err)) != 0) {
		vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st);
		cr_assert_fail("no entropy (%s):\n%s", err, it_vp.vp_log);
	}
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "SIGSYS"), 0, "%s", it_vp.vp_log);
	cr_assert(!it_exists(sock));
}
