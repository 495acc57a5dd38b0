/*
 * limits_test.c - per-device limits (issue 9.5): every device child runs
 * as a uid of its own (and the gid of that number) from the uid range,
 * stable across restarts of the child and of vhostd, unless the device
 * names its user; so the limits the kernel keeps per uid (RLIMIT_NPROC,
 * which io_uring's io-wq workers count against) are per device.  And a
 * memory cap per child (memory-max=, RLIMIT_DATA): a child past it fails
 * cleanly as a device fault, and the defaults let blk serve with every
 * queue.
 *
 * Per-device uids apply when vhostd runs as root (without a user
 * namespace); the tests skip otherwise.  Each test gives vhostd a uid
 * range of its own (from its pid), since tests run in parallel and the
 * NPROC test fills one uid up to its limit.
 */
#include "itest.h"

#include <dirent.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sys/resource.h>

#include "vuf_blk.h"

#define LIM_BLK_NPROC	4096	/* blk_device_type.dt_rlimit_nproc */
#define LIM_BLK_F_FLUSH	9	/* VIRTIO_BLK_F_FLUSH */

static struct vproc	lim_vp2;
static pid_t		lim_hog = -1;

static void
lim_setup(void)
{
	it_setup();
	memset(&lim_vp2, 0, sizeof(lim_vp2));
	lim_vp2.vp_err = lim_vp2.vp_pidfd = -1;
	lim_hog = -1;
}

static void
lim_teardown(void)
{
	if (lim_hog > 0) {
		kill(lim_hog, SIGKILL);
		waitpid(lim_hog, NULL, 0);
	}
	vproc_cleanup(&lim_vp2);
	it_teardown();
}

TestSuite(limits, .init = lim_setup, .fini = lim_teardown, .timeout = 120);

static void
need_root(void)
{
	if (geteuid() != 0)
		cr_skip_test("per-device uids need vhostd to run as root");
}

/*
 * --uid-range of this test's own, far from anything else (static: it
 * outlives it_fmt's rotating buffers).
 */
static const char *
own_range(unsigned int count, uint32_t *base)
{
	static char	buf[64];

	*base = 3000000u + (uint32_t)(getpid() % 10000) * 100u;
	snprintf(buf, sizeof(buf), "--uid-range=%u:%u", *base, count);
	return buf;
}

/* Field "Uid:" or "Gid:" of /proc/PID/status: the real id. */
static long
proc_id(pid_t pid, const char *field)
{
	char	path[64], line[256];
	FILE	*f;
	long	 id = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0) {
			id = strtol(line + strlen(field), NULL, 10);
			break;
		}
	fclose(f);
	return id;
}

/*
 * The uid of a device child once it runs as its own (the clone starts as
 * root; the jail changes the ids a few ms later).
 */
static long
child_uid(pid_t pid)
{
	long	uid = -1;
	int	i;

	for (i = 0; i < 1000; i++) {
		if ((uid = proc_id(pid, "Uid:")) > 0)
			break;
		usleep(5000);
	}
	return uid;
}

/* Test devices: rng a, rng b, blk c. */
static void
start_three(struct vproc *p, const char *range, const char *img)
{
	it_start(p, range, "--device", it_fmt("rng,name=a,socket=%s",
	    it_path("a.sock")), "--device", it_fmt("rng,name=b,socket=%s",
	    it_path("b.sock")), "--device", it_fmt("blk,name=c,socket=%s,"
	    "path=%s", it_path("c.sock"), img), "--device",
	    it_fmt("rng,name=d,socket=%s,user=nobody", it_path("d.sock")),
	    NULL);
}

static void
make_image(const char *path, off_t size)
{
	int	fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
}

/*
 * Each device's child runs as a uid and gid of its own from the range,
 * the same number, not a user of the system, and gets the same one
 * again when it is restarted and when vhostd is; user= wins.
 */
Test(limits, each_device_child_has_a_uid_of_its_own_stable_across_restarts)
{
	const char	*names[] = { "a", "b", "c" };
	const char	*img = it_path("c.img");
	const char	*range;
	struct passwd	*nobody;
	uint32_t	 base;
	long		 uid[3], uid2[3], gid;
	pid_t		 pid, again;
	unsigned int	 i, j;

	need_root();
	make_image(img, 1 << 20);
	range = own_range(64, &base);
	start_three(&it_vp, range, img);
	for (i = 0; i < 3; i++) {
		pid = vproc_child_pid(&it_vp, names[i], 0, VPROC_TIMEOUT_MS);
		cr_assert_gt(pid, 0, "%s", it_vp.vp_log);
		uid[i] = child_uid(pid);
		gid = proc_id(pid, "Gid:");
		fprintf(stderr, "limits: %s: child %d uid %ld gid %ld\n",
		    names[i], (int)pid, uid[i], gid);
		cr_assert(uid[i] >= base && uid[i] < base + 64, "%s: uid %ld "
		    "is not from the range %u..%u", names[i], uid[i], base,
		    base + 63);
		cr_assert_eq(gid, uid[i], "%s: gid %ld, uid %ld", names[i],
		    gid, uid[i]);
		cr_assert_null(getpwuid((uid_t)uid[i]), "uid %ld is a user",
		    uid[i]);
		for (j = 0; j < i; j++)
			cr_assert_neq(uid[i], uid[j], "%s and %s share uid %ld",
			    names[i], names[j], uid[i]);
	}
	/* user= names the user. */
	nobody = getpwnam("nobody");
	cr_assert_not_null(nobody);
	pid = vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS);
	cr_assert_eq(child_uid(pid), (long)nobody->pw_uid);
	/* The child restarted after a crash gets its uid again. */
	pid = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	again = vproc_child_pid(&it_vp, "b", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(again, 0, "%s", it_vp.vp_log);
	cr_assert_eq(child_uid(again), uid[1], "b's new child %d is uid %ld, "
	    "was %ld", (int)again, child_uid(again), uid[1]);
	/* And so does every device when vhostd starts again. */
	it_stop(&it_vp);
	start_three(&lim_vp2, range, img);
	for (i = 0; i < 3; i++) {
		pid = vproc_child_pid(&lim_vp2, names[i], 0, VPROC_TIMEOUT_MS);
		uid2[i] = child_uid(pid);
		cr_assert_eq(uid2[i], uid[i], "%s: uid %ld after a restart of "
		    "vhostd, %ld before", names[i], uid2[i], uid[i]);
	}
	it_stop(&lim_vp2);
}

/* The hog: threads of one uid up to its RLIMIT_NPROC. */
static void *
hog_thread(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

/*
 * Fork a process that becomes uid and starts threads until the kernel
 * refuses one (the uid has LIM_BLK_NPROC tasks then: the limit a blk
 * child has).  Returns its pid once it is full; *n gets its threads.
 */
static pid_t
hog_start(uid_t uid, unsigned int *n)
{
	struct rlimit	 rl = { LIM_BLK_NPROC, LIM_BLK_NPROC };
	pthread_attr_t	 attr;
	pthread_t	 t;
	unsigned int	 count = 0;
	char		 line[32];
	pid_t		 pid;
	int		 p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (setrlimit(RLIMIT_NPROC, &rl) == -1 ||
		    setgroups(0, NULL) == -1 ||
		    setresgid(uid, uid, uid) == -1 ||
		    setresuid(uid, uid, uid) == -1)
			_exit(1);
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		while (count < 2 * LIM_BLK_NPROC &&
		    pthread_create(&t, &attr, hog_thread, NULL) == 0)
			count++;
		dprintf(p[1], "%u\n", count);
		for (;;)
			pause();
	}
	cr_assert_gt(pid, 0);
	close(p[1]);
	cr_assert_gt(vproc_read_line(p[0], line, sizeof(line), 60000), 0,
	    "the hog did not report");
	close(p[0]);
	*n = (unsigned int)strtoul(line, NULL, 10);
	return pid;
}

/* Whether process pid has an io-wq worker ("iou-wrk-PID") right now. */
static bool
has_io_worker(pid_t pid)
{
	char		 path[320], comm[64];
	struct dirent	*de;
	DIR		*d;
	FILE		*f;
	bool		 found = false;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL)
		return false;
	while (!found && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid,
		    de->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL &&
		    strncmp(comm, "iou-wrk-", 8) == 0)
			found = true;
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * A write and a flush (io_uring's fsync: always an io-wq worker).
 * Returns whether child pid had an io-wq worker once the flush was
 * answered, looked at while the session still holds the child: it exits
 * when the front end disconnects.
 */
static bool
write_and_flush(const char *sock, const char *what, pid_t pid)
{
	bool		worker;
	struct vuf	f;
	struct vuf_blk	b;
	struct vuf_opts	o;
	uint8_t		st = VUF_BLK_S_NONE;

	memset(&o, 0, sizeof(o));
	o.o_mem_size = 2u << 20;
	o.o_queue_size = 64;
	o.o_features = (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	    (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << LIM_BLK_F_FLUSH);
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, sock, &o), 0, "%s: %s", what,
	    vuf_error(&f));
	cr_assert_eq(vuf_blk_init(&b, &f, 0, 4096), 0);
	memset(b.b_data, 0x5a, 4096);
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_OUT, 8, 4096, &st), 0, "%s: %s",
	    what, vuf_error(&f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	cr_assert_eq(vuf_blk_io(&b, VUF_BLK_T_FLUSH, 0, 0, &st), 0, "%s: %s",
	    what, vuf_error(&f));
	cr_assert_eq(st, VUF_BLK_S_OK);
	worker = has_io_worker(pid);
	vuf_fini(&f);
	return worker;
}

/*
 * The attack of issue 9.5: a taken-over child starts kernel workers
 * until its uid has RLIMIT_NPROC tasks.  Played here by a process of
 * device a's uid with threads up to the limit a blk child has (4096).
 * Device a then cannot get an io-wq worker for its flush (the control:
 * the hog works; blk says so and runs the flush inline), while device b,
 * with a uid of its own, still gets one (an iou-wrk thread serves its
 * flush) and never falls back.  With one uid for both (user= on both, or
 * the code before per-device uids), b falls back like a.
 */
Test(limits, a_device_filling_its_nproc_leaves_the_others_their_io_workers)
{
	const char	*range;
	uint32_t	 base;
	unsigned int	 n;
	pid_t		 a, b;
	long		 ua, ub;

	need_root();
	make_image(it_path("a.img"), 1 << 20);
	make_image(it_path("b.img"), 1 << 20);
	range = own_range(16, &base);
	it_start(&it_vp, range, "--device", it_fmt("blk,name=a,socket=%s,"
	    "path=%s,direct=on", it_path("a.sock"), it_path("a.img")),
	    "--device", it_fmt("blk,name=b,socket=%s,path=%s,direct=on",
	    it_path("b.sock"), it_path("b.img")), NULL);
	a = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	b = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(a > 0 && b > 0, "%s", it_vp.vp_log);
	ua = child_uid(a);
	ub = child_uid(b);
	fprintf(stderr, "limits: a is uid %ld, b is uid %ld\n", ua, ub);
	cr_assert(ua > 0 && ub > 0 && ua != ub, "a uid %ld, b uid %ld", ua,
	    ub);
	lim_hog = hog_start((uid_t)ua, &n);
	fprintf(stderr, "limits: the hog holds %u threads of uid %ld\n", n,
	    ua);
	cr_assert_gt(n, LIM_BLK_NPROC / 2, "the hog started %u threads only",
	    n);
	cr_assert_lt(n, 2 * LIM_BLK_NPROC, "RLIMIT_NPROC did not stop the "
	    "hog");
	/* b: a worker of its own, no fall-back. */
	cr_assert(write_and_flush(it_path("b.sock"), "b", b),
	    "b's flush ran without an io-wq worker");
	cr_assert_eq(vproc_count(&it_vp, "could not start a kernel worker"),
	    0, "b fell back to synchronous I/O:\n%s", it_vp.vp_log);
	/* a: its uid is full, so it falls back (the hog is effective). */
	(void)write_and_flush(it_path("a.sock"), "a", a);
	cr_assert_geq(vproc_wait_log(&it_vp, it_fmt("a[%d]: blk: queue 0: "
	    "io_uring could not start a kernel worker", (int)a), 0,
	    VPROC_TIMEOUT_MS), 0, "a got a worker although its uid is "
	    "full:\n%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "could not start a kernel worker"),
	    1, "%s", it_vp.vp_log);
	kill(lim_hog, SIGKILL);
	waitpid(lim_hog, NULL, 0);
	lim_hog = -1;
	it_stop(&it_vp);
}

/* "Max data size" of /proc/PID/limits (soft), -1 for unlimited. */
static long long
data_limit(pid_t pid)
{
	char		 path[64], line[256];
	long long	 v = -2;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return -2;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Max data size", 13) != 0)
			continue;
		v = strncmp(line + 26, "unlimited", 9) == 0 ? -1 :
		    strtoll(line + 26, NULL, 10);
		break;
	}
	fclose(f);
	return v;
}

/* The child's cap once the jail set it (the clone starts uncapped). */
static long long
child_data_limit(pid_t pid, long long want)
{
	long long	v = -2;
	int		i;

	for (i = 0; i < 1000; i++) {
		if ((v = data_limit(pid)) == want)
			break;
		usleep(5000);
	}
	return v;
}

static void
skip_sanitizer(void)
{
#ifdef VHOSTD_SANITIZE
	cr_skip_test("sanitizer build: no memory-max (ASan reserves terabytes "
	    "of shadow memory)");
#endif
}

/*
 * A child whose memory-max is too small for what it allocates (blk with
 * 16 queues wants about 14 MiB) fails cleanly: the allocation fails, the
 * child says so and exits as a device fault (status 3), the parent logs
 * the exit and the restart policy applies (a device that never served
 * is given up after the burst limit).
 */
Test(limits, a_child_past_its_memory_cap_fails_as_a_device_fault)
{
	int	status;

	skip_sanitizer();
	make_image(it_path("m.img"), 1 << 20);
	it_start(&it_vp, "--restart-limit=3/60", "--device",
	    it_fmt("blk,name=m,socket=%s,path=%s,queues=16,memory-max=4M",
	    it_path("m.sock"), it_path("m.img")), NULL);
	cr_assert_geq(vproc_wait_log(&it_vp, "giving up on this device", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	cr_assert_geq(vproc_count(&it_vp, "device set-up failed: Cannot "
	    "allocate memory"), 3, "%s", it_vp.vp_log);
	cr_assert_geq(vproc_count(&it_vp, "exited with status 3"), 3, "%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	/* No device left: vhostd ends, with the failure in its status. */
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &status), 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0, "%s",
	    it_vp.vp_log);
}

/*
 * The defaults: blk with every queue (16) and rng get their type's cap
 * (64 MiB, 16 MiB), and serve with it: I/O on each of blk's 16 queues of
 * the largest ring size, entropy from rng.  memory-max=0 means no cap.
 */
Test(limits, the_default_caps_let_blk_serve_every_queue)
{
	struct vuf	 f;
	struct vuf_blk	 b[16];
	struct vuf_opts	 o;
	uint8_t		 st, buf[64];
	char		 err[256];
	unsigned int	 q, i;
	pid_t		 bp, rp, np;

	skip_sanitizer();
	make_image(it_path("q.img"), 16 << 20);
	it_start(&it_vp, "--device", it_fmt("blk,name=q,socket=%s,path=%s,"
	    "queues=16", it_path("q.sock"), it_path("q.img")), "--device",
	    it_fmt("rng,name=r,socket=%s", it_path("r.sock")), "--device",
	    it_fmt("rng,name=n,socket=%s,memory-max=0", it_path("n.sock")),
	    NULL);
	bp = vproc_child_pid(&it_vp, "q", 0, VPROC_TIMEOUT_MS);
	rp = vproc_child_pid(&it_vp, "r", 0, VPROC_TIMEOUT_MS);
	np = vproc_child_pid(&it_vp, "n", 0, VPROC_TIMEOUT_MS);
	cr_assert(bp > 0 && rp > 0 && np > 0, "%s", it_vp.vp_log);
	cr_assert_eq(child_data_limit(bp, 64ll << 20), 64ll << 20);
	cr_assert_eq(child_data_limit(rp, 16ll << 20), 16ll << 20);
	cr_assert_eq(data_limit(np), -1, "memory-max=0 still capped");
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 64u << 20;
	o.o_queue_size = 1024;
	o.o_nqueues = 16;
	vuf_init(&f);
	cr_assert_eq(vuf_setup(&f, it_path("q.sock"), &o), 0, "%s\n%s",
	    vuf_error(&f), it_vp.vp_log);
	for (q = 0; q < 16; q++) {
		cr_assert_eq(vuf_blk_init(&b[q], &f, q, 65536), 0, "%s",
		    vuf_error(&f));
		memset(b[q].b_data, (int)q + 1, 65536);
		cr_assert_eq(vuf_blk_io(&b[q], VUF_BLK_T_OUT, q * 128, 65536,
		    &st), 0, "queue %u: %s\n%s", q, vuf_error(&f),
		    it_vp.vp_log);
		cr_assert_eq(st, VUF_BLK_S_OK, "queue %u", q);
	}
	for (q = 0; q < 16; q++) {
		memset(b[q].b_data, 0, 65536);
		cr_assert_eq(vuf_blk_io(&b[q], VUF_BLK_T_IN, q * 128, 65536,
		    &st), 0, "queue %u: %s", q, vuf_error(&f));
		cr_assert_eq(st, VUF_BLK_S_OK);
		for (i = 0; i < 65536; i++)
			cr_assert_eq(b[q].b_data[i], q + 1, "queue %u byte %u",
			    q, i);
	}
	fprintf(stderr, "limits: blk with 16 queues of 1024 serving: VmData "
	    "%ld kB of a 64 MiB cap\n", proc_id(bp, "VmData:"));
	vuf_fini(&f);
	cr_assert_eq(it_entropy(it_path("r.sock"), buf, sizeof(buf), err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(vproc_count(&it_vp, "Cannot allocate memory"), 0, "%s",
	    it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload keeps every device's uid: a changed device comes back with the
 * same one, an unchanged one keeps its child, a removed device's uid is
 * free again, and an added device gets one nobody else has.
 */
Test(limits, a_reload_keeps_each_devices_uid)
{
	const char	*conf = it_path("vhostd.conf"), *range;
	char		 text[1024];
	uint32_t	 base;
	long		 ua, ub, ub2, uc;
	pid_t		 pa, pb, pb2, pc;
	FILE		*f;

	need_root();
	range = own_range(64, &base);
	snprintf(text, sizeof(text), "%s\n[a]\ntype = rng\nsocket = %s\n\n"
	    "[b]\ntype = rng\nsocket = %s\n", range + 2, it_path("a.sock"),
	    it_path("b.sock"));
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	it_start(&it_vp, "-c", conf, NULL);
	pa = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	pb = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(pa > 0 && pb > 0, "%s", it_vp.vp_log);
	ua = child_uid(pa);
	ub = child_uid(pb);
	cr_assert(ua >= base && ua < base + 64 && ub >= base &&
	    ub < base + 64 && ua != ub, "a %ld, b %ld, range from %u", ua, ub,
	    base);
	/* b changed (mode), c added. */
	snprintf(text, sizeof(text), "%s\n[a]\ntype = rng\nsocket = %s\n\n"
	    "[b]\ntype = rng\nsocket = %s\nmode = 0660\n\n[c]\ntype = rng\n"
	    "socket = %s\n", range + 2, it_path("a.sock"), it_path("b.sock"),
	    it_path("c.sock"));
	cr_assert_not_null(f = fopen(conf, "w"));
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	pc = vproc_child_pid(&it_vp, "c", 0, VPROC_TIMEOUT_MS);
	pb2 = vproc_child_pid(&it_vp, "b", 1, VPROC_TIMEOUT_MS);
	cr_assert(pc > 0 && pb2 > 0, "%s", it_vp.vp_log);
	ub2 = child_uid(pb2);
	uc = child_uid(pc);
	fprintf(stderr, "limits: reload: a %ld, b %ld -> %ld, c %ld\n", ua,
	    ub, ub2, uc);
	cr_assert_eq(ub2, ub, "b changed uid on a reload: %ld, was %ld", ub2,
	    ub);
	cr_assert_eq(kill(pa, 0), 0, "a was restarted");
	cr_assert(uc >= base && uc < base + 64 && uc != ua && uc != ub,
	    "c has uid %ld", uc);
	it_stop(&it_vp);
}
