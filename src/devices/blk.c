/*
 * blk.c - virtio-blk (virtio 1.x, 5.2) over a raw image file or a block
 * device: the key table, the child's state built from what the parent
 * found out (struct blk_res), config space, features and the device
 * type.  The parent's half (open, lock, probe, fence, spawn) is in
 * blk_parent.c, requests in blk_req.c, queues and io_uring in blk_io.c.
 *
 * Keys: the table blk_keys (name, kind, range, default, help, backend
 * program alias), parsed by common code; blk_parent.c reads the values.
 */
#include <endian.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk.h"
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

static const struct dev_key blk_keys[BLK_K_COUNT] = { BLK_KEY_ROWS };

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
	bs->bs_want_threads = br->br_nthreads;
	bs->bs_poll_us = br->br_poll_us;
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
	.dt_open = blk_res_open,
	.dt_spawn = blk_spawn,
	.dt_close = blk_close,
	.dt_init = blk_init,
	.dt_num_queues = blk_num_queues,
	.dt_free = blk_free,
};
