/*
 * blk_io.c - virtio-blk queues: one io_uring per queue, all created when
 * the child starts, before its seccomp filter is loaded, and restricted
 * at once (see blk_queue_uring): the filter then forbids io_uring_setup
 * and io_uring_register, so the rings made here are the only ones the
 * child ever has, and each runs nothing but what blk_op_prep puts in it.
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
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk.h"

struct blk_queue {
	struct blk_state	*bq_bs;
	struct vu_dev		*bq_dev;
	unsigned int		 bq_idx;
	struct blk_thread	*bq_thread;	/* NULL: the control thread */
	bool			 bq_event;	/* counted in bs_event_users */
	char			 bq_broken[128]; /* for the control thread */
	bool			 bq_uring;	/* ring works; else inline */
	bool			 bq_watched;	/* bq_efd in the loop */
	bool			 bq_starved;	/* chains left: no room */
	bool			 bq_spent;	/* budget spent, rescheduled */
	bool			 bq_polling;	/* poll continues (rescheduled) */
	bool			 bq_hold;	/* the poll loop submits, with
						   its wait (blk_queue_sleep) */
	uint64_t		 bq_poll_begin;	/* this poll episode */
	uint64_t		 bq_poll_last;	/* its last busy moment */
	struct vu_budget	 bq_budget;	/* this wake-up's */
	struct ctr_queue	*bq_ctr;	/* vu_queue_counters */
	/*
	 * Latency (util/counters.h) with two clock reads per batch, not two
	 * per request: every request popped in one run has the run's stamp,
	 * and completions wait in bq_done, counted by start stamp, for the
	 * signal that publishes them, stamped once (blk_queue_lat_flush).
	 */
	uint64_t		 bq_run_start;	/* this run's, 0: not read */
	unsigned int		 bq_ndone;
	struct {
		uint64_t	 d_start;
		uint64_t	 d_n;
	}			 bq_done[BLK_DEPTH];
	int			 bq_efd;	/* completion eventfd */
	unsigned int		 bq_cq_entries;
	unsigned int		 bq_inflight;	/* SQEs not reaped */
	unsigned int		 bq_unsubmitted; /* SQEs not submitted */
	unsigned int		 bq_used;	/* pushed, not signalled */
	struct io_uring		 bq_ring;
	struct virtq_elem	 bq_elem;	/* scratch for virtq_pop */
	struct blk_req		*bq_free;
	unsigned int		 bq_nfree;
	struct blk_req		 bq_reqs[BLK_DEPTH];
};

static void	blk_queue_run(struct blk_queue *bq);

/* bs_no_uring is set from any queue's thread: atomic accesses. */
static bool
blk_no_uring(const struct blk_state *bs)
{
	return __atomic_load_n(&bs->bs_no_uring, __ATOMIC_RELAXED);
}

static void
blk_queue_uring_warn(struct blk_queue *bq, const char *what, int rc)
{
	struct blk_state	*bs = bq->bq_bs;
	const char		*hint = "";

	if (rc == -ENOMEM)
		hint = " (RLIMIT_MEMLOCK too low for the ring?)";
	else if (rc == -EPERM)
		hint = " (sysctl kernel.io_uring_disabled?)";
	else if (rc == -ENOSYS)
		hint = " (kernel without io_uring)";
	if (!bs->bs_uring_warned)
		log_warnx("blk: queue %u: %s: %s%s; serving it synchronously",
		    bq->bq_idx, what, strerror(-rc), hint);
	bs->bs_uring_warned = true;
}

static void
blk_queue_uring_close(struct blk_queue *bq)
{
	if (!bq->bq_uring)
		return;
	io_uring_queue_exit(&bq->bq_ring);
	close_reset(&bq->bq_efd);
	bq->bq_uring = false;
}

/*
 * What a ring of this device may do once enabled (io_uring_register(2),
 * IORING_REGISTER_RESTRICTIONS): readv, writev and fsync, only on
 * registered files (IOSQE_FIXED_FILE required, no other SQE flag
 * allowed), and no io_uring_register operation at all (the kernel answers
 * -EACCES to every one not listed once the ring is restricted, including
 * new files, restrictions and personalities).  The fixed-file table holds
 * the image descriptors only, so a taken-over child can reach nothing
 * else through the ring; fallocate stays out of it (its mode would escape
 * the filter: blk_req.c runs it inline).
 */
static const uint8_t blk_uring_ops[] = {
	IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_FSYNC,
};

/*
 * io_uring_register(2) itself: Debian's liburing 2.3 declares
 * io_uring_register_restrictions and io_uring_enable_rings but does not
 * export them.  0 (or a count) or -errno.
 */
static int
blk_uring_register(struct io_uring *ring, unsigned int op, const void *arg,
    unsigned int nr)
{
	long	rc;

	rc = syscall(__NR_io_uring_register, ring->ring_fd, op, arg, nr);
	return rc < 0 ? -errno : (int)rc;
}

static int
blk_queue_restrict(struct io_uring *ring)
{
	struct io_uring_restriction	res[ARRAY_SIZE(blk_uring_ops) + 2];
	unsigned int			i, n = 0;

	memset(res, 0, sizeof(res));
	for (i = 0; i < ARRAY_SIZE(blk_uring_ops); i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = blk_uring_ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED;
	res[n++].sqe_flags = IOSQE_FIXED_FILE;
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = 0;
	return blk_uring_register(ring, IORING_REGISTER_RESTRICTIONS, res, n);
}

/*
 * Set up the ring of one queue, before the seccomp filter: created
 * disabled (IORING_SETUP_R_DISABLED), then its eventfd, the worker cap
 * and the fixed files (the image descriptors) are registered, then the
 * restrictions, and only then is it enabled.  Any failure leaves the
 * queue without a ring (inline I/O): never a ring without restrictions.
 */
static void
blk_queue_uring(struct blk_queue *bq)
{
	struct blk_state	*bs = bq->bq_bs;
	struct io_uring_params	 p;
	unsigned int		 workers[2] = { BLK_IOWQ_MAX, 0 };
	int			 fds[2], rc;

	memset(&p, 0, sizeof(p));
	/* No IPI for completions (the eventfd wakes us); keep submitting
	 * past a bad SQE (it gets its own CQE). */
	p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
	    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_R_DISABLED;
	rc = io_uring_queue_init_params(BLK_RING_ENTRIES, &bq->bq_ring, &p);
	if (rc == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		rc = io_uring_queue_init_params(BLK_RING_ENTRIES,
		    &bq->bq_ring, &p);
	}
	if (rc < 0) {
		blk_queue_uring_warn(bq, "io_uring_setup", rc);
		return;
	}
	bq->bq_uring = true;
	bq->bq_cq_entries = p.cq_entries;
	if ((bq->bq_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		blk_queue_uring_warn(bq, "eventfd", -errno);
		blk_queue_uring_close(bq);
		return;
	}
	/*
	 * Every CQE signals it (not EVENTFD_ASYNC, which signals only CQEs
	 * posted by io-wq workers: an O_DIRECT completion from an interrupt
	 * or a cancelled request would then never wake the loop).
	 */
	if ((rc = io_uring_register_eventfd(&bq->bq_ring, bq->bq_efd)) < 0) {
		blk_queue_uring_warn(bq, "io_uring_register_eventfd", rc);
		blk_queue_uring_close(bq);
		return;
	}
	/* Bounded regular-file work; unbounded left as it is (0). */
	(void)io_uring_register_iowq_max_workers(&bq->bq_ring, workers);
	fds[0] = bs->bs_fd;
	fds[1] = bs->bs_fd_buffered >= 0 ? bs->bs_fd_buffered : bs->bs_fd;
	if ((rc = io_uring_register_files(&bq->bq_ring, fds, 2)) < 0) {
		blk_queue_uring_warn(bq, "io_uring_register_files", rc);
		blk_queue_uring_close(bq);
		return;
	}
	if ((rc = blk_queue_restrict(&bq->bq_ring)) < 0) {
		blk_queue_uring_warn(bq, "IORING_REGISTER_RESTRICTIONS", rc);
		blk_queue_uring_close(bq);
		return;
	}
	if ((rc = blk_uring_register(&bq->bq_ring,
	    IORING_REGISTER_ENABLE_RINGS, NULL, 0)) < 0) {
		blk_queue_uring_warn(bq, "IORING_REGISTER_ENABLE_RINGS", rc);
		blk_queue_uring_close(bq);
		return;
	}
}

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

/*
 * The queue threads (threads=), before the queues so that each queue
 * knows its thread.  Without them (pthread_create refused, RLIMIT_NPROC)
 * the queues run on the control thread, as with threads=0.
 */
static void
blk_io_threads_init(struct blk_state *bs)
{
	int	rc;

	if (bs->bs_want_threads == 0)
		return;
	if ((bs->bs_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		rc = -errno;
	else
		rc = blk_threads_start(bs, bs->bs_want_threads);
	if (rc < 0) {
		log_warnx("blk: no queue threads (%s): the queues run on the "
		    "control thread", strerror(-rc));
		close_reset(&bs->bs_event_fd);
	}
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

struct io_uring *
blk_io_ring(struct blk_state *bs, unsigned int qidx)
{
	struct blk_queue	*bq;

	if (qidx >= VU_MAX_QUEUES || (bq = bs->bs_queues[qidx]) == NULL ||
	    !bq->bq_uring)
		return NULL;
	return &bq->bq_ring;
}

static void	blk_queue_complete_cb(int fd, void *arg);

/* The completion eventfd in the loop of the queue's thread. */
static int
blk_queue_watch(struct blk_queue *bq)
{
	if (bq->bq_thread != NULL)
		return blk_thread_watch_ops.watch_add(bq->bq_thread,
		    bq->bq_efd, blk_queue_complete_cb, bq);
	return vu_dev_watch(bq->bq_dev, bq->bq_efd, blk_queue_complete_cb, bq);
}

static void
blk_queue_unwatch(struct blk_queue *bq)
{
	if (!bq->bq_watched)
		return;
	if (bq->bq_thread != NULL)
		blk_thread_watch_ops.watch_del(bq->bq_thread, bq->bq_efd);
	else
		vu_dev_unwatch(bq->bq_dev, bq->bq_efd);
	bq->bq_watched = false;
}

/*
 * The device is broken (a malformed chain): vu_dev_set_broken at once on
 * the control thread; from a queue thread, which must not touch the
 * engine's state, through bs_event_fd (blk_io_event_cb), the queue doing
 * nothing meanwhile.
 */
static void
blk_queue_broken(struct blk_queue *bq, const char *msg)
{
	if (bq->bq_thread == NULL) {
		vu_dev_set_broken(bq->bq_dev, msg);
		return;
	}
	if (bq->bq_broken[0] != '\0')
		return;
	snprintf(bq->bq_broken, sizeof(bq->bq_broken), "%s", msg);
	(void)eventfd_write(bq->bq_bs->bs_event_fd, 1);
}

/* The control thread: what the queue threads handed over. */
static void
blk_io_event_cb(int fd, void *arg)
{
	struct blk_state	*bs = arg;
	struct vu_dev		*dev = bs->bs_event_dev;
	struct blk_queue	*bq;
	eventfd_t		 v;
	char			 msg[sizeof(bq->bq_broken)];
	unsigned int		 i;

	(void)eventfd_read(fd, &v);
	if (dev == NULL)
		return;
	/* A stall needs nothing here: the glue ends the session after us. */
	blk_threads_park(bs);
	for (i = 0; i < VU_MAX_QUEUES; i++) {
		if ((bq = bs->bs_queues[i]) == NULL ||
		    bq->bq_broken[0] == '\0')
			continue;
		memcpy(msg, bq->bq_broken, sizeof(msg));
		bq->bq_broken[0] = '\0';
		vu_dev_set_broken(dev, msg);
	}
	blk_threads_unpark(bs, dev);
}

/* A threaded queue became ready (true) or stopped: bs_event_fd's watch. */
static void
blk_queue_event_user(struct blk_queue *bq, struct vu_dev *dev, bool ready)
{
	struct blk_state	*bs = bq->bq_bs;

	if (bq->bq_thread == NULL || bs->bs_event_fd < 0 ||
	    bq->bq_event == ready)
		return;
	if (ready) {
		if (bs->bs_event_users == 0) {
			if (vu_dev_watch(dev, bs->bs_event_fd,
			    blk_io_event_cb, bs) != 0) {
				log_warnx("blk: cannot watch the queue "
				    "threads' events");
				return;
			}
			bs->bs_event_dev = dev;
		}
		bs->bs_event_users++;
	} else if (--bs->bs_event_users == 0) {
		vu_dev_unwatch(bs->bs_event_dev, bs->bs_event_fd);
		bs->bs_event_dev = NULL;
	}
	bq->bq_event = ready;
	bq->bq_broken[0] = '\0';
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

static bool
blk_queue_room(const struct blk_queue *bq)
{
	if (bq->bq_nfree == 0)
		return false;
	return !bq->bq_uring ||
	    bq->bq_inflight + BLK_MAX_OPS <= bq->bq_cq_entries;
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
static unsigned int
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

static void
blk_queue_submit(struct blk_queue *bq)
{
	int	rc, tries = 0;

	while (bq->bq_uring && bq->bq_unsubmitted > 0) {
		rc = io_uring_submit(&bq->bq_ring);
		if (rc > 0) {
			bq->bq_unsubmitted -= MIN((unsigned int)rc,
			    bq->bq_unsubmitted);
			continue;
		}
		if (++tries < 4 && (rc == -EINTR || rc == -EAGAIN ||
		    rc == -EBUSY)) {
			blk_queue_reap(bq);
			continue;
		}
		log_warnx("blk: queue %u: io_uring_submit: %s; %u operations "
		    "wait for the next batch", bq->bq_idx,
		    strerror(rc < 0 ? -rc : EAGAIN), bq->bq_unsubmitted);
		return;
	}
}

static void
blk_op_prep(struct blk_queue *bq, struct io_uring_sqe *sqe,
    struct blk_op *op)
{
	struct blk_req	*r = op->o_req;
	int		 fd = op->o_fidx;	/* registered: 0 or 1 */

	switch (op->o_kind) {
	case BLK_OP_READ:
		io_uring_prep_readv(sqe, fd, r->r_iov, r->r_niov, op->o_off);
		break;
	case BLK_OP_WRITE:
		io_uring_prep_writev(sqe, fd, r->r_iov, r->r_niov, op->o_off);
		sqe->rw_flags = op->o_dsync ? RWF_DSYNC : 0;
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	}
	/* The only flag the restrictions allow, and one they require. */
	sqe->flags = IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, op);
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
 * front end's messages had their turn); submit; signal.
 */
static void
blk_queue_run(struct blk_queue *bq)
{
	struct blk_state	*bs = bq->bq_bs;
	struct virtq		*vq = vu_queue(bq->bq_dev, bq->bq_idx);
	struct blk_req		*r;
	const char		*why = NULL;
	char			 msg[128];
	size_t			 len;
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
	}
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
static void
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

static void
blk_queue_complete_cb(int fd, void *arg)
{
	struct blk_queue	*bq = arg;
	eventfd_t		 v;

	(void)eventfd_read(fd, &v);
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

const struct vu_watch_ops *
blk_io_queue_loop(struct vu_dev *dev, unsigned int qidx, void **ctx)
{
	struct blk_state	*bs = vu_dev_priv(dev);
	struct blk_thread	*bt;

	if (bs == NULL || qidx >= bs->bs_nqueues ||
	    (bt = blk_thread_of(bs, qidx)) == NULL)
		return NULL;
	*ctx = bt;
	return &blk_thread_watch_ops;
}

void
blk_io_pause(struct vu_dev *dev)
{
	struct blk_state	*bs = vu_dev_priv(dev);

	if (bs != NULL && bs->bs_nthreads > 0)
		blk_threads_park(bs);
}

void
blk_io_resume(struct vu_dev *dev)
{
	struct blk_state	*bs = vu_dev_priv(dev);

	if (bs != NULL && bs->bs_nthreads > 0)
		blk_threads_unpark(bs, dev);
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
