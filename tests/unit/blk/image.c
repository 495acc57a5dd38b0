/*
 * blk_test: block devices, the image lock, restricted rings, what each
 * spawned child gets (its own description, the previous child's I/O
 * done, the file size limit).
 */

#include <linux/loop.h>
#include <sys/ioctl.h>

#include <liburing.h>

#include "blk_harness.h"

/*
 * A block device (a loop device over a file, when we may make one): size
 * and block size from the device, BLKDISCARD, zeroing through fallocate.
 */
Test(blk, block_device)
{
	struct loop_config		 lc;
	struct virtio_blk_config	 c;
	char				 dev[32];
	int				 ctl, n, back;

	if (geteuid() != 0 || (ctl = open("/dev/loop-control",
	    O_RDWR | O_CLOEXEC)) == -1)
		cr_skip_test("no loop devices here");
	back = img_create("/var/tmp", IMG_SIZE);
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	close(ctl);
	cr_assert_geq(n, 0);
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	imgfd = open(dev, O_RDWR | O_CLOEXEC);
	cr_assert_geq(imgfd, 0, "%s: %s", dev, strerror(errno));
	memset(&lc, 0, sizeof(lc));
	lc.fd = (uint32_t)back;
	lc.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	if (ioctl(imgfd, LOOP_CONFIGURE, &lc) == -1) {
		close(imgfd);
		imgfd = back;
		cr_skip_test("LOOP_CONFIGURE %s: %s", dev, strerror(errno));
	}
	/* The test reads the device; the file goes with the loop device. */
	unlink(img);
	close(back);
	snprintf(img, sizeof(img), "%s", dev);
	img_is_dev = true;
	be_start(NULL, 1, 64);
	cr_assert(f.f_dev_features & (1ull << VIRTIO_BLK_F_DISCARD));
	cr_assert(f.f_dev_features & (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.capacity, IMG_SECTORS);
	cr_assert_eq(c.blk_size, 512);
	cr_assert_eq(c.write_zeroes_may_unmap, 0);
	for (n = 0; n < (int)IMG_SECTORS; n += 2048)
		dev_write(0, (uint64_t)n, 1u << 20, (unsigned int)n);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 2048, 1024,
	    VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP), VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 3072, 1024, 0),
	    VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, IMG_SECTORS, 8, 0),
	    VIRTIO_BLK_S_IOERR);
	/* A loop device punches discarded ranges: they read zeroes too. */
	check_zeroed(false, 0);
}

Test(blk, image_lock)
{
	const char *const	ro[] = { "read-only", "on", NULL };
	struct device_opt	o[2];
	struct device_res	r1, r2;
	char			err[256];

	/* A writable disk is exclusive: a second device is refused. */
	img_create("/var/tmp", IMG_SIZE);
	o[0].key = "path";
	o[0].value = img;
	cr_assert_eq(t_open(o, 1, false, &r1, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(t_open(o, 1, false, &r2, err, sizeof(err)), -EAGAIN);
	cr_assert_not_null(strstr(err, "in use by another process"), "%s", err);
	cr_assert_eq(r2.dr_nfds, 0);
	/* So is a read-only one on a disk somebody writes. */
	o[1].key = ro[0];
	o[1].value = ro[1];
	cr_assert_eq(t_open(o, 2, false, &r2, err, sizeof(err)), -EAGAIN);
	/* lock=off shares it; vhostd -n (check_only) checks without a claim. */
	o[1].key = "lock";
	o[1].value = "off";
	cr_assert_eq(t_open(o, 2, false, &r2, err, sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &r2);
	cr_assert_eq(t_open(o, 1, true, &r2, err, sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &r2);
	/* Released with the device: readers share the image. */
	device_res_release(&blk_device_type, &r1);
	o[1].key = ro[0];
	o[1].value = ro[1];
	cr_assert_eq(t_open(o, 2, false, &r1, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(t_open(o, 2, false, &r2, err, sizeof(err)), 0, "%s", err);
	device_res_release(&blk_device_type, &r1);
	device_res_release(&blk_device_type, &r2);
}

/* blk.h (it clashes with linux/virtio_blk.h): a queue's ring, or NULL. */
struct blk_state;
struct io_uring	*blk_io_ring(struct blk_state *bs, unsigned int qidx);

/* Open a device on img with options kv (NULL-terminated pairs). */
static void
prepare_only(const char *const *kv, struct device_res *res)
{
	struct device_opt	opts[8];
	unsigned int		n = 0;
	char			err[256] = "";

	opts[n].key = "path";
	opts[n++].value = img;
	for (; kv != NULL && *kv != NULL; kv += 2) {
		opts[n].key = kv[0];
		opts[n++].value = kv[1];
	}
	if (t_threads != NULL) {
		opts[n].key = "threads";
		opts[n++].value = t_threads;
	}
	cr_assert_eq(t_open(opts, n, false, res, err, sizeof(err)), 0, "%s",
	    err);
}

/* One SQE on ring; its CQE result. */
static int
ring_once(struct io_uring *ring, struct io_uring_sqe *sqe, uint8_t flags)
{
	struct io_uring_cqe	*cqe;
	int			 res;

	sqe->flags = flags;
	cr_assert_eq(io_uring_submit_and_wait(ring, 1), 1);
	cr_assert_eq(io_uring_wait_cqe(ring, &cqe), 0);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/*
 * Every queue's ring exists once the child set-up is done (the filter
 * that follows forbids io_uring_setup), and each runs only what blk puts
 * in it: readv/writev/fsync on the registered image descriptors.
 */
Test(blk, rings_restricted_from_the_start)
{
	const char *const	 kv[] = { "queues", "3", NULL };
	struct io_uring_files_update up;
	struct io_uring		*ring;
	struct io_uring_sqe	*sqe;
	char			 buf[512];
	struct iovec		 iov = { buf, sizeof(buf) };
	int			 fds[1] = { 0 };
	struct device_res	 res;
	struct blk_state	*st;
	unsigned int		 q;

	img_create("/var/tmp", IMG_SIZE);
	cr_assert_eq(pwrite(imgfd, "sector0", 7, 0), 7);
	prepare_only(kv, &res);
	st = t_init(&res);
	if (blk_io_ring(st, 0) == NULL) {
		/* Only a host without io_uring excuses a missing ring. */
		struct io_uring	probe;

		if (io_uring_queue_init(4, &probe, 0) < 0)
			cr_skip_test("no io_uring on this host");
		io_uring_queue_exit(&probe);
	}
	for (q = 0; q < 3; q++)
		cr_assert_not_null(blk_io_ring(st, q), "queue %u: no ring", q);
	cr_assert_null(blk_io_ring(st, 3));
	ring = blk_io_ring(st, 0);
	/* What blk does: a read through fixed file 0. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE), 512);
	cr_assert_eq(memcmp(buf, "sector0", 7), 0);
	/* The same read on a descriptor number (the test's own): refused. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_readv(sqe, imgfd, &iov, 1, 0);
	cr_assert_eq(ring_once(ring, sqe, 0), -EACCES);
	/* Any opcode blk does not issue: refused. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_nop(sqe);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE), -EACCES);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_fallocate(sqe, 0, 0, IMG_SIZE, 4096);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE), -EACCES);
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/", O_RDONLY, 0);
	cr_assert_eq(ring_once(ring, sqe, 0), -EACCES);
	/* A flag blk does not use (IO_LINK, ASYNC...): refused. */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_readv(sqe, 0, &iov, 1, 0);
	cr_assert_eq(ring_once(ring, sqe, IOSQE_FIXED_FILE | IOSQE_ASYNC),
	    -EACCES);
	/* No registration at all once enabled. */
	memset(&up, 0, sizeof(up));
	up.fds = (uintptr_t)fds;
	cr_assert_eq(syscall(__NR_io_uring_register, ring->ring_fd,
	    IORING_REGISTER_FILES_UPDATE, &up, 1), -1);
	cr_assert_eq(errno, EACCES);
	cr_assert_eq(syscall(__NR_io_uring_register, ring->ring_fd,
	    IORING_REGISTER_PERSONALITY, NULL, 0), -1);
	cr_assert_eq(errno, EACCES);
	blk_device_type.dt_free(st);
	device_res_release(&blk_device_type, &res);
}

/*
 * Before each child: fresh open file descriptions under the same numbers,
 * so flags and offsets the last child set are gone; the parent's own
 * description (and its lock) stays.
 */
Test(blk, spawn_gives_each_child_its_own_description)
{
	const char *const	 kv[] = { "direct", "on", NULL };
	struct flock		 fl;
	struct device_res	 res;
	int			 fd, fdb, other;

	img_create("/var/tmp", IMG_SIZE);
	prepare_only(kv, &res);
	cr_assert_eq(res.dr_nfds, 2);
	fd = res.dr_fds[0];
	fdb = res.dr_fds[1];
	/* What a taken-over child leaves behind. */
	cr_assert_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND), 0);
	cr_assert_eq(fcntl(fdb, F_SETFL, fcntl(fdb, F_GETFL) | O_APPEND), 0);
	cr_assert_eq(lseek(fdb, 8192, SEEK_SET), 8192);
	cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	cr_assert_eq(res.dr_fds[0], fd, "the numbers the child keeps moved");
	cr_assert_eq(res.dr_fds[1], fdb);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_APPEND, 0, "O_APPEND survived");
	cr_assert_eq(fcntl(fdb, F_GETFL) & O_APPEND, 0, "O_APPEND survived");
	cr_assert_neq(fcntl(fd, F_GETFL) & O_DIRECT, 0);
	cr_assert_eq(fcntl(fdb, F_GETFL) & O_DIRECT, 0);
	cr_assert_eq(lseek(fdb, 0, SEEK_CUR), 0);
	/* Still locked: by the parent's description, kept for itself. */
	other = open(img, O_RDWR | O_CLOEXEC);
	cr_assert_geq(other, 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	cr_assert_eq(fcntl(other, F_OFD_SETLK, &fl), -1);
	cr_assert(errno == EAGAIN || errno == EACCES);
	close(other);
	device_res_release(&blk_device_type, &res);
}

/*
 * The I/O fence: while anything still holds the previous child's
 * description of the image (its io_uring, torn down after the process is
 * reaped, with writes in flight), the next child is not started: dt_spawn
 * says -EAGAIN until the description is gone.  Both descriptions of a
 * direct=on disk are fenced; a read-only disk needs no fence.
 */
Test(blk, spawn_waits_for_the_previous_childs_io)
{
	const char *const	 kv[] = { "direct", "on", NULL };
	const char *const	 ro[] = { "read-only", "on", NULL };
	struct device_res	 res;
	unsigned int		 i;
	int			 held;

	img_create("/var/tmp", IMG_SIZE);
	prepare_only(kv, &res);
	cr_assert_eq(res.dr_nfds, 2);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
		/* The dead child's ring still holds its description. */
		held = dup(res.dr_fds[i]);
		cr_assert_geq(held, 0);
		cr_assert_eq(blk_device_type.dt_spawn(&res), -EAGAIN,
		    "descriptor %u: a child started while the previous "
		    "one's I/O could still land", i);
		cr_assert_eq(blk_device_type.dt_spawn(&res), -EAGAIN);
		close(held);
		cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	}
	device_res_release(&blk_device_type, &res);

	prepare_only(ro, &res);
	cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	held = dup(res.dr_fds[0]);
	cr_assert_eq(blk_device_type.dt_spawn(&res), 0);
	close(held);
	device_res_release(&blk_device_type, &res);
}

/*
 * Two devices sharing one file (lock=off) fence on bytes of their own: a
 * child of one alive does not hold back the other's next child, while
 * each still waits for its own.
 */
Test(blk, shared_file_devices_do_not_fence_each_other)
{
	const char *const	 kv[] = { "lock", "off", NULL };
	struct device_res	 a, b;
	int			 held;

	img_create("/var/tmp", IMG_SIZE);
	prepare_only(kv, &a);
	prepare_only(kv, &b);
	cr_assert_eq(blk_device_type.dt_spawn(&a), 0);
	/* a's child runs (its description lives): b starts all the same. */
	cr_assert_eq(blk_device_type.dt_spawn(&b), 0,
	    "a device waited for another device's child");
	held = dup(b.dr_fds[0]);
	cr_assert_eq(blk_device_type.dt_spawn(&b), -EAGAIN);
	cr_assert_eq(blk_device_type.dt_spawn(&a), 0);
	close(held);
	cr_assert_eq(blk_device_type.dt_spawn(&b), 0);
	device_res_release(&blk_device_type, &a);
	device_res_release(&blk_device_type, &b);
}

/* The child may not grow the image (RLIMIT_FSIZE in the jail). */
Test(blk, max_file_size_is_the_image)
{
	const char *const	 kv[] = { "queues", "16", NULL };
	struct device_res	 res;

	img_create("/var/tmp", IMG_SIZE + 100);
	prepare_only(NULL, &res);
	cr_assert_eq(res.dr_max_file_size, IMG_SIZE + 100);
	device_res_release(&blk_device_type, &res);
	/* At least what the inflight regions of 16 queues need. */
	prepare_only(kv, &res);
	cr_assert_eq(res.dr_max_file_size,
	    16 * VIRTQ_INFLIGHT_SIZE(VIRTQ_MAX_SIZE));
	device_res_release(&blk_device_type, &res);
}
