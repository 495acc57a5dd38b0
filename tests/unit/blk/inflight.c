/*
 * blk_test: two queues, 128 and 400 requests in flight, a ring stopped
 * with I/O in flight, a memory table change, queue threads racing the
 * control thread.
 */

#include "blk_harness.h"

BLK_DATA_TEST(two_queues_independent)
{
	const char *const	kv[] = { "queues", "2", NULL };
	struct rq		a, b, r;

	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 2, 128);
	rq_alloc(&a, 4096, 4096);
	rq_alloc(&b, 4096, 4096);
	rq_alloc(&r, 4096, 4096);
	fill(a.data, 4096, 10);
	fill(b.data, 4096, 11);
	/* Queue 1 alone, then queue 0 alone, each answered on its ring. */
	cr_assert_eq(rq_do(&b, 1, VIRTIO_BLK_T_OUT, 800), VIRTIO_BLK_S_OK);
	cr_assert_eq(f.f_vq[0].q_last_used, 0);
	cr_assert_eq(rq_do(&a, 0, VIRTIO_BLK_T_OUT, 400), VIRTIO_BLK_S_OK);
	cr_assert_eq(f.f_vq[1].q_last_used, 1);
	/* Both at once, reaped in the other order. */
	rq_add(&a, 0, VIRTIO_BLK_T_IN, 800);
	rq_add(&r, 1, VIRTIO_BLK_T_IN, 400);
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	cr_assert_eq(vuf_vq_kick(&f, 1, false), 0);
	rq_reap(1, 1);
	rq_reap(0, 1);
	cr_assert_eq(*a.status, VIRTIO_BLK_S_OK);
	cr_assert_eq(*r.status, VIRTIO_BLK_S_OK);
	fill(b.data, 4096, 10);
	cr_assert(memcmp(r.data, b.data, 4096) == 0, "queue 1 read");
	fill(b.data, 4096, 11);
	cr_assert(memcmp(a.data, b.data, 4096) == 0, "queue 0 read");
	/* A broken queue 1 does not leave queue 0 half done. */
	cr_assert_eq(f.f_vq[0].q_last_used, 2);
	cr_assert_eq(f.f_vq[1].q_last_used, 2);
}

BLK_DATA_TEST(in_flight_128)
{
	struct rq	chk;
	uint8_t		want[4096];

	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 256);
	many(128);
	rq_alloc(&chk, 4096, 4096);
	cr_assert_eq(rq_do(&chk, 0, VIRTIO_BLK_T_IN, 77 * 8),
	    VIRTIO_BLK_S_OK);
	fill(want, 4096, 177);
	cr_assert(memcmp(chk.data, want, 4096) == 0);
}

BLK_DATA_TEST(in_flight_more_than_depth)
{
	/* 400 > 256 requests per queue: the rest wait in the ring. */
	img_create("/var/tmp", IMG_SIZE);
	be_start(NULL, 1, 512);
	many(400);
}

BLK_DATA_TEST(in_flight_more_than_depth_direct)
{
	const char *const	kv[] = { "direct", "on", NULL };

	/* The same with O_DIRECT: the rest go when completions come in. */
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 512);
	many(400);
}

BLK_DATA_TEST(ring_stop_publishes_in_flight)
{
	const char *const	kv[] = { "direct", "on", NULL };
	struct rq		q[64];
	uint16_t		base = 0;
	unsigned int		i;

	/*
	 * O_DIRECT writes and flushes: in flight in io_uring, not inline.
	 * 8 KiB each: 64 fit one wake-up's budget, so the kick takes them
	 * all before the message is read.
	 */
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 256);
	for (i = 0; i < 64; i++) {
		rq_alloc(&q[i], i % 8 == 7 ? 0 : 8192, 4096);
		rq_add(&q[i], 0, i % 8 == 7 ? VIRTIO_BLK_T_FLUSH :
		    VIRTIO_BLK_T_OUT, (uint64_t)i * 128);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	/*
	 * GET_VRING_BASE right behind the kick: on the control thread
	 * answered after all 64.  A queue thread may have taken fewer when
	 * the message comes: base says how many, and exactly those are
	 * back (published, none still in flight) when the answer is.
	 */
	cr_assert_eq(vuf_vq_stop(&f, 0, &base), 0, "%s", vuf_error(&f));
	fprintf(stderr, "threads=%s: GET_VRING_BASE answered %u\n",
	    t_threads, base);
	if (strcmp(t_threads, "0") == 0)
		cr_assert_eq(base, 64);
	cr_assert_leq(base, 64);
	cr_assert_eq(vuf_vq_pending(&f, 0), base);
	rq_reap(0, base);
	for (i = 0; i < base; i++)
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK);
	/* A guest reboot: the ring starts again from 0 and works. */
	cr_assert_eq(vuf_vq_alloc(&f, 0, 256), 0);
	cr_assert_eq(vuf_vq_start(&f, 0, 0), 0, "%s", vuf_error(&f));
	many(64);
}

BLK_DATA_TEST(mem_table_change_waits_for_in_flight)
{
	const char *const	kv[] = { "direct", "on", NULL };
	struct rq		q[64];
	unsigned int		i;

	/*
	 * SET_MEM_TABLE unmaps the guest memory the requests in flight
	 * write to: the device must finish and publish them first
	 * (mem_quiesce), so all 64 are used by the time the ack comes.
	 * 8 KiB each: 64 fit one wake-up's budget, so the kick takes them
	 * all before the message is read.
	 */
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 1, 256);
	for (i = 0; i < 64; i++) {
		rq_alloc(&q[i], 8192, 4096);
		fill(q[i].data, 8192, i);
		rq_add(&q[i], 0, VIRTIO_BLK_T_OUT, (uint64_t)i * 128);
	}
	cr_assert_eq(vuf_vq_kick(&f, 0, false), 0);
	cr_assert_eq(vuf_send_mem_table(&f, 1, false), 0, "%s",
	    vuf_error(&f));
	/*
	 * A queue thread may not have taken all 64 when the message comes
	 * (what it took is back by the ack; the rest follows on the new
	 * table).  blk_t*::threads_race_* covers the threads' side.
	 */
	if (strcmp(t_threads, "0") == 0)
		cr_assert_eq(vuf_vq_pending(&f, 0), 64);
	rq_reap(0, 64);
	for (i = 0; i < 64; i++)
		cr_assert_eq(*q[i].status, VIRTIO_BLK_S_OK);
	/* The ring goes on with the new table. */
	many(16);
}

/*
 * Queue threads racing the control thread.  Two threads kept busy by
 * flooding guests (vuf_flood: every chain the device returns is available
 * again at once; O_DIRECT, so requests are in flight in the rings), while
 * the control thread, for RACE_MS, replaces the memory table (the old
 * mapping is unmapped: a thread still popping or completing through it
 * faults), stops ring 0 (GET_VRING_BASE) and starts it again on fresh
 * rings (SET_VRING_ADDR, KICK, CALL), and disables and enables ring 1.
 * Each change must wait until both threads are parked
 * (vu_dev_ops.pause): no crash, nothing for ASan, both rings served all
 * along and still serving at the end.
 */
#define RACE_MS		2000
#define RACE_CHAINS	64

static long
race_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* RACE_CHAINS reads of one 4 KiB block, into one buffer per ring. */
static void
race_add(unsigned int idx, const uint64_t gpa[3])
{
	struct vuf_seg	seg[3];
	unsigned int	i;

	seg[0] = (struct vuf_seg){ gpa[0], 16, false };
	seg[1] = (struct vuf_seg){ gpa[1], 4096, true };
	seg[2] = (struct vuf_seg){ gpa[2], 1, true };
	for (i = 0; i < RACE_CHAINS; i++)
		cr_assert_geq(vuf_vq_add(&f, idx, seg, 3, true, NULL), 0, "%s",
		    vuf_error(&f));
}

/* Ring idx on fresh rings from avail index 0 (a guest reboot). */
static void
race_restart(unsigned int idx)
{
	uint16_t	base;

	cr_assert_eq(vuf_vq_stop(&f, idx, &base), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_vq_alloc(&f, idx, 256), 0, "%s", vuf_error(&f));
	cr_assert_eq(vuf_vq_start(&f, idx, 0), 0, "%s", vuf_error(&f));
}

Test(blk_t2, threads_race_mem_table_vring_base_and_stop)
{
	const char *const	 kv[] = { "queues", "2", "direct", "on", NULL };
	struct vuf_flood	 fl[2];
	struct virtio_blk_outhdr *hdr;
	struct rq		 q;
	uint64_t		 gpa[2][3], served[2] = { 0, 0 };
	unsigned int		 rounds = 0, stops = 0, toggles = 0, i;
	long			 t0;

	t_threads = "2";
	img_create("/var/tmp", IMG_SIZE);
	be_start(kv, 2, 256);
	for (i = 0; i < 2; i++) {
		cr_assert_not_null(hdr = vuf_alloc(&f, 16, 16, &gpa[i][0]));
		memset(hdr, 0, sizeof(*hdr));	/* VIRTIO_BLK_T_IN, sector 0 */
		cr_assert_not_null(vuf_alloc(&f, 4096, 4096, &gpa[i][1]));
		cr_assert_not_null(vuf_alloc(&f, 1, 1, &gpa[i][2]));
	}
	for (i = 0; i < 2; i++) {
		race_add(i, gpa[i]);
		cr_assert_eq(vuf_flood_start(&f, i, &fl[i]), 0, "%s",
		    vuf_error(&f));
	}
	t0 = race_now_ms();
	while (race_now_ms() - t0 < RACE_MS) {
		cr_assert_eq(vuf_send_mem_table(&f, 1 + rounds % 2, false), 0,
		    "round %u: %s", rounds, vuf_error(&f));
		if (rounds % 3 == 0) {
			served[0] += vuf_flood_stop(&fl[0]);
			race_restart(0);
			race_add(0, gpa[0]);
			cr_assert_eq(vuf_flood_start(&f, 0, &fl[0]), 0, "%s",
			    vuf_error(&f));
			stops++;
		} else if (rounds % 3 == 1) {
			cr_assert_eq(vuf_vq_enable(&f, 1, false), 0, "%s",
			    vuf_error(&f));
			cr_assert_eq(vuf_vq_enable(&f, 1, true), 0, "%s",
			    vuf_error(&f));
			toggles++;
		}
		rounds++;
	}
	for (i = 0; i < 2; i++)
		served[i] += vuf_flood_stop(&fl[i]);
	fprintf(stderr, "threads race: %u rounds in %d ms (SET_MEM_TABLE "
	    "each, %u ring 0 restarts, %u ring 1 disable/enable); served "
	    "%llu + %llu chains\n", rounds, RACE_MS, stops, toggles,
	    (unsigned long long)served[0], (unsigned long long)served[1]);
	cr_assert_geq(rounds, 3);
	cr_assert_gt(served[0], 0, "ring 0 was never served");
	cr_assert_gt(served[1], 0, "ring 1 was never served");
	/* Both rings still work, with data checked. */
	for (i = 0; i < 2; i++)
		race_restart(i);
	many(16);
	rq_alloc(&q, 4096, 4096);
	cr_assert_eq(rq_do(&q, 1, VIRTIO_BLK_T_IN, 0), VIRTIO_BLK_S_OK);
}
