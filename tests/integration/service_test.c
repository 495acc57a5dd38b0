/*
 * service_test.c - vhostd as VM managers and systemd run it: backend
 * program conventions, --print-capabilities, sd_notify readiness, socket
 * activation, configuration file checks and SIGHUP reload, the restart
 * burst limit, and the control socket.
 */
#include "itest.h"

#include <poll.h>

#include "devices/device.h"

TestSuite(service, .init = it_setup, .fini = it_teardown, .timeout = 60);

/*
 * json holds a JSON document for which the Python expression check (over
 * the parsed document d) is true.  Skips where python3 is missing.
 */
static void
assert_json(const char *json, const char *check)
{
	char	 prog[2048], *argv[4], out[256], path[256];
	FILE	*f;
	int	 st;

	if (access("/usr/bin/python3", X_OK) != 0)
		cr_skip_test("python3 is missing: cannot parse JSON");
	snprintf(path, sizeof(path), "%s/doc.json", it_dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(json, f);
	fclose(f);
	snprintf(prog, sizeof(prog), "import json,sys\n"
	    "d = json.load(open(sys.argv[1]))\n"
	    "ok = (%s)\n"
	    "print('ok' if ok else 'no')\n", check);
	argv[0] = (char *)"/usr/bin/python3";
	argv[1] = (char *)"-c";
	argv[2] = prog;
	argv[3] = NULL;
	{
		char	*a[5] = { argv[0], argv[1], argv[2], path, NULL };

		st = vproc_run(a, out, sizeof(out), NULL, 0, VPROC_TIMEOUT_MS);
	}
	cr_assert_eq(st, 0, "not JSON:\n%s", json);
	cr_assert_str_eq(out, "ok\n", "JSON does not satisfy %s:\n%s", check,
	    json);
}

Test(service, print_capabilities_for_every_type)
{
	const struct device_type *const	*dtp;
	char				 out[2048], out2[2048], want[512];
	char				*argv[4], link[256];
	const char			*vhostd = it_env("VHOSTD");
	size_t				 n;
	unsigned int			 i;

	for (dtp = device_types; *dtp != NULL; dtp++) {
		const struct device_type *dt = *dtp;

		argv[0] = (char *)vhostd;
		argv[1] = (char *)dt->dt_name;
		argv[2] = (char *)"--print-capabilities";
		argv[3] = NULL;
		cr_assert_eq(vproc_run(argv, out, sizeof(out), NULL, 0,
		    VPROC_TIMEOUT_MS), 0, "%s", dt->dt_name);
		n = (size_t)snprintf(want, sizeof(want),
		    "d['type'] == '%s' and set(d) == {'type', 'features'} and "
		    "sorted(d['features']) == sorted([", dt->dt_caps_type);
		/* The features: the aliases the key table flags. */
		for (i = 0; i < dt->dt_nkeys; i++)
			if (dt->dt_keys[i].dk_flags & DKF_CAPS)
				n += (size_t)snprintf(want + n,
				    sizeof(want) - n, "'%s',",
				    dt->dt_keys[i].dk_alias);
		snprintf(want + n, sizeof(want) - n, "])");
		assert_json(out, want);

		/* The personality link gives the same answer. */
		snprintf(link, sizeof(link), "%s/vhostd-%s", it_dir,
		    dt->dt_name);
		cr_assert_eq(symlink(vhostd, link), 0);
		argv[0] = link;
		argv[1] = (char *)"--print-capabilities";
		argv[2] = NULL;
		cr_assert_eq(vproc_run(argv, out2, sizeof(out2), NULL, 0,
		    VPROC_TIMEOUT_MS), 0);
		cr_assert_str_eq(out, out2);
	}
}

Test(service, backend_program_on_inherited_fd)
{
	const char		*sock = it_path("rng.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			*argv[6], link[256];
	int			 lfd, st;

	/* As a VM manager does: it owns the socket, passes the fd. */
	lfd = it_unix_socket(sock, true);
	snprintf(link, sizeof(link), "%s/vhostd-rng", it_dir);
	cr_assert_eq(symlink(it_env("VHOSTD"), link), 0);
	argv[0] = link;
	argv[1] = (char *)"--fd=3";
	argv[2] = (char *)"--policy-dir";
	argv[3] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[4] = NULL;
	o.o_fds = &lfd;
	o.o_nfds = 1;
	cr_assert_eq(vproc_start(&it_vp, argv, &o), 0);
	close(lfd);
	/* The listening socket queues us until the child accepts. */
	it_assert_entropy(sock);
	/* It ends with its front end and never removes a socket it got. */
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "%s", it_vp.vp_log);
	cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
	cr_assert(it_exists(sock));
}

Test(service, backend_program_bad_options_fail_early)
{
	char	*argv[5], err[2048];
	int	 st;

	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"rng";
	argv[2] = (char *)"--socket-path=/nonexistent/dir/x.sock";
	argv[3] = NULL;
	st = vproc_run(argv, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s", err);
	cr_assert_neq(strstr(err, "/nonexistent/dir/x.sock"), NULL, "%s", err);
	argv[2] = (char *)"--colour=blue";
	argv[3] = (char *)"--socket-path=/tmp/x.sock";
	argv[4] = NULL;
	st = vproc_run(argv, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s", err);
}

/* Read datagrams from fd until one contains needle; that datagram. */
static bool
recv_notify(int fd, const char *needle, char *buf, size_t len)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	ssize_t		n;

	while (poll(&pfd, 1, VPROC_TIMEOUT_MS) == 1) {
		if ((n = recv(fd, buf, len - 1, 0)) < 0)
			return false;
		buf[n] = '\0';
		if (strstr(buf, needle) != NULL)
			return true;
	}
	return false;
}

Test(service, sd_notify_ready_only_when_sockets_accept)
{
	const char		*a = it_path("a.sock"), *b = it_path("b.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			*envv[2], buf[512];
	int			 nfd;

	nfd = it_notify_socket(it_path("notify"), &envv[0]);
	envv[1] = NULL;
	o.o_env = envv;
	it_start_opts(&it_vp, false, &o, "--device",
	    it_fmt("rng,name=a,socket=%s", a), "--device",
	    it_fmt("rng,name=b,socket=%s", b), NULL);
	cr_assert(recv_notify(nfd, "READY=1", buf, sizeof(buf)),
	    "no READY=1; stderr:\n%s", it_vp.vp_log);
	/* At READY=1 both sockets take connections. */
	cr_assert(it_connects(a));
	cr_assert(it_connects(b));
	cr_assert_neq(strstr(buf, it_fmt("MAINPID=%d", (int)it_vp.vp_pid)), NULL,
	    "%s", buf);
	cr_assert(recv_notify(nfd, "STATUS=", buf, sizeof(buf)));
	cr_assert_neq(strstr(buf, "2"), NULL, "STATUS without counts: %s",
	    buf);
	it_assert_entropy(a);
	cr_assert_eq(kill(it_vp.vp_pid, SIGTERM), 0);
	cr_assert(recv_notify(nfd, "STOPPING=1", buf, sizeof(buf)));
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, NULL), 0);
	close(nfd);
}

Test(service, socket_activation_maps_fds_by_name)
{
	const char		*a = it_path("a.sock"), *b = it_path("b.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			*envv[3];
	int			 fds[2];

	fds[0] = it_unix_socket(a, true);
	fds[1] = it_unix_socket(b, true);
	envv[0] = (char *)"LISTEN_FDS=2";
	/* In the other order than the devices: names decide. */
	envv[1] = (char *)"LISTEN_FDNAMES=second:first";
	envv[2] = NULL;
	o.o_fds = fds;
	o.o_nfds = 2;
	o.o_env = envv;
	o.o_listen_pid = true;
	it_start_opts(&it_vp, true, &o, "--device", "rng,name=first",
	    "--device", "rng,name=second", NULL);
	close(fds[0]);
	close(fds[1]);
	it_assert_entropy(a);
	it_assert_entropy(b);
	/* The served connections went to the right devices. */
	cr_assert_geq(vproc_wait_log(&it_vp, "second[", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "first[", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	it_stop(&it_vp);
	/* systemd owns the files of activated sockets: they stay. */
	cr_assert(it_exists(a) && it_exists(b));
}

static const char *
write_conf(const char *name, const char *text)
{
	const char	*path = it_path(name);
	FILE		*f;

	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

Test(service, check_config_reports_file_and_line)
{
	const char	*bad, *good;
	char		*argv[6], err[4096];
	int		 st;

	bad = write_conf("bad.conf", "# a comment\nseccomp = kill\n\n"
	    "[disk]\ntype = rng\nsocket = /tmp/x.sock\nrestart = sometimes\n");
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"--policy-dir";
	argv[2] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[3] = (char *)"-n";
	argv[4] = (char *)"-c";
	argv[5] = NULL;
	{
		char	*a[7] = { argv[0], argv[1], argv[2], argv[3], argv[4],
			    (char *)bad, NULL };

		st = vproc_run(a, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s", err);
		cr_assert_neq(strstr(err, it_fmt("%s:7:", bad)), NULL,
		    "no file:line in: %s", err);
		cr_assert_neq(strstr(err, "restart=sometimes"), NULL, "%s",
		    err);
	}
	good = write_conf("good.conf", it_fmt("[r]\ntype = rng\n"
	    "socket = %s\n", it_path("r.sock")));
	{
		char	*a[7] = { argv[0], argv[1], argv[2], argv[3], argv[4],
			    (char *)good, NULL };

		st = vproc_run(a, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
		/* A check starts nothing. */
		cr_assert(!it_exists(it_path("r.sock")));
	}
	/* -n compiles the policies: a broken one is reported. */
	cr_assert_eq(mkdir(it_path("pol"), 0755), 0);
	write_conf("pol/rng.policy", "read: 1\nbogus_call: 1\n");
	{
		char	*a[7] = { argv[0], argv[1], (char *)it_path("pol"),
			    argv[3], argv[4], (char *)good, NULL };

		st = vproc_run(a, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
		cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s", err);
		cr_assert_neq(strstr(err, "rng.policy:2:"), NULL, "%s", err);
		cr_assert_neq(strstr(err, "bogus_call"), NULL, "%s", err);
	}
}

Test(service, sighup_adds_removes_and_keeps)
{
	const char	*conf, *a = it_path("a.sock"), *b = it_path("b.sock");
	const char	*c = it_path("c.sock");
	pid_t		 pb;
	char		*text;

	text = it_fmt("[a]\ntype = rng\nsocket = %s\n\n[b]\ntype = rng\n"
	    "socket = %s\n", a, b);
	conf = write_conf("vhostd.conf", text);
	it_start(&it_vp, "-c", conf, NULL);
	pb = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(pb, 0);
	cr_assert(it_exists(a) && it_exists(b));

	/*
	 * b unchanged (other place, its keys in another order, a default
	 * spelled out, the mode written without its leading 0: reload
	 * compares typed values), a removed, c added.
	 */
	text = it_fmt("[c]\ntype = rng\nsocket = %s\n\n[b]\nmode = 600\n"
	    "socket = %s\nrestart = always\ntype = rng\n", c, b);
	write_conf("vhostd.conf", text);
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "c", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "a: removed from the configuration",
	    0, VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	it_assert_entropy(c);
	cr_assert(!it_exists(a), "removed device kept its socket");
	cr_assert_eq(kill(pb, 0), 0, "unchanged device was restarted");
	cr_assert_eq(vproc_count(&it_vp, "b: started child"), 1, "%s",
	    it_vp.vp_log);
	it_assert_entropy(b);

	/* A broken file is refused and changes nothing. */
	write_conf("vhostd.conf", "[c]\ntype = floppy\n");
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "floppy", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	cr_assert(it_exists(b) && it_exists(c));
	it_stop(&it_vp);
	cr_assert(!it_exists(b) && !it_exists(c));
}

Test(service, crash_loop_stops_at_the_burst_limit)
{
	const char	*sock = it_path("rng.sock");
	int		 st;

	/* A policy without epoll: every child dies at once with SIGSYS. */
	cr_assert_eq(mkdir(it_path("pol"), 0755), 0);
	write_conf("pol/rng.policy", "exit_group: 1\nwrite: 1\n");
	{
		char	*argv[] = { (char *)it_env("VHOSTD"),
			    (char *)"--policy-dir", (char *)it_path("pol"),
			    (char *)"--restart-limit=3/60", (char *)"--device",
			    it_fmt("rng,socket=%s", sock), NULL };

		cr_assert_eq(vproc_start(&it_vp, argv, NULL), 0);
	}
	cr_assert_eq(vproc_wait_exit(&it_vp, 20000, &st), 0, "still running:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(it_code(st), 1, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "started child"), 3, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal SIGSYS"), 3, "%s",
	    it_vp.vp_log);
	/* Back-off doubles between attempts. */
	cr_assert_neq(strstr(it_vp.vp_log, "restarting in 100 ms"), NULL, "%s",
	    it_vp.vp_log);
	cr_assert_neq(strstr(it_vp.vp_log, "restarting in 200 ms"), NULL, "%s",
	    it_vp.vp_log);
	cr_assert_neq(strstr(it_vp.vp_log, "3 failures within 60s; giving up"),
	    NULL, "%s", it_vp.vp_log);
	cr_assert(!it_exists(sock));
}

Test(service, ctl_status_json_matches_reality)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	const char	*ctl = it_path("ctl.sock");
	char		 out[8192], check[1024], *argv[6];
	pid_t		 pa, pb, pa2;
	struct stat	 st;

	it_start(&it_vp, "--control", ctl, "--device",
	    it_fmt("rng,name=a,socket=%s", a), "--device",
	    it_fmt("rng,name=b,socket=%s,restart=on-failure", b), NULL);
	pa = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	pb = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(pa > 0 && pb > 0);
	cr_assert_eq(stat(ctl, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "control socket mode %o",
	    st.st_mode & 0777);

	/* a crashes once and is restarted. */
	cr_assert_eq(kill(pa, SIGKILL), 0);
	pa2 = vproc_child_pid(&it_vp, "a", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(pa2, 0, "%s", it_vp.vp_log);

	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"ctl";
	argv[2] = (char *)it_fmt("--control=%s", ctl);
	argv[3] = (char *)"status";
	argv[4] = (char *)"--json";
	argv[5] = NULL;
	cr_assert_eq(vproc_run(argv, out, sizeof(out), NULL, 0,
	    VPROC_TIMEOUT_MS), 0, "%s", out);
	snprintf(check, sizeof(check),
	    "d['pid'] == %d and len(d['devices']) == 2 and "
	    "[(x['name'], x['type'], x['state'], x['pid'], x['restarts'], "
	    "x['socket'], x['restart']) for x in d['devices']] == "
	    "[('a', 'rng', 'running', %d, 1, '%s', 'always'), "
	    "('b', 'rng', 'running', %d, 0, '%s', 'on-failure')] and "
	    "all(x['connection'] == 'listening' for x in d['devices'])",
	    (int)it_vp.vp_pid, (int)pa2, a, (int)pb, b);
	assert_json(out, check);

	/* The text form names the devices too. */
	argv[4] = NULL;
	cr_assert_eq(vproc_run(argv, out, sizeof(out), NULL, 0,
	    VPROC_TIMEOUT_MS), 0);
	{
		/* A header, then one row per device, each field right. */
		const char *const	 names[2] = { "a", "b" };
		const char *const	 socks[2] = { a, b };
		const int		 pids[2] = { (int)pa2, (int)pb };
		const unsigned int	 restarts[2] = { 1, 0 };
		char			*line, *save = NULL, name[64], type[16];
		char			 state[16], conn[16], sockp[256];
		unsigned int		 row = 0, rs;
		int			 pid;
		double			 up;

		line = strtok_r(out, "\n", &save);
		cr_assert_not_null(line);
		cr_assert_eq(strncmp(line, "NAME", 4), 0, "header: %s", line);
		while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
			cr_assert_lt(row, 2, "extra row: %s", line);
			cr_assert_eq(sscanf(line, "%63s %15s %15s %d %u %lfs "
			    "%15s %255s", name, type, state, &pid, &rs, &up,
			    conn, sockp), 8, "row: %s", line);
			cr_assert_str_eq(name, names[row]);
			cr_assert_str_eq(type, "rng");
			cr_assert_str_eq(state, "running");
			cr_assert_eq(pid, pids[row], "%s", line);
			cr_assert_eq(rs, restarts[row], "%s", line);
			cr_assert_str_eq(conn, "listening");
			cr_assert_str_eq(sockp, socks[row]);
			row++;
		}
		cr_assert_eq(row, 2, "rows: %u", row);
	}
	it_stop(&it_vp);
	cr_assert(!it_exists(ctl), "control socket left behind");
}

Test(service, watchdog_pings_at_half_the_interval)
{
	const char		*a = it_path("a.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			*envv[3], buf[512];
	unsigned int		 pings = 0;
	int			 nfd;

	nfd = it_notify_socket(it_path("notify"), &envv[0]);
	envv[1] = (char *)"WATCHDOG_USEC=200000";	/* pings every 100 ms */
	envv[2] = NULL;
	o.o_env = envv;
	it_start_opts(&it_vp, false, &o, "--device", it_fmt("rng,socket=%s", a),
	    NULL);
	/* Three pings, each well within the 200 ms interval. */
	while (pings < 3) {
		struct pollfd	pfd = { .fd = nfd, .events = POLLIN };
		ssize_t		n;

		cr_assert_eq(poll(&pfd, 1, 1000), 1, "no WATCHDOG=1 within 1 s "
		    "(%u so far); stderr:\n%s", pings, it_vp.vp_log);
		n = recv(nfd, buf, sizeof(buf) - 1, 0);
		cr_assert_gt(n, 0);
		buf[n] = '\0';
		if (strstr(buf, "WATCHDOG=1") != NULL)
			pings++;
	}
	it_stop(&it_vp);
	close(nfd);
}

Test(service, precompiled_filter_is_used_when_there_is_no_policy)
{
	const char	*sock = it_path("rng.sock"), *dir = it_path("bpf");
	char		*argv[5], out[256], err[2048], pol[512];
	int		 st;

	/* vhostd compile-policy: the shipped rng policy as raw BPF. */
	cr_assert_eq(mkdir(dir, 0755), 0);
	snprintf(pol, sizeof(pol), "%s/rng.policy", it_env("VHOSTD_POLICYDIR"));
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"compile-policy";
	argv[2] = pol;
	argv[3] = it_fmt("%s/rng.bpf", dir);
	argv[4] = NULL;
	cr_assert_eq(vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS), 0, "%s", err);
	cr_assert_neq(strstr(out, "instructions"), NULL, "%s", out);
	/* A write that fails is reported with the file, exit 1. */
	argv[3] = (char *)"/dev/full";
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1, "%s", err);
	cr_assert_neq(strstr(err, "/dev/full: No space left on device"), NULL,
	    "%s", err);
	{
		char	*a[] = { (char *)it_env("VHOSTD"), (char *)"--policy-dir",
			    (char *)dir, (char *)"--device",
			    it_fmt("rng,socket=%s", sock), NULL };

		cr_assert_eq(vproc_start(&it_vp, a, NULL), 0);
	}
	cr_assert_gt(vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS), 0);
	it_assert_entropy(sock);
	it_stop(&it_vp);
	cr_assert_eq(vproc_count(&it_vp, "SIGSYS"), 0, "%s", it_vp.vp_log);

	/* A truncated program is refused at start-up, naming the file. */
	cr_assert_eq(truncate(it_fmt("%s/rng.bpf", dir), 12), 0);
	{
		char	*a[] = { (char *)it_env("VHOSTD"), (char *)"--policy-dir",
			    (char *)dir, (char *)"-n", (char *)"--device",
			    it_fmt("rng,socket=%s", sock), NULL };

		st = vproc_run(a, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
	}
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) != 0, "%s", err);
	cr_assert_neq(strstr(err, "rng.bpf"), NULL, "%s", err);
}
