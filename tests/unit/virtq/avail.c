/* virtq_test: avail_bytes, rewind. */

#include <errno.h>

#include "virtq_harness.h"

static size_t
avail_bytes(size_t limit)
{
	size_t	n = 12345;

	cr_assert_eq(virtq_avail_bytes(&vq, limit, &n), 0);
	return n;
}

/* Writable bytes only, summed over chains, nothing popped. */
Test(virtq, avail_bytes_counts_writable_bytes)
{
	vq_start(8, 0, F_INDIRECT);
	cr_assert_eq(avail_bytes(SIZE_MAX), 0, "empty ring");
	/* 50 readable + 100 writable. */
	set_desc(gdesc(), 0, BUF_GPA, 50, VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA + 0x100, 100, VIRTQ_DESC_F_WRITE, 0);
	/* Readable only. */
	set_desc(gdesc(), 2, BUF_GPA + 0x200, 300, 0, 0);
	/* Indirect: 1000 + 24 writable, split over two descriptors. */
	set_desc(itab(), 0, BUF_GPA + 0x1000, 1000,
	    VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(itab(), 1, BUF_GPA + 0x2000, 24, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 3, ITAB_GPA, 2 * sizeof(struct virtq_desc),
	    VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	post(2);
	post(3);
	cr_assert_eq(avail_bytes(SIZE_MAX), 1124);
	cr_assert_eq(avail_bytes(1124), 1124);
	cr_assert_eq(avail_bytes(100), 100, "at most the limit");
	cr_assert_eq(avail_bytes(0), 0);
	cr_assert_eq(vq.vq_last_avail, 0, "nothing popped");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 0);
	cr_assert_eq(avail_bytes(SIZE_MAX), 1024, "from the next pop on");
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(avail_bytes(SIZE_MAX), 1124);
}

/* The count stops at the limit: chains after it are not looked at. */
Test(virtq, avail_bytes_stops_at_the_limit)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 100, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 1, BUF_GPA + 0x100, 100, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);	/* loops on itself */
	post(0);
	post(1);
	cr_assert_eq(avail_bytes(100), 100);
	cr_assert_not(vq.vq_broken, "the bad chain is past the limit");
	/* Asking for more walks it and breaks the queue, as a pop would. */
	cr_assert_eq(virtq_avail_bytes(&vq, 101, &(size_t){ 0 }), -EIO);
	cr_assert(vq.vq_broken);
	cr_assert_eq(virtq_avail_bytes(&vq, 1, &(size_t){ 0 }), -EIO);
}

/* Across the wrap of the 16-bit avail index. */
Test(virtq, avail_bytes_across_wrap)
{
	uint16_t	i;

	gavail()->idx = 65533;
	vq_start(4, 65533, 0);
	for (i = 0; i < 4; i++) {
		set_desc(gdesc(), i, BUF_GPA + 0x100u * i, 10u + i,
		    VIRTQ_DESC_F_WRITE, 0);
		post(i);
	}
	cr_assert_eq(gavail()->idx, 1);
	cr_assert_eq(avail_bytes(SIZE_MAX), 10 + 11 + 12 + 13);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(vq.vq_last_avail, 0);
	cr_assert_eq(avail_bytes(SIZE_MAX), 13);
	/* A driver claiming more than the ring holds is caught here too. */
	gavail()->idx = 5;
	cr_assert_eq(virtq_avail_bytes(&vq, SIZE_MAX, &(size_t){ 0 }), -EIO);
}

/* A head outside the ring, seen by the count, breaks the queue. */
Test(virtq, avail_bytes_bad_head)
{
	vq_start(8, 0, 0);
	post(8);
	cr_assert_eq(virtq_avail_bytes(&vq, 1, &(size_t){ 0 }), -EIO);
	cr_assert(vq.vq_broken);
}

/* At most VIRTQ_AVAIL_SCAN chains per call. */
Test(virtq, avail_bytes_bounded_scan)
{
	uint32_t	i;

	vq_start(512, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	for (i = 0; i < 512; i++)
		post(0);
	cr_assert_eq(avail_bytes(SIZE_MAX), VIRTQ_AVAIL_SCAN);
}

/*
 * After an unpop the device waits for new buffers: enable_notify_more
 * asks for a kick at the next chain the driver adds, which plain
 * enable_notify (avail_event = last_avail) would not get.
 */
Test(virtq, enable_notify_more_after_unpop)
{
	vq_start(8, 0, F_EVENT_IDX);
	post_simple(2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_not(virtq_enable_notify_more(&vq));
	cr_assert_eq(*avail_event_p(), 2, "kick when idx passes 2");
	vq_start(8, 0, 0);
	virtq_disable_notify(&vq);
	cr_assert(gused()->flags & VIRTQ_USED_F_NO_NOTIFY);
	cr_assert_not(virtq_enable_notify_more(&vq));
	cr_assert_not(gused()->flags & VIRTQ_USED_F_NO_NOTIFY);
}

/*
 * virtq_rewind: the last n chains taken go back in order, after earlier
 * ones were pushed (net rx holding buffers for the next frame); inflight
 * records undone; never past what was taken since a resubmitted head.
 */
Test(virtq, rewind_gives_back_the_last_chains)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, F_EVENT_IDX);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(5);
	cr_assert_eq(virtq_rewind(&vq, 1), -EINVAL, "nothing taken yet");
	cr_assert_eq(virtq_rewind(&vq, 0), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(virtq_pop(&vq, &elem), 1);
		cr_assert_eq(elem.head, i);
	}
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 1, 0);
	cr_assert_eq(virtq_rewind(&vq, 4), -EINVAL, "more than held");
	cr_assert_eq(virtq_rewind(&vq, 3), 0);
	cr_assert_eq(vq.vq_last_avail, 2);
	cr_assert_eq(*avail_event_p(), 2, "a kick for them again");
	cr_assert_eq(r->desc[2].inflight, 0);
	cr_assert_eq(r->desc[4].inflight, 0);
	cr_assert_eq(virtq_rewind(&vq, 1), -EINVAL, "given back already");
	for (int i = 2; i < 5; i++) {
		cr_assert_eq(virtq_pop(&vq, &elem), 1);
		cr_assert_eq(elem.head, i, "the same chains, in order");
		cr_assert_eq(r->desc[i].inflight, 1);
	}
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_not(vq.vq_broken);
	free(r);
}

/* A chain taken again from an inflight region cannot be rewound. */
Test(virtq, rewind_stops_at_a_resubmitted_head)
{
	struct virtq_inflight	*r = inflight_head1_resubmitted();

	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* resubmitted 1 */
	cr_assert_eq(virtq_rewind(&vq, 1), -EINVAL);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* from the ring */
	cr_assert_eq(virtq_rewind(&vq, 2), -EINVAL);
	cr_assert_eq(virtq_rewind(&vq, 1), 0);
	free(r);
}
