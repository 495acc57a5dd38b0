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
 * Read n bytes of entropy through the front end f, already connected
 * (vuf_set_sock); f is left connected.  0 or -errno, message in err.
 */
static int
entropy_on(struct vuf *f, uint8_t *out, uint32_t n, char *err,
    size_t errlen)
{
	struct vuf_opts	 opts;
	struct vuf_seg	 seg;
	uint8_t		*buf;
	uint32_t	 got = 0, done = 0;
	int		 rc;

	memset(&opts, 0, sizeof(opts));
	opts.o_mem_size = 1024 * 1024;
	if ((rc = vuf_setup(f, NULL, &opts)) < 0)
		goto out;
	if ((buf = vuf_alloc(f, n, 64, &seg.sg_gpa)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	while (done < n) {
		seg.sg_gpa = vuf_ptr_to_gpa(f, buf + done);
		seg.sg_len = n - done;
		seg.sg_write = true;
		if ((rc = vuf_vq_exec(f, 0, &seg, 1, false, &got)) < 0)
			goto out;
		if (got == 0 || got > n - done) {
			rc = vuf_fail(f, -EPROTO, "device wrote %u bytes", got);
			goto out;
		}
		done += got;
	}
	memcpy(out, buf, n);
	rc = 0;
out:
	snprintf(err, errlen, "%s", vuf_error(f));
	return rc;
}

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
	cr_assert_eq(entropy_on(f, buf, sizeof(buf), err, sizeof(err)), 0,
	    "no entropy on the passed connection: %s; stderr:\n%s", err,
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
