/*
 * blk_poll.c - the poll window of a virtio-blk queue (poll-us): after a
 * run, spin on the avail ring and the CQ, or sleep in io_uring_enter
 * while operations are in flight, before going back to the loop with
 * notifications enabled.
 */
#include <time.h>

#include "../util/util.h"
#include "blk_io_int.h"

static uint64_t
blk_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/*
 * In the poll window with operations in the ring and nothing else to do:
 * sleep in io_uring_enter until a completion or the end of the window
 * (us) instead of spinning, so that the CPU goes to whoever completes
 * them (a loop device's worker, io-wq, the front end) on a machine with
 * few CPUs.  Chains the driver adds meanwhile are seen at the next
 * completion, at most the window later.  Only with IORING_FEAT_EXT_ARG
 * (the timeout as an argument: a timeout SQE is not among the ring's
 * allowed operations).  true when it slept.
 */
static bool
blk_queue_sleep(struct blk_queue *bq, uint64_t us)
{
	struct __kernel_timespec	 ts;
	struct io_uring_cqe		*cqe;

	if (!bq->bq_uring || bq->bq_inflight == 0 || us == 0 ||
	    !(bq->bq_ring.features & IORING_FEAT_EXT_ARG)) {
		blk_queue_submit(bq);
		return false;
	}
	ts.tv_sec = (long long)(us / 1000000u);
	ts.tv_nsec = (long long)(us % 1000000u) * 1000;
	if (bq->bq_unsubmitted == 0) {
		(void)io_uring_wait_cqe_timeout(&bq->bq_ring, &cqe, &ts);
		return true;
	}
	/*
	 * What the poll loop held back (a request or a few, found while
	 * polling, nothing else waiting): submitted and waited for in one
	 * io_uring_enter, a system call less per request at low depth.
	 */
	(void)io_uring_submit_and_wait_timeout(&bq->bq_ring, &cqe, 1, &ts,
	    NULL);
	bq->bq_unsubmitted = io_uring_sq_ready(&bq->bq_ring);
	blk_queue_submit(bq);
	return true;
}

/* Longest spin in one wake-up: then the loop gets a turn (us). */
#define BLK_POLL_SLICE_US	2000

/*
 * poll-us: spin on the avail ring and the CQ for up to bs_poll_us of
 * quiet (at most 16 windows in all, so other queues and the front end's
 * messages still get their turn), then go back to the event loop.  One
 * wake-up spins at most BLK_POLL_SLICE_US and one budget: then the loop
 * runs (the front end's socket, SIGTERM) and the episode carries on from
 * a deferred run.
 */
void
blk_queue_poll(struct blk_queue *bq)
{
	struct virtq	*vq = vu_queue(bq->bq_dev, bq->bq_idx);
	uint64_t	 win = bq->bq_bs->bs_poll_us, begin, last, now, slice;
	bool		 busy;

	if (win == 0 || vq == NULL || bq->bq_broken[0] != '\0' ||
	    !vu_queue_ready(bq->bq_dev, bq->bq_idx))
		return;
	virtq_disable_notify(vq);
	slice = blk_now_us();
	if (bq->bq_polling) {
		/* Where the last slice ended. */
		begin = bq->bq_poll_begin;
		last = bq->bq_poll_last;
	} else
		begin = last = slice;
	bq->bq_polling = false;
	for (;;) {
		if (bq->bq_uring && bq->bq_inflight > 0 &&
		    (IO_URING_READ_ONCE(*bq->bq_ring.sq.kflags) &
		    IORING_SQ_TASKRUN))
			io_uring_get_events(&bq->bq_ring);
		busy = blk_queue_reap(bq) > 0;
		if (busy || (blk_queue_room(bq) && virtq_has_avail(vq))) {
			/*
			 * Nothing more waiting: the SQEs go with the next
			 * sleep's wait (blk_queue_sleep); else now.
			 */
			bq->bq_hold = true;
			blk_queue_run(bq);
			bq->bq_hold = false;
			if (bq->bq_unsubmitted > 0 && (bq->bq_spent ||
			    virtq_has_avail(vq)))
				blk_queue_submit(bq);
			busy = true;
		}
		if (!vu_queue_ready(bq->bq_dev, bq->bq_idx) ||
		    bq->bq_broken[0] != '\0') {
			blk_queue_submit(bq);
			return;
		}
		now = blk_now_us();
		if (busy)
			last = now;
		else if (now - last >= win)
			break;
		if (now - begin >= 16 * win)
			break;
		/* Also when the control thread waits to park this one. */
		if ((bq->bq_spent || now - slice >= BLK_POLL_SLICE_US ||
		    (bq->bq_thread != NULL &&
		    blk_thread_parking(bq->bq_thread))) &&
		    vu_queue_reschedule(bq->bq_dev, bq->bq_idx) == 0) {
			/* Notifications stay off: the deferred run polls on. */
			blk_queue_submit(bq);
			bq->bq_polling = true;
			bq->bq_poll_begin = begin;
			bq->bq_poll_last = last;
			return;
		}
		if (!busy && blk_queue_sleep(bq, win - (now - last)))
			continue;
		__builtin_ia32_pause();
	}
	blk_queue_submit(bq);
	if (virtq_enable_notify(vq))
		blk_queue_run(bq);
}
