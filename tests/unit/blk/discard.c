/*
 * blk_test: discard and write-zeroes (with and without unmap, ext4 and
 * tmpfs).
 */

#include <unistd.h>

#include "blk_harness.h"

static void
zero_test(const char *dir, uint32_t type, uint32_t flags, bool drop)
{
	blkcnt_t	before;
	unsigned int	i;

	img_create(dir, IMG_SIZE);
	be_start(NULL, 1, 64);
	for (i = 0; i < IMG_SECTORS; i += 2048)
		dev_write(0, i, 1u << 20, i);
	cr_assert_eq(fsync(imgfd), 0);
	before = img_blocks();
	cr_assert_geq(before, IMG_SECTORS, "image not allocated");
	cr_assert_eq(dwz(type, 2048, 2048, flags), VIRTIO_BLK_S_OK);
	check_zeroed(drop, before);
}

Test(blk, discard_punches_ext4)
{
	zero_test("/var/tmp", VIRTIO_BLK_T_DISCARD, 0, true);
}

Test(blk, discard_punches_tmpfs)
{
	zero_test("/dev/shm", VIRTIO_BLK_T_DISCARD, 0, true);
}

Test(blk, write_zeroes_unmap_ext4)
{
	zero_test("/var/tmp", VIRTIO_BLK_T_WRITE_ZEROES,
	    VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP, true);
}

Test(blk, write_zeroes_keep_ext4)
{
	zero_test("/var/tmp", VIRTIO_BLK_T_WRITE_ZEROES, 0, false);
}

Test(blk, write_zeroes_keep_tmpfs)
{
	/* tmpfs has no ZERO_RANGE: punch, then allocate again. */
	zero_test("/dev/shm", VIRTIO_BLK_T_WRITE_ZEROES, 0, false);
}

Test(blk, discard_checks)
{
	struct virtio_blk_discard_write_zeroes	*d;
	struct rq				 q;
	uint8_t					*snap;
	unsigned int				 i;

	img_create("/var/tmp", IMG_SIZE);
	fill(q.data = malloc(IMG_SIZE), IMG_SIZE, 5);
	cr_assert_eq(pwrite(imgfd, q.data, IMG_SIZE, 0), IMG_SIZE);
	free(q.data);
	be_start(NULL, 1, 64);
	snap = img_snapshot();
	/* unmap on a discard, unknown flags: UNSUPP. */
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 0, 8, 1), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, 0, 8, 2), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 3),
	    VIRTIO_BLK_S_UNSUPP);
	/* Outside the disk, overflowing, too long: IOERR. */
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, IMG_SECTORS - 8, 16, 0),
	    VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_DISCARD, UINT64_MAX - 3, 8, 0),
	    VIRTIO_BLK_S_IOERR);
	cr_assert_eq(dwz(VIRTIO_BLK_T_WRITE_ZEROES, 0, (1u << 22) + 8, 0),
	    VIRTIO_BLK_S_IOERR);
	/* 17 ranges (one too many), a partial range, no range. */
	rq_alloc(&q, 17 * sizeof(*d), 8);
	d = (void *)q.data;
	for (i = 0; i < 17; i++)
		d[i] = (struct virtio_blk_discard_write_zeroes){ i * 8, 8, 0 };
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	q.len = 20;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	q.len = 0;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	/* One bad range among good ones: nothing is done. */
	d[5].sector = IMG_SECTORS;
	q.len = 16 * sizeof(*d);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0),
	    VIRTIO_BLK_S_IOERR);
	img_unchanged(snap);
	/* 16 good ranges (every other 4 KiB block) are all zeroed. */
	for (i = 0; i < 16; i++)
		d[i] = (struct virtio_blk_discard_write_zeroes){ i * 16, 8, 0 };
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0),
	    VIRTIO_BLK_S_OK);
	snap = img_snapshot();
	for (i = 0; i < 16; i++) {
		cr_assert(all(snap + i * 8192, 4096, 0), "range %u", i);
		cr_assert_not(all(snap + i * 8192 + 4096, 4096, 0));
	}
	free(snap);
}
