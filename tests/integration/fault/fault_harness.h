/*
 * fault_harness.h - the set-up shared by the fault_test files: a second
 * vhostd, a tmpfs and a device-mapper device the test may make, images,
 * a blk guest, and the checks on how children exited.
 */
#ifndef FAULT_HARNESS_H
#define FAULT_HARNESS_H

#include <stdint.h>
#include <sys/types.h>

#include "../itest.h"
#include "vuf_blk.h"

#define BLK_SLOTS	16
#define IMG_SIZE	(8u << 20)

extern struct vproc	fault_vp2;
extern char		fault_mnt[256];
extern char		fault_dm[64];
extern char		fault_loop[512];

long	now_ms(void);

/* A sparse image of size bytes at path. */
const char	*make_image(const char *path, off_t size);

/*
 * Wait until nobody holds a lock on the image (an OFD write lock can be
 * taken); the milliseconds it took.  A dead child's io_uring is torn down
 * by the kernel after the process is gone, and holds the image (and so
 * the lock of its open file description) for some milliseconds more.
 */
long	wait_image_unlocked(const char *path);

/* Connect a blk front end (2 MiB of guest memory, one 64-entry ring). */
void	blk_open(struct vuf *f, struct vuf_blk *b, const char *sock);

/* One request that must complete (whatever its status): the status. */
uint8_t	blk_rw(struct vuf_blk *b, uint32_t type, uint64_t sector,
    uint32_t len);

/* Write a block of byte v at sector and read it back. */
void	blk_write_check(struct vuf_blk *b, uint64_t sector, uint8_t v);

/* The child exited by itself (a status, not a signal: no crash). */
void	assert_exited_cleanly(struct vproc *p, pid_t pid);

void	send_header(struct vuf *f, uint32_t request, uint32_t size);

#endif
