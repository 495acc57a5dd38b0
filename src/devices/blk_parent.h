/*
 * blk_parent.h - the parent half of blk as its files share it (blk.c
 * opens and probes the image, blk_lock.c holds its lock and the I/O
 * fence).  Internal to src/devices.
 */
#ifndef VHOSTD_DEVICES_BLK_PARENT_H
#define VHOSTD_DEVICES_BLK_PARENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "blk.h"
#include "device.h"

/* Options as parsed, before anything is opened. */
struct blk_opts {
	const char	*bo_path;
	int		 bo_ro;		/* 0/1 */
	int		 bo_direct;
	int		 bo_discard;	/* -1: when supported */
	int		 bo_lock;	/* 1: OFD lock on the image */
	uint64_t	 bo_queues;
	uint64_t	 bo_lbs;	/* 0: the device's or 512 */
	uint64_t	 bo_poll_us;
	uint64_t	 bo_threads;	/* queue threads (blk_thread.c) */
	const char	*bo_serial;
	uint64_t	 bo_null;	/* null=SIZE: bytes, 0 if not */
	bool		 bo_raw;	/* format=raw: no format probe */
};

/* Indexes of the child's descriptors in the device's resources. */
#define BLK_FD_IMAGE		0
#define BLK_FD_BUFFERED		1	/* direct=on only */

/*
 * What the parent found out about the image, handed to the child as
 * plain data (the device's resources): no pointers, no descriptor
 * numbers.
 */
struct blk_res {
	uint64_t	br_bytes;	/* size of the file or device */
	uint64_t	br_capacity;	/* 512-byte sectors */
	uint32_t	br_lbs;		/* logical block size */
	uint32_t	br_pbs;		/* physical block size */
	uint32_t	br_min_io;	/* bytes */
	uint32_t	br_opt_io;	/* bytes */
	uint32_t	br_dio_mem;	/* O_DIRECT buffer alignment */
	uint32_t	br_dio_off;	/* O_DIRECT offset alignment */
	uint32_t	br_poll_us;
	uint16_t	br_nqueues;
	uint16_t	br_nthreads;	/* queue threads, <= br_nqueues */
	bool		br_ro;
	bool		br_direct;	/* O_DIRECT; a buffered fd too */
	bool		br_blkdev;
	bool		br_null;	/* null=SIZE: no storage, no fd */
	bool		br_discard;	/* DISCARD offered */
	bool		br_wzeroes;	/* WRITE_ZEROES offered */
	bool		br_zero_range;	/* FALLOC_FL_ZERO_RANGE works */
	bool		br_punch;	/* FALLOC_FL_PUNCH_HOLE works */
	bool		br_may_unmap;	/* write_zeroes_may_unmap */
	bool		br_nowait_read;	/* buffered RWF_NOWAIT reads */
	char		br_serial[VIRTIO_BLK_ID_BYTES];
};

/* The parent's own: the image as it opened (and locked) it. */
struct blk_parent {
	struct blk_res	 bp_res;
	int		 bp_fd;		/* the child's, until moved to res */
	int		 bp_fd_buffered; /* likewise (direct=on) */
	int		 bp_fd_parent;	/* the image as opened, with the
					   lock; never in a child.  -1: not
					   reopened, the child shares it */
	int		 bp_oflags;	/* open(2) flags of bp_fd */
	off_t		 bp_fence;	/* first of its two fence bytes */
	/* The image lock (lock=on): its type, and the file's identity. */
	short		 bp_lock_type;	/* F_RDLCK, F_WRLCK; F_UNLCK: none */
	struct stat	 bp_st;
	/*
	 * A reload that keeps the image: the running device's locked
	 * description, duplicated, so the lock passes to this device without
	 * a moment in which nobody holds it (blk_take_lock, blk_commit).
	 */
	int		 bp_fd_adopted;
	short		 bp_adopted_type;	/* its lock as adopted */
};

/*
 * The image lock at open (blk_lock.c): taken, or, when a reload replaces
 * a running device on the same file (res->dr_prev), taken over from it.
 * 0 or -errno with a message.
 */
int	blk_take_lock(struct blk_parent *bp, const struct blk_opts *bo,
	    const struct device_res *res, char *err, size_t errlen);
/* dt_commit: a taken-over lock that changes type changes now. */
int	blk_commit(struct device_res *res, struct device_res *prev,
	    char *err, size_t errlen);
/* Fence bytes of their own for a device with lock=off. */
off_t	blk_fence_slot(void);
/*
 * Take fence byte off on the child's description fd: 0, or -EAGAIN
 * while the previous child's description still holds it.
 */
int	blk_fence(int fd, off_t off);

#endif /* VHOSTD_DEVICES_BLK_PARENT_H */
