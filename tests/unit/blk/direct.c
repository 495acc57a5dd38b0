/*
 * blk_test: O_DIRECT with unaligned buffers, write-back and write-through,
 * synchronous I/O, io_uring without kernel workers.
 */

#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "blk_harness.h"

BLK_DATA_TEST(direct_io_unaligned_buffers)
{
	const char *const	kv[] = { "direct", "on", "poll-us", "50",
				    NULL };
	struct rq		w, r;
	uint8_t			file[4096];

	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 64);
	/* Aligned: O_DIRECT. */
	rq_alloc(&w, 4096, 4096);
	rq_alloc(&r, 4096, 4096);
	fill(w.data, 4096, 20);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 16), VIRTIO_BLK_S_OK);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 16), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 4096) == 0);
	/* 8-byte aligned buffers: through the buffered descriptor. */
	rq_alloc(&w, 4096 + 8, 4096);
	w.data += 8;
	w.data_gpa += 8;
	w.len = 4096;
	fill(w.data, 4096, 21);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 24), VIRTIO_BLK_S_OK);
	rq_alloc(&r, 4096 + 8, 4096);
	r.data += 8;
	r.data_gpa += 8;
	r.len = 4096;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 24), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 4096) == 0);
	img_read(file, 4096, 24 * 512);
	cr_assert(memcmp(w.data, file, 4096) == 0);
	/* And the aligned path sees what the buffered one wrote. */
	rq_alloc(&r, 4096, 4096);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 24), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 4096) == 0);
}

/*
 * The synchronous I/O path's writes, counted: this definition takes the
 * place of libc's pwritev2 for blk_req.c (linked into this binary), and
 * makes the same system call.
 */
static int	pw_writes, pw_dsync;

ssize_t
pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	__atomic_add_fetch(&pw_writes, 1, __ATOMIC_SEQ_CST);
	if (flags & RWF_DSYNC)
		__atomic_add_fetch(&pw_dsync, 1, __ATOMIC_SEQ_CST);
	return syscall(SYS_pwritev2, fd, iov, cnt, (long)off, 0L, flags);
}

/* SET_CONFIG writeback byte to v (CONFIG_WCE). */
static void
set_wce(uint8_t v)
{
	struct vhost_user_config	cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.offset = offsetof(struct virtio_blk_config, wce);
	cfg.size = 1;
	cfg.region[0] = v;
	cr_assert_eq(vuf_request(&f, VHOST_USER_SET_CONFIG, &cfg,
	    VHOST_USER_CONFIG_HDR_SIZE + 1, NULL, 0, NULL, 0), 0, "%s",
	    vuf_error(&f));
}

/*
 * SET_CONFIG writeback = 0 (write-through, 5.2.5.1): read back, and from
 * then on every write reaches stable storage before it completes (the
 * write is issued with RWF_DSYNC); writeback = 1 again: no more.  On the
 * synchronous path (RLIMIT_NPROC 0: no ring), where the flag is seen.
 */
BLK_DATA_TEST(writeback_config)
{
	struct vhost_user_config	cfg;
	struct virtio_blk_config	c;
	struct rlimit			old, zero;
	struct rq			w;
	int				n0, d0;

	img_create("/var/tmp", IMG_SIZE);
	cr_assert_eq(getrlimit(RLIMIT_NPROC, &old), 0);
	zero = old;
	zero.rlim_cur = 0;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &zero), 0);
	be_start(NULL, 1, 64);
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &old), 0);
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.wce, 1, "writeback by default");

	/* Write-back: a plain write. */
	n0 = pw_writes;
	d0 = pw_dsync;
	dev_write(0, 0, 4096, 29);
	cr_assert_gt(pw_writes, n0, "the write did not take the counted path");
	cr_assert_eq(pw_dsync, d0, "write-back write issued with RWF_DSYNC");

	/* Write-through: every write with RWF_DSYNC. */
	set_wce(0);
	cr_assert_eq(vuf_get_config(&f, 0, &c, sizeof(c)), 0);
	cr_assert_eq(c.wce, 0);
	n0 = pw_writes;
	d0 = pw_dsync;
	dev_write(0, 0, 4096, 30);
	dev_write(0, 64, 8192, 31);
	cr_assert_gt(pw_writes, n0);
	cr_assert_eq(pw_dsync - d0, pw_writes - n0,
	    "%d of %d write-through writes without RWF_DSYNC",
	    (pw_writes - n0) - (pw_dsync - d0), pw_writes - n0);
	rq_alloc(&w, 4096, 4096);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
	{
		uint8_t	want[4096];

		fill(want, sizeof(want), 30);
		cr_assert(memcmp(w.data, want, sizeof(want)) == 0,
		    "the data written through");
	}

	/* Back to write-back. */
	set_wce(1);
	n0 = pw_writes;
	d0 = pw_dsync;
	dev_write(0, 0, 4096, 32);
	cr_assert_gt(pw_writes, n0);
	cr_assert_eq(pw_dsync, d0);

	/* Any other byte is read-only. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.offset = 0;
	cfg.size = 1;
	cr_assert_neq(vuf_request(&f, VHOST_USER_SET_CONFIG, &cfg,
	    VHOST_USER_CONFIG_HDR_SIZE + 1, NULL, 0, NULL, 0), 0);
}

/* The same round trip, discard and flush with io_uring switched off. */
static void
sync_round_trip(void)
{
	struct rq	w, r;

	rq_alloc(&w, 65536, 4096);
	rq_alloc(&r, 65536, 4096);
	fill(w.data, 65536, 40);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 128), VIRTIO_BLK_S_OK);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 128), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 65536) == 0);
	r.len = 0;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 128, 64, 0), VIRTIO_BLK_S_OK);
	r.len = 65536;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 128), VIRTIO_BLK_S_OK);
	cr_assert(all(r.data, 32768, 0));
	cr_assert(memcmp(w.data + 32768, r.data + 32768, 32768) == 0);
	many(64);
}

BLK_DATA_TEST(synchronous_without_nproc)
{
	struct rlimit	old, zero;

	img_create("/var/tmp", IMG_SIZE);
	/* RLIMIT_NPROC 0 at child init: no ring at all (root still
	 * starts the backend thread; only the soft limit changes). */
	cr_assert_eq(getrlimit(RLIMIT_NPROC, &old), 0);
	zero = old;
	zero.rlim_cur = 0;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &zero), 0);
	be_start(NULL, 1, 128);
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &old), 0);
	sync_round_trip();
}

/*
 * io_uring with no kernel worker possible: an unprivileged uid whose
 * RLIMIT_NPROC is used up by this process's own threads.  Operations that
 * need a worker come back -ECANCELED and are run inline.
 */
BLK_DATA_TEST(uring_without_workers)
{
	struct rlimit	one, ml = { 8u << 20, 8u << 20 };

	if (geteuid() != 0)
		cr_skip_test("needs root to change uid");
	img_create("/var/tmp", IMG_SIZE);
	cr_assert_eq(fchmod(imgfd, 0666), 0);
	be_start(NULL, 1, 128);
	/* Only root may remove it from /var/tmp; the descriptors stay. */
	cr_assert_eq(unlink(img), 0);
	cr_assert_eq(setrlimit(RLIMIT_MEMLOCK, &ml), 0);
	cr_assert_eq(getrlimit(RLIMIT_NPROC, &one), 0);
	one.rlim_cur = 1;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &one), 0);
	/* glibc changes the ids of every thread. */
	cr_assert_eq(setresgid(65534, 65534, 65534), 0);
	cr_assert_eq(setresuid(65534, 65534, 65534), 0);
	sync_round_trip();
	/* LeakSanitizer starts a thread at exit and reads /proc/self. */
	one.rlim_cur = one.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NPROC, &one), 0);
	cr_assert_eq(prctl(PR_SET_DUMPABLE, 1, 0, 0, 0), 0);
}
