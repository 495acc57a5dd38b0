/*
 * frontends_test.c - the three front ends of the configuration builder
 * against a running vhostd: a path containing a comma served from the
 * command line (",,") and from the configuration file (as written), the
 * backend program with "--opt VALUE" options and --help, duplicate keys,
 * and the command line winning over the file.
 */
#include "itest.h"

TestSuite(frontends, .init = it_setup, .fini = it_teardown, .timeout = 60);

#define SECTOR	512

/* An image of 1 MiB at path whose first sector holds seed's pattern. */
static void
make_image(const char *path, unsigned int seed)
{
	uint8_t		buf[SECTOR];
	unsigned int	i;
	int		fd;

	for (i = 0; i < SECTOR; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7);
	cr_assert_geq(fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600), 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(ftruncate(fd, 1 << 20), 0);
	cr_assert_eq(pwrite(fd, buf, SECTOR, 0), SECTOR);
	close(fd);
}

/*
 * Read sector 0 of the blk device at sock through the in-tree front end
 * and check it holds seed's pattern: the image behind sock is the one
 * the configuration named.
 */
static void
assert_sector0(const char *sock, unsigned int seed)
{
	struct vuf_seg	 seg[3];
	struct vuf	*f;
	uint64_t	 gh, gb, gs;
	uint8_t		*hdr, *buf, *st;
	uint32_t	 len = 0;
	unsigned int	 i;

	cr_assert_not_null(f = calloc(1, sizeof(*f)));
	vuf_init(f);
	cr_assert_eq(vuf_setup(f, sock, NULL), 0, "%s: %s", sock,
	    vuf_error(f));
	cr_assert_not_null(hdr = vuf_alloc(f, 16, 16, &gh));
	cr_assert_not_null(buf = vuf_alloc(f, SECTOR, SECTOR, &gb));
	cr_assert_not_null(st = vuf_alloc(f, 1, 1, &gs));
	memset(hdr, 0, 16);		/* VIRTIO_BLK_T_IN, sector 0 */
	memset(buf, 0, SECTOR);
	*st = 0xff;
	seg[0] = (struct vuf_seg){ gh, 16, false };
	seg[1] = (struct vuf_seg){ gb, SECTOR, true };
	seg[2] = (struct vuf_seg){ gs, 1, true };
	cr_assert_eq(vuf_vq_exec(f, 0, seg, 3, false, &len), 0, "%s",
	    vuf_error(f));
	cr_assert_eq(*st, 0, "status %u", *st);
	for (i = 0; i < SECTOR; i++)
		cr_assert_eq(buf[i], (uint8_t)(seed * 31 + i * 7),
		    "byte %u of sector 0 is not the image's", i);
	vuf_fini(f);
	free(f);
}

static const char *
write_file(const char *name, const char *text)
{
	const char	*path = it_path(name);
	FILE		*f;

	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* ",," on the command line: an image and a socket with commas. */
Test(frontends, comma_in_paths_from_the_command_line)
{
	const char	*img = it_path("disk,1.img"), *sock = it_path("b,1.sock");

	make_image(img, 1);
	it_start(&it_vp, "--device", it_fmt("blk,name=d,socket=%s/b,,1.sock,"
	    "path=%s/disk,,1.img", it_dir, it_dir), NULL);
	cr_assert(it_exists(sock), "no socket %s; stderr:\n%s", sock,
	    it_vp.vp_log);
	assert_sector0(sock, 1);
	it_stop(&it_vp);
	cr_assert(!it_exists(sock));
}

/* The file takes values as written: commas, no escape. */
Test(frontends, comma_in_paths_from_the_config_file)
{
	const char	*img = it_path("disk,2.img"), *bsock = it_path("b,2.sock");
	const char	*rsock = it_path("r,2,.sock"), *conf;

	make_image(img, 2);
	conf = write_file("vhostd.conf", it_fmt("[d]\ntype = blk\n"
	    "socket = %s\npath = %s\n\n[r]\ntype = rng\nsocket = %s\n", bsock,
	    img, rsock));
	it_start(&it_vp, "-c", conf, NULL);
	assert_sector0(bsock, 2);
	it_assert_entropy(rsock);
	it_stop(&it_vp);
	cr_assert(!it_exists(bsock) && !it_exists(rsock));
}

/*
 * vhostd-blk --socket-path P --blk-file IMG --read-only, as getopt users
 * type them: the disk is served read-only (a write fails), and the
 * process ends with its front end.
 */
Test(frontends, backend_program_options_with_separate_values)
{
	const char		*img = it_path("disk 3,x.img");
	const char		*sock = it_path("be.sock");
	struct vproc_opts	 o = { .o_stdout = -1 };
	char			*argv[12], link[256], line[64];
	int			 rp[2], st;

	make_image(img, 3);
	snprintf(link, sizeof(link), "%s/vhostd-blk", it_dir);
	cr_assert_eq(symlink(it_env("VHOSTD"), link), 0);
	cr_assert_eq(pipe2(rp, O_CLOEXEC), 0);
	argv[0] = link;
	argv[1] = (char *)"--socket-path";
	argv[2] = (char *)sock;
	argv[3] = (char *)"--blk-file";
	argv[4] = (char *)img;
	argv[5] = (char *)"--read-only";
	argv[6] = (char *)"--policy-dir";
	argv[7] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[8] = (char *)"--ready-fd=3";
	argv[9] = NULL;
	o.o_fds = &rp[1];
	o.o_nfds = 1;
	cr_assert_eq(vproc_start(&it_vp, argv, &o), 0);
	close(rp[1]);
	cr_assert_gt(vproc_read_line(rp[0], line, sizeof(line),
	    VPROC_TIMEOUT_MS), 0, "not ready:\n%s", it_vp.vp_log);
	close(rp[0]);
	assert_sector0(sock, 3);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "%s", it_vp.vp_log);
	cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
}

/* vhostd-blk --help lists blk's keys, without --socket-path. */
Test(frontends, backend_help_lists_the_type_keys)
{
	char	*argv[4], out[8192], err[2048], link[256];
	int	 st;

	snprintf(link, sizeof(link), "%s/vhostd-blk", it_dir);
	cr_assert_eq(symlink(it_env("VHOSTD"), link), 0);
	argv[0] = link;
	argv[1] = (char *)"--help";
	argv[2] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit %d: %s",
	    it_code(st), err);
	cr_assert_not_null(strstr(out, "--blk-file=PATH"), "%s", out);
	cr_assert_not_null(strstr(out, "--read-only[=on|off]"), "%s", out);
	cr_assert_not_null(strstr(out, "--socket-path=PATH"), "%s", out);
	cr_assert_not_null(strstr(out, "--queues=1-16"), "%s", out);
	cr_assert_not_null(strstr(out, "(default 32)"), "poll-us: %s", out);
	/* vhostd rng -h: a type without keys of its own. */
	argv[0] = (char *)it_env("VHOSTD");
	argv[1] = (char *)"rng";
	argv[2] = (char *)"-h";
	argv[3] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	cr_assert_not_null(strstr(out, "Keys of rng: none"), "%s", out);
	/* vhostd --help: every type's keys. */
	argv[1] = (char *)"--help";
	argv[2] = NULL;
	st = vproc_run(argv, out, sizeof(out), err, sizeof(err),
	    VPROC_TIMEOUT_MS);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s", err);
	cr_assert_not_null(strstr(out, "  path=PATH"), "%s", out);
	cr_assert_not_null(strstr(out, "  logical-block-size=512|4096"),
	    "%s", out);
}

/* Run vhostd ARGS... to completion; its exit code, stderr in err. */
static int
run_vhostd(char *err, size_t errlen, ...)
{
	char		*argv[IT_MAX_ARGS];
	const char	*a;
	unsigned int	 n = 0;
	va_list		 ap;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"--policy-dir";
	argv[n++] = (char *)it_env("VHOSTD_POLICYDIR");
	va_start(ap, errlen);
	while ((a = va_arg(ap, const char *)) != NULL && n < IT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return it_code(vproc_run(argv, NULL, 0, err, errlen,
	    VPROC_TIMEOUT_MS));
}

/* A key given twice: an error naming both, on every front end. */
Test(frontends, duplicate_keys_are_errors)
{
	char		 err[4096];
	const char	*conf;
	int		 rc;

	rc = run_vhostd(err, sizeof(err), "-n", "--device",
	    "rng,socket=/tmp/a.sock,socket=/tmp/b.sock", NULL);
	cr_assert_neq(rc, 0, "accepted; %s", err);
	cr_assert_not_null(strstr(err, "socket=/tmp/b.sock: socket given "
	    "twice (first socket=/tmp/a.sock)"), "%s", err);

	conf = write_file("dup.conf", "[r]\ntype = rng\nsocket = /tmp/a.sock\n"
	    "restart = never\nsocket = /tmp/b.sock\n");
	rc = run_vhostd(err, sizeof(err), "-n", "-c", conf, NULL);
	cr_assert_neq(rc, 0, "accepted; %s", err);
	cr_assert_not_null(strstr(err, it_fmt("%s:5: [r] socket=/tmp/b.sock: "
	    "socket given twice (first socket=/tmp/a.sock at %s:3)", conf,
	    conf)), "%s", err);

	rc = run_vhostd(err, sizeof(err), "-n", "--device",
	    "rng,socket=/tmp/a.sock", NULL);
	cr_assert_eq(rc, 0, "%s", err);
	{
		char	*argv[8], link[256];
		int	 st;

		snprintf(link, sizeof(link), "%s/vhostd-blk", it_dir);
		cr_assert_eq(symlink(it_env("VHOSTD"), link), 0);
		argv[0] = link;
		argv[1] = (char *)"--socket-path=/tmp/a.sock";
		argv[2] = (char *)"--blk-file=/tmp/x.img";
		argv[3] = (char *)"--blk-file";
		argv[4] = (char *)"/tmp/y.img";
		argv[5] = NULL;
		st = vproc_run(argv, NULL, 0, err, sizeof(err),
		    VPROC_TIMEOUT_MS);
		cr_assert_eq(it_code(st), 2, "%s", err);
		cr_assert_not_null(strstr(err, "--blk-file=/tmp/y.img: path "
		    "given twice (first path=/tmp/x.img)"), "%s", err);
	}
}

/* Every error names the key, and file:line for files. */
Test(frontends, errors_name_key_and_source)
{
	char		 err[4096];
	const char	*conf;
	int		 rc;

	conf = write_file("bad.conf", "seccomp = kill\n[d]\ntype = blk\n"
	    "path = /tmp/x.img\nqueues = 99\n");
	rc = run_vhostd(err, sizeof(err), "-n", "-c", conf, NULL);
	cr_assert_neq(rc, 0);
	cr_assert_not_null(strstr(err, it_fmt("%s:5: [d] queues=99: expected "
	    "a number from 1 to 16", conf)), "%s", err);
	conf = write_file("bad2.conf", "\nseccomp = bogus\n");
	rc = run_vhostd(err, sizeof(err), "-n", "-c", conf, NULL);
	cr_assert_neq(rc, 0);
	cr_assert_not_null(strstr(err, it_fmt("%s:2: seccomp = bogus",
	    conf)), "%s", err);
	conf = write_file("bad3.conf", "user = no-such-user-vhostd-test\n"
	    "[r]\ntype = rng\nsocket = /tmp/x.sock\n");
	rc = run_vhostd(err, sizeof(err), "-n", "-c", conf, NULL);
	cr_assert_neq(rc, 0);
	cr_assert_not_null(strstr(err, it_fmt("%s:1: user = "
	    "no-such-user-vhostd-test", conf)), "%s", err);
	cr_assert_null(strstr(err, "--user"), "names a flag not given: %s",
	    err);
	rc = run_vhostd(err, sizeof(err), "-n", "--device",
	    "blk,path=/tmp/x.img,read-only=yes", NULL);
	cr_assert_neq(rc, 0);
	cr_assert_not_null(strstr(err, "read-only=yes: expected on or off"),
	    "%s", err);
}

/*
 * vhostd.conf(5): the command line wins.  The file says log = syslog and
 * verbose = 0; --log=stderr -v must still log to stderr.
 */
Test(frontends, command_line_wins_over_the_file)
{
	const char	*sock = it_path("r.sock"), *conf;

	conf = write_file("vhostd.conf", it_fmt("log = syslog\ngrace = 3\n"
	    "[r]\ntype = rng\nsocket = %s\n", sock));
	it_start(&it_vp, "--log=stderr", "-v", "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS), 0,
	    "no log on stderr although --log=stderr: %s", it_vp.vp_log);
	it_assert_entropy(sock);
	it_stop(&it_vp);
}
