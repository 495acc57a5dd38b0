/* blk_test: request framing errors (chains the driver never sends). */

#include <unistd.h>

#include "blk_harness.h"

/*
 * Chains the driver must never send: the device marks itself broken
 * (NEEDS_RESET), answers what it cannot process with a used length of 0
 * (pushed) or not at all (virtq_pop refused the chain), and writes nothing.
 */
static void
malformed(unsigned int (*build)(struct vuf_seg *), bool pushed)
{
	struct vuf_seg	seg[4];
	struct vuf_used	u;
	uint8_t		status = 0, *snap;
	unsigned int	n, i;

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 64);
	snap = img_snapshot();
	n = build(seg);
	cr_assert_geq(vuf_vq_add(&f, 0, seg, n, false, NULL), 0);
	cr_assert_eq(vuf_vq_kick(&f, 0, true), 0);
	if (pushed) {
		cr_assert_eq(vuf_vq_wait(&f, 0, 10000), 0, "%s",
		    vuf_error(&f));
		cr_assert_eq(vuf_vq_reap(&f, 0, &u, 1), 1);
		cr_assert_eq(u.u_len, 0);
	}
	/*
	 * On the control thread the kick is served before the next message
	 * (be_main); a queue thread hands the broken chain to the control
	 * thread, which may answer a message first: wait for it.
	 */
	for (i = 0; i < 10000; i++) {
		cr_assert_eq(vuf_get_status(&f, &status), 0, "%s",
		    vuf_error(&f));
		if ((status & VIRTIO_CONFIG_S_NEEDS_RESET) ||
		    strcmp(t_threads, "0") == 0)
			break;
		usleep(1000);
	}
	cr_assert(status & VIRTIO_CONFIG_S_NEEDS_RESET, "status 0x%x", status);
	if (!pushed)
		cr_assert_eq(vuf_vq_pending(&f, 0), 0);
	img_unchanged(snap);
}

/* Header (an OUT at sector 0), 4096 data bytes, one more byte. */
static uint64_t
out_request(void)
{
	struct virtio_blk_outhdr	*h;
	uint64_t			 g;

	h = vuf_alloc(&f, 16 + 4096 + 1, 4096, &g);
	cr_assert_not_null(h);
	h->type = VIRTIO_BLK_T_OUT;
	h->sector = 0;
	memset(h + 1, 0x42, 4097);
	return g;
}

static unsigned int
build_no_status(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	seg[0] = (struct vuf_seg){ g, 16, false };
	seg[1] = (struct vuf_seg){ g + 16, 4096, false };
	return 2;
}

static unsigned int
build_status_readable(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	/* A status "byte" the device may not write, after writable data. */
	seg[0] = (struct vuf_seg){ g, 16, false };
	seg[1] = (struct vuf_seg){ g + 16, 4096, true };
	seg[2] = (struct vuf_seg){ g + 16 + 4096, 1, false };
	return 3;
}

static unsigned int
build_short_header(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	/* 8 header bytes: type, ioprio, no sector. */
	seg[0] = (struct vuf_seg){ g, 8, false };
	seg[1] = (struct vuf_seg){ g + 16 + 4096, 1, true };
	return 2;
}

static unsigned int
build_outside_memory(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	seg[0] = (struct vuf_seg){ g, 16, false };
	/* Starts inside guest memory, ends 4 KiB past it. */
	seg[1] = (struct vuf_seg){ f.f_gpa_base + f.f_mem_size - 4096, 8192,
	    false };
	seg[2] = (struct vuf_seg){ g + 16 + 4096, 1, true };
	return 3;
}

static unsigned int
build_unmapped(struct vuf_seg *seg)
{
	uint64_t	g = out_request();

	seg[0] = (struct vuf_seg){ g, 16, false };
	seg[1] = (struct vuf_seg){ 0x1000, 4096, false };	/* no memory */
	seg[2] = (struct vuf_seg){ g + 16 + 4096, 1, true };
	return 3;
}

BLK_DATA_TEST(malformed_no_status_byte)
{
	malformed(build_no_status, true);
}

BLK_DATA_TEST(malformed_status_not_writable)
{
	/* Readable after writable: virtq_pop refuses the chain. */
	malformed(build_status_readable, false);
}

BLK_DATA_TEST(malformed_header_too_short)
{
	malformed(build_short_header, true);
}

BLK_DATA_TEST(malformed_data_outside_memory)
{
	malformed(build_outside_memory, false);
}

BLK_DATA_TEST(malformed_data_unmapped)
{
	malformed(build_unmapped, false);
}
