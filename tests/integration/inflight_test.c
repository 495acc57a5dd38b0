/*
 * inflight_test.c - requests in flight when a blk child is killed are run
 * again by the next one (issue 10.7: INFLIGHT_SHMFD), for certain.
 *
 * The image lives on an ext4 file system on a loop device that the test
 * freezes (fsfreeze): a write with direct=on then waits in io_uring's
 * worker until the file system is thawed, so the requests stay in flight
 * for as long as the test wants, without any test-only code in vhostd.
 * The front end (vuf, as QEMU does) negotiates INFLIGHT_SHMFD, takes an
 * inflight region with GET_INFLIGHT_FD, submits writes, and waits until
 * the region shows every one of them in flight.  Then the child is
 * SIGKILLed and the file system thawed; vhostd starts the next child, the
 * front end reconnects and hands the region back (SET_INFLIGHT_FD), and
 * the new child must say it runs them again, complete each of them, and
 * the data must be on the disk.
 */
#include "itest.h"

#include <time.h>
#include <sys/mount.h>

#include "vuf_blk.h"

#define IF_NREQ		8		/* writes in flight at the kill */
#define IF_QSIZE	64
#define IF_LEN		4096

static char	if_loop[256];		/* the loop device */
static char	if_mnt[128];		/* its mount point */
static bool	if_frozen;

static void
if_sh(const char *cmd)
{
	if (system(cmd) != 0)
		fprintf(stderr, "inflight_test: failed: %s\n", cmd);
}

static void
if_setup(void)
{
	it_setup();
	if_loop[0] = if_mnt[0] = '\0';
	if_frozen = false;
}

static void
if_teardown(void)
{
	int	i;

	/* Thawed first: a child waiting on the file system cannot die. */
	if (if_frozen)
		if_sh(it_fmt("fsfreeze -u '%s'", if_mnt));
	vproc_cleanup(&it_vp);
	/*
	 * The children die with vhostd a moment later (PDEATHSIG) and hold
	 * the image until then: unmount for real (then the loop device can
	 * go at once), lazily only if that does not happen in 5 s.
	 */
	for (i = 0; if_mnt[0] != '\0' && i < 500; i++) {
		if (umount2(if_mnt, 0) == 0) {
			if_mnt[0] = '\0';
			break;
		}
		usleep(10000);
	}
	if (if_mnt[0] != '\0' && umount2(if_mnt, MNT_DETACH) == -1)
		fprintf(stderr, "inflight_test: umount %s: %s\n", if_mnt,
		    strerror(errno));
	if (if_loop[0] != '\0')
		if_sh(it_fmt("losetup -d '%s'", if_loop));
	it_teardown();
}

TestSuite(inflight, .init = if_setup, .fini = if_teardown, .timeout = 120);

static long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Run cmd, its first line of output into out; the exit status. */
static int
if_run(const char *cmd, char *out, size_t len)
{
	FILE	*p;
	int	 st;

	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(out, (int)len, p) != NULL)
		out[strcspn(out, "\n")] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * A 64 MiB ext4 on a loop device of our own, mounted in the test's
 * directory; skips where the tools or loop devices are missing.
 */
static void
freezable_fs(void)
{
	const char	*img = it_path("fs.img");
	char		 out[256];

	if (geteuid() != 0)
		cr_skip_test("needs root (loop device, mount, fsfreeze)");
	if (system("{ command -v mkfs.ext4 && command -v losetup && "
	    "command -v fsfreeze; } >/dev/null 2>&1") != 0)
		cr_skip_test("mkfs.ext4, losetup or fsfreeze missing "
		    "(apt-get install e2fsprogs util-linux)");
	if_sh(it_fmt("truncate -s 64M '%s'", img));
	if (if_run(it_fmt("losetup -f --show '%s' 2>/dev/null", img), out,
	    sizeof(out)) != 0 || strncmp(out, "/dev/loop", 9) != 0)
		cr_skip_test("no loop device: %s", out);
	snprintf(if_loop, sizeof(if_loop), "%s", out);
	cr_assert_eq(system(it_fmt("mkfs.ext4 -q -F '%s' >/dev/null 2>&1",
	    if_loop)), 0);
	snprintf(if_mnt, sizeof(if_mnt), "%s", it_path("mnt"));
	cr_assert_eq(mkdir(if_mnt, 0700), 0);
	cr_assert_eq(mount(if_loop, if_mnt, "ext4", 0, NULL), 0, "mount %s: "
	    "%s", if_loop, strerror(errno));
}

/* The sector of request i, and its data byte. */
#define IF_SECTOR(i)	(8u * (i) + 64u)
#define IF_BYTE(i)	(0xa0u + (i))

/*
 * Connect as QEMU does with INFLIGHT_SHMFD: features, the inflight region
 * (a new one from GET_INFLIGHT_FD, or the one we have, with
 * SET_INFLIGHT_FD), guest memory, then ring 0 from base (QEMU: the used
 * index, after a crash).
 */
static void
if_connect(struct vuf *f, struct vuf_inflight *in, const char *sock,
    bool fresh, uint16_t base)
{
	uint64_t	features = (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
	    (1ull << VIRTIO_RING_F_EVENT_IDX);
	uint64_t	protocol = (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    (1ull << VHOST_USER_PROTOCOL_F_MQ) |
	    (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD);
	long		deadline = now_ms() + VPROC_TIMEOUT_MS;
	int		rc;

	while ((rc = vuf_connect(f, sock)) < 0 && now_ms() < deadline)
		usleep(10000);
	cr_assert_eq(rc, 0, "%s", vuf_error(f));
	cr_assert_eq(vuf_handshake(f, protocol), 0, "%s\n%s", vuf_error(f),
	    it_vp.vp_log);
	cr_assert(vuf_has_protocol(f, VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD),
	    "blk does not offer INFLIGHT_SHMFD");
	cr_assert_eq(vuf_set_features(f, features), 0, "%s", vuf_error(f));
	if (fresh)
		cr_assert_eq(vuf_inflight_get(f, 1, IF_QSIZE, in), 0, "%s",
		    vuf_error(f));
	cr_assert_eq(vuf_inflight_set(f, in), 0, "%s\n%s", vuf_error(f),
	    it_vp.vp_log);
	cr_assert_eq(vuf_send_mem_table(f, 1, false), 0, "%s", vuf_error(f));
	if (fresh)
		cr_assert_eq(vuf_vq_alloc(f, 0, IF_QSIZE), 0, "%s",
		    vuf_error(f));
	cr_assert_eq(vuf_vq_start(f, 0, base), 0, "%s\n%s", vuf_error(f),
	    it_vp.vp_log);
}

Test(inflight, requests_in_flight_at_a_kill_are_run_again_by_the_next_child)
{
	static struct vuf	 f;
	struct vuf_inflight	 in;
	struct vuf_blk		 b[IF_NREQ];
	struct vuf_used		 u[IF_NREQ];
	const char		*img, *sock = it_path("blk.sock");
	uint8_t			 buf[IF_LEN];
	unsigned int		 i, j, n = 0, got = 0;
	long			 t0, waited;
	pid_t			 child, next;
	int			 fd, rc;

	freezable_fs();
	img = it_fmt("%s/disk.img", if_mnt);
	cr_assert_geq(fd = open(img, O_RDWR | O_CREAT | O_CLOEXEC, 0600), 0);
	cr_assert_eq(ftruncate(fd, 8 << 20), 0);
	close(fd);
	it_start(&it_vp, "--device", it_fmt("blk,name=d,socket=%s,path=%s,"
	    "direct=on", sock, img), NULL);
	child = vproc_child_pid(&it_vp, "d", 0, VPROC_TIMEOUT_MS);
	cr_assert_gt(child, 0, "%s", it_vp.vp_log);
	vuf_init(&f);
	vuf_inflight_init(&in);
	cr_assert_eq(vuf_mem_create(&f, 2u << 20, 1ull << 30), 0);
	if_connect(&f, &in, sock, true, 0);
	/* Served before the freeze: the region is in use and empty. */
	for (i = 0; i < IF_NREQ; i++)
		cr_assert_eq(vuf_blk_init(&b[i], &f, 0, IF_LEN), 0);
	memset(b[0].b_data, 0x11, IF_LEN);
	cr_assert_eq(vuf_blk_io(&b[0], VUF_BLK_T_OUT, 0, IF_LEN, buf), 0,
	    "%s", vuf_error(&f));
	cr_assert_eq(buf[0], VUF_BLK_S_OK);
	cr_assert_eq(vuf_inflight_count(&in, 0), 0);
	/* Frozen: the writes wait in io_uring's worker, in flight. */
	cr_assert_eq(system(it_fmt("fsfreeze -f '%s'", if_mnt)), 0);
	if_frozen = true;
	for (i = 0; i < IF_NREQ; i++) {
		memset(b[i].b_data, (int)IF_BYTE(i), IF_LEN);
		cr_assert_geq(vuf_blk_submit(&b[i], VUF_BLK_T_OUT, IF_SECTOR(i),
		    IF_LEN), 0, "%s", vuf_error(&f));
	}
	t0 = now_ms();
	while ((n = vuf_inflight_count(&in, 0)) < IF_NREQ &&
	    now_ms() - t0 < VPROC_TIMEOUT_MS)
		usleep(1000);
	waited = now_ms() - t0;
	fprintf(stderr, "inflight: %u of %u writes in flight after %ld ms; "
	    "none completed: %u used\n", n, IF_NREQ, waited,
	    vuf_vq_pending(&f, 0));
	cr_assert_eq(n, IF_NREQ, "the region shows %u of %u writes in flight",
	    n, IF_NREQ);
	cr_assert_eq(vuf_vq_pending(&f, 0), 0, "a write completed on a "
	    "frozen file system");
	/* The kill, with every request in flight; then thaw. */
	cr_assert_eq(kill(child, SIGKILL), 0);
	cr_assert_eq(system(it_fmt("fsfreeze -u '%s'", if_mnt)), 0);
	if_frozen = false;
	cr_assert_eq(vuf_wait_hangup(&f, VPROC_TIMEOUT_MS), 0);
	vuf_disconnect(&f);
	next = vproc_child_pid(&it_vp, "d", 1, VPROC_TIMEOUT_MS);
	cr_assert_gt(next, 0, "no second child:\n%s", it_vp.vp_log);
	cr_assert_eq(vuf_inflight_count(&in, 0), IF_NREQ, "the region changed "
	    "after the kill");
	/* QEMU restores the ring's base from the used index: 1. */
	if_connect(&f, &in, sock, false, 1);
	cr_assert_eq(vuf_vq_kick(&f, 0, true), 0);
	t0 = now_ms();
	while (got < IF_NREQ && now_ms() - t0 < VPROC_TIMEOUT_MS) {
		rc = vuf_vq_wait(&f, 0, 1000);
		if (rc == -ETIMEDOUT)
			continue;
		cr_assert_eq(rc, 0, "%s\n%s", vuf_error(&f), it_vp.vp_log);
		rc = vuf_vq_reap(&f, 0, u + got, IF_NREQ - got);
		cr_assert_geq(rc, 0, "%s", vuf_error(&f));
		got += (unsigned int)rc;
	}
	fprintf(stderr, "inflight: the next child completed %u of %u in %ld "
	    "ms\n", got, IF_NREQ, now_ms() - t0);
	cr_assert_eq(got, IF_NREQ, "the next child completed %u of %u:\n%s",
	    got, IF_NREQ, it_vp.vp_log);
	cr_assert_geq(vproc_wait_log(&it_vp, it_fmt("d[%d]: ring 0: %u "
	    "request(s) left in flight by a previous back end are run again",
	    (int)next, IF_NREQ), 0, VPROC_TIMEOUT_MS), 0, "%s", it_vp.vp_log);
	for (i = 0; i < IF_NREQ; i++) {
		struct vuf_blk	*r = u[i].u_cookie;

		cr_assert_eq(*r->b_status, VUF_BLK_S_OK, "request %ld: "
		    "status %u", (long)(r - b), *r->b_status);
	}
	cr_assert_eq(vuf_inflight_count(&in, 0), 0);
	/* The data: through the device, and in the file. */
	for (i = 0; i < IF_NREQ; i++) {
		memset(b[i].b_data, 0, IF_LEN);
		cr_assert_eq(vuf_blk_io(&b[i], VUF_BLK_T_IN, IF_SECTOR(i),
		    IF_LEN, buf), 0, "%s", vuf_error(&f));
		cr_assert_eq(buf[0], VUF_BLK_S_OK);
		for (j = 0; j < IF_LEN; j++)
			cr_assert_eq(b[i].b_data[j], IF_BYTE(i), "write %u: "
			    "byte %u is %#x", i, j, b[i].b_data[j]);
	}
	vuf_fini(&f);
	vuf_inflight_fini(&in);
	it_stop(&it_vp);
	cr_assert_geq(fd = open(img, O_RDONLY | O_CLOEXEC), 0);
	for (i = 0; i < IF_NREQ; i++) {
		cr_assert_eq(pread(fd, buf, IF_LEN, IF_SECTOR(i) * 512),
		    IF_LEN);
		for (j = 0; j < IF_LEN; j++)
			cr_assert_eq(buf[j], IF_BYTE(i), "file: write %u", i);
	}
	close(fd);
}
