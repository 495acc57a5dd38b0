/*
 * blk_io.c - virtio-blk queues: the requests of each queue, from the pop
 * to the signal.  Each queue has its own io_uring (blk_uring.c), made and
 * restricted before the seccomp filter; its poll window is blk_poll.c's
 * and its place on a queue thread blk_glue.c's (blk_io_int.h).
 *
 * A kick pops every available chain (up to BLK_DEPTH requests in flight),
 * turns each into operations and submits what goes through the ring with
 * one io_uring_submit: readv/writev straight on the guest's buffers and
 * fsync for FLUSH, all on the registered image descriptors.  Completions
 * signal an eventfd (io_uring_register_eventfd) that the event loop
 * watches through vu_dev_watch; one wake-up reaps every CQE and signals
 * the driver once.  Chains left in the ring for lack of room are popped
 * as soon as completions free some.  Queues share nothing but the image
 * descriptors.
 *
 * Inline operations (o_inline, chosen in blk_req.c) run right away in this
 * process: page-cache writes and reads the kernel cannot try without
 * blocking (tmpfs), where a kernel worker would only add a hand-off,
 * BLKDISCARD, which has no io_uring operation, and fallocate (discard and
 * write-zeroes on files), whose mode the seccomp filter checks and a ring
 * would not.  Everything runs inline without a ring (io_uring_setup
 * refused: RLIMIT_MEMLOCK, sysctl kernel.io_uring_disabled, a kernel
 * without ring restrictions) and without kernel workers: RLIMIT_NPROC 0
 * at start, or io-wq cancelling an operation (-ECANCELED) because it
 * could not start a worker, after which the operation is run again inline.
 *
 * A ring that stops (GET_VRING_BASE, reset, disconnect, broken device)
 * first waits for everything in flight and publishes it, so the front end
 * gets the ring back with no request lost and no later write into it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/resource.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk_io_int.h"

static struct blk_queue *
blk_queue_open(struct blk_state *bs, unsigned int qidx, bool ring)
{
	struct blk_queue	*bq;
	unsigned int		 i;

	if ((bq = calloc(1, sizeof(*bq))) == NULL) {
		log_warnx("blk: queue %u: out of memory", qidx);
		return NULL;
	}
	bq->bq_bs = bs;
	bq->bq_idx = qidx;
	bq->bq_thread = blk_thread_of(bs, qidx);
	bq->bq_efd = -1;
	for (i = BLK_DEPTH; i-- > 0;) {
		bq->bq_reqs[i].r_next = bq->bq_free;
		bq->bq_free = &bq->bq_reqs[i];
	}
	bq->bq_nfree = BLK_DEPTH;
	if (ring && !blk_no_uring(bs))
		blk_queue_uring(bq);
	bs->bs_queues[qidx] = bq;
	return bq;
}


int
blk_io_child_init(struct blk_state *bs)
{
	struct rlimit	rl;
	unsigned int	i;

	bs->bs_event_fd = -1;
	blk_io_threads_init(bs);
	if (getrlimit(RLIMIT_NPROC, &rl) == 0 && rl.rlim_cur == 0) {
		bs->bs_no_uring = true;
		log_info("blk: RLIMIT_NPROC is 0, so io_uring could start no "
		    "kernel worker: serving I/O synchronously (slower)");
	}
	/* Every ring now: the filter forbids making one later. */
	for (i = 0; i < bs->bs_nqueues && i < VU_MAX_QUEUES; i++)
		if (bs->bs_queues[i] == NULL && !bs->bs_null &&
		    blk_queue_open(bs, i, true) == NULL)
			return -ENOMEM;
	return 0;
}

/* The queue of ring qidx, opened and watched on first use. */
static struct blk_queue *
blk_queue_get(struct vu_dev *dev, unsigned int qidx)
{
	struct blk_state	*bs = vu_dev_priv(dev);
	struct blk_queue	*bq;
	int			 rc;

	if (bs == NULL || qidx >= bs->bs_nqueues)
		return NULL;
	if ((bq = bs->bs_queues[qidx]) == NULL &&
	    (bq = blk_queue_open(bs, qidx, false)) == NULL)
		return NULL;
	bq->bq_dev = dev;
	bq->bq_ctr = vu_queue_counters(dev, qidx);
	if (bq->bq_uring && !bq->bq_watched) {
		rc = blk_queue_watch(bq);
		if (rc == 0)
			bq->bq_watched = true;
		else if (bq->bq_inflight == 0) {
			blk_queue_uring_warn(bq, "watching the completion "
			    "eventfd", rc);
			blk_queue_uring_close(bq);
		}
	}
	return bq;
}

static void
blk_req_put(struct blk_queue *bq, struct blk_req *r)
{
	r->r_next = bq->bq_free;
	bq->bq_free = r;
	bq->bq_nfree++;
}

/*
 * The latency of every request completed since the last signal: from the
 * run that popped it to now, the signal that publishes it.
 */
static void
blk_queue_lat_flush(struct blk_queue *bq)
{
	uint64_t	now;
	unsigned int	i;

	if (bq->bq_ndone == 0)
		return;
	now = ctr_now_ns();
	for (i = 0; i < bq->bq_ndone; i++)
		ctr_latency(bq->bq_ctr, bq->bq_done[i].d_start, now,
		    bq->bq_done[i].d_n);
	bq->bq_ndone = 0;
}

/*
 * The counters of a finished request: its outcome (an op failed: io; the
 * device refused it: unsupported or invalid; else its data bytes), and
 * its start for the latency, taken when it is published.
 */
static void
blk_req_count(struct blk_queue *bq, const struct blk_req *r)
{
	struct ctr_queue	*cq = bq->bq_ctr;

	if (__builtin_expect(r->r_err == 0 && r->r_status == VIRTIO_BLK_S_OK,
	    1)) {
		if (r->r_write)
			ctr_add(&cq->cq_write_bytes, r->r_data);
		else
			ctr_add(&cq->cq_read_bytes, r->r_data);
	} else
		ctr_error(cq, r->r_err != 0 ? CTR_ERR_IO :
		    r->r_status == VIRTIO_BLK_S_UNSUPP ? CTR_ERR_UNSUPPORTED :
		    CTR_ERR_INVALID);
#if CTR_ENABLED
	/* Popped in the same run as the last one: one more of those. */
	if (__builtin_expect(bq->bq_ndone > 0 &&
	    bq->bq_done[bq->bq_ndone - 1].d_start == r->r_start, 1)) {
		bq->bq_done[bq->bq_ndone - 1].d_n++;
		return;
	}
	if (bq->bq_ndone == BLK_DEPTH)
		blk_queue_lat_flush(bq);
	bq->bq_done[bq->bq_ndone].d_start = r->r_start;
	bq->bq_done[bq->bq_ndone++].d_n = 1;
#endif
}

/* Status byte and used element; the signal comes with the batch. */
static void
blk_req_complete(struct blk_queue *bq, struct blk_req *r)
{
	struct blk_state	*bs = bq->bq_bs;
	struct virtq		*vq = vu_queue(bq->bq_dev, bq->bq_idx);

	if (vq == NULL || !virtq_mapped(vq)) {
		/* Guest memory went away under the request. */
		ratelimit_warnx(blk_warnlog(bs), ratelimit_now(), "blk: queue %u: request "
		    "finished after its ring was unmapped; dropped",
		    bq->bq_idx);
		ctr_add(&bq->bq_ctr->cq_inflight, (uint64_t)-1);
	} else {
		virtq_push(vq, r->r_head, blk_req_status(bs, r));
		bq->bq_used++;
		blk_req_count(bq, r);
	}
	blk_req_put(bq, r);
}

/* One CQE: a result, or a cancelled op to run inline. */
static void
blk_queue_cqe(struct blk_queue *bq, struct blk_op *op, int res)
{
	struct blk_state	*bs = bq->bq_bs;
	struct blk_req		*r = op->o_req;

	bq->bq_inflight--;
	/* The op linked behind one that failed: the request failed. */
	if (res == -ECANCELED && op != r->r_ops && op[-1].o_link &&
	    r->r_err != 0)
		res = 0;
	else if (res == -ECANCELED || res == -EAGAIN) {
		/*
		 * io-wq cancels what it queued when it cannot start a worker
		 * (RLIMIT_NPROC), after ~50 ms of retries.  Not worth paying
		 * again: from now on every queue runs its I/O inline.
		 */
		if (res == -ECANCELED &&
		    !__atomic_exchange_n(&bs->bs_no_uring, true,
		    __ATOMIC_RELAXED)) {
			log_warnx("blk: queue %u: io_uring could not start a "
			    "kernel worker (RLIMIT_NPROC too low in the "
			    "jail?); serving I/O synchronously from now on",
			    bq->bq_idx);
		}
		res = blk_op_sync(r, op);
	}
	if (blk_op_done(bs, op, res))
		blk_req_complete(bq, r);
}

/* Reap every CQE there is.  Returns how many. */
unsigned int
blk_queue_reap(struct blk_queue *bq)
{
	struct io_uring_cqe	*cqe;
	unsigned int		 head, n = 0;

	if (!bq->bq_uring)
		return 0;
	io_uring_for_each_cqe(&bq->bq_ring, head, cqe) {
		blk_queue_cqe(bq, io_uring_cqe_get_data(cqe), cqe->res);
		n++;
	}
	io_uring_cq_advance(&bq->bq_ring, n);
	return n;
}

/* Queue the request's ops as SQEs, or run them inline. */
static void
blk_req_issue(struct blk_queue *bq, struct blk_req *r)
{
	struct io_uring_sqe	*sqe;
	unsigned int		 i;

	r->r_pending = r->r_nops;
	if (bq->bq_bs->bs_null) {
		for (i = 0; i < r->r_nops; i++)
			blk_op_done(bq->bq_bs, &r->r_ops[i],
			    (int)r->r_ops[i].o_len);
		blk_req_complete(bq, r);
		return;
	}
	/* A link must not be cut by a submission in the middle. */
	if (bq->bq_uring && io_uring_sq_space_left(&bq->bq_ring) < r->r_nops)
		blk_queue_submit(bq);
	if (!bq->bq_uring || r->r_ops[0].o_inline || blk_no_uring(bq->bq_bs) ||
	    io_uring_sq_space_left(&bq->bq_ring) < r->r_nops) {
		for (i = 0; i < r->r_nops; i++)
			blk_op_done(bq->bq_bs, &r->r_ops[i],
			    blk_op_sync(r, &r->r_ops[i]));
		blk_req_complete(bq, r);
		return;
	}
	for (i = 0; i < r->r_nops; i++) {
		sqe = io_uring_get_sqe(&bq->bq_ring);
		blk_op_prep(bq, sqe, &r->r_ops[i]);
		bq->bq_unsubmitted++;
		bq->bq_inflight++;
	}
}

/*
 * Requests that complete inline are pushed one by one as the run goes;
 * every BLK_NOTIFY_EVERY of them the driver is told (vu_queue_notify,
 * which EVENT_IDX and NO_INTERRUPT still silence), so that it takes them
 * back and refills the ring while the run does the rest.  Told only at
 * the end of the run, the driver finds the ring empty and the device
 * waits out the driver's turnaround on every batch: at depth 32 on this
 * machine, 30% of the child's time spinning on an empty ring.
 */
#define BLK_NOTIFY_EVERY	8u

static void
blk_queue_notify(struct blk_queue *bq)
{
	blk_queue_lat_flush(bq);
	if (bq->bq_used == 0)
		return;
	bq->bq_used = 0;
	vu_queue_notify(bq->bq_dev, bq->bq_idx);
}

/* A new wake-up (kick, completion, deferred run): a fresh budget. */
static void
blk_queue_wake(struct blk_queue *bq)
{
	vu_budget_init(&bq->bq_budget);
	bq->bq_spent = false;
}

/*
 * Pop, check and issue every chain there is room for, up to the wake-up's
 * budget (vu_budget: the rest runs from vu_queue_reschedule, after the
 * front end's messages had their turn); submit; signal (and every
 * BLK_NOTIFY_EVERY requests completed inline on the way).
 */
void
blk_queue_run(struct blk_queue *bq)
{
	struct blk_state	*bs = bq->bq_bs;
	struct virtq		*vq = vu_queue(bq->bq_dev, bq->bq_idx);
	struct blk_req		*r;
	const char		*why = NULL;
	char			 msg[128];
	size_t			 len;
	unsigned int		 npop = 0;
	int			 rc;

	if (bq->bq_broken[0] != '\0')
		return;		/* the control thread stops the rings */
	bq->bq_run_start = 0;
again:
	bq->bq_starved = false;
	while (vq != NULL && virtq_mapped(vq) && why == NULL &&
	    !bq->bq_spent) {
		if (!blk_queue_room(bq)) {
			bq->bq_starved = virtq_has_avail(vq);
			break;
		}
		if ((rc = virtq_pop(vq, &bq->bq_elem)) == 0)
			break;
		if (rc < 0) {
			why = "malformed descriptor chain";
			break;
		}
		npop++;
		len = (size_t)bq->bq_elem.out_len + bq->bq_elem.in_len;
		if (vu_budget_charge(&bq->bq_budget, len) &&
		    virtq_has_avail(vq) &&
		    vu_queue_reschedule(bq->bq_dev, bq->bq_idx) == 0)
			bq->bq_spent = true;
		r = bq->bq_free;
		bq->bq_free = r->r_next;
		bq->bq_nfree--;
#if CTR_ENABLED
		if (bq->bq_run_start == 0)
			bq->bq_run_start = ctr_now_ns();
		r->r_start = bq->bq_run_start;
#endif
		switch (blk_req_parse(bs, r, &bq->bq_elem, &why)) {
		case BLK_REQ_IO:
			blk_req_issue(bq, r);
			break;
		case BLK_REQ_DONE:
			blk_req_complete(bq, r);
			break;
		case BLK_REQ_BAD:
			virtq_push(vq, r->r_head, 0);
			ctr_error(bq->bq_ctr, CTR_ERR_INVALID);
			bq->bq_used++;
			blk_req_put(bq, r);
			break;
		}
		if (bq->bq_used >= BLK_NOTIFY_EVERY)
			blk_queue_notify(bq);
	}
	/*
	 * How deep the queue is, for the poll window (blk_poll_next): what
	 * this run popped, or what is in the ring (I/O that does not
	 * complete inline).
	 */
	bq->bq_batch = MAX(bq->bq_batch, MAX(npop, bq->bq_inflight));
	if (!bq->bq_hold)
		blk_queue_submit(bq);
	/* What finished inline frees room for the chains left behind. */
	if (blk_queue_reap(bq) > 0 && bq->bq_starved && why == NULL &&
	    blk_queue_room(bq))
		goto again;
	blk_queue_notify(bq);
	if (why != NULL) {
		snprintf(msg, sizeof(msg), "blk: queue %u: %s", bq->bq_idx,
		    why);
		blk_queue_broken(bq, msg);
	}
}

void
blk_queue_complete_cb(int fd, void *arg)
{
	struct blk_queue	*bq = arg;
	eventfd_t		 v;

	(void)eventfd_read(fd, &v);
	blk_poll_woken(bq);
	blk_queue_wake(bq);
	blk_queue_reap(bq);
	if (bq->bq_starved && vu_queue_ready(bq->bq_dev, bq->bq_idx))
		blk_queue_run(bq);
	else
		blk_queue_notify(bq);
	blk_queue_poll(bq);
}

void
blk_io_queue_handler(struct vu_dev *dev, unsigned int qidx)
{
	struct blk_queue	*bq;

	if ((bq = blk_queue_get(dev, qidx)) == NULL)
		return;
	if (bq->bq_thread != NULL && !blk_thread_current(bq->bq_thread)) {
		/*
		 * On the control thread (a ring that became ready with
		 * buffers waiting): the queue's thread runs it once it is
		 * unparked.
		 */
		(void)vu_queue_reschedule(dev, qidx);
		return;
	}
	blk_poll_woken(bq);
	blk_queue_wake(bq);
	blk_queue_run(bq);
	blk_queue_poll(bq);
}

/*
 * Wait for every SQE in flight.  complete: fold them into their requests
 * and publish them; else only forget them (the state is being freed).
 */
static void
blk_queue_wait(struct blk_queue *bq, bool complete)
{
	struct io_uring_cqe	*cqe;
	int			 rc;

	blk_queue_submit(bq);
	while (bq->bq_uring && bq->bq_inflight > 0) {
		rc = io_uring_wait_cqe(&bq->bq_ring, &cqe);
		if (rc == -EINTR)
			continue;
		if (rc < 0) {
			log_warnx("blk: queue %u: waiting for %u operations: "
			    "%s", bq->bq_idx, bq->bq_inflight, strerror(-rc));
			return;
		}
		if (complete) {
			blk_queue_reap(bq);
			continue;
		}
		io_uring_cqe_seen(&bq->bq_ring, cqe);
		bq->bq_inflight--;
	}
}

/*
 * The ring stopped (or its memory is about to change): finish what is in
 * flight and publish it (vu_queue_publish: the ring is no longer started)
 * before the engine answers the front end.
 */
static void
blk_queue_drain(struct blk_queue *bq)
{
	blk_queue_wait(bq, true);
	bq->bq_starved = false;
	bq->bq_polling = false;
	bq->bq_idle_since = 0;
	blk_queue_lat_flush(bq);
	if (bq->bq_used > 0)
		vu_queue_publish(bq->bq_dev, bq->bq_idx);
	bq->bq_used = 0;
}

void
blk_io_queue_state(struct vu_dev *dev, unsigned int qidx, bool ready)
{
	struct blk_state	*bs = vu_dev_priv(dev);
	struct blk_queue	*bq;

	if (ready) {
		if ((bq = blk_queue_get(dev, qidx)) != NULL)
			blk_queue_event_user(bq, dev, true);
		return;
	}
	if (bs == NULL || qidx >= bs->bs_nqueues ||
	    (bq = bs->bs_queues[qidx]) == NULL)
		return;
	bq->bq_dev = dev;
	blk_queue_drain(bq);
	blk_queue_unwatch(bq);
	blk_queue_event_user(bq, dev, false);
}

void
blk_io_mem_quiesce(struct vu_dev *dev)
{
	struct blk_state	*bs = vu_dev_priv(dev);
	unsigned int		 i;

	if (bs == NULL)
		return;
	for (i = 0; i < bs->bs_nqueues && i < VU_MAX_QUEUES; i++)
		if (bs->bs_queues[i] != NULL) {
			bs->bs_queues[i]->bq_dev = dev;
			blk_queue_drain(bs->bs_queues[i]);
		}
}

void
blk_io_free(struct blk_state *bs)
{
	struct blk_queue	*bq;
	unsigned int		 i;

	/* The threads first: the queues are the control thread's then. */
	blk_threads_stop(bs);
	for (i = 0; i < VU_MAX_QUEUES; i++) {
		if ((bq = bs->bs_queues[i]) == NULL)
			continue;
		blk_queue_wait(bq, false);
		if (bq->bq_thread == NULL)
			blk_queue_unwatch(bq);
		bq->bq_thread = NULL;
		blk_queue_uring_close(bq);
		free(bq);
		bs->bs_queues[i] = NULL;
	}
	if (bs->bs_event_users > 0 && bs->bs_event_dev != NULL)
		vu_dev_unwatch(bs->bs_event_dev, bs->bs_event_fd);
	bs->bs_event_users = 0;
	close_reset(&bs->bs_event_fd);
}
