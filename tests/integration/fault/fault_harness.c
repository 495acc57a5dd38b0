/*
 * fault_harness.c - fault_test's harness.  fault_test: faults from the
 * outside, with real jailed children: front ends that hang up mid-message
 * or with requests in flight, that never say anything or stall
 * mid-header, a 1 GiB length field, an image that runs out of space or
 * starts failing (device-mapper error target), a SIGKILLed parent, a
 * policy file broken while the device restarts.  In each case vhostd
 * keeps serving: the guest gets an answer (an I/O error where that is the
 * truth), never a hang, and the parent's other devices are not disturbed.
 */

#include "../itest.h"

#include <sys/mount.h>

#include "fault_harness.h"

struct vproc	fault_vp2;	/* a second vhostd, when a test has one */
char		fault_mnt[256];	/* a tmpfs mounted by the test */
char		fault_dm[64];	/* a device-mapper device */
char		fault_loop[512];	/* its loop device */

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

long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A sparse image of size bytes at path. */
const char *
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
long
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
void
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
uint8_t
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
void
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
void
assert_exited_cleanly(struct vproc *p, pid_t pid)
{
	const char	*l = exit_line(p, pid);

	cr_assert_eq(strncmp(l + strlen(it_fmt(": child %d ", (int)pid)),
	    "exited with status", 18), 0, "child %d did not exit by itself: "
	    "%.*s\n%s", (int)pid, (int)strcspn(l, "\n"), l, p->vp_log);
}

void
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
