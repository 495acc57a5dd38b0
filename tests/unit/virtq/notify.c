/* virtq_test: used ring and notifications, copy helpers. */

#include "virtq_harness.h"

Test(virtq, push_and_flush)
{
	gused()->idx = 0xffff;
	vq_start(8, 0, 0);
	virtq_push(&vq, 3, 100);
	virtq_push(&vq, 5, 200);
	cr_assert_eq(gused()->idx, 0xffff, "push must not publish");
	virtq_flush(&vq);
	cr_assert_eq(gused()->idx, 1);
	cr_assert_eq(gused()->ring[7].id, 3);
	cr_assert_eq(gused()->ring[7].len, 100);
	cr_assert_eq(gused()->ring[0].id, 5);
	cr_assert_eq(gused()->ring[0].len, 200);
}

Test(virtq, no_interrupt_flag)
{
	vq_start(8, 0, 0);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));
	gavail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&vq, 1, 0);
	virtq_flush(&vq);
	cr_assert_not(virtq_should_notify(&vq));
	gavail()->flags = 0;
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_notify)
{
	vq_start(8, 0, F_EVENT_IDX);
	*used_event_p() = 5;	/* ignored: nothing signalled yet */
	gavail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;	/* ignored too */
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));
	cr_assert_eq(vq.vq_signalled_used, 1);

	/* Driver wants an interrupt once used idx passes 2 (entry 2). */
	*used_event_p() = 2;
	virtq_push(&vq, 1, 0);
	virtq_flush(&vq);		/* used idx 2: event not crossed */
	cr_assert_not(virtq_should_notify(&vq));
	virtq_push(&vq, 2, 0);
	virtq_push(&vq, 3, 0);
	virtq_flush(&vq);		/* used idx 4: crossed 2 -> 3 */
	cr_assert(virtq_should_notify(&vq));
	cr_assert_eq(vq.vq_signalled_used, 4);
	/* Nothing new since the last signal. */
	cr_assert_not(virtq_should_notify(&vq));
	/* Event already behind: no interrupt (driver polls). */
	virtq_push(&vq, 4, 0);
	virtq_flush(&vq);
	cr_assert_not(virtq_should_notify(&vq));
	/* Event exactly at the old index. */
	*used_event_p() = 5;
	virtq_push(&vq, 5, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_avail_event_published)
{
	unsigned int	i;

	gavail()->idx = 3;
	vq_start(8, 3, F_EVENT_IDX);
	cr_assert_eq(*avail_event_p(), 3, "init publishes last_avail");
	for (i = 0; i < 3; i++) {
		set_desc(gdesc(), (uint16_t)i, BUF_GPA, 16, 0, 0);
		post((uint16_t)i);
	}
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(*avail_event_p(), 4);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(*avail_event_p(), 6);
	*avail_event_p() = 0;
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_eq(*avail_event_p(), 6, "empty pop re-arms the kick");
}

Test(virtq, notify_enable_disable_flags)
{
	vq_start(8, 0, 0);
	virtq_disable_notify(&vq);
	cr_assert_eq(gused()->flags & VIRTQ_USED_F_NO_NOTIFY,
	    VIRTQ_USED_F_NO_NOTIFY);
	cr_assert_not(virtq_enable_notify(&vq));
	cr_assert_eq(gused()->flags & VIRTQ_USED_F_NO_NOTIFY, 0);
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	virtq_disable_notify(&vq);
	post(0);
	cr_assert(virtq_enable_notify(&vq), "must report the new chain");
}

Test(virtq, notify_enable_event_idx)
{
	vq_start(8, 0, F_EVENT_IDX);
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_disable_notify(&vq);
	cr_assert_eq(gused()->flags, 0, "EVENT_IDX does not use flags");
	*avail_event_p() = 0;
	cr_assert(virtq_enable_notify(&vq));
	cr_assert_eq(*avail_event_p(), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_not(virtq_enable_notify(&vq));
	cr_assert_eq(*avail_event_p(), 2);
}

Test(virtq, iov_copy_helpers)
{
	uint8_t		a[3], b[5], out[8];
	struct iovec	iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

	cr_assert_eq(iov_from_buf(iov, 2, 0, "abcdefgh", 8), 8);
	cr_assert_eq(memcmp(a, "abc", 3), 0);
	cr_assert_eq(memcmp(b, "defgh", 5), 0);
	cr_assert_eq(iov_from_buf(iov, 2, 2, "XYZ", 3), 3);
	cr_assert_eq(memcmp(a, "abX", 3), 0);
	cr_assert_eq(memcmp(b, "YZfgh", 5), 0);
	cr_assert_eq(iov_from_buf(iov, 2, 6, "1234", 4), 2);
	cr_assert_eq(iov_from_buf(iov, 2, 9, "1", 1), 0);
	memset(out, 0, sizeof(out));
	cr_assert_eq(iov_to_buf(iov, 2, 1, out, sizeof(out)), 7);
	cr_assert_eq(memcmp(out, "bXYZf12", 7), 0);
	cr_assert_eq(iov_to_buf(iov, 2, 3, out, 2), 2);
	cr_assert_eq(memcmp(out, "YZ", 2), 0);
}

Test(virtq, notify_on_empty)
{
	vq_start(8, 0, 1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
	gavail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert_not(virtq_should_notify(&vq), "suppressed, not empty");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq), "ran out of chains");
}

Test(virtq, notify_on_empty_event_idx)
{
	vq_start(8, 0, F_EVENT_IDX | 1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));	/* first one */
	*used_event_p() = 100;
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq), "ran out of chains");
	cr_assert_eq(vq.vq_signalled_used, 1);
}
