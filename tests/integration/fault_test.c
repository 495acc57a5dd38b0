/*
 * fault_test.c - faults from the outside, with real jailed children:
 * front ends that hang up mid-message or with requests in flight, that
 * never say anything or stall mid-header, a 1 GiB length field, an image
 * that runs out of space or starts failing (device-mapper error target),
 * a SIGKILLed parent, a policy file broken while the device restarts.
 * In each case vhostd keeps serving: the guest gets an answer (an I/O
 * error where that is the truth), never a hang, and the parent's other
 * devices are not disturbed.
 */
#include "itest.h"

#include <poll.h>
#include <sched.h>
#include <time.h>
#include <sys/eventfd.h>
#include <sys/mount.h>

#include "host/supervisor.h"
#include "vuf_blk.h"

#define BLK_SLOTS	16
#define IMG_SIZE	(8u << 20)

static struct vproc	fault_vp2;	/* a second vhostd, when a test has one */
static char		fault_mnt[256];	/* a tmpfs mounted by the test */
static char		fault_dm[64];	/* a device-mapper device */
static char		fault_loop[512];	/* its loop device */

static void
fault_setup(void)
{
	it_setup();
	memset(&fault_vp2, 0, sizeof(fault_vp2));
	fault_vp2.vp_err = fault_vp2.vp_pidfd = -1;
	fault_mnt[0] = fault_dm[0] = fault_loop[0] = '\0';
}

/* Run a shell command for clean-up; failures are reported, not fatal. */
static void
fault_sh(const char *cmd)
{
	if (system(cmd) != 0)
		fprintf(stderr, "fault_test: clean-up failed: %s\n", cmd);
}

static void
fault_teardown(void)
{
	/* vhostd first: it holds the image, the device, the mount. */
	vproc_cleanup(&it_vp);
	vproc_cleanup(&fault_vp2);
	if (fault_dm[0] != '\0')
		fault_sh(it_fmt("dmsetup remove --retry --force --noudevsync %s "
		    ">/dev/null 2>&1", fault_dm));
	if (fault_loop[0] != '\0')
		fault_sh(it_fmt("losetup -d %s", fault_loop));
	if (fault_mnt[0] != '\0' && umount2(fault_mnt, MNT_DETACH) == -1)
		fprintf(stderr, "fault_test: umount %s: %s\n", fault_mnt,
		    strerror(errno));
	it_teardown();
}

TestSuite(fault, .init = fault_setup, .fini = fault_teardown,
    .timeout = 90);

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A sparse image of size bytes at path. */
static const char *
make_image(const char *path, off_t size)
{
	int	fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	cr_assert_eq(ftruncate(fd, size), 0);
	close(fd);
	return path;
}

/*
 * Wait until nobody holds a lock on the image (an OFD write lock can be
 * taken); the milliseconds it took.  A dead child's io_uring is torn down
 * by the kernel after the process is gone, and holds the image (and so
 * the lock of its open file description) for some milliseconds more.
 */
static long
wait_image_unlocked(const char *path)
{
	struct flock	fl;
	long		t0 = now_ms();
	int		fd;

	fd = open(path, O_RDWR | O_CLOEXEC);
	cr_assert_geq(fd, 0, "%s: %s", path, strerror(errno));
	for (;;) {
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		if (fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_UNLCK)
			break;
		cr_assert_lt(now_ms() - t0, VPROC_TIMEOUT_MS, "%s stays locked "
		    "after its users are gone", path);
		usleep(1000);
	}
	close(fd);
	return now_ms() - t0;
}

/* Connect a blk front end (2 MiB of guest memory, one 64-entry ring). */
static void
blk_open(struct vuf *f, struct vuf_blk *b, const char *sock)
{
	struct vuf_opts	o;
	int		rc;

	memset(&o, 0, sizeof(o));
	o.o_mem_size = 2u << 20;
	o.o_queue_size = 64;
	vuf_init(f);
	rc = vuf_setup(f, sock, &o);
	cr_assert_eq(rc, 0, "blk front end on %s: %s\nvhostd:\n%s", sock,
	    vuf_error(f), it_vp.vp_log);
	cr_assert_eq(vuf_blk_init(b, f, 0, 65536), 0, "%s", vuf_error(f));
}

/* One request that must complete (whatever its status): the status. */
static uint8_t
blk_rw(struct vuf_blk *b, uint32_t type, uint64_t sector, uint32_t len)
{
	uint8_t	st = VUF_BLK_S_NONE;
	int	rc;

	rc = vuf_blk_io(b, type, sector, len, &st);
	cr_assert_eq(rc, 0, "blk %s of %u bytes at sector %llu got no "
	    "answer: %s\nvhostd:\n%s", type == VUF_BLK_T_IN ? "read" : "write",
	    len, (unsigned long long)sector, vuf_error(b->b_f), it_vp.vp_log);
	return st;
}

/* Write a block of byte v at sector and read it back. */
static void
blk_write_check(struct vuf_blk *b, uint64_t sector, uint8_t v)
{
	unsigned int	i;

	memset(b->b_data, v, 4096);
	cr_assert_eq(blk_rw(b, VUF_BLK_T_OUT, sector, 4096), VUF_BLK_S_OK);
	memset(b->b_data, 0, 4096);
	cr_assert_eq(blk_rw(b, VUF_BLK_T_IN, sector, 4096), VUF_BLK_S_OK);
	for (i = 0; i < 4096; i++)
		cr_assert_eq(b->b_data[i], v, "byte %u of sector %llu is %u, "
		    "not %u", i, (unsigned long long)sector, b->b_data[i], v);
}

/* The line logging the exit of child pid (waited for), as a pointer. */
static const char *
exit_line(struct vproc *p, pid_t pid)
{
	const char	*needle = it_fmt(": child %d ", (int)pid);
	long		 off;

	off = vproc_wait_log(p, needle, 0, VPROC_TIMEOUT_MS);
	cr_assert_geq(off, 0, "the exit of child %d was not logged:\n%s",
	    (int)pid, p->vp_log);
	cr_assert_geq(vproc_wait_log(p, "\n", (size_t)off, VPROC_TIMEOUT_MS),
	    0);
	return p->vp_log + off - strlen(needle);
}

/* The child exited by itself (a status, not a signal: no crash). */
static void
assert_exited_cleanly(struct vproc *p, pid_t pid)
{
	const char	*l = exit_line(p, pid);

	cr_assert_eq(strncmp(l + strlen(it_fmt(": child %d ", (int)pid)),
	    "exited with status", 18), 0, "child %d did not exit by itself: "
	    "%.*s\n%s", (int)pid, (int)strcspn(l, "\n"), l, p->vp_log);
}

static void
send_header(struct vuf *f, uint32_t request, uint32_t size)
{
	struct vhost_user_header	hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.request = request;
	hdr.flags = VHOST_USER_VERSION;
	hdr.size = size;
	cr_assert_eq(vuf_send_raw(f, &hdr, NULL, 0, NULL, 0), 0, "%s",
	    vuf_error(f));
}

Test(fault, frontend_hangs_up_mid_message)
{
	const char	*sock = it_path("rng.sock");
	const uint8_t	 part[3] = { 1, 2, 3 };
	struct vuf	 f;
	pid_t		 c0, c1;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", sock), NULL);
	c0 = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0);
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	/* SET_FEATURES says 8 bytes follow; 3 come, then the hang-up. */
	send_header(&f, VHOST_USER_SET_FEATURES, 8);
	cr_assert_eq(send(f.f_sock, part, sizeof(part), MSG_NOSIGNAL), 3);
	vuf_fini(&f);
	assert_exited_cleanly(&it_vp, c0);
	c1 = vproc_child_pid(&it_vp, "rng", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "not restarted:\n%s", it_vp.vp_log);
	it_assert_entropy(sock);

	/* A header cut in half, then the hang-up. */
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	cr_assert_eq(send(f.f_sock, part, sizeof(part), MSG_NOSIGNAL), 3);
	vuf_fini(&f);
	/* it_assert_entropy above ended c1; c2 served the half header. */
	cr_assert_gt(vproc_child_pid(&it_vp, "rng", 3, VPROC_TIMEOUT_MS), 0,
	    "not restarted after a half header:\n%s", it_vp.vp_log);
	assert_exited_cleanly(&it_vp, vproc_child_pid(&it_vp, "rng", 2, 0));
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

Test(fault, frontend_hangs_up_with_requests_in_flight)
{
	const char	*sock = it_path("blk.sock");
	const char	*img = make_image(it_path("disk.img"), IMG_SIZE);
	struct vuf_blk	 b[BLK_SLOTS], bb;
	struct vuf	 f;
	unsigned int	 i, round;
	pid_t		 c;

	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s", sock, img),
	    NULL);
	for (round = 0; round < 3; round++) {
		c = vproc_child_pid(&it_vp, "blk", round, VPROC_TIMEOUT_MS);
		cr_assert_gt(c, 0, "%s", it_vp.vp_log);
		blk_open(&f, &b[0], sock);
		for (i = 1; i < BLK_SLOTS; i++)
			cr_assert_eq(vuf_blk_init(&b[i], &f, 0, 65536), 0);
		/* 16 writes of 64 KiB kicked, and gone before any answer. */
		for (i = 0; i < BLK_SLOTS; i++) {
			memset(b[i].b_data, 0x40 + (int)i, 65536);
			cr_assert_geq(vuf_blk_submit(&b[i], VUF_BLK_T_OUT,
			    (uint64_t)i * 128, 65536), 0, "%s", vuf_error(&f));
		}
		vuf_fini(&f);
		assert_exited_cleanly(&it_vp, c);
	}
	/* The next front end is served, by a fresh child. */
	cr_assert_gt(vproc_child_pid(&it_vp, "blk", 3, VPROC_TIMEOUT_MS), 0,
	    "not restarted:\n%s", it_vp.vp_log);
	blk_open(&f, &bb, sock);
	blk_write_check(&bb, 4096, 0xa5);
	vuf_fini(&f);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

Test(fault, silent_frontend_does_not_block_others_or_sigterm)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	struct vuf	 f, g;
	pid_t		 ca, cb;
	long		 t0, ms;
	int		 st, i;

	/* A 30 s grace: a child that does not answer SIGTERM shows. */
	it_start(&it_vp, "--grace=30", "--device",
	    it_fmt("rng,name=a,socket=%s", a), "--device",
	    it_fmt("rng,name=b,socket=%s", b), NULL);
	ca = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cb = vproc_child_pid(&it_vp, "b", 0, VPROC_TIMEOUT_MS);
	cr_assert(ca > 0 && cb > 0, "%s", it_vp.vp_log);
	/* Two front ends on a that never send a byte. */
	vuf_init(&f);
	vuf_init(&g);
	cr_assert_eq(vuf_connect(&f, a), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_connect(&g, a), 0, "%s", vuf_error(&g));
	/* b is served again and again meanwhile (a fresh child each time). */
	for (i = 0; i < 3; i++)
		it_assert_entropy(b);
	cr_assert_eq(vproc_count(&it_vp, "a: started child"), 1, "%s",
	    it_vp.vp_log);
	t0 = now_ms();
	cr_assert_eq(kill(it_vp.vp_pid, SIGTERM), 0);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0,
	    "vhostd did not stop within %d ms with a silent front end:\n%s",
	    VPROC_TIMEOUT_MS, it_vp.vp_log);
	ms = now_ms() - t0;
	fprintf(stderr, "fault: SIGTERM to exit with a silent front end "
	    "connected: %ld ms\n", ms);
	cr_assert_eq(it_code(st), 0, "%s", it_vp.vp_log);
	/* The child answered SIGTERM itself: no SIGKILL after the grace. */
	cr_assert_eq(vproc_count(&it_vp, "still running"), 0, "%s",
	    it_vp.vp_log);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
	    "the silent front end's connection stayed open");
	vuf_fini(&f);
	vuf_fini(&g);
	cr_assert(!it_exists(a) && !it_exists(b), "socket files left behind");
	cr_assert_eq(vproc_wait_gone(ca, VPROC_TIMEOUT_MS), 0);
	cr_assert(kill(ca, 0) == -1 && errno == ESRCH, "child %d alive",
	    (int)ca);
}

/*
 * A front end that sends half a header and then nothing: the child must
 * not block in a read forever (issue 8 point 4): it ends the session
 * with CHILD_EXIT_TIMEOUT and the device is served again.  Meanwhile the
 * other device is served.
 */
Test(fault, stalled_frontend_mid_header_is_dropped)
{
	const char	*a = it_path("a.sock"), *b = it_path("b.sock");
	const uint8_t	 part[6] = { 1, 0, 0, 0, 1, 0 };
	struct vuf	 f;
	pid_t		 ca;
	long		 t0, off;

	it_start(&it_vp, "--device", it_fmt("rng,name=a,socket=%s", a),
	    "--device", it_fmt("rng,name=b,socket=%s", b), NULL);
	ca = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(ca, 0, "%s", it_vp.vp_log);
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, a), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s", vuf_error(&f));
	t0 = now_ms();
	cr_assert_eq(send(f.f_sock, part, sizeof(part), MSG_NOSIGNAL), 6);
	it_assert_entropy(b);
	/* Generous: the read timeout is seconds, the machine is shared. */
	off = vproc_wait_log(&it_vp, it_fmt("child %d exited with status %d",
	    (int)ca, CHILD_EXIT_TIMEOUT), 0, 25000);
	cr_assert_geq(off, 0, "a child stalled mid-header did not end with "
	    "CHILD_EXIT_TIMEOUT (%d) within 25 s:\n%s", CHILD_EXIT_TIMEOUT,
	    it_vp.vp_log);
	fprintf(stderr, "fault: stalled front end dropped after %ld ms\n",
	    now_ms() - t0);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0);
	vuf_fini(&f);
	cr_assert_gt(vproc_child_pid(&it_vp, "a", 1, VPROC_TIMEOUT_MS), 0,
	    "%s", it_vp.vp_log);
	it_assert_entropy(a);
	it_stop(&it_vp);
}

Test(fault, huge_length_field_drops_only_the_session)
{
	static const uint32_t	sizes[] = { 1u << 30, 0xffffffffu };
	const char		*r = it_path("rng.sock");
	const char		*k = it_path("blk.sock");
	const char		*img = make_image(it_path("disk.img"), IMG_SIZE);
	const char		*sock, *name;
	struct vuf_blk		 b;
	struct vuf		 f;
	unsigned int		 i, j, nth[2] = { 0, 0 };
	pid_t			 c;
	long			 t0;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", r), "--device",
	    it_fmt("blk,socket=%s,path=%s", k, img), NULL);
	for (i = 0; i < 2; i++)
		for (j = 0; j < ARRAY_SIZE(sizes); j++) {
			sock = i == 0 ? r : k;
			name = i == 0 ? "rng" : "blk";
			c = vproc_child_pid(&it_vp, name, nth[i], VPROC_TIMEOUT_MS);
			cr_assert_gt(c, 0, "%s", it_vp.vp_log);
			vuf_init(&f);
			cr_assert_eq(vuf_connect(&f, sock), 0, "%s",
			    vuf_error(&f));
			cr_assert_eq(vuf_handshake(&f, 0), 0, "%s",
			    vuf_error(&f));
			t0 = now_ms();
			send_header(&f, VHOST_USER_SET_MEM_TABLE, sizes[j]);
			cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
			    "%s kept a session with a %u-byte length field",
			    name, sizes[j]);
			fprintf(stderr, "fault: %s dropped a %u-byte length "
			    "field in %ld ms\n", name, sizes[j], now_ms() - t0);
			vuf_fini(&f);
			/* A clear line: the request, the size, the verdict. */
			cr_assert_geq(vproc_wait_log(&it_vp, it_fmt(
			    "SET_MEM_TABLE: payload of %u bytes is too large",
			    sizes[j]), 0, VPROC_TIMEOUT_MS), 0, "%s",
			    it_vp.vp_log);
			assert_exited_cleanly(&it_vp, c);
			nth[i]++;
			/* Served again afterwards. */
			cr_assert_gt(vproc_child_pid(&it_vp, name, nth[i],
			    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
			if (i == 0)
				it_assert_entropy(r);
			else {
				blk_open(&f, &b, k);
				blk_write_check(&b, 8 * j, 0x11 + (uint8_t)j);
				vuf_fini(&f);
			}
			nth[i]++;
		}
	cr_assert_eq(kill(it_vp.vp_pid, 0), 0);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/* Fill the file system of dir: a filler file until ENOSPC. */
static void
fill_fs(const char *path)
{
	static uint8_t	buf[65536];
	ssize_t		n;
	int		fd;

	memset(buf, 0x77, sizeof(buf));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	while ((n = write(fd, buf, sizeof(buf))) > 0)
		;
	cr_assert_eq(n, -1);
	cr_assert_eq(errno, ENOSPC, "filling %s: %s", path, strerror(errno));
	/* A partial page may still fit: fill it too. */
	while (write(fd, buf, 1) == 1)
		;
	close(fd);
}

/*
 * The guest writes to an image on a file system that is full: the
 * request answers VIRTIO_BLK_S_IOERR (no hang, no crash), reads still
 * work, and once space is back, writes work again in the same session.
 */
Test(fault, full_file_system_gives_the_guest_an_io_error)
{
	const char	*mnt = it_path("small"), *sock = it_path("blk.sock");
	const char	*img;
	struct vuf_blk	 b;
	struct vuf	 f;
	uint8_t		 st;
	long		 t0, ms;
	pid_t		 c;

	if (geteuid() != 0)
		cr_skip_test("mounting a small tmpfs needs root");
	/* A private mount namespace: the tmpfs goes away with the test. */
	if (unshare(CLONE_NEWNS) == -1)
		cr_skip_test("unshare(CLONE_NEWNS): %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV,
	    "size=1m,mode=0700") == -1)
		cr_skip_test("mount tmpfs: %s", strerror(errno));
	snprintf(fault_mnt, sizeof(fault_mnt), "%s", mnt);
	img = make_image(it_fmt("%s/disk.img", mnt), IMG_SIZE);

	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s", sock, img),
	    NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	blk_open(&f, &b, sock);
	blk_write_check(&b, 0, 0x5a);

	/* The file system fills up under the running device. */
	fill_fs(it_fmt("%s/filler", mnt));
	memset(b.b_data, 0xc3, 65536);
	t0 = now_ms();
	st = blk_rw(&b, VUF_BLK_T_OUT, 4096, 65536);
	ms = now_ms() - t0;
	fprintf(stderr, "fault: write to a full file system answered status "
	    "%u in %ld ms\n", st, ms);
	cr_assert_eq(st, VUF_BLK_S_IOERR, "a write to a full file system "
	    "answered status %u, not VIRTIO_BLK_S_IOERR", st);
	cr_assert_geq(vproc_wait_log(&it_vp, "No space left on device", 0,
	    VPROC_TIMEOUT_MS), 0, "the error is not logged:\n%s",
	    it_vp.vp_log);
	/* What was written reads back; the device is still there. */
	memset(b.b_data, 0, 4096);
	cr_assert_eq(blk_rw(&b, VUF_BLK_T_IN, 0, 4096), VUF_BLK_S_OK);
	cr_assert_eq(b.b_data[0], 0x5a);
	cr_assert_eq(b.b_data[4095], 0x5a);
	/* Space comes back: the same session writes again. */
	cr_assert_eq(unlink(it_fmt("%s/filler", mnt)), 0);
	blk_write_check(&b, 4096 + 128, 0x3c);
	vuf_fini(&f);
	/* The child did not crash over it. */
	assert_exited_cleanly(&it_vp, c);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	it_stop(&it_vp);
}

/* Run a command; its exit status (0 = success), its output in out. */
static int
sh_out(const char *cmd, char *out, size_t len)
{
	FILE	*p;
	size_t	 n = 0;
	int	 st;

	if ((p = popen(cmd, "re")) == NULL)
		return -1;
	if (out != NULL && len > 0) {
		n = fread(out, 1, len - 1, p);
		out[n] = '\0';
		out[strcspn(out, "\n")] = '\0';
	} else {
		char	sink[256];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	st = pclose(p);
	return st;
}

/*
 * The disk starts failing under the device (a device-mapper table
 * switched to the error target): with O_DIRECT the guest's reads and
 * writes answer VIRTIO_BLK_S_IOERR, no hang.
 */
Test(fault, failing_disk_gives_the_guest_an_io_error)
{
	const char	*sock = it_path("blk.sock");
	const char	*backing = make_image(it_path("backing.img"), IMG_SIZE);
	char		 out[512], dev[128];
	struct vuf_blk	 b;
	struct vuf	 f;
	uint8_t		 st;
	long		 t0;
	pid_t		 c;

	if (geteuid() != 0)
		cr_skip_test("device-mapper needs root");
	if (access("/sbin/dmsetup", X_OK) != 0 &&
	    access("/usr/sbin/dmsetup", X_OK) != 0)
		cr_skip_test("dmsetup is not installed (apt-get install "
		    "dmsetup)");
	/* The last line says why when the kernel has no device-mapper. */
	if (sh_out("dmsetup version >/dev/null 2>&1", NULL, 0) != 0) {
		sh_out("dmsetup version 2>&1 | grep -v '^Library' | head -n 1",
		    out, sizeof(out));
		cr_skip_test("device-mapper does not work here (dmsetup "
		    "version: %s)", out);
	}
	if (sh_out(it_fmt("losetup -f --show '%s' 2>&1", backing), out,
	    sizeof(out)) != 0 || strncmp(out, "/dev/loop", 9) != 0)
		cr_skip_test("no loop device: losetup: %s", out);
	snprintf(fault_loop, sizeof(fault_loop), "%s", out);
	snprintf(fault_dm, sizeof(fault_dm), "vhostd-it-%d", (int)getpid());
	cr_assert_eq(sh_out(it_fmt("dmsetup create --noudevsync %s --table "
	    "'0 %u linear %s 0' 2>&1 && dmsetup mknodes %s 2>&1", fault_dm,
	    IMG_SIZE / 512, fault_loop, fault_dm), out, sizeof(out)), 0,
	    "dmsetup create: %s", out);
	snprintf(dev, sizeof(dev), "/dev/mapper/%s", fault_dm);

	it_start(&it_vp, "--device",
	    it_fmt("blk,socket=%s,path=%s,direct=on", sock, dev), NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	blk_open(&f, &b, sock);
	blk_write_check(&b, 0, 0x6b);

	/* Every sector fails from now on. */
	cr_assert_eq(sh_out(it_fmt("dmsetup suspend --noudevsync %s && "
	    "dmsetup reload %s --table '0 %u error' && dmsetup resume "
	    "--noudevsync %s 2>&1", fault_dm, fault_dm, IMG_SIZE / 512,
	    fault_dm), out, sizeof(out)), 0, "dmsetup reload: %s", out);
	memset(b.b_data, 0xd2, 4096);
	t0 = now_ms();
	st = blk_rw(&b, VUF_BLK_T_OUT, 64, 4096);
	fprintf(stderr, "fault: write to a failing disk answered status %u "
	    "in %ld ms\n", st, now_ms() - t0);
	cr_assert_eq(st, VUF_BLK_S_IOERR, "write: status %u", st);
	st = blk_rw(&b, VUF_BLK_T_IN, 0, 4096);
	cr_assert_eq(st, VUF_BLK_S_IOERR, "read: status %u", st);
	cr_assert_geq(vproc_wait_log(&it_vp, "Input/output error", 0,
	    VPROC_TIMEOUT_MS), 0, "the error is not logged:\n%s",
	    it_vp.vp_log);
	vuf_fini(&f);
	assert_exited_cleanly(&it_vp, c);
	it_stop(&it_vp);
}

/*
 * vhostd is SIGKILLed while one device serves a front end and another
 * waits: every child ends with it (PR_SET_PDEATHSIG), the front end sees
 * its connection close, and the next vhostd replaces the stale socket
 * files and serves both devices, the disk with its data.
 */
Test(fault, sigkilled_parent_takes_its_children_and_restarts_clean)
{
	const char	*r = it_path("rng.sock"), *k = it_path("blk.sock");
	const char	*img = make_image(it_path("disk.img"), IMG_SIZE);
	struct vuf_blk	 b;
	struct vuf	 f;
	pid_t		 cr, ck;
	int		 st;

	it_start(&it_vp, "--device", it_fmt("rng,socket=%s", r), "--device",
	    it_fmt("blk,socket=%s,path=%s", k, img), NULL);
	cr = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	ck = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	cr_assert(cr > 0 && ck > 0, "%s", it_vp.vp_log);
	blk_open(&f, &b, k);
	blk_write_check(&b, 256, 0x9e);

	cr_assert_eq(kill(it_vp.vp_pid, SIGKILL), 0);
	cr_assert_eq(vproc_wait_exit(&it_vp, VPROC_TIMEOUT_MS, &st), 0);
	cr_assert_eq(vproc_wait_gone(cr, VPROC_TIMEOUT_MS), 0,
	    "rng child %d outlived its parent", (int)cr);
	cr_assert_eq(vproc_wait_gone(ck, VPROC_TIMEOUT_MS), 0,
	    "blk child %d (serving) outlived its parent", (int)ck);
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0,
	    "the front end's connection outlived the device");
	vuf_fini(&f);
	cr_assert(it_exists(r) && it_exists(k),
	    "a SIGKILLed parent cannot clean up: the files must be stale");
	cr_assert(!it_connects(r) && !it_connects(k), "a stale socket answers");
	fprintf(stderr, "fault: the image was locked for %ld ms after the "
	    "children were gone\n", wait_image_unlocked(img));

	it_start(&fault_vp2, "--device", it_fmt("rng,socket=%s", r),
	    "--device", it_fmt("blk,socket=%s,path=%s", k, img), NULL);
	it_assert_entropy(r);
	blk_open(&f, &b, k);
	memset(b.b_data, 0, 4096);
	cr_assert_eq(blk_rw(&b, VUF_BLK_T_IN, 256, 4096), VUF_BLK_S_OK);
	cr_assert_eq(b.b_data[0], 0x9e, "the data written before the kill "
	    "is gone");
	vuf_fini(&f);
	it_stop(&fault_vp2);
	cr_assert(!it_exists(r) && !it_exists(k), "sockets left behind");
}

/* Copy the shipped policies into dir. */
static void
copy_policies(const char *dir)
{
	cr_assert_eq(system(it_fmt("cp -r '%s' '%s'",
	    it_env("VHOSTD_POLICYDIR"), dir)), 0);
}

/* "Seccomp:" of /proc/pid/status: 2 when a filter is loaded. */
static int
seccomp_mode(pid_t pid)
{
	char	 line[256];
	FILE	*fp;
	int	 mode = -1;

	if ((fp = fopen(it_fmt("/proc/%d/status", (int)pid), "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Seccomp: %d", &mode) == 1)
			break;
	fclose(fp);
	return mode;
}

/* Overwrite path with text. */
static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	cr_assert_not_null(fp = fopen(path, "w"), "%s", path);
	fputs(text, fp);
	cr_assert_eq(fclose(fp), 0);
}

/*
 * The policy file breaks while the device runs; the child crashes and is
 * restarted.  The filter is compiled once, before the first fork, and
 * every restart loads that filter: the new child runs under seccomp
 * (mode 2) and serves.  (Restarts do not read the policy file again, so
 * there is no error to log here; a reload that has to compile it again
 * is the test below.)
 */
Test(fault, broken_policy_at_restart_keeps_the_filter)
{
	const char	*pol = it_path("pol"), *sock = it_path("rng.sock");
	struct vuf	 f;
	pid_t		 c0, c1, c2;

	copy_policies(pol);
	it_start(&it_vp, "--policy-dir", pol, "--device",
	    it_fmt("rng,socket=%s", sock), NULL);
	c0 = vproc_child_pid(&it_vp, "rng", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	it_assert_entropy(sock);
	c1 = vproc_child_pid(&it_vp, "rng", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(c1, 0, "%s", it_vp.vp_log);

	write_file(it_fmt("%s/rng.policy", pol), "this is: not a policy\n");
	cr_assert_eq(unlink(it_fmt("%s/common.policy", pol)), 0);
	cr_assert_eq(kill(c1, SIGKILL), 0);
	c2 = vproc_child_pid(&it_vp, "rng", 2, VPROC_TIMEOUT_MS);
	cr_assert_gt(c2, 0, "not restarted:\n%s", it_vp.vp_log);
	/* Once it answers, the new child is jailed and filtered. */
	vuf_init(&f);
	cr_assert_eq(vuf_connect(&f, sock), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_handshake(&f, 0), 0, "%s\n%s", vuf_error(&f),
	    it_vp.vp_log);
	cr_assert_eq(seccomp_mode(c2), 2, "restarted child %d runs without "
	    "its seccomp filter (Seccomp: %d)", (int)c2, seccomp_mode(c2));
	vuf_fini(&f);
	assert_exited_cleanly(&it_vp, c2);
	/* And the device serves entropy again. */
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "SIGSYS"), 0, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "giving up"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A reload changes a device while its policy file is broken: the policy
 * error is logged with file:line and the device keeps what it had (its
 * child, untouched), instead of being removed (issue 14.1: the new
 * configuration is opened and checked before the old child is stopped).
 */
Test(fault, reload_with_broken_policy_keeps_the_device)
{
	const char	*pol = it_path("pol"), *sock = it_path("rng.sock");
	const char	*conf = it_path("vhostd.conf");
	pid_t		 c0;

	copy_policies(pol);
	write_file(conf, it_fmt("[a]\ntype = rng\nsocket = %s\n", sock));
	it_start(&it_vp, "--policy-dir", pol, "-c", conf, NULL);
	c0 = vproc_child_pid(&it_vp, "a", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(c0, 0, "%s", it_vp.vp_log);
	write_file(it_fmt("%s/rng.policy", pol), "read: 1\nbogus_call: 1\n");
	write_file(conf, it_fmt("[a]\ntype = rng\nsocket = %s\n"
	    "restart = on-failure\n", sock));
	cr_assert_eq(kill(it_vp.vp_pid, SIGHUP), 0);
	cr_assert_geq(vproc_wait_log(&it_vp, "rng.policy:2", 0,
	    VPROC_TIMEOUT_MS), 0, "the policy error is not logged:\n%s",
	    it_vp.vp_log);
	cr_assert(it_exists(sock), "the device lost its socket:\n%s",
	    it_vp.vp_log);
	/* The very child that ran before the reload still serves. */
	cr_assert_eq(kill(c0, 0), 0, "the running child was stopped:\n%s",
	    it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "a: started child"), 1, "%s",
	    it_vp.vp_log);
	it_assert_entropy(sock);
	cr_assert_eq(vproc_count(&it_vp, "SIGSYS"), 0, "%s", it_vp.vp_log);
	it_stop(&it_vp);
}

/*
 * A call fd that blocks (a blocking eventfd at its maximum count) on a
 * ring served by a blk queue thread (threads=1): the child's SIGALRM
 * watchdog interrupts only its main thread, so the queue thread has a
 * timer of its own; the write fails with EINTR, the engine calls it a
 * stall, and the session ends with CHILD_EXIT_TIMEOUT instead of hanging.
 */
Test(fault, blocking_call_fd_on_a_queue_thread_ends_the_session)
{
	const char	*sock = it_path("blk.sock");
	const char	*img = make_image(it_path("disk.img"), IMG_SIZE);
	struct vuf_blk	 b;
	struct vuf	 f;
	uint64_t	 ring = 0;
	char		 want[64];
	long		 t0;
	int		 efd;

	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s,"
	    "threads=1,restart=never", sock, img), NULL);
	blk_open(&f, &b, sock);
	blk_write_check(&b, 0, 0x5a);
	cr_assert_geq(efd = eventfd(0, EFD_CLOEXEC), 0);
	cr_assert_eq(eventfd_write(efd, 0xfffffffffffffffeull), 0);
	cr_assert_eq(vuf_request(&f, VHOST_USER_SET_VRING_CALL, &ring,
	    sizeof(ring), &efd, 1, NULL, 0), 0, "%s", vuf_error(&f));
	close(efd);
	t0 = now_ms();
	cr_assert_geq(vuf_blk_submit(&b, VUF_BLK_T_IN, 0, 4096), 0, "%s",
	    vuf_error(&f));
	snprintf(want, sizeof(want), "exited with status %d",
	    CHILD_EXIT_TIMEOUT);
	cr_assert_geq(vproc_wait_log(&it_vp, want, 0, VPROC_TIMEOUT_MS), 0,
	    "the child did not end the session as a stall; stderr:\n%s",
	    it_vp.vp_log);
	fprintf(stderr, "fault: blocking call fd on a queue thread: session "
	    "ended after %ld ms\n", now_ms() - t0);
	cr_assert_geq(vproc_wait_log(&it_vp, "call fd blocked the device", 0,
	    VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
	vuf_fini(&f);
}

/*
 * O_DIRECT I/O through io_uring on a queue thread, under the real
 * filter: with poll-us=0 the thread waits in poll(2) while the ring's
 * completion is run as task work on it, which interrupts the poll and
 * restarts it through restart_syscall(2): the policy must allow that (it
 * killed the child before).  An image outside tmpfs, so O_DIRECT is
 * asynchronous.
 */
Test(fault, direct_io_on_a_queue_thread_under_the_filter)
{
	const char	*sock = it_path("blk.sock");
	char		 img[64];
	struct vuf_blk	 b;
	struct vuf	 f;
	unsigned int	 i;
	int		 fd;
	pid_t		 c;

	snprintf(img, sizeof(img), "/var/tmp/vhostd-fault-XXXXXX");
	cr_assert_geq(fd = mkstemp(img), 0);
	cr_assert_eq(ftruncate(fd, IMG_SIZE), 0);
	close(fd);
	it_start(&it_vp, "--device", it_fmt("blk,socket=%s,path=%s,"
	    "direct=on,threads=1,poll-us=0,restart=never", sock, img), NULL);
	c = vproc_child_pid(&it_vp, "blk", 0, VPROC_TIMEOUT_MS);
	blk_open(&f, &b, sock);
	for (i = 0; i < 200; i++)
		blk_write_check(&b, (i % 64) * 8, (uint8_t)i);
	vuf_fini(&f);
	unlink(img);
	assert_exited_cleanly(&it_vp, c);
	cr_assert_eq(vproc_count(&it_vp, "killed by signal"), 0, "%s",
	    it_vp.vp_log);
}
