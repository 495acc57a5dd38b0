/*
 * blk_test: read/write round trips, budgets, scattered segments, GET_ID,
 * range and alignment checks, read-only refusals.
 */

#include <unistd.h>

#include "blk_harness.h"

BLK_DATA_TEST(read_write_round_trip)
{
	struct rq	w, r;
	uint8_t		file[8192];

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 256);
	rq_alloc(&w, 8192, 4096);
	rq_alloc(&r, 8192, 4096);
	fill(w.data, 8192, 1);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, 24), VIRTIO_BLK_S_OK);
	cr_assert_eq(w.used, 1);
	memset(r.data, 0, 8192);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, 24), VIRTIO_BLK_S_OK);
	cr_assert_eq(r.used, 8193);
	cr_assert(memcmp(w.data, r.data, 8192) == 0);
	img_read(file, sizeof(file), 24 * 512);
	cr_assert(memcmp(w.data, file, 8192) == 0, "not in the image file");
	/* The last sector of the disk. */
	w.len = r.len = 512;
	fill(w.data, 512, 2);
	cr_assert_eq(rq_do(&w, 0, VIRTIO_BLK_T_OUT, IMG_SECTORS - 1),
	    VIRTIO_BLK_S_OK);
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1),
	    VIRTIO_BLK_S_OK);
	cr_assert(memcmp(w.data, r.data, 512) == 0);
	/* FLUSH */
	r.len = 0;
	cr_assert_eq(rq_do(&r, 0, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(r.used, 1);
}

/*
 * More requests in one kick than one wake-up's budget (VU_BUDGET_REQS):
 * the queue runs in several turns of the loop (deferred runs), and every
 * request comes back once with the right data.
 */
BLK_DATA_TEST(budget_splits_a_full_ring_without_losing_requests)
{
	static struct rq	q[600];
	uint8_t			*file;
	unsigned int		 i, nd;

	img_create("/dev/shm", IMG_SIZE);
	file = malloc(IMG_SIZE);
	cr_assert_not_null(file);
	fill(file, IMG_SIZE, 3);
	cr_assert_eq(pwrite(imgfd, file, IMG_SIZE, 0), (ssize_t)IMG_SIZE);
	be_start(NULL, 1, 1024);
	indirect_all = true;
	for (i = 0; i < 600; i++) {
		rq_alloc(&q[i], 4096, 4096);
		rq_add(&q[i], 0, VIRTIO_BLK_T_IN, (i * 8) % IMG_SECTORS);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, true), 0, "%s", vuf_error(&f));
	rq_reap(0, 600);
	for (i = 0; i < 600; i++) {
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK, "request %u", i);
		cr_assert_eq(q[i].used, 4097, "request %u", i);
		cr_assert(memcmp(q[i].data, file + (size_t)((i * 8) %
		    IMG_SECTORS) * 512, 4096) == 0, "request %u: data", i);
	}
	nd = be.ndefer + blk_threads_deferred(be.state);
	fprintf(stderr, "600 requests in one kick (threads=%s): %u deferred "
	    "runs\n", t_threads, nd);
	cr_assert_geq(nd, 2, "the queue ran %u deferred runs", nd);
	free(file);
}

/*
 * Requests done inline (page-cache writes) are given back to the driver
 * as the run goes, not all at the end: 32 writes in one kick signal the
 * call eventfd every BLK_NOTIFY_EVERY (8) of them.  poll-us=0 and no
 * EVENT_IDX, so that the kick alone runs the queue and every notify
 * writes the eventfd; the last write may come after the front end reaped
 * the last request, hence 3 at least (1 when the driver is told only at
 * the end of the run).
 */
BLK_DATA_TEST(inline_completions_signal_the_driver_on_the_way)
{
	static const char *const kv[] = { "poll-us", "0", NULL };
	static struct rq	 q[32];
	struct vuf_opts		 o;
	char			 err[256] = "";
	uint64_t		 calls;
	unsigned int		 i;

	img_create("/dev/shm", IMG_SIZE);
	cr_assert_eq(be_start_opts(kv, err, sizeof(err)), 0, "%s", err);
	memset(&o, 0, sizeof(o));
	o.o_mem_size = 32u << 20;
	o.o_features = ~0ull & ~(1ull << VIRTIO_RING_F_EVENT_IDX);
	o.o_nqueues = 1;
	o.o_queue_size = 256;
	cr_assert_eq(vuf_setup(&f, NULL, &o), 0, "%s", vuf_error(&f));
	calls = vuf_vq_calls(&f, 0);
	for (i = 0; i < 32; i++) {
		rq_alloc(&q[i], 4096, 4096);
		fill(q[i].data, 4096, 200 + i);
		rq_add(&q[i], 0, VIRTIO_BLK_T_OUT, (uint64_t)i * 8);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0, "%s", vuf_error(&f));
	rq_reap(0, 32);
	for (i = 0; i < 32; i++)
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK, "write %u", i);
	calls = vuf_vq_calls(&f, 0) - calls;
	fprintf(stderr, "32 inline writes in one kick (threads=%s): %llu "
	    "signals\n", t_threads, (unsigned long long)calls);
	cr_assert_geq(calls, 3, "%llu signals for 32 inline requests",
	    (unsigned long long)calls);
}

/* Data split over many small segments, header and status shared. */
BLK_DATA_TEST(scattered_segments)
{
	struct vuf_seg	 seg[40];
	struct virtio_blk_outhdr *h;
	uint8_t		*buf, *st, *back;
	uint64_t	 hg, bg, sg, kg;
	unsigned int	 i;

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 256);
	h = vuf_alloc(&f, 16, 8, &hg);
	st = vuf_alloc(&f, 1, 1, &sg);
	buf = vuf_alloc(&f, 32 * 512, 512, &bg);
	back = vuf_alloc(&f, 32 * 512, 512, &kg);
	fill(buf, 32 * 512, 9);
	h->type = VIRTIO_BLK_T_OUT;
	h->sector = 100;
	/* The header in two pieces, then 32 segments of 512 bytes. */
	seg[0] = (struct vuf_seg){ hg, 5, false };
	seg[1] = (struct vuf_seg){ hg + 5, 11, false };
	for (i = 0; i < 32; i++)
		seg[2 + i] = (struct vuf_seg){ bg + (31 - i) * 512, 512,
		    false };
	seg[34] = (struct vuf_seg){ sg, 1, true };
	*st = ST_POISON;
	cr_assert_eq(vuf_vq_exec(&f, 0, seg, 35, false, NULL), 0, "%s",
	    vuf_error(&f));
	cr_assert_eq(*st, VIRTIO_BLK_S_OK);
	/* Read back with the data and the status byte in one segment. */
	h->type = VIRTIO_BLK_T_IN;
	back[32 * 512 - 1] = 0;
	seg[0] = (struct vuf_seg){ hg, 16, false };
	seg[1] = (struct vuf_seg){ kg, 16 * 512, true };
	seg[2] = (struct vuf_seg){ kg + 16 * 512, 16 * 512 - 1, true };
	seg[3] = (struct vuf_seg){ sg, 1, true };
	cr_assert_eq(vuf_vq_exec(&f, 0, seg, 4, true, NULL), 0, "%s",
	    vuf_error(&f));
	cr_assert_eq(*st, VIRTIO_BLK_S_IOERR, "31.998 sectors is no length");
	seg[2].sg_len = 16 * 512;
	cr_assert_eq(vuf_vq_exec(&f, 0, seg, 4, true, NULL), 0);
	cr_assert_eq(*st, VIRTIO_BLK_S_OK);
	for (i = 0; i < 32; i++)
		cr_assert(memcmp(back + i * 512, buf + (31 - i) * 512, 512) ==
		    0, "segment %u", i);
}

BLK_DATA_TEST(get_id_and_unknown_type)
{
	const char *const	kv[] = { "serial", "vhostd-serial-0001", NULL };
	struct rq		q;

	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 64);
	rq_alloc(&q, 20, 8);
	memset(q.data, 0x77, 20);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_GET_ID, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 21);
	cr_assert(memcmp(q.data, "vhostd-serial-0001\0\0", 20) == 0);
	/* A shorter buffer gets what fits. */
	memset(q.data, 0x77, 20);
	q.len = 6;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_GET_ID, 0), VIRTIO_BLK_S_OK);
	cr_assert_eq(q.used, 7);
	cr_assert(memcmp(q.data, "vhostd\x77", 7) == 0);
	q.len = 0;
	cr_assert_eq(rq_do(&q, 0, 2 /* SCSI_CMD */, 0), VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(rq_do(&q, 0, 14 /* SECURE_ERASE */, 0),
	    VIRTIO_BLK_S_UNSUPP);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT | 0x80000000u, 0),
	    VIRTIO_BLK_S_UNSUPP);
}

BLK_DATA_TEST(out_of_range)
{
	static const uint64_t	sectors[] = { IMG_SECTORS - 1, IMG_SECTORS,
				    IMG_SECTORS + 8, UINT64_MAX,
				    UINT64_MAX - 7, 1ull << 55 };
	struct rq		q;
	uint8_t			*snap;
	unsigned int		i;

	img_create("/var/tmp", IMG_SIZE);
	fill(q.data = malloc(IMG_SIZE), IMG_SIZE, 3);
	cr_assert_eq(pwrite(imgfd, q.data, IMG_SIZE, 0), IMG_SIZE);
	free(q.data);
	be_start(NULL, 1, 64);
	snap = img_snapshot();
	rq_alloc(&q, 1024, 4096);
	memset(q.data, 0x11, 1024);
	for (i = 0; i < ARRAY_SIZE(sectors); i++) {
		cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT, sectors[i]),
		    VIRTIO_BLK_S_IOERR, "write at %llu",
		    (unsigned long long)sectors[i]);
		cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, sectors[i]),
		    VIRTIO_BLK_S_IOERR, "read at %llu",
		    (unsigned long long)sectors[i]);
		cr_assert_eq(q.used, 1);
	}
	/* Not a whole sector. */
	q.len = 1000;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT, 0), VIRTIO_BLK_S_IOERR);
	img_unchanged(snap);
	/* The disk is still usable. */
	q.len = 512;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, IMG_SECTORS - 1),
	    VIRTIO_BLK_S_OK);
}

BLK_DATA_TEST(read_only_refuses_writes)
{
	const char *const	 kv[] = { "read-only", "on", NULL };
	struct virtio_blk_discard_write_zeroes *d;
	struct rq		 q;
	uint8_t			*snap;

	img_create("/var/tmp", IMG_SIZE);
	fill(q.data = malloc(IMG_SIZE), IMG_SIZE, 4);
	cr_assert_eq(pwrite(imgfd, q.data, IMG_SIZE, 0), IMG_SIZE);
	free(q.data);
	be_start(kv, 1, 64);
	snap = img_snapshot();
	rq_alloc(&q, 4096, 4096);
	memset(q.data, 0, 4096);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_OUT, 0), VIRTIO_BLK_S_IOERR);
	d = (void *)q.data;
	d->sector = 0;
	d->num_sectors = 8;
	d->flags = 0;
	q.len = sizeof(*d);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_DISCARD, 0),
	    VIRTIO_BLK_S_IOERR);
	d->flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0),
	    VIRTIO_BLK_S_IOERR);
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_FLUSH, 0), VIRTIO_BLK_S_OK);
	q.len = 4096;
	cr_assert_eq(rq_do(&q, 0, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
	cr_assert(memcmp(q.data, snap, 4096) == 0);
	img_unchanged(snap);
}
