/*
 * virtq_test: inflight tracking (INFLIGHT_SHMFD): the region survives the
 * back end; unpop.
 */

#include <errno.h>

#include "virtq_harness.h"

Test(virtq, inflight_tracks_and_resubmits_in_order)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	cr_assert_eq(r->version, 1);
	cr_assert_eq(r->desc_num, 8);
	post_simple(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* 0 */
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* 1 */
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* 2 */
	cr_assert(r->desc[0].inflight && r->desc[1].inflight &&
	    r->desc[2].inflight);
	cr_assert(r->desc[0].counter < r->desc[1].counter &&
	    r->desc[1].counter < r->desc[2].counter);
	/* Out of order: 1 completes, 0 and 2 are still at the back end. */
	virtq_push(&vq, 1, 16);
	virtq_flush(&vq);
	cr_assert_eq(r->desc[1].inflight, 0);
	cr_assert_eq(r->used_idx, 1);

	/*
	 * The back end dies.  QEMU rewinds the base to the used index; the
	 * next back end runs 0 and 2 again, in the order they were taken,
	 * and then only what comes after them.
	 */
	vq_start(8, 1, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 2);
	cr_assert_eq(virtq_pop(&vq, &elem), 0, "head 1 run twice");
	set_desc(gdesc(), 3, BUF_GPA + 48, 16, VIRTQ_DESC_F_WRITE, 0);
	post(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 3);
	cr_assert_gt(r->desc[3].counter, r->desc[2].counter);
	free(r);
}

Test(virtq, inflight_repairs_a_half_published_batch)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	/* Died after publishing used->idx, before clearing the batch. */
	virtq_push(&vq, 0, 16);
	virtq_push(&vq, 2, 16);
	gused()->idx = 2;
	cr_assert(r->desc[0].inflight && r->desc[2].inflight);

	vq_start(8, 2, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 1);
	cr_assert_eq(r->used_idx, 2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1, "only 1 was still in flight");
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	free(r);
}

Test(virtq, inflight_region_of_another_size_refused)
{
	struct virtq_inflight	*r = inflight_region(16);
	uint16_t		 resub[16];

	vq_start(16, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), -EINVAL);
	cr_assert_null(vq.vq_inflight);
	free(r);
}

/*
 * A back end that died with every chain the driver made available in
 * flight (fio at iodepth 16, all 16 taken): the driver waits and does not
 * kick again, so the next back end must see the resubmissions as work
 * when the ring becomes ready (vring.c processes a ready ring only if
 * virtq_has_avail), not only after a kick that never comes.
 */
Test(virtq, resubmissions_count_as_available)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_not(virtq_has_avail(&vq));

	/* Dies; QEMU rewinds the base to the used index (0). */
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 2);
	cr_assert(virtq_has_avail(&vq),
	    "two heads to run again, but the queue looks empty");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_not(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	free(r);
}

/*
 * virtq_unpop: the element goes back, the next pop returns it again
 * (net rx when a frame does not fit).
 */
Test(virtq, unpop_gives_the_element_back)
{
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "nothing popped yet");
	set_desc(gdesc(), 3, BUF_GPA, 100, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 4, BUF_GPA + 0x1000, 200, VIRTQ_DESC_F_WRITE, 0);
	post(3);
	post(4);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 3);
	cr_assert_eq(vq.vq_last_avail, 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(vq.vq_last_avail, 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "only once per pop");
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 3, "the same chain again");
	cr_assert_eq(elem.in_len, 100);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 4);
	virtq_push(&vq, 4, 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "pushed: not ours to unpop");
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "an empty pop gives nothing");
	cr_assert_not(vq.vq_broken);
}

/* Across the 16-bit wrap of the avail index, with EVENT_IDX. */
Test(virtq, unpop_across_wrap_with_event_idx)
{
	gavail()->idx = 65535;
	vq_start(8, 65535, F_EVENT_IDX);
	set_desc(gdesc(), 6, BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 1, BUF_GPA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	post(6);		/* avail ring slot 7, idx -> 0 */
	post(1);		/* slot 0, idx -> 1 */
	cr_assert_eq(gavail()->idx, 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 6);
	cr_assert_eq(vq.vq_last_avail, 0);
	cr_assert_eq(*avail_event_p(), 0);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(vq.vq_last_avail, 65535);
	cr_assert_eq(*avail_event_p(), 65535, "avail_event as before the pop");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 6);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1);
}

/* With inflight tracking the record of the unpopped head is undone. */
Test(virtq, unpop_undoes_inflight_record)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];
	uint64_t		 counter;

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	counter = r->desc[0].counter;
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(r->desc[1].inflight, 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(r->desc[1].inflight, 0, "not taken any more");
	cr_assert_eq(r->desc[0].inflight, 1, "the other one still is");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1);
	cr_assert_eq(r->desc[1].inflight, 1);
	cr_assert_eq(r->desc[1].counter, counter + 1, "counters stay dense");
	free(r);
}

/* A head left in flight by a dead back end goes back to the front. */
Test(virtq, unpop_resubmitted_head)
{
	struct virtq_inflight	*r = inflight_head1_resubmitted();

	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1, "the resubmitted head again, first");
	free(r);
}
