/*
 * blk_io_int.h - the queues of the virtio-blk child as the files of its
 * data path share them (private to src/devices):
 *
 *   blk_io.c     a queue's requests: pop, issue, complete, signal; the
 *                ring stopping (drain), the child's set-up and tear-down;
 *   blk_uring.c  each queue's io_uring: set-up before the seccomp filter
 *                and its restrictions, submission, the SQEs;
 *   blk_poll.c   the poll window after a queue ran dry;
 *   blk_glue.c   the queues on their threads: the loops that watch them,
 *                what a queue thread hands to the control thread, park
 *                and unpark around the engine's requests.
 */
#ifndef VHOSTD_DEVICES_BLK_IO_INT_H
#define VHOSTD_DEVICES_BLK_IO_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "blk.h"

/* The adaptive spin window of a queue (blk_poll_next). */
struct blk_poll_ctl {
	uint64_t	pc_ns;		/* the window now, 0: none */
	uint64_t	pc_hold;	/* preempted: no growth before (ns) */
};

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
	uint64_t		 bq_poll_begin;	/* this poll episode (ns) */
	uint64_t		 bq_poll_last;	/* its last busy moment */
	struct blk_poll_ctl	 bq_pollc;	/* spin window (adaptive) */
	uint64_t		 bq_idle_since;	/* a window found nothing: quiet
						   since then (ns); 0: not */
	unsigned int		 bq_batch;	/* most popped by one run, or
						   in flight after it, in this
						   poll episode */
	unsigned int		 bq_batch_prev;	/* the same, the last episode */
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

/* bs_no_uring is set from any queue's thread: atomic accesses. */
static inline bool
blk_no_uring(const struct blk_state *bs)
{
	return __atomic_load_n(&bs->bs_no_uring, __ATOMIC_RELAXED);
}

/* Room for one more request (its ops fit in the CQ). */
static inline bool
blk_queue_room(const struct blk_queue *bq)
{
	if (bq->bq_nfree == 0)
		return false;
	return !bq->bq_uring ||
	    bq->bq_inflight + BLK_MAX_OPS <= bq->bq_cq_entries;
}

/* blk_io.c */

/*
 * Pop, check and issue every chain there is room for, up to the wake-up's
 * budget; submit (unless bq_hold); signal.
 */
void	blk_queue_run(struct blk_queue *bq);
/* Reap every CQE there is.  Returns how many. */
unsigned int	blk_queue_reap(struct blk_queue *bq);
/* The completion eventfd's callback (on the queue's loop). */
void	blk_queue_complete_cb(int fd, void *arg);

/* blk_uring.c */

/*
 * Set up the ring of one queue, before the seccomp filter, restricted
 * before it is enabled; on any failure the queue has no ring (inline
 * I/O), never a ring without restrictions.
 */
void	blk_queue_uring(struct blk_queue *bq);
/* Close the queue's ring and its eventfd (nothing may be in flight). */
void	blk_queue_uring_close(struct blk_queue *bq);
/* Say once per child that the rings do not work and why. */
void	blk_queue_uring_warn(struct blk_queue *bq, const char *what, int rc);
/* Submit every SQE not submitted yet (bq_unsubmitted). */
void	blk_queue_submit(struct blk_queue *bq);
/* Fill sqe for op (registered file, the only flag allowed). */
void	blk_op_prep(struct blk_queue *bq, struct io_uring_sqe *sqe,
	    struct blk_op *op);

/* blk_poll.c */

/*
 * The adaptive spin window (blk_poll_next): the first window, the factors
 * it grows and shrinks by, the gap between two turns of a spinning loop that says the
 * thread was preempted, and how long it then stays at 0 when the queue
 * is shallow.
 */
#define BLK_POLL_START_NS	4000u
#define BLK_POLL_GROW		2u
#define BLK_POLL_SHRINK		2u
#define BLK_POLL_STOLEN_NS	100000u
#define BLK_POLL_HOLD_NS	50000000u
/* A run that pops this many requests: a deep queue (no hold). */
#define BLK_POLL_DEEP		4u

/*
 * The next spin window after a wait for work, in pc: max_ns poll-us's
 * (0: never poll), idle_ns how long the queue waited, from its last work
 * to the wake-up that brought more; stolen: it was preempted while it
 * spun, batch the most requests one of its runs popped lately (or left
 * in flight); now the clock (ns).  The window stays when it caught the
 * work
 * (0 < idle_ns <= pc_ns); grows (from 0 to BLK_POLL_START_NS, else times
 * BLK_POLL_GROW, at most max_ns) when a larger one would have (idle_ns <=
 * max_ns); shrinks (divided by BLK_POLL_SHRINK, 0 below
 * BLK_POLL_START_NS) when none would have (idle_ns > max_ns); is 0 when
 * max_ns is 0; and when stolen, for a shallow queue (batch <
 * BLK_POLL_DEEP: about one request at a time, where a preempted spinner
 * delays the one request there is by a scheduler slice), goes to 0 and
 * may not grow for BLK_POLL_HOLD_NS; a deep queue's is left as it is.
 * Pure: no clock, no system call.
 */
void	blk_poll_next(struct blk_poll_ctl *pc, uint64_t max_ns,
	    uint64_t idle_ns, bool stolen, unsigned int batch, uint64_t now);
/*
 * The window to spin for: pc's for a shallow queue, max_ns (poll-us) for
 * a deep one (batch >= BLK_POLL_DEEP).  Pure.
 */
uint64_t	blk_poll_window(const struct blk_poll_ctl *pc, uint64_t max_ns,
		    unsigned int batch);
/* A wake-up from the loop (kick, completion): adjust the window. */
void	blk_poll_woken(struct blk_queue *bq);

/*
 * After a run: poll the ring and the CQ for the poll window (poll-us),
 * then enable notifications and go back to the loop.
 */
void	blk_queue_poll(struct blk_queue *bq);

/* blk_glue.c */

/* The queue threads (threads=), before the queues. */
void	blk_io_threads_init(struct blk_state *bs);
/* The completion eventfd in, out of the loop of the queue's thread. */
int	blk_queue_watch(struct blk_queue *bq);
void	blk_queue_unwatch(struct blk_queue *bq);
/* The device is broken (msg): at once, or via the control thread. */
void	blk_queue_broken(struct blk_queue *bq, const char *msg);
/* A threaded queue became ready (true) or stopped. */
void	blk_queue_event_user(struct blk_queue *bq, struct vu_dev *dev,
	    bool ready);

#endif /* VHOSTD_DEVICES_BLK_IO_INT_H */
