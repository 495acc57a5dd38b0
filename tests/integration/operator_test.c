/*
 * operator_test.c - vhostd as an operator or a VM manager meets it: --fd
 * with the descriptors managers pass (a listening socket, or a connected
 * one as libvirt's backend launch convention does), the verbosity levels,
 * start-up errors on a terminal with --log=syslog, and exit statuses as
 * vhostd(8) documents them.
 */
#include "itest.h"

#include <poll.h>
#include <pty.h>

TestSuite(operator, .init = it_setup, .fini = it_teardown, .timeout = 60);

/*
 * The libvirt/QEMU launch convention for a back end it starts itself:
 * one end of a connected socket pair as --fd.  vhostd serves that one
 * connection and exits 0 when the front end closes it.
 */
static void
serve_connected(char **argv, const char *want_log)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	struct vuf		*f;
	uint8_t			 buf[64];
	char			 err[512];
	int			 sp[2], st;
	unsigned int		 i, nz = 0;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp),
	    0);
	o.o_fds = &sp[1];
	o.o_nfds = 1;
	cr_assert_eq(vproc_start(&it_vp, argv, &o), 0);
	close(sp[1]);
	cr_assert_not_null(f = calloc(1, sizeof(*f)));
	vuf_init(f);
	vuf_set_sock(f, sp[0]);
	memset(buf, 0, sizeof(buf));
	cr_assert_eq(it_entropy_on(f, NULL, buf, sizeof(buf), err,
	    sizeof(err)), 0, "no entropy on the passed connection: %s; stderr:\n%s", err,
	    it_vp.vp_log);
	for (i = 0; i < sizeof(buf); i++)
		nz += buf[i] != 0;
	cr_assert_gt(nz, 40, "%u of 64 bytes non-zero", nz);
	/* The front end goes away: so does vhostd, with status 0. */
	vuf_fini(f);
	free(f);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "vhostd did not exit after its one connection ended; stderr:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(it_code(st), 0, "exit %d; stderr:\n%s", it_code(st),
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "started child"), 1,
	    "restarted on a connection that is gone:\n%s", it_vp.vp_log);
	if (want_log != NULL)
		cr_assert_neq(strstr(it_vp.vp_log, want_log), NULL,
		    "no '%s' in:\n%s", want_log, it_vp.vp_log);
}

Test(operator, fd_connected_backend_program)
{
	char	*argv[8];

	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"rng";
	argv[2] = (char *)"--fd=3";
	argv[3] = (char *)"--policy-dir";
	argv[4] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[5] = NULL;
	serve_connected(argv, NULL);
}

/* Also in host mode, where restart=always is the default. */
Test(operator, fd_connected_device_is_not_restarted)
{
	char	*argv[8];

	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"--policy-dir";
	argv[2] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[3] = (char *)"--device";
	argv[4] = (char *)"rng,name=conn,fd=3";
	argv[5] = NULL;
	serve_connected(argv, "conn: the connection it was given ended");
}

/* A listening socket passed as --fd serves one connection after another. */
Test(operator, fd_listening_serves_many)
{
	const char		*sock = it_path("l.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	int			 lfd;

	lfd = it_unix_socket(sock, true);
	o.o_fds = &lfd;
	o.o_nfds = 1;
	it_start_opts(&it_vp, true, &o, "--device", "rng,name=l,fd=3", NULL);
	close(lfd);
	it_assert_entropy(sock);
	it_assert_entropy(sock);
	it_assert_entropy(sock);
	it_stop(&it_vp);
}

/* Neither listening nor connected: refused with a message. */
Test(operator, fd_unconnected_socket_refused)
{
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			*argv[8];
	int			 fd, st;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"rng";
	argv[2] = (char *)"--fd=3";
	argv[3] = (char *)"--policy-dir";
	argv[4] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[5] = NULL;
	o.o_fds = &fd;
	o.o_nfds = 1;
	cr_assert_eq(vproc_start(&it_vp, argv, &o), 0);
	close(fd);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_eq(it_code(st), 1, "exit %d:\n%s", it_code(st), it_vp.vp_log);
	cr_assert_neq(strstr(it_vp.vp_log, "not listening and not connected"),
	    NULL, "%s", it_vp.vp_log);
}

/* Markers of each verbosity level in vhostd's log. */
#define MARK_DEBUG	"front end accepted"	/* child, log_debug */
#define MARK_TRACE	"GET_FEATURES ("	/* each message, -vv */
#define MARK_RING	"ring 0: kick;"		/* each kick, -vvv */

/*
 * Serve one front end with vflag (NULL: none), stop, and check which
 * levels' lines were logged.
 */
static void
verbosity(const char *vflag, bool debug, bool trace, bool ring)
{
	const char	*sock = it_path("v.sock");
	const char	*log;

	if (vflag != NULL)
		it_start(&it_vp, vflag, "--device",
		    it_fmt("rng,name=v,socket=%s", sock), NULL);
	else
		it_start(&it_vp, "--device",
		    it_fmt("rng,name=v,socket=%s", sock), NULL);
	it_assert_entropy(sock);
	/* The child logs its session's end: then every line is in. */
	cr_assert_geq(vproc_wait_log(&it_vp, "front end disconnected", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
	log = it_vp.vp_log;
	cr_assert_eq(strstr(log, MARK_DEBUG) != NULL, debug,
	    "%s: debug lines %s expected:\n%s", vflag ? vflag : "no -v",
	    debug ? "" : "not", log);
	cr_assert_eq(strstr(log, MARK_TRACE) != NULL, trace,
	    "%s: protocol traces %s expected:\n%s", vflag ? vflag : "no -v",
	    trace ? "" : "not", log);
	cr_assert_eq(strstr(log, MARK_RING) != NULL, ring,
	    "%s: ring-level lines %s expected:\n%s", vflag ? vflag : "no -v",
	    ring ? "" : "not", log);
	/* Info lines are there at every level. */
	cr_assert_neq(strstr(log, "v: started child"), NULL, "%s", log);
}

Test(operator, verbosity_default)
{
	verbosity(NULL, false, false, false);
}

Test(operator, verbosity_v_debug)
{
	verbosity("-v", true, false, false);
}

Test(operator, verbosity_vv_protocol)
{
	verbosity("-vv", true, true, false);
}

Test(operator, verbosity_vvv_ring)
{
	verbosity("-vvv", true, true, true);
}

/*
 * Run vhostd with argv on a pseudo-terminal as its stdin, stdout and
 * stderr; collect what it writes there into out until it exits.  Exit
 * code.
 */
static int
run_on_tty(char **argv, char *out, size_t outlen)
{
	struct pollfd	 pfd;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 master, st;

	pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_geq(pid, 0, "forkpty: %s", strerror(errno));
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	pfd.fd = master;
	pfd.events = POLLIN;
	/* EIO once the last holder of the slave side is gone. */
	while (len + 1 < outlen && poll(&pfd, 1, VPROC_TIMEOUT_MS) == 1) {
		n = read(master, out + len, outlen - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(master);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return it_code(st);
}

/* --log=syslog, started by hand: why it did not start shows on the tty. */
Test(operator, syslog_startup_error_reaches_tty)
{
	char	*argv[8], out[4096];
	int	 rc;

	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"--log=syslog";
	argv[2] = (char *)"--policy-dir";
	argv[3] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[4] = (char *)"--device";
	argv[5] = it_fmt("rng,socket=%s/no/such/dir/x.sock", it_dir);
	argv[6] = NULL;
	rc = run_on_tty(argv, out, sizeof(out));
	cr_assert_eq(rc, 1, "exit %d: %s", rc, out);
	cr_assert_neq(strstr(out, "no/such/dir/x.sock"), NULL,
	    "the start-up error did not reach the terminal: '%s'", out);
}

/* Not on a terminal (a service's journal): syslog only, no copy. */
Test(operator, syslog_not_copied_without_tty)
{
	char	*argv[8], err[4096];
	int	 st;

	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"--log=syslog";
	argv[2] = (char *)"--policy-dir";
	argv[3] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[4] = (char *)"--device";
	argv[5] = it_fmt("rng,socket=%s/no/such/dir/x.sock", it_dir);
	argv[6] = NULL;
	st = vproc_run(argv, NULL, 0, err, sizeof(err), VPROC_TIMEOUT_MS);
	cr_assert_eq(it_code(st), 1, "%s", err);
	cr_assert_eq(strstr(err, "x.sock"), NULL, "copied to a pipe: %s", err);
}

/* vhostd ARGS... exits with code; its stderr contains want (or NULL). */
static void
exit_status(int code, const char *want, ...)
{
	va_list	 ap;
	char	*argv[IT_MAX_ARGS], err[4096], out[4096];
	const char *a;
	unsigned int n = 0;
	int	 st;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"--policy-dir";
	argv[n++] = (char *)it_env("VHOSTD_POLICYDIR");
	va_start(ap, want);
	while ((a = va_arg(ap, const char *)) != NULL && n < IT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert_eq(it_code(st), code, "%s %s: exit %d, want %d: %s",
	    argv[3], argv[4] != NULL ? argv[4] : "", it_code(st), code, err);
	if (want != NULL)
		cr_assert_neq(strstr(err, want), NULL, "no '%s' in: %s", want,
		    err);
}

/* vhostd(8) EXIT STATUS: 2 for a usage error. */
Test(operator, exit_status_usage_is_2)
{
	exit_status(2, "bogus", "--device", "bogus,socket=/tmp/x", NULL);
	exit_status(2, "colour", "--device", "rng,colour=blue,socket=/tmp/x",
	    NULL);
	exit_status(2, NULL, "--no-such-option", NULL);
	exit_status(2, "--log", "--log=paper", "--device", "rng,socket=/tmp/x",
	    NULL);
	exit_status(2, "--grace", "--grace=forever", "--device",
	    "rng,socket=/tmp/x", NULL);
	exit_status(2, "--restart-limit", "--restart-limit=x", "--device",
	    "rng,socket=/tmp/x", NULL);
	exit_status(2, "seccomp", "--seccomp=maybe", "--device",
	    "rng,socket=/tmp/x", NULL);
	exit_status(2, "--jail-disable", "--jail-disable=moon", "--device",
	    "rng,socket=/tmp/x", NULL);
	exit_status(2, NULL, "stray-argument", NULL);
	exit_status(2, NULL, NULL);	/* no device at all */
}

/* 1: a device could not be started, or the configuration file is bad. */
Test(operator, exit_status_failure_is_1)
{
	exit_status(1, "x.sock", "--device",
	    it_fmt("rng,socket=%s/missing/x.sock", it_dir), NULL);
	exit_status(1, "no-such.conf", "-c", it_path("no-such.conf"), NULL);
	exit_status(1, "no-such.img", "-n", "--device",
	    it_fmt("blk,socket=%s/x.sock,path=%s/no-such.img", it_dir,
	    it_dir), NULL);
}

Test(operator, exit_status_ok_is_0)
{
	exit_status(0, NULL, "--help", NULL);
	exit_status(0, NULL, "--version", NULL);
	exit_status(0, NULL, "-n", "--device",
	    it_fmt("rng,socket=%s/x.sock", it_dir), NULL);
}

/* The same mistake in a configuration file is a configuration error: 1. */
Test(operator, exit_status_file_setting_is_1)
{
	const char	*conf = it_path("bad.conf");
	FILE		*f;

	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "seccomp = maybe\n[r]\ntype = rng\nsocket = %s/r.sock\n",
	    it_dir);
	fclose(f);
	exit_status(1, "maybe", "-c", conf, NULL);
	/* The command line's own value is still a usage error. */
	exit_status(2, "maybe", "--seccomp=maybe", "--device",
	    "rng,socket=/tmp/x", NULL);
}
