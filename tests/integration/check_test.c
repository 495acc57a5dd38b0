/*
 * check_test.c - vhostd -n runs every check a start runs (issue 14.4),
 * through the same code: one socket and one image per device however the
 * paths are spelt (./, a symlinked directory, a symlink to the image),
 * the socket's directory, a non-socket at the socket path, image formats
 * that are not raw (14.5), an empty configuration; each refused by -n
 * and by a start alike.  And --version of every personality, and the
 * vhostd-TYPE links of the build tree (14.6).
 */
#include "itest.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

TestSuite(check, .init = it_setup, .fini = it_teardown, .timeout = 60);

static char	chk_out[8192], chk_err[8192];

/* vhostd --policy-dir=... ARGS: exit code, output in chk_out/chk_err. */
static int
run(const char *first, ...)
{
	char		*argv[IT_MAX_ARGS];
	const char	*a;
	unsigned int	 n = 0;
	va_list		 ap;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"--policy-dir";
	argv[n++] = (char *)it_env("VHOSTD_POLICYDIR");
	argv[n++] = (char *)first;
	va_start(ap, first);
	while ((a = va_arg(ap, const char *)) != NULL && n < IT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	chk_out[0] = chk_err[0] = '\0';
	return it_code(vproc_run(argv, chk_out, sizeof(chk_out), chk_err,
	    sizeof(chk_err), VPROC_TIMEOUT_MS));
}

/*
 * -n and a start with the same two devices: both exit 1 naming want.
 * The start must not leave a socket behind.
 */
static void
both_refuse(const char *want, const char *dev1, const char *dev2)
{
	int	rc;

	rc = run("-n", "--device", dev1, "--device", dev2, NULL);
	cr_assert_eq(rc, 1, "-n: exit %d (want 1): %s%s", rc, chk_out,
	    chk_err);
	cr_assert_neq(strstr(chk_err, want), NULL, "-n: no '%s' in: %s", want,
	    chk_err);
	cr_assert_eq(strstr(chk_out, "configuration OK"), NULL, "%s", chk_out);
	rc = run("--device", dev1, "--device", dev2, NULL);
	cr_assert_eq(rc, 1, "start: exit %d (want 1): %s", rc, chk_err);
	cr_assert_neq(strstr(chk_err, want), NULL, "start: no '%s' in: %s",
	    want, chk_err);
}

static const char *
make_file(const char *name, const void *head, size_t len, off_t size)
{
	const char	*path = it_path(name);
	int		 fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	if (len > 0)
		cr_assert_eq(write(fd, head, len), (ssize_t)len);
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

Test(check, same_socket_twice_however_spelt)
{
	char	a[512], b[512];

	cr_assert_eq(symlink(it_dir, it_path("link")), 0);
	snprintf(a, sizeof(a), "rng,name=a,socket=%s/x.sock", it_dir);
	/* Literally the same: the configuration check says so. */
	snprintf(b, sizeof(b), "rng,name=b,socket=%s/x.sock", it_dir);
	both_refuse("a and b use the same socket", a, b);
	/* ./ and a symlinked directory: the same inode and entry. */
	snprintf(b, sizeof(b), "rng,name=b,socket=%s/./x.sock", it_dir);
	both_refuse("is the socket of device a", a, b);
	snprintf(b, sizeof(b), "rng,name=b,socket=%s/link/x.sock", it_dir);
	both_refuse("is the socket of device a", a, b);
	cr_assert(!it_exists(it_path("x.sock")), "a refused start left its "
	    "socket");
	/* Different entries are fine. */
	snprintf(b, sizeof(b), "rng,name=b,socket=%s/link/y.sock", it_dir);
	cr_assert_eq(run("-n", "--device", a, "--device", b, NULL), 0, "%s",
	    chk_err);
}

Test(check, same_image_twice_however_spelt)
{
	const char	*img = make_file("d.img", NULL, 0, 1 << 20);
	char		 a[512], b[512];

	cr_assert_eq(symlink(img, it_path("alias.img")), 0);
	snprintf(a, sizeof(a), "blk,name=a,socket=%s/a.sock,path=%s", it_dir,
	    img);
	snprintf(b, sizeof(b), "blk,name=b,socket=%s/b.sock,path=%s/./d.img",
	    it_dir, it_dir);
	both_refuse("is used by device a", a, b);
	snprintf(b, sizeof(b), "blk,name=b,socket=%s/b.sock,path=%s", it_dir,
	    it_path("alias.img"));
	both_refuse("is used by device a", a, b);
	/* A writer and a reader conflict too. */
	snprintf(b, sizeof(b), "blk,name=b,socket=%s/b.sock,path=%s,"
	    "read-only=on", it_dir, img);
	both_refuse("is used by device a", a, b);
	cr_assert_neq(strstr(chk_err, "lock=off"), NULL, "no hint: %s",
	    chk_err);
	/* Two readers share it; lock=off shares it on purpose. */
	snprintf(a, sizeof(a), "blk,name=a,socket=%s/a.sock,path=%s,"
	    "read-only=on", it_dir, img);
	cr_assert_eq(run("-n", "--device", a, "--device", b, NULL), 0, "%s",
	    chk_err);
	snprintf(a, sizeof(a), "blk,name=a,socket=%s/a.sock,path=%s,lock=off",
	    it_dir, img);
	snprintf(b, sizeof(b), "blk,name=b,socket=%s/b.sock,path=%s,lock=off",
	    it_dir, it_path("alias.img"));
	cr_assert_eq(run("-n", "--device", a, "--device", b, NULL), 0, "%s",
	    chk_err);
}

Test(check, socket_directory_and_non_socket)
{
	const char	*file = make_file("plain", "x", 1, 1);
	char		 dev[512];
	int		 rc;

	snprintf(dev, sizeof(dev), "rng,socket=%s/missing/r.sock", it_dir);
	rc = run("-n", "--device", dev, NULL);
	cr_assert_eq(rc, 1, "exit %d: %s", rc, chk_err);
	cr_assert_neq(strstr(chk_err, "missing/r.sock: the directory does not "
	    "exist"), NULL, "%s", chk_err);
	snprintf(dev, sizeof(dev), "rng,socket=%s", file);
	rc = run("-n", "--device", dev, NULL);
	cr_assert_eq(rc, 1, "exit %d: %s", rc, chk_err);
	cr_assert_neq(strstr(chk_err, "exists and is not a socket"), NULL, "%s",
	    chk_err);
	/* A start says the same, and leaves the file alone. */
	rc = run("--device", dev, NULL);
	cr_assert_eq(rc, 1, "exit %d: %s", rc, chk_err);
	cr_assert_neq(strstr(chk_err, "exists and is not a socket"), NULL, "%s",
	    chk_err);
	cr_assert(it_exists(file));
}

/* Every error of a file is reported, each with its file:line. */
Test(check, every_error_with_its_line)
{
	const char	*conf = it_path("v.conf");
	FILE		*f;
	int		 rc;

	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "[a]\ntype = rng\nsocket = %s/no/a.sock\n\n"
	    "[b]\ntype = blk\nsocket = %s/b.sock\npath = %s/no.img\n",
	    it_dir, it_dir, it_dir);
	fclose(f);
	rc = run("-n", "-c", conf, NULL);
	cr_assert_eq(rc, 1, "exit %d: %s", rc, chk_err);
	cr_assert_neq(strstr(chk_err, "v.conf:3: [a] socket:"), NULL, "%s",
	    chk_err);
	cr_assert_neq(strstr(chk_err, "v.conf:8: [b] path:"), NULL, "%s",
	    chk_err);
}

/* Headers of formats vhostd does not serve raw (blk_probe.c). */
static const struct {
	const char	*name;
	size_t		 off;
	const char	*magic;
	size_t		 len;
	const char	*want;
} formats[] = {
	{ "qcow2", 0, "QFI\xfb\0\0\0\3", 8, "qemu-img convert -O raw" },
	{ "vmdk", 0, "KDMV", 4, "a vmdk image" },
	{ "vmdk-desc", 0, "# Disk DescriptorFile\n", 22, "a vmdk image" },
	{ "vhdx", 0, "vhdxfile", 8, "a vhdx image" },
	{ "vdi", 0x40, "\x7f\x10\xda\xbe", 4, "a vdi image" },
	{ "luks", 0, "LUKS\xba\xbe\0\1", 8, "cryptsetup open" },
	{ "qed", 0, "QED\0", 4, "a QED image" },
	{ "vpc", 0, "conectix", 8, "a vpc (VHD) image" },
};

Test(check, image_formats_refused_unless_format_raw)
{
	uint8_t		 head[512];
	char		 dev[512];
	const char	*img;
	unsigned int	 i;
	int		 rc;

	for (i = 0; i < NELEM(formats); i++) {
		memset(head, 0, sizeof(head));
		memcpy(head + formats[i].off, formats[i].magic, formats[i].len);
		img = make_file(it_fmt("%s.img", formats[i].name), head,
		    sizeof(head), 1 << 20);
		snprintf(dev, sizeof(dev), "blk,socket=%s/d.sock,path=%s",
		    it_dir, img);
		rc = run("-n", "--device", dev, NULL);
		cr_assert_eq(rc, 1, "%s: exit %d: %s", formats[i].name, rc,
		    chk_err);
		cr_assert_neq(strstr(chk_err, formats[i].want), NULL,
		    "%s: no '%s' in: %s", formats[i].name, formats[i].want,
		    chk_err);
		cr_assert_neq(strstr(chk_err, "format=raw"), NULL, "%s",
		    chk_err);
		/* The user means it. */
		snprintf(dev, sizeof(dev), "blk,socket=%s/d.sock,path=%s,"
		    "format=raw", it_dir, img);
		rc = run("-n", "--device", dev, NULL);
		cr_assert_eq(rc, 0, "%s with format=raw: exit %d: %s",
		    formats[i].name, rc, chk_err);
	}
	/* A start refuses it as -n does; a plain image is fine. */
	snprintf(dev, sizeof(dev), "blk,socket=%s/d.sock,path=%s", it_dir,
	    it_path("qcow2.img"));
	rc = run("--device", dev, NULL);
	cr_assert_eq(rc, 1, "exit %d: %s", rc, chk_err);
	cr_assert_neq(strstr(chk_err, "qemu-img convert"), NULL, "%s", chk_err);
	img = make_file("raw.img", "hello", 5, 1 << 20);
	snprintf(dev, sizeof(dev), "blk,socket=%s/d.sock,path=%s", it_dir,
	    img);
	cr_assert_eq(run("-n", "--device", dev, NULL), 0, "%s", chk_err);
}

/*
 * An empty configuration: -n says vhostd will start and wait for a
 * reload, and it does (vhostd.conf(5)); a reload then adds a device.
 */
Test(check, empty_configuration_starts_and_waits_for_a_reload)
{
	const char	*conf = it_path("empty.conf"), *sock = it_path("r.sock");
	FILE		*f;

	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "# nothing yet\n");
	fclose(f);
	cr_assert_eq(run("-n", "-c", conf, NULL), 0, "%s", chk_err);
	cr_assert_neq(strstr(chk_out, "no device; vhostd starts and waits for "
	    "a reload"), NULL, "%s", chk_out);
	it_start(&it_vp, "-c", conf, NULL);
	cr_assert_geq(vproc_wait_log(&it_vp, "waiting for a reload", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	cr_assert_not_null(f = fopen(conf, "w"));
	fprintf(f, "[r]\ntype = rng\nsocket = %s\n", sock);
	fclose(f);
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	it_assert_entropy(sock);
	it_stop(&it_vp);
	/* Without a file, no device at all is still a usage error. */
	cr_assert_eq(run("-n", NULL), 2, "%s", chk_err);
}

/* The build tree's personalities, and --version for each. */
Test(check, version_and_personality_links)
{
	char		 prog[512], ver[128], *argv[4];
	const char	*vhostd = it_env("VHOSTD");
	unsigned int	 i;
	int		 st;
	static const char *const types[] = { "blk", "rng" };

	argv[0] = (char *)vhostd;
	argv[1] = (char *)"--version";
	argv[2] = NULL;
	st = vproc_run(argv, chk_out, sizeof(chk_out), chk_err,
	    sizeof(chk_err), VPROC_TIMEOUT_MS);
	cr_assert_eq(it_code(st), 0, "%s", chk_err);
	cr_assert_eq(sscanf(chk_out, "vhostd %127s", ver), 1, "%s", chk_out);
	cr_assert_gt(strlen(ver), 0);
	for (i = 0; i < NELEM(types); i++) {
		snprintf(prog, sizeof(prog), "%.*s/vhostd-%s",
		    (int)(strrchr(vhostd, '/') - vhostd), vhostd, types[i]);
		cr_assert(it_exists(prog), "no personality link %s in the "
		    "build tree", prog);
		argv[0] = prog;
		argv[1] = (char *)"--version";
		st = vproc_run(argv, chk_out, sizeof(chk_out), chk_err,
		    sizeof(chk_err), VPROC_TIMEOUT_MS);
		cr_assert_eq(it_code(st), 0, "%s: %s", prog, chk_err);
		cr_assert_str_eq(chk_out, it_fmt("vhostd-%s %s\n", types[i],
		    ver));
		argv[1] = (char *)"--help";
		st = vproc_run(argv, chk_out, sizeof(chk_out), chk_err,
		    sizeof(chk_err), VPROC_TIMEOUT_MS);
		cr_assert_eq(it_code(st), 0, "%s --help: %s", prog, chk_err);
		cr_assert_neq(strstr(chk_out, it_fmt("usage: vhostd-%s",
		    types[i])), NULL, "%s", chk_out);
	}
	/* vhostd TYPE --version is the same personality. */
	argv[0] = (char *)vhostd;
	argv[1] = (char *)"blk";
	argv[2] = (char *)"--version";
	argv[3] = NULL;
	st = vproc_run(argv, chk_out, sizeof(chk_out), chk_err,
	    sizeof(chk_err), VPROC_TIMEOUT_MS);
	cr_assert_eq(it_code(st), 0, "%s", chk_err);
	cr_assert_str_eq(chk_out, it_fmt("vhostd-blk %s\n", ver));
}
