/*
 * blk_glue.c - the virtio-blk queues on their threads (threads=, the
 * threads themselves are blk_thread.c's): which loop watches a queue's
 * completion eventfd, what a queue thread hands to the control thread
 * (a broken device, through bs_event_fd), and the park/unpark that the
 * engine asks for around each of its request handlers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk_io_int.h"

/*
 * The queue threads (threads=), before the queues so that each queue
 * knows its thread.  Without them (pthread_create refused, RLIMIT_NPROC)
 * the queues run on the control thread, as with threads=0.
 */
void
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

/* The completion eventfd in the loop of the queue's thread. */
int
blk_queue_watch(struct blk_queue *bq)
{
	if (bq->bq_thread != NULL)
		return blk_thread_watch_ops.watch_add(bq->bq_thread,
		    bq->bq_efd, blk_queue_complete_cb, bq);
	return vu_dev_watch(bq->bq_dev, bq->bq_efd, blk_queue_complete_cb, bq);
}

void
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
void
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
void
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
