/*
 * blk_lock.c - blk's OFD locks: the image lock (exclusive for a writable
 * disk, shared for a read-only one), taken over by the device a reload
 * puts in the place of a running one on the same file, and the I/O fence
 * between a dead child and the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk_parent.h"

/*
 * An OFD lock on the whole image, held by the open file description the
 * child inherits, so it lasts as long as the device: exclusive for a
 * writable disk, shared for a read-only one.  QEMU and qemu-storage-daemon
 * lock bytes of the same file (shared locks, tested against exclusive
 * ones), so neither can open a disk vhostd writes, and vhostd cannot write
 * a disk one of them has open.  0 or -errno.
 */
static int
blk_lock(struct blk_parent *bp, const struct blk_opts *bo, char *err,
    size_t errlen)
{
	struct flock	fl;
	int		e;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = bo->bo_ro ? F_RDLCK : F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = BLK_FENCE_BASE;	/* all but the fence bytes */
	if (fcntl(bp->bp_fd, F_OFD_SETLK, &fl) == 0) {
		bp->bp_lock_type = fl.l_type;
		return 0;
	}
	e = errno;
	if (e == EAGAIN || e == EACCES)
		snprintf(err, errlen, "%s: in use by another process (it "
		    "holds a lock on the image); lock=off shares it anyway",
		    bo->bo_path);
	else
		snprintf(err, errlen, "%s: lock: %s", bo->bo_path,
		    strerror(e));
	return e == EACCES ? -EAGAIN : -e;
}

/*
 * The I/O fence.  A child killed with writes in flight in its io_uring is
 * reaped before the kernel has finished them: the ring is torn down after
 * the process is gone (tens of milliseconds measured here), and until then
 * its requests still hold the child's description of the image.  Writes
 * of a dead child that land after the next child's writes to the same
 * blocks would corrupt the disk, so the next child must not start while
 * they can.  Each child's description carries a write lock on a fence
 * byte (far past any image, outside the image lock's range) taken by the
 * parent before the clone; the lock goes away only with the last
 * reference to that description, that is once every request of the dead
 * child is done.  The next spawn takes the same byte on its new
 * description: -EAGAIN while the old one lives (the supervisor retries
 * shortly), 0 when it is free or where the file system has no OFD locks
 * (then there is no fence: said once).  The child cannot drop the lock:
 * its policy allows no F_OFD_SETLK.
 */
/*
 * A random pair of fence bytes above BLK_FENCE_BASE for a device without
 * the image lock (lock=off: other devices, of this vhostd or another, may
 * share the file and must not wait for this one's children).
 */
off_t
blk_fence_slot(void)
{
	uint32_t	r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec	ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
	}
	return BLK_FENCE_BASE + 2 * (off_t)(1 + r % (BLK_FENCE_SLOTS - 1));
}

int
blk_fence(int fd, off_t off)
{
	static bool	warned;
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = off;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno == EAGAIN || errno == EACCES)
		return -EAGAIN;
	if (!warned)
		log_info("blk: no I/O fence between children (OFD lock: %s): "
		    "a restart does not wait for a dead child's writes",
		    strerror(errno));
	warned = true;
	return 0;
}

/* The description that holds bp's image lock, or -1. */
static int
blk_lock_fd(const struct blk_parent *bp, const struct device_res *res)
{
	if (bp->bp_fd_adopted >= 0)
		return bp->bp_fd_adopted;
	if (bp->bp_lock_type == F_UNLCK)
		return -1;
	if (bp->bp_fd_parent >= 0)
		return bp->bp_fd_parent;
	return res->dr_nfds > BLK_FD_IMAGE ? res->dr_fds[BLK_FD_IMAGE] : -1;
}

static bool
blk_same_file(const struct stat *a, const struct stat *b)
{
	if (S_ISBLK(a->st_mode) || S_ISBLK(b->st_mode))
		return S_ISBLK(a->st_mode) && S_ISBLK(b->st_mode) &&
		    a->st_rdev == b->st_rdev;
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* F_OFD_SETLK of type on the image lock's range of fd.  0 or -errno. */
static int
blk_setlk(int fd, short type)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_len = BLK_FENCE_BASE;
	return fcntl(fd, F_OFD_SETLK, &fl) == -1 ? -errno : 0;
}

/*
 * The image lock, at open.  When a reload replaces a running device that
 * holds the lock on this same file (res->dr_prev), taking it again would
 * conflict with our own old device: this device adopts the old one's
 * locked description instead (a duplicate: the lock lives as long as
 * either holds it), and uses the same fence bytes, so its first child
 * also waits for the old child's I/O.  A lock that changes between
 * shared and exclusive changes at blk_commit, once the old child is gone;
 * one that becomes exclusive is shared by this device's own description
 * from now on.
 */
int
blk_take_lock(struct blk_parent *bp, const struct blk_opts *bo,
    const struct device_res *res, char *err, size_t errlen)
{
	const struct device_res	*prev = res->dr_prev;
	const struct blk_parent	*pp;
	int			 fd, rc;

	pp = prev != NULL ? prev->dr_parent : NULL;
	if (pp == NULL || pp->bp_lock_type == F_UNLCK ||
	    !blk_same_file(&pp->bp_st, &bp->bp_st) ||
	    (fd = blk_lock_fd(pp, prev)) < 0)
		return blk_lock(bp, bo, err, errlen);
	if ((bp->bp_fd_adopted = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "%s: dup: %s", bo->bo_path,
		    strerror(errno));
		return -errno;
	}
	bp->bp_adopted_type = pp->bp_lock_type;
	bp->bp_lock_type = bo->bo_ro ? F_RDLCK : F_WRLCK;
	bp->bp_fence = pp->bp_fence;
	/*
	 * Shared to exclusive: this description shares the lock from now
	 * on, so that no other process can take the file exclusively
	 * before blk_commit upgrades it in place.
	 */
	if (bp->bp_adopted_type == F_RDLCK && bp->bp_lock_type == F_WRLCK &&
	    (rc = blk_setlk(bp->bp_fd, F_RDLCK)) < 0) {
		snprintf(err, errlen, "%s: lock: %s", bo->bo_path,
		    strerror(-rc));
		close_reset(&bp->bp_fd_adopted);
		return rc == -EACCES ? -EAGAIN : rc;
	}
	return 0;
}

/*
 * dt_commit: the old device's child is gone.  An adopted lock of the
 * same type needs nothing.  Exclusive to shared: downgraded in place
 * (atomic).  Shared to exclusive: the adopted description may be
 * read-only, so the lock moves to this device's own description, which
 * has shared it since blk_take_lock: the old description's lock is
 * dropped and this one's upgraded in place (atomic: it stays shared if
 * another process shares the file).  No other process can hold the file
 * exclusively at any moment, so if the upgrade fails the old lock is
 * taken back, and the old device goes on.
 */
int
blk_commit(struct device_res *res, struct device_res *prev, char *err,
    size_t errlen)
{
	struct blk_parent	*bp = res->dr_parent;
	int			 fd, rc;

	if (bp == NULL || bp->bp_fd_adopted < 0 ||
	    bp->bp_lock_type == bp->bp_adopted_type)
		return 0;
	if (bp->bp_lock_type == F_RDLCK) {
		if ((rc = blk_setlk(bp->bp_fd_adopted, F_RDLCK)) < 0) {
			snprintf(err, errlen, "image lock: %s", strerror(-rc));
			return rc;
		}
		return 0;
	}
	fd = bp->bp_fd_parent >= 0 ? bp->bp_fd_parent :
	    res->dr_fds[BLK_FD_IMAGE];
	(void)blk_setlk(bp->bp_fd_adopted, F_UNLCK);
	if ((rc = blk_setlk(fd, F_WRLCK)) < 0) {
		if (blk_setlk(bp->bp_fd_adopted, F_RDLCK) < 0)
			log_warnx("blk: the image lock could not be taken back");
		snprintf(err, errlen, "read-only=off: the image is in use by "
		    "another process (it holds a lock on it)");
		return rc == -EACCES ? -EAGAIN : rc;
	}
	close_reset(&bp->bp_fd_adopted);
	return 0;
}

