/*
 * ctl_test.c - operating a running vhostd (issue 14): vhostd ctl start,
 * stop, restart, reset, reload and status NAME, each checked against
 * what is served; and reloads that are transactions: a change whose new
 * resources do not open leaves the running device exactly as it was
 * (its child, its socket inode), a change on the same image takes the
 * lock over, and a device that was given up is tried again; a device
 * stopped by ctl stays stopped through reloads (also while its stop is
 * still under way), taking a changed configuration for its next start.
 */
#include "itest.h"

#include <time.h>

#include "vuf_blk.h"

TestSuite(ctl, .init = it_setup, .fini = it_teardown, .timeout = 120);

#define IMG_SIZE	(4u << 20)

/* vhostd ctl --control=ctl ARGS...: exit status; stdout, stderr kept. */
static char	ctl_out[16384], ctl_err[4096];

static int
ctl_run(const char *ctl, ...)
{
	char		*argv[IT_MAX_ARGS];
	const char	*a;
	unsigned int	 n = 0;
	va_list		 ap;
	int		 st;

	argv[n++] = (char *)it_env("VHOSTD");
	argv[n++] = (char *)"ctl";
	argv[n++] = it_fmt("--control=%s", ctl);
	va_start(ap, ctl);
	while ((a = va_arg(ap, const char *)) != NULL && n < IT_MAX_ARGS - 1)
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	st = vproc_run(argv, ctl_out, sizeof(ctl_out), ctl_err,
	    sizeof(ctl_err), 30000);
	return it_code(st);
}

/* Whether the JSON status of ctl satisfies expr (Python, over d). */
static bool
status_is(const char *ctl, const char *expr)
{
	char		 script[256], cmd[300];
	FILE		*p;
	int		 rc;

	/* Not it_path: its rotating buffers hold the callers' paths. */
	snprintf(script, sizeof(script), "%s/check.py", it_dir);
	snprintf(cmd, sizeof(cmd), "python3 '%s'", script);
	cr_assert_eq(ctl_run(ctl, "status", "--json", NULL), 0, "%s",
	    ctl_err);
	cr_assert_not_null(p = fopen(script, "w"));
	fprintf(p, "import json, sys\nd = json.load(sys.stdin)\n"
	    "sys.exit(0 if (%s) else 1)\n", expr);
	cr_assert_eq(fclose(p), 0);
	cr_assert_not_null(p = popen(cmd, "w"));
	fputs(ctl_out, p);
	rc = pclose(p);
	return rc == 0;
}

static void
assert_status(const char *ctl, const char *expr)
{
	cr_assert(status_is(ctl, expr), "status does not satisfy %s:\n%s\n"
	    "vhostd:\n%s", expr, ctl_out, it_vp.vp_log);
}

/*
 * Poll the status until it satisfies expr (a new child may wait some
 * milliseconds for the old one's I/O: blk's fence), with a deadline.
 */
static void
wait_status(const char *ctl, const char *expr)
{
	struct timespec	ts = { 0, 20 * 1000 * 1000 };
	int		i;

	for (i = 0; i < VPROC_TIMEOUT_MS / 20; i++) {
		if (status_is(ctl, expr))
			return;
		nanosleep(&ts, NULL);
	}
	assert_status(ctl, expr);
}

static const char *
write_file(const char *name, const char *text)
{
	const char	*path = it_path(name);
	FILE		*f;

	cr_assert_not_null(f = fopen(path, "w"), "%s", path);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	return path;
}

static const char *
make_image(const char *name)
{
	const char	*path = it_path(name);
	int		 fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	return path;
}

static ino_t
inode(const char *path)
{
	struct stat	st;

	cr_assert_eq(lstat(path, &st), 0, "%s: %s", path, strerror(errno));
	return st.st_ino;
}

/* Write a block of v at sector through the disk at sock, read it back. */
static void
assert_disk_serves(const char *sock, uint64_t sector, uint8_t v)
{
	struct vuf_opts	 o;
	struct vuf_blk	 b;
	struct vuf	 f;
	uint8_t		 st = VUF_BLK_S_NONE;
	unsigned int	 i;

	memset(&o, 0, sizeof(o));
	o.o_mem_size = 2u << 20;
	o.o_queue_size = 64;
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "disk at %s: %s\nvhostd:\n%s",
	    sock, vuf_error(&f), it_vp.vp_log);
	cr_assert_eq(vuf_blk_init(&b, &f, 0, 4096), 0, "%s", vuf_error(&f));
	memset(b.b_data, v, 4096);
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_OUT, sector, 4096, &st), 0,
	    "%s", vuf_error(&f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	memset(b.b_data, 0, 4096);
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_IN, sector, 4096, &st), 0,
	    "%s", vuf_error(&f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	for (i = 0; i < 4096; i++)
		cr_assert_eq(b.b_data[i], v, "byte %u read back as %u", i,
		    b.b_data[i]);
	vuf_fini(&f);
}

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

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

/*
 * A reload with a mistyped image path: the running disk is untouched
 * (the same child, the same socket inode, still served) and the error
 * names the file and line of the path.  vhostd ctl reload says so too.
 */
Test(ctl, reload_with_a_mistyped_image_keeps_the_disk)
{
	const char	*img = make_image("d.img"), *sock = it_path("d.sock");
	const char	*ctl = it_path("ctl.sock"), *conf;
	pid_t		 c0, c1;
	ino_t		 ino;

	conf = write_file("v.conf", it_fmt("[d]\ntype = blk\nsocket = %s\n"
	    "path = %s\n", sock, img));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	c0 = vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	ino = inode(sock);

	write_file("v.conf", it_fmt("[d]\ntype = blk\nsocket = %s\n"
	    "path = %s.typo\n", sock, img));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, it_fmt("v.conf:4: [d] path: "
	    "%s.typo: No such file or directory", img), 0, VPROC_TIMEOUT_MS),
	    0, "no file:line error:\n%s", it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "d keeps running with its "
	    "previous configuration", 0, VPROC_TIMEOUT_MS), 0, "%s",
	    it_vp.vp_log);
	cr_assert_eq(kill(c0, 0), 0, "the running child was stopped:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(inode(sock), ino, "the socket was replaced");
	assert_disk_serves(sock, 8, 0x5a);
	/* The child that served is the one from before the reload. */
	cr_assert_eq(vproc_child_pid(&it_vp, "d", 0, 0), c0);

	/* The same through vhostd ctl reload: exit 1, the error shown. */
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 1);
	cr_assert_neq(strstr(ctl_err, "v.conf:4: [d] path:"), NULL, "%s",
	    ctl_err);
	/* The next child (after the session above) serves the old image. */
	c1 = vproc_child_pid(&it_vp, "d", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "%s", it_vp.vp_log);
	cr_assert_eq(inode(sock), ino);
	assert_disk_serves(sock, 16, 0x6b);
	cr_assert_eq(vproc_count(&it_vp, "configuration changed"), 0, "%s",
	    it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload that changes a disk but keeps its image and socket: the new
 * configuration opens although the running device holds the image lock
 * (taken over, not taken twice), the listener is the same (socket
 * inode), and the data written before is there.  Then read-only=on
 * (exclusive lock to shared) and back (shared to exclusive).
 */
Test(ctl, reload_of_a_disk_on_the_same_image_takes_its_lock_over)
{
	const char	*img = make_image("d.img"), *sock = it_path("d.sock");
	const char	*ctl = it_path("ctl.sock"), *conf;
	char		 base[1024];
	ino_t		 ino;
	long		 off;
	int		 fd;
	struct flock	 fl;

	snprintf(base, sizeof(base), "[d]\ntype = blk\nsocket = %s\n"
	    "path = %s\n", sock, img);
	conf = write_file("v.conf", base);
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS), 0);
	ino = inode(sock);
	assert_disk_serves(sock, 24, 0x31);

	write_file("v.conf", it_fmt("%squeues = 2\n", base));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "d: configuration changed; started with "
	    "the new one", 0, VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	cr_assert_eq(inode(sock), ino, "the socket was replaced");
	wait_status(ctl, "d['devices'][0]['device']['queues'] == 2 and "
	    "d['devices'][0]['state'] == 'running'");
	assert_disk_serves(sock, 32, 0x42);
	cr_assert_eq(vproc_count(&it_vp, "in use by"), 0, "%s", it_vp.vp_log);

	/* The lock is still held: another writer is refused. */
	fd = open(img, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), -1, "the image lock was "
	    "lost in the reload");

	/* Read-only: the lock becomes shared (a reader may join). */
	write_file("v.conf", it_fmt("%squeues = 2\nread-only = on\n", base));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "d: configuration changed", (size_t)off,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	wait_status(ctl, "d['devices'][0]['device']['read-only'] == True "
	    "and d['devices'][0]['state'] == 'running'");
	fl.l_type = F_RDLCK;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0, "a read-only disk's "
	    "lock should be shared: %s", strerror(errno));
	fl.l_type = F_UNLCK;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), 0);

	/* Writable again: exclusive, and served. */
	write_file("v.conf", base);
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "d: configuration changed", (size_t)off,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	wait_status(ctl, "d['devices'][0]['device']['read-only'] == False "
	    "and d['devices'][0]['state'] == 'running'");
	fl.l_type = F_RDLCK;
	cr_assert_eq(fcntl(fd, F_OFD_SETLK, &fl), -1, "a writable disk's "
	    "lock should be exclusive");
	close(fd);
	assert_disk_serves(sock, 40, 0x53);
	cr_assert_eq(inode(sock), ino);
	it_stop(&it_vp);
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

/*
 * A reload that changes only mode= keeps the listening socket (same
 * inode, new mode); one that moves the socket binds the new path before
 * the old child stops, and removes the old path once it is gone.
 */
Test(ctl, reload_keeps_or_moves_the_socket)
{
	const char	*ctl = it_path("ctl.sock"), *conf;
	char		 a[256], b[256];
	struct stat	 st;
	ino_t		 ino;
	long		 off;

	snprintf(a, sizeof(a), "%s", it_path("a.sock"));
	snprintf(b, sizeof(b), "%s", it_path("b.sock"));
	conf = write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n", a));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS), 0);
	ino = inode(a);
	write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n"
	    "mode = 0640\n", a));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
	off = vproc_wait_log(&it_vp, "r: configuration changed", 0,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	cr_assert_eq(lstat(a, &st), 0);
	cr_assert_eq(st.st_ino, ino, "the socket was bound again");
	cr_assert_eq(st.st_mode & 0777, 0640, "mode %o", st.st_mode & 0777);
	it_assert_entropy(a);

	write_file("v.conf", it_fmt("[r]\ntype = rng\nsocket = %s\n", b));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s", ctl_err);
	off = vproc_wait_log(&it_vp, "r: configuration changed", (size_t)off,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	wait_status(ctl, it_fmt("d['devices'][0]['socket'] == '%s' and "
	    "d['devices'][0]['state'] == 'running'", b));
	cr_assert(!it_exists(a), "the old socket path is left");
	cr_assert_eq(lstat(b, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
	it_assert_entropy(b);
	it_stop(&it_vp);
}

/* A connection to the control socket at path that sent line. */
static int
ctl_send_raw(const char *path, const char *line)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	cr_assert_lt(strlen(path), sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	cr_assert_geq(fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0,
	    "%s: %s", path, strerror(errno));
	cr_assert_eq(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	return fd;
}

#define SLOW_DEVICES	12
#define SLOW_READERS	4

/*
 * Clients that ask for a reply bigger than a socket buffer (status
 * --json of disks whose image paths are long, of bytes JSON escapes
 * six-fold) and never read it: the parent's loop must not wait for
 * them, another client's status is answered at once, and each reply is
 * sent whole once its client reads.
 */
Test(ctl, clients_that_never_read_do_not_stall_vhostd)
{
	char		 ctl[256], deep[4096], img[4200], *spec[SLOW_DEVICES], buf[65536];
	size_t		 len, total = 0;
	ssize_t		 n;
	unsigned int	 i;
	long		 t0, ms;
	int		 fd, rc, slow[SLOW_READERS];

	/* Copied: it_path's buffers rotate. */
	snprintf(ctl, sizeof(ctl), "%s", it_path("ctl.sock"));
	/* 18 directories of 200 bytes 0x01: a 3.6 KiB path. */
	len = (size_t)snprintf(deep, sizeof(deep), "%s", it_path("deep"));
	cr_assert_eq(mkdir(deep, 0755), 0);
	for (i = 0; i < 18; i++) {
		deep[len++] = '/';
		memset(deep + len, 1, 200);
		len += 200;
		deep[len] = '\0';
		cr_assert_eq(mkdir(deep, 0755), 0, "%s", strerror(errno));
	}
	for (i = 0; i < SLOW_DEVICES; i++) {
		snprintf(img, sizeof(img), "%s/img%02u", deep, i);
		cr_assert_geq(fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC,
		    0600), 0);
		cr_assert_eq(ftruncate(fd, 1 << 20), 0);
		close(fd);
		cr_assert_gt(asprintf(&spec[i], "blk,name=d%u,socket=%s,path=%s",
		    i, it_path(it_fmt("s%u.sock", i)), img), 0);
	}
	it_start(&it_vp, "--control", ctl, "--device", spec[0], "--device",
	    spec[1], "--device", spec[2], "--device", spec[3], "--device",
	    spec[4], "--device", spec[5], "--device", spec[6], "--device",
	    spec[7], "--device", spec[8], "--device", spec[9], "--device",
	    spec[10], "--device", spec[11], NULL);
	for (i = 0; i < SLOW_READERS; i++)
		slow[i] = ctl_send_raw(ctl, "status --json\n");
	t0 = now_ms();
	rc = ctl_run(ctl, "status", "d0", NULL);
	ms = now_ms() - t0;
	fprintf(stderr, "ctl: status with %u clients not reading their "
	    "replies: %ld ms\n", SLOW_READERS, ms);
	cr_assert_eq(rc, 0, "exit %d after %ld ms: %s", rc, ms, ctl_err);
	cr_assert_neq(strstr(ctl_out, "d0 "), NULL, "%s", ctl_out);
	/* Each non-reading client costs the loop nothing (it was 2 s). */
	cr_assert_lt(ms, 4000, "the loop waited for clients that do not read");
	/* The slow ones get the whole reply once they read. */
	while ((n = read(slow[0], buf, sizeof(buf))) > 0)
		total += (size_t)n;
	fprintf(stderr, "ctl: the reply a slow client read: %zu bytes\n",
	    total);
	cr_assert_gt(total, 212992, "not bigger than a socket buffer: the "
	    "test shows nothing");
	for (i = 0; i < SLOW_READERS; i++)
		close(slow[i]);
	for (i = 0; i < SLOW_DEVICES; i++)
		free(spec[i]);
	it_stop(&it_vp);
}

/*
 * A reload that renames a running device and keeps its socket (and its
 * image): the device goes on under the new name, on the same socket
 * inode; before, the new name could not bind the socket the old one
 * still served, was "not added", and the old one was removed: no device.
 */
Test(ctl, reload_that_renames_a_device_keeps_it)
{
	const char	*ctl = it_path("ctl.sock"), *conf, *img;
	char		 s[256], d[256], base[1024];
	ino_t		 ino, dino;
	long		 off;

	snprintf(s, sizeof(s), "%s", it_path("r.sock"));
	snprintf(d, sizeof(d), "%s", it_path("d.sock"));
	img = make_image("disk.img");
	snprintf(base, sizeof(base), "type = rng\nsocket = %s\n\n[disk]\n"
	    "type = blk\nsocket = %s\npath = %s\n", s, d, img);
	conf = write_file("v.conf", it_fmt("[old]\n%s", base));
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "old", 0, VPROC_TIMEOUT_MS), 0);
	ino = inode(s);
	dino = inode(d);
	/* The rng and the disk both renamed; nothing else changes. */
	{
		char	*p = strstr(base, "[disk]");

		cr_assert_not_null(p);
		memcpy(p, "[dnew]", 6);
	}
	write_file("v.conf", it_fmt("[new]\n%s", base));
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	off = vproc_wait_log(&it_vp, "new: configuration changed", 0,
	    VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "%s", it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "dnew: configuration changed", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	wait_status(ctl, "sorted(x['name'] for x in d['devices']) == "
	    "['dnew', 'new'] and all(x['state'] == 'running' for x in "
	    "d['devices'])");
	cr_assert_eq(inode(s), ino, "the socket was bound again");
	cr_assert_eq(inode(d), dino, "the disk's socket was bound again");
	it_assert_entropy(s);
	assert_disk_serves(d, 8, 0x5a);
	cr_assert_eq(vproc_count(&it_vp, "not added"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload that changes the middle one of three devices: the device
 * table is matched by name through a sorted index, and a changed entry's
 * configuration moves to its new device; a later lookup must not compare
 * with that moved entry (it did: the root parent died of a NULL name).
 */
Test(ctl, reload_changing_one_of_three_devices)
{
	const char	*ctl = it_path("ctl.sock"), *conf;
	char		 s[3][256], text[2048];
	unsigned int	 i;

	for (i = 0; i < 3; i++)
		snprintf(s[i], sizeof(s[i]), "%s", it_path(it_fmt("%c.sock",
		    'a' + i)));
	snprintf(text, sizeof(text), "[a]\ntype = rng\nsocket = %s\n[b]\n"
	    "type = rng\nsocket = %s\n[c]\ntype = rng\nsocket = %s\n", s[0],
	    s[1], s[2]);
	conf = write_file("v.conf", text);
	it_start(&it_vp, "--control", ctl, "-c", conf, NULL);
	cr_assert_gt(vproc_child_pid(&it_vp, "c", 0, VPROC_TIMEOUT_MS), 0);
	snprintf(text, sizeof(text), "[a]\ntype = rng\nsocket = %s\n[b]\n"
	    "type = rng\nsocket = %s\nmode = 0640\n[c]\ntype = rng\n"
	    "socket = %s\n", s[0], s[1], s[2]);
	write_file("v.conf", text);
	cr_assert_eq(ctl_run(ctl, "reload", NULL), 0, "%s\n%s", ctl_err,
	    it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, "b: configuration changed", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	wait_status(ctl, "[x['name'] for x in d['devices']] == ['a', 'b', "
	    "'c'] and all(x['state'] == 'running' for x in d['devices'])");
	for (i = 0; i < 3; i++)
		it_assert_entropy(s[i]);
	it_stop(&it_vp);
}

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
