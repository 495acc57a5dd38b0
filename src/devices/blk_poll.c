/*
 * blk_poll.c - the poll window of a virtio-blk queue (poll-us): after a
 * run, spin on the avail ring and the CQ, or sleep in io_uring_enter
 * while operations are in flight, before going back to the loop with
 * notifications enabled.
 *
 * The spinning part adapts, as QEMU's iothreads do (aio_poll's poll_ns):
 * poll-us is its maximum, and the window a queue spins for is
 * bq_pollc.pc_ns, 0 (sleep on the kick at once) to start with.  When a
 * window ends with nothing found, the queue sleeps, and the wake-up that
 * follows says how long polling would have had to last
 * (blk_poll_woken): a request that came after the window but within the
 * maximum grows it (4 us, then doubling, up to the maximum); one that
 * came later halves it (under 4 us: 0; QEMU's poll-shrink=2); one found
 * within the window leaves it.  A queue thread preempted while it spins
 * (a gap of BLK_POLL_STOLEN_NS between two turns of the loop) drops it
 * to 0 and keeps it there for BLK_POLL_HOLD_NS: on a contended CPU a
 * spinning thread uses up its share and, once preempted, waits a whole
 * scheduler slice with the request it was waiting for in the ring (the
 * ~2 ms depth-1 tail of a fixed window), while a thread that sleeps on
 * the kick is woken ahead of the CPU-bound work.
 *
 * All this is for shallow queues.  A queue whose runs pop, or leave in
 * flight, BLK_POLL_DEEP requests or more (in this episode or the last:
 * the front end keeps several in flight) polls for the whole poll-us as
 * before: polling there saves a kick and a wake-up per batch (a smaller
 * window cost IOPS and CPU per request at depth 32 on a loop device).
 * Sleeping in io_uring_enter while operations are in flight costs no
 * CPU and keeps the full poll-us.  blk_poll_next and blk_poll_window are
 * the rules.
 */
#include <time.h>

#include "../util/util.h"
#include "blk_io_int.h"

static uint64_t
blk_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
blk_poll_next(struct blk_poll_ctl *pc, uint64_t max_ns, uint64_t idle_ns,
    bool stolen, unsigned int batch, uint64_t now)
{
	uint64_t	cur = MIN(pc->pc_ns, max_ns);

	if (stolen) {
		if (batch >= BLK_POLL_DEEP)
			return;		/* a deep queue polls on */
		pc->pc_ns = 0;
		pc->pc_hold = now + BLK_POLL_HOLD_NS;
		return;
	}
	if (max_ns == 0)
		pc->pc_ns = 0;
	else if (idle_ns > max_ns)	/* no window would have caught it */
		pc->pc_ns = cur / BLK_POLL_SHRINK >= BLK_POLL_START_NS ?
		    cur / BLK_POLL_SHRINK : 0;
	else if (cur > 0 && idle_ns <= cur)
		pc->pc_ns = cur;	/* this one did */
	else if ((int64_t)(now - pc->pc_hold) < 0)
		pc->pc_ns = cur;	/* preempted lately: not yet */
	else if (cur == 0)
		pc->pc_ns = MIN((uint64_t)BLK_POLL_START_NS, max_ns);
	else
		pc->pc_ns = MIN(cur * BLK_POLL_GROW, max_ns);
}

uint64_t
blk_poll_window(const struct blk_poll_ctl *pc, uint64_t max_ns,
    unsigned int batch)
{
	return batch >= BLK_POLL_DEEP ? max_ns : MIN(pc->pc_ns, max_ns);
}

/* How deep the queue is: this poll episode's batch or the last one's. */
static unsigned int
blk_queue_depth(const struct blk_queue *bq)
{
	return MAX(bq->bq_batch, bq->bq_batch_prev);
}

void
blk_poll_woken(struct blk_queue *bq)
{
	uint64_t	now;

	if (bq->bq_idle_since == 0)
		return;
	now = blk_now_ns();
	blk_poll_next(&bq->bq_pollc, (uint64_t)bq->bq_bs->bs_poll_us * 1000u,
	    now > bq->bq_idle_since ? now - bq->bq_idle_since : 0, false,
	    0, now);
	bq->bq_idle_since = 0;
}

/*
 * In the poll window with operations in the ring and nothing else to do:
 * sleep in io_uring_enter until a completion or the end of the window
 * (ns) instead of spinning, so that the CPU goes to whoever completes
 * them (a loop device's worker, io-wq, the front end) on a machine with
 * few CPUs.  Chains the driver adds meanwhile are seen at the next
 * completion, at most the window later.  Only with IORING_FEAT_EXT_ARG
 * (the timeout as an argument: a timeout SQE is not among the ring's
 * allowed operations).  true when it slept.
 */
static bool
blk_queue_sleep(struct blk_queue *bq, uint64_t ns)
{
	struct __kernel_timespec	 ts;
	struct io_uring_cqe		*cqe;

	if (!bq->bq_uring || bq->bq_inflight == 0 || ns == 0 ||
	    !(bq->bq_ring.features & IORING_FEAT_EXT_ARG)) {
		blk_queue_submit(bq);
		return false;
	}
	ts.tv_sec = (long long)(ns / 1000000000u);
	ts.tv_nsec = (long long)(ns % 1000000000u);
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

/* Longest spin in one wake-up: then the loop gets a turn (ns). */
#define BLK_POLL_SLICE_NS	2000000u

/* The ring can be slept on until a completion (blk_queue_sleep). */
static bool
blk_queue_can_sleep(const struct blk_queue *bq)
{
	return bq->bq_uring && bq->bq_inflight > 0 &&
	    (bq->bq_ring.features & IORING_FEAT_EXT_ARG);
}

/*
 * poll-us: look at the avail ring and the CQ until nothing came for the
 * window (bq_poll_ns, adaptive; poll-us while operations are in flight
 * and the ring can be slept on), at most 16 times poll-us in all (so
 * other queues and the front end's messages still get their turn), then
 * go back to the event loop.  One wake-up polls at most
 * BLK_POLL_SLICE_NS and one budget: then the loop runs (the front end's
 * socket, SIGTERM) and the episode carries on from a deferred run.
 */
void
blk_queue_poll(struct blk_queue *bq)
{
	struct virtq	*vq = vu_queue(bq->bq_dev, bq->bq_idx);
	uint64_t	 max = (uint64_t)bq->bq_bs->bs_poll_us * 1000u;
	uint64_t	 win, lim, begin, last, now, prev, slice;
	bool		 busy, spun = false;

	if (max == 0 || vq == NULL || bq->bq_broken[0] != '\0' ||
	    !vu_queue_ready(bq->bq_dev, bq->bq_idx))
		return;
	win = blk_poll_window(&bq->bq_pollc, max, blk_queue_depth(bq));
	if (win == 0 && !bq->bq_polling && !blk_queue_can_sleep(bq)) {
		/* Sleep on the kick; the wake-up says if a window pays. */
		bq->bq_idle_since = blk_now_ns();
		return;
	}
	virtq_disable_notify(vq);
	slice = prev = blk_now_ns();
	if (bq->bq_polling) {
		/* Where the last slice ended. */
		begin = bq->bq_poll_begin;
		last = bq->bq_poll_last;
	} else
		begin = last = slice;
	bq->bq_polling = false;
	for (;;) {
		if (spun) {
			now = blk_now_ns();
			if (now - prev >= BLK_POLL_STOLEN_NS) {
				/* Preempted while spinning: stop. */
				blk_poll_next(&bq->bq_pollc, max, 0, true,
				    blk_queue_depth(bq), now);
				win = blk_poll_window(&bq->bq_pollc, max,
				    blk_queue_depth(bq));
			}
			spun = false;
		}
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
		now = prev = blk_now_ns();
		if (busy)
			win = blk_poll_window(&bq->bq_pollc, max, blk_queue_depth(bq));
		lim = blk_queue_can_sleep(bq) ? max : win;
		if (busy)
			last = now;
		else if (now - last >= lim)
			break;
		if (now - begin >= 16 * max)
			break;
		/* Also when the control thread waits to park this one. */
		if ((bq->bq_spent || now - slice >= BLK_POLL_SLICE_NS ||
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
		if (!busy && blk_queue_sleep(bq, lim - (now - last)))
			continue;
		__builtin_ia32_pause();
		spun = true;
	}
	blk_queue_submit(bq);
	/*
	 * Nothing came within the window: the next wake-up tells how long
	 * it would have had to be (blk_poll_woken).  Not while operations
	 * are in flight: their completion is no request.
	 */
	bq->bq_idle_since = bq->bq_inflight == 0 ? last : 0;
	bq->bq_batch_prev = bq->bq_batch;	/* for the next episode */
	bq->bq_batch = 0;
	if (virtq_enable_notify(vq)) {
		blk_queue_run(bq);
		if (bq->bq_idle_since != 0)
			bq->bq_idle_since = blk_now_ns();
	}
}
