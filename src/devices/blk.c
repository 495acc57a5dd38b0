/*
 * blk.c - virtio-blk (virtio 1.x, 5.2) over a raw image file or a block
 * device: options, the parent's side (open, probe), config space and
 * features.  The image lock and the I/O fence are in blk_lock.c, the
 * format probe in blk_probe.c, requests in blk_req.c, queues and io_uring
 * in blk_io.c.
 *
 * The parent opens the image in dt_open, before fork, and works out
 * everything the child must know: capacity, block sizes, and whether
 * discard and write-zeroes work on this backing (probed with fallocate
 * beyond the end of a file, or BLKDISCARD on a block device, without
 * changing a byte the guest can see).  The child gets descriptors only,
 * and never the parent's: before each spawn the image is opened again
 * (blk_spawn), so flags a taken-over child sets die with it, and the
 * child may not grow the file (blk_max_file_size: RLIMIT_FSIZE).
 *
 * Keys: the table blk_keys (name, kind, range, default, help, backend
 * program alias), parsed by common code; blk_parse_opts reads the values.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk.h"
#include "blk_parent.h"
#include "device.h"

/* struct virtio_blk_config (virtio 1.x 5.2.4), little endian. */
struct blk_config {
	uint64_t	capacity;
	uint32_t	size_max;
	uint32_t	seg_max;
	uint16_t	cylinders;
	uint8_t		heads;
	uint8_t		sectors;
	uint32_t	blk_size;
	uint8_t		physical_block_exp;
	uint8_t		alignment_offset;
	uint16_t	min_io_size;
	uint32_t	opt_io_size;
	uint8_t		writeback;
	uint8_t		unused0;
	uint16_t	num_queues;
	uint32_t	max_discard_sectors;
	uint32_t	max_discard_seg;
	uint32_t	discard_sector_alignment;
	uint32_t	max_write_zeroes_sectors;
	uint32_t	max_write_zeroes_seg;
	uint8_t		write_zeroes_may_unmap;
	uint8_t		unused1[3];
	uint32_t	max_secure_erase_sectors;
	uint32_t	max_secure_erase_seg;
	uint32_t	secure_erase_sector_alignment;
} __attribute__((packed));

_Static_assert(offsetof(struct blk_config, blk_size) == 20, "blk_size");
_Static_assert(offsetof(struct blk_config, writeback) == 32, "writeback");
_Static_assert(offsetof(struct blk_config, num_queues) == 34, "num_queues");
_Static_assert(offsetof(struct blk_config, write_zeroes_may_unmap) == 56,
    "write_zeroes_may_unmap");
_Static_assert(sizeof(struct blk_config) == 72, "virtio_blk_config");

const char *const blk_lbs_names[] = { "512", "4096", NULL };
const char *const blk_format_names[] = { "auto", "raw", NULL };
static const uint64_t blk_lbs_values[] = { 512, 4096 };

static const struct dev_key blk_keys[BLK_K_COUNT] = { BLK_KEY_ROWS };

/*
 * The typed values (each checked against its row by common code) into
 * struct blk_opts; what spans keys is checked here.
 */
static int
blk_parse_opts(const struct dev_options *o, struct blk_opts *bo, char *err,
    size_t errlen)
{
	memset(bo, 0, sizeof(*bo));
	bo->bo_path = dev_opt_str(o, BLK_K_PATH);
	bo->bo_null = dev_opt_given(o, BLK_K_NULL) ?
	    dev_opt_u64(o, BLK_K_NULL) : 0;
	bo->bo_ro = (int)dev_opt_u64(o, BLK_K_RO);
	bo->bo_direct = (int)dev_opt_u64(o, BLK_K_DIRECT);
	bo->bo_discard = dev_opt_given(o, BLK_K_DISCARD) ?
	    (int)dev_opt_u64(o, BLK_K_DISCARD) : -1;
	bo->bo_lock = (int)dev_opt_u64(o, BLK_K_LOCK);
	bo->bo_queues = dev_opt_u64(o, BLK_K_QUEUES);
	bo->bo_lbs = dev_opt_given(o, BLK_K_LBS) ?
	    blk_lbs_values[dev_opt_u64(o, BLK_K_LBS)] : 0;
	bo->bo_poll_us = dev_opt_u64(o, BLK_K_POLL_US);
	bo->bo_threads = dev_opt_given(o, BLK_K_THREADS) ?
	    dev_opt_u64(o, BLK_K_THREADS) : blk_threads_auto(bo->bo_queues);
	bo->bo_serial = dev_opt_str(o, BLK_K_SERIAL);
	bo->bo_raw = dev_opt_u64(o, BLK_K_FORMAT) == 1;
	if ((bo->bo_path == NULL) == (bo->bo_null == 0)) {
		snprintf(err, errlen, "%s: give path= (the image file or "
		    "block device) or null=SIZE (no storage, for benchmarks)",
		    bo->bo_path == NULL ? "path" : "path, null");
		return -EINVAL;
	}
	return 0;
}

/*
 * Open the image (and, with O_DIRECT, a second buffered descriptor of the
 * same file for guest buffers O_DIRECT cannot take).  0 or -errno.
 */
static int
blk_open(struct blk_parent *bp, const struct blk_opts *bo, struct stat *st,
    char *err, size_t errlen)
{
	struct blk_res	*br = &bp->bp_res;
	struct stat	 st2;
	int		 flags, e;

	flags = (bo->bo_ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY;
	bp->bp_oflags = flags | (bo->bo_direct ? O_DIRECT : 0);
	bp->bp_fd = open(bo->bo_path, bp->bp_oflags);
	if (bp->bp_fd == -1 || fstat(bp->bp_fd, st) == -1) {
		e = errno > 0 ? errno : EIO;
		snprintf(err, errlen, "%s: %s%s", bo->bo_path, strerror(e),
		    e == EINVAL && bo->bo_direct ? " (direct=on: the "
		    "file system may not support O_DIRECT)" : "");
		return -e;
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file or a block "
		    "device", bo->bo_path);
		return -EINVAL;
	}
	br->br_blkdev = S_ISBLK(st->st_mode);
	if (!bo->bo_direct)
		return 0;
	if ((bp->bp_fd_buffered = open(bo->bo_path, flags)) == -1 ||
	    fstat(bp->bp_fd_buffered, &st2) == -1) {
		e = errno > 0 ? errno : EIO;
		snprintf(err, errlen, "%s: %s", bo->bo_path, strerror(e));
		return -e;
	}
	if (st2.st_dev != st->st_dev || st2.st_ino != st->st_ino ||
	    st2.st_rdev != st->st_rdev) {
		snprintf(err, errlen, "%s: changed while it was opened",
		    bo->bo_path);
		return -EBUSY;
	}
	return 0;
}

static uint32_t
blk_pow2_or(uint64_t v, uint32_t dflt)
{
	if (v == 0 || v > (1u << 20) || (v & (v - 1)) != 0)
		return dflt;
	return (uint32_t)v;
}

/* Size and block geometry.  0 or -errno. */
static int
blk_geometry(struct blk_parent *bp, const struct blk_opts *bo,
    const struct stat *st, char *err, size_t errlen)
{
	struct blk_res	*br = &bp->bp_res;
	struct statx	 stx;
	uint64_t	 size, bytes;
	unsigned int	 u;
	int		 i, e;

	br->br_dio_mem = br->br_dio_off = 4096;
	if (br->br_blkdev) {
		if (ioctl(bp->bp_fd, BLKGETSIZE64, &size) == -1 ||
		    ioctl(bp->bp_fd, BLKSSZGET, &i) == -1) {
			e = errno > 0 ? errno : EIO;
			snprintf(err, errlen, "%s: block device size: %s",
			    bo->bo_path, strerror(e));
			return -e;
		}
		br->br_dio_mem = br->br_dio_off = blk_pow2_or((uint64_t)i,
		    4096);
		br->br_lbs = bo->bo_lbs != 0 ? (uint32_t)bo->bo_lbs :
		    MAX(br->br_dio_off, BLK_SECTOR);
		if (br->br_lbs < br->br_dio_off) {
			snprintf(err, errlen, "%s: logical-block-size=%u is "
			    "smaller than the device's %u", bo->bo_path,
			    br->br_lbs, br->br_dio_off);
			return -EINVAL;
		}
		br->br_pbs = ioctl(bp->bp_fd, BLKPBSZGET, &u) == 0 ?
		    blk_pow2_or(u, br->br_lbs) : br->br_lbs;
		br->br_min_io = ioctl(bp->bp_fd, BLKIOMIN, &u) == 0 ? u : 0;
		br->br_opt_io = ioctl(bp->bp_fd, BLKIOOPT, &u) == 0 ? u : 0;
	} else {
		size = (uint64_t)st->st_size;
		br->br_lbs = bo->bo_lbs != 0 ? (uint32_t)bo->bo_lbs :
		    BLK_SECTOR;
		/* Guests that align to 4 KiB spare the page cache. */
		br->br_pbs = MAX(br->br_lbs, 4096u);
		br->br_min_io = br->br_pbs;
		br->br_opt_io = 0;
		if (statx(bp->bp_fd, "", AT_EMPTY_PATH, STATX_DIOALIGN,
		    &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) &&
		    stx.stx_dio_offset_align != 0) {
			br->br_dio_mem = blk_pow2_or(stx.stx_dio_mem_align,
			    4096);
			br->br_dio_off = blk_pow2_or(stx.stx_dio_offset_align,
			    4096);
		}
	}
	if (br->br_pbs < br->br_lbs)
		br->br_pbs = br->br_lbs;
	bytes = size & ~(uint64_t)(br->br_lbs - 1);
	if (bytes == 0) {
		snprintf(err, errlen, "%s: %llu bytes, smaller than one block "
		    "of %u", bo->bo_path, (unsigned long long)size,
		    br->br_lbs);
		return -EINVAL;
	}
	br->br_capacity = bytes / BLK_SECTOR;
	br->br_bytes = size;
	return 0;
}

/*
 * Whether discard and write-zeroes work, without changing what the guest
 * sees.  A file: fallocate on the block just past the end of the file,
 * with FALLOC_FL_KEEP_SIZE (ZERO_RANGE is punched out again).  A block
 * device: BLKDISCARD of an empty range fails with EINVAL when the device
 * can discard (EOPNOTSUPP when not); write-zeroes always works (the kernel
 * writes zeroes when the device has no command for it).  Also whether
 * buffered reads can be tried without blocking (RWF_NOWAIT; not tmpfs).
 */
static void
blk_probe(struct blk_parent *bp, const struct stat *st)
{
	struct blk_res	*br = &bp->bp_res;
	uint64_t	 range[2] = { 0, 0 };
	uint8_t		 buf[512];
	struct iovec	 iov = { buf, sizeof(buf) };
	off_t		 off;

	br->br_nowait_read = preadv2(br->br_direct ? bp->bp_fd_buffered :
	    bp->bp_fd, &iov, 1, 0, RWF_NOWAIT) >= 0 || errno == EAGAIN;
	if (br->br_ro)
		return;
	if (br->br_blkdev) {
		br->br_punch = ioctl(bp->bp_fd, BLKDISCARD, range) == -1 &&
		    errno == EINVAL;
		br->br_zero_range = true;
		return;
	}
	/* A 4 KiB block 64 KiB or more past the end. */
	off = (st->st_size + 65535) / 65536 * 65536 + 65536;
	br->br_punch = fallocate(bp->bp_fd, FALLOC_FL_PUNCH_HOLE |
	    FALLOC_FL_KEEP_SIZE, off, 4096) == 0;
	if (br->br_punch && fallocate(bp->bp_fd, FALLOC_FL_ZERO_RANGE |
	    FALLOC_FL_KEEP_SIZE, off, 4096) == 0) {
		br->br_zero_range = true;
		(void)fallocate(bp->bp_fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, off, 4096);
	}
}

/*
 * A new open file description of the image: the parent's own one
 * (bs_fd_parent) opened again through /proc/self/fd, with flags, and
 * checked to be the same file.  The descriptor, or -errno.
 */
static int
blk_reopen_one(const struct blk_parent *bp, int flags)
{
	struct stat	a, b;
	char		path[64];
	int		fd, e;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", bp->bp_fd_parent);
	if ((fd = open(path, flags | O_CLOEXEC | O_NOCTTY)) == -1)
		return -errno;
	if (fstat(fd, &a) == -1 || fstat(bp->bp_fd_parent, &b) == -1) {
		e = errno;
		close_reset(&fd);
		return -e;
	}
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino ||
	    a.st_rdev != b.st_rdev) {
		close_reset(&fd);
		return -ESTALE;
	}
	return fd;
}

/*
 * Give *target (bs_fd or bs_fd_buffered) a fresh description, keeping its
 * number (dup3 replaces the old description atomically).  0 or -errno.
 */
static int
blk_reopen_at(const struct blk_parent *bp, int flags, int *target)
{
	int	fd, rc = 0;

	if ((fd = blk_reopen_one(bp, flags)) < 0)
		return fd;
	if (*target < 0)
		*target = fd;
	else {
		if (dup3(fd, *target, O_CLOEXEC) == -1)
			rc = -errno;
		close_reset(&fd);
	}
	return rc;
}

/*
 * Per-child open file descriptions (dt_spawn): a child can set flags on
 * its descriptions (O_APPEND would make every later pwrite land at the end
 * of the file) or move their offsets; the next child must not inherit
 * them, nor the parent see them.  So the parent keeps the description it
 * opened (and locked) to itself and hands each child new ones, under the
 * numbers the resources name.
 */
static int
blk_spawn(struct device_res *res)
{
	struct blk_parent	*bp = res->dr_parent;
	int			 rc;

	if (bp == NULL || bp->bp_fd_parent < 0 || res->dr_nfds == 0)
		return 0;
	if ((rc = blk_reopen_at(bp, bp->bp_oflags,
	    &res->dr_fds[BLK_FD_IMAGE])) < 0 ||
	    (res->dr_nfds > BLK_FD_BUFFERED && (rc = blk_reopen_at(bp,
	    bp->bp_oflags & ~O_DIRECT, &res->dr_fds[BLK_FD_BUFFERED])) < 0)) {
		log_warnx("blk: cannot open the image again for the next "
		    "child: %s", strerror(-rc));
		return rc;
	}
	if ((bp->bp_oflags & O_ACCMODE) == O_RDONLY)
		return 0;	/* nothing in flight can change the image */
	if ((rc = blk_fence(res->dr_fds[BLK_FD_IMAGE], bp->bp_fence)) < 0 ||
	    (res->dr_nfds > BLK_FD_BUFFERED &&
	    (rc = blk_fence(res->dr_fds[BLK_FD_BUFFERED],
	    bp->bp_fence + 1)) < 0))
		return rc;
	return 0;
}

/*
 * At open: the description just opened (and locked) becomes the
 * parent's, and the child's descriptors get descriptions of their own.
 * Without /proc the children share the parent's description as before
 * (the seccomp filter still keeps them from changing its flags).
 */
static void
blk_split_parent(struct blk_parent *bp)
{
	int	fd, rc;

	bp->bp_fd_parent = bp->bp_fd;
	bp->bp_fd = -1;
	if ((rc = blk_reopen_at(bp, bp->bp_oflags, &bp->bp_fd)) < 0) {
		log_info("blk: cannot open the image through /proc/self/fd "
		    "(%s): children share the parent's open file description",
		    strerror(-rc));
		bp->bp_fd = bp->bp_fd_parent;
		bp->bp_fd_parent = -1;
		return;
	}
	if (bp->bp_fd_buffered >= 0 && (fd = blk_reopen_one(bp,
	    bp->bp_oflags & ~O_DIRECT)) >= 0) {
		close_reset(&bp->bp_fd_buffered);
		bp->bp_fd_buffered = fd;
	}
}

/*
 * RLIMIT_FSIZE for the child: the image's size, so that writes, fallocate
 * and ftruncate past its end fail (EFBIG) instead of growing the file
 * (and the host's disk use) for every later child; at least the largest
 * inflight region the child may have to size for its queues (a memfd,
 * counted by the same limit).
 */
static uint64_t
blk_max_file_size(const struct blk_res *br)
{
	uint64_t	inflight;

	if (br->br_null)
		return 0;
	inflight = (uint64_t)br->br_nqueues *
	    VIRTQ_INFLIGHT_SIZE(VIRTQ_MAX_SIZE);
	return MAX(br->br_bytes, inflight);
}

static void
blk_parent_free(struct blk_parent *bp)
{
	if (bp == NULL)
		return;
	close_reset(&bp->bp_fd);
	close_reset(&bp->bp_fd_buffered);
	close_reset(&bp->bp_fd_parent);
	close_reset(&bp->bp_fd_adopted);
	free(bp);
}

static void
blk_close(struct device_res *res)
{
	blk_parent_free(res->dr_parent);
	res->dr_parent = NULL;
}

/*
 * Parent: open and probe the image.  res gets the child's descriptors
 * (BLK_FD_IMAGE, and BLK_FD_BUFFERED with direct=on), a struct blk_res
 * and, as dr_parent, the locked description the parent keeps.
 */
static int
blk_res_open(const struct dev_options *opts, bool check_only,
    struct device_res *res, char *err, size_t errlen)
{
	struct blk_parent	*bp;
	struct blk_res		*br;
	struct blk_opts		 bo;
	struct stat		 st;
	int			 rc;

	memset(&st, 0, sizeof(st));
	if ((rc = blk_parse_opts(opts, &bo, err, errlen)) != 0)
		return rc;
	if ((bp = calloc(1, sizeof(*bp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	res->dr_parent = bp;
	br = &bp->bp_res;
	bp->bp_fd = bp->bp_fd_buffered = bp->bp_fd_parent = -1;
	bp->bp_fd_adopted = -1;
	bp->bp_lock_type = bp->bp_adopted_type = F_UNLCK;
	br->br_ro = bo.bo_ro;
	br->br_direct = bo.bo_direct;
	br->br_nqueues = (uint16_t)bo.bo_queues;
	br->br_poll_us = (uint32_t)bo.bo_poll_us;
	/* More threads than queues would have nothing to do. */
	br->br_nthreads = (uint16_t)MIN(bo.bo_threads, bo.bo_queues);
	/* Copied: the child gets plain data, not the options' strings. */
	if (bo.bo_serial != NULL)
		memcpy(br->br_serial, bo.bo_serial,
		    MIN(strlen(bo.bo_serial), sizeof(br->br_serial)));
	if (bo.bo_null != 0) {
		/* Requests complete at once; reads leave buffers as they are. */
		br->br_null = true;
		br->br_lbs = bo.bo_lbs != 0 ? (uint32_t)bo.bo_lbs : BLK_SECTOR;
		br->br_pbs = br->br_min_io = MAX(br->br_lbs, 4096u);
		br->br_dio_mem = br->br_dio_off = 4096;
		br->br_capacity = (bo.bo_null & ~(uint64_t)(br->br_lbs - 1)) /
		    BLK_SECTOR;
		goto done;
	}
	bp->bp_fence = bo.bo_lock ? BLK_FENCE_BASE : blk_fence_slot();
	res->dr_errkey = BLK_K_PATH;
	if ((rc = blk_open(bp, &bo, &st, err, errlen)) != 0)
		return rc;
	bp->bp_st = st;
	/* Claimed before the lock: a refusal can then name our own device. */
	if (bo.bo_lock && (rc = device_res_add_claim(res, &st, bo.bo_ro,
	    BLK_K_PATH, "give both lock=off to share it on purpose")) < 0) {
		snprintf(err, errlen, "too many files claimed");
		return rc;
	}
	if ((!bo.bo_raw && (rc = blk_format_check(bo.bo_direct ?
	    bp->bp_fd_buffered : bp->bp_fd, bo.bo_path, err, errlen)) != 0) ||
	    (bo.bo_lock && !check_only &&
	    (rc = blk_take_lock(bp, &bo, res, err, errlen)) != 0))
		return rc;
	if ((rc = blk_geometry(bp, &bo, &st, err, errlen)) != 0)
		return rc;
	blk_probe(bp, &st);
	br->br_discard = br->br_punch && bo.bo_discard != 0;
	res->dr_errkey = BLK_K_DISCARD;
	if (bo.bo_discard == 1 && !br->br_discard) {
		snprintf(err, errlen, "%s: discard=on, but %s", bo.bo_path,
		    br->br_ro ? "the disk is read-only" :
		    "the file system or device cannot discard");
		return -EOPNOTSUPP;
	}
	br->br_wzeroes = !br->br_ro && (br->br_zero_range || br->br_punch);
	/* Block devices zero with BLKDEV_ZERO_NOUNMAP (blk_req.c). */
	br->br_may_unmap = br->br_wzeroes && br->br_discard && !br->br_blkdev;
	blk_split_parent(bp);
	/* The child's descriptors move to res (BLK_FD_IMAGE, BUFFERED). */
	rc = device_res_add_fd(res, bp->bp_fd);
	bp->bp_fd = -1;
	if (rc >= 0 && bp->bp_fd_buffered >= 0) {
		rc = device_res_add_fd(res, bp->bp_fd_buffered);
		bp->bp_fd_buffered = -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "too many descriptors to keep");
		return rc;
	}
done:
	res->dr_errkey = -1;
	res->dr_max_file_size = blk_max_file_size(br);
	if ((rc = device_res_set_data(res, br, sizeof(*br))) < 0) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	return 0;
}

/*
 * Child, before the filter: the state from the parent's blk_res, then
 * every queue's ring, restricted (blk_io.c).
 */
static int
blk_init(const struct device_child_res *res, void **statep)
{
	const struct blk_res	*br;
	struct blk_state	*bs;
	unsigned int		 nfds;
	int			 rc;

	if ((br = device_child_data(res, sizeof(*br))) == NULL ||
	    br->br_nqueues == 0 || br->br_nqueues > VU_MAX_QUEUES ||
	    br->br_nthreads > br->br_nqueues ||
	    br->br_lbs < BLK_SECTOR || (br->br_lbs & (br->br_lbs - 1)) != 0)
		return -EINVAL;
	nfds = br->br_null ? 0 : br->br_direct ? 2 : 1;
	if (res->cr_nfds != nfds)
		return -EINVAL;
	if ((bs = calloc(1, sizeof(*bs))) == NULL)
		return -ENOMEM;
	ratelimit_log_init(&bs->bs_warnlog, 0, 0);
	bs->bs_fd = nfds > BLK_FD_IMAGE ? res->cr_fds[BLK_FD_IMAGE] : -1;
	bs->bs_fd_buffered = nfds > BLK_FD_BUFFERED ?
	    res->cr_fds[BLK_FD_BUFFERED] : -1;
	bs->bs_bytes = br->br_bytes;
	bs->bs_ro = br->br_ro;
	bs->bs_direct = br->br_direct;
	bs->bs_blkdev = br->br_blkdev;
	bs->bs_null = br->br_null;
	bs->bs_discard = br->br_discard;
	bs->bs_wzeroes = br->br_wzeroes;
	bs->bs_zero_range = br->br_zero_range;
	bs->bs_punch = br->br_punch;
	bs->bs_may_unmap = br->br_may_unmap;
	bs->bs_nowait_read = br->br_nowait_read;
	bs->bs_capacity = br->br_capacity;
	bs->bs_lbs = br->br_lbs;
	bs->bs_pbs = br->br_pbs;
	bs->bs_min_io = br->br_min_io;
	bs->bs_opt_io = br->br_opt_io;
	bs->bs_dio_mem = br->br_dio_mem;
	bs->bs_dio_off = br->br_dio_off;
	bs->bs_nqueues = br->br_nqueues;
	bs->bs_poll_us = br->br_poll_us;
	bs->bs_want_threads = br->br_nthreads;
	memcpy(bs->bs_serial, br->br_serial, sizeof(bs->bs_serial));
	bs->bs_writeback = true;
	if ((rc = blk_io_child_init(bs)) < 0) {
		blk_io_free(bs);
		free(bs);
		return rc;
	}
	*statep = bs;
	return 0;
}

static uint16_t
blk_num_queues(void *state)
{
	return ((struct blk_state *)state)->bs_nqueues;
}

/*
 * The descriptors are the resources' (the parent's, or the child's own
 * after the jail): not closed here.
 */
static void
blk_free(void *state)
{
	struct blk_state	*bs = state;

	if (bs == NULL)
		return;
	blk_io_free(bs);
	free(bs);
}

static uint64_t
blk_get_features(struct vu_dev *dev)
{
	struct blk_state	*bs = vu_dev_priv(dev);
	uint64_t		 f;

	f = (1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
	    (1ull << VIRTIO_BLK_F_BLK_SIZE) | (1ull << VIRTIO_BLK_F_TOPOLOGY) |
	    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_CONFIG_WCE) |
	    (1ull << VIRTIO_BLK_F_MQ);
	if (bs->bs_ro)
		f |= 1ull << VIRTIO_BLK_F_RO;
	if (bs->bs_discard)
		f |= 1ull << VIRTIO_BLK_F_DISCARD;
	if (bs->bs_wzeroes)
		f |= 1ull << VIRTIO_BLK_F_WRITE_ZEROES;
	return f;
}

/*
 * Writes must reach stable storage before they complete when the driver
 * cannot flush, or when it switched the cache to write-through (5.2.5.1,
 * CONFIG_WCE).
 */
static void
blk_update_dsync(struct blk_state *bs, uint64_t features)
{
	bool	flush = (features & (1ull << VIRTIO_BLK_F_FLUSH)) != 0;
	bool	wce = (features & (1ull << VIRTIO_BLK_F_CONFIG_WCE)) != 0;

	bs->bs_dsync = !flush || (wce && !bs->bs_writeback);
}

static int
blk_set_features(struct vu_dev *dev, uint64_t features)
{
	blk_update_dsync(vu_dev_priv(dev), features);
	return 0;
}

static void
blk_fill_config(const struct blk_state *bs, struct blk_config *c)
{
	unsigned int	exp = 0;

	memset(c, 0, sizeof(*c));
	while ((bs->bs_lbs << (exp + 1)) <= bs->bs_pbs && exp < 15)
		exp++;
	c->capacity = htole64(bs->bs_capacity);
	c->size_max = htole32(BLK_SIZE_MAX);
	c->seg_max = htole32(BLK_SEG_MAX);
	c->blk_size = htole32(bs->bs_lbs);
	c->physical_block_exp = (uint8_t)exp;
	c->min_io_size = htole16((uint16_t)MIN(bs->bs_min_io / bs->bs_lbs,
	    UINT16_MAX));
	c->opt_io_size = htole32(bs->bs_opt_io / bs->bs_lbs);
	c->writeback = bs->bs_writeback;
	c->num_queues = htole16(bs->bs_nqueues);
	if (bs->bs_discard) {
		c->max_discard_sectors = htole32(BLK_DWZ_SECTORS_MAX);
		c->max_discard_seg = htole32(BLK_DWZ_SEG_MAX);
		c->discard_sector_alignment = htole32(bs->bs_lbs /
		    BLK_SECTOR);
	}
	if (bs->bs_wzeroes) {
		c->max_write_zeroes_sectors = htole32(BLK_DWZ_SECTORS_MAX);
		c->max_write_zeroes_seg = htole32(BLK_DWZ_SEG_MAX);
		c->write_zeroes_may_unmap = bs->bs_may_unmap;
	}
}

/* Bytes past the structure read as zeroes (newer fields not offered). */
static int
blk_get_config(struct vu_dev *dev, uint8_t *buf, uint32_t offset,
    uint32_t len)
{
	struct blk_config	c;

	blk_fill_config(vu_dev_priv(dev), &c);
	memset(buf, 0, len);
	if (offset < sizeof(c))
		memcpy(buf, (uint8_t *)&c + offset,
		    MIN(len, sizeof(c) - offset));
	return 0;
}

/* Only the writeback byte is writable, and only with CONFIG_WCE. */
static int
blk_set_config(struct vu_dev *dev, const uint8_t *buf, uint32_t offset,
    uint32_t len, uint32_t flags)
{
	struct blk_state	*bs = vu_dev_priv(dev);

	if (offset != offsetof(struct blk_config, writeback) || len != 1 ||
	    !vu_has_feature(dev, VIRTIO_BLK_F_CONFIG_WCE) || buf[0] > 1) {
		ratelimit_warnx(&bs->bs_warnlog, ratelimit_now(), "blk: SET_CONFIG of %u "
		    "bytes at %u refused: only writeback (offset 32, 1 byte, "
		    "with CONFIG_WCE) is writable", len, offset);
		return -EINVAL;
	}
	bs->bs_writeback = buf[0] == 1;
	blk_update_dsync(bs, vu_dev_features(dev));
	return 0;
}

static void
blk_reset(struct vu_dev *dev)
{
	struct blk_state	*bs = vu_dev_priv(dev);

	bs->bs_writeback = true;
	blk_update_dsync(bs, vu_dev_features(dev));
}

static const struct vu_dev_ops blk_ops = {
	.get_features = blk_get_features,
	.set_features = blk_set_features,
	.get_config = blk_get_config,
	.set_config = blk_set_config,
	.queue_handler = blk_io_queue_handler,
	.queue_state = blk_io_queue_state,
	.mem_quiesce = blk_io_mem_quiesce,
	.reset = blk_reset,
	.queue_loop = blk_io_queue_loop,
	.pause = blk_io_pause,
	.resume = blk_io_resume,
};

const struct device_type blk_device_type = {
	.dt_name = "blk",
	.dt_caps_type = "block",
	.dt_description = "virtio block device",
	.dt_keys = blk_keys,
	.dt_nkeys = BLK_K_COUNT,
	.dt_ops = &blk_ops,
	/*
	 * io_uring in the jail: ring memory is locked memory of the uid
	 * (about 28 KiB per 256-entry ring), and io-wq workers count as
	 * processes of the uid.  Both limits are per uid, shared by every
	 * device child, hence the room.  blk.policy still forbids fork.
	 */
	.dt_rlimit_nproc = 4096,
	.dt_rlimit_memlock = 64ul << 20,
	.dt_latency = true,
	/*
	 * Private memory: about 0.9 MiB per queue (BLK_DEPTH requests with
	 * their iovecs and operations), 14 MiB with VU_MAX_QUEUES idle, a
	 * little more serving (vhostd(8) gives the figures): 64 MiB.
	 */
	.dt_mem_limit = 64ull << 20,
	.dt_open = blk_res_open,
	.dt_spawn = blk_spawn,
	.dt_close = blk_close,
	.dt_commit = blk_commit,
	.dt_init = blk_init,
	.dt_num_queues = blk_num_queues,
	.dt_free = blk_free,
};
