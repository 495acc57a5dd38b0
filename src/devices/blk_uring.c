/*
 * blk_uring.c - the io_uring of each virtio-blk queue: created when the
 * child starts, before its seccomp filter is loaded, and restricted at
 * once (blk_queue_uring): the filter then forbids io_uring_setup and
 * io_uring_register, so the rings made here are the only ones the child
 * ever has, and each runs nothing but what blk_op_prep puts in it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

#include "../util/log.h"
#include "../util/util.h"
#include "blk_io_int.h"

void
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

void
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
void
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

struct io_uring *
blk_io_ring(struct blk_state *bs, unsigned int qidx)
{
	struct blk_queue	*bq;

	if (qidx >= VU_MAX_QUEUES || (bq = bs->bs_queues[qidx]) == NULL ||
	    !bq->bq_uring)
		return NULL;
	return &bq->bq_ring;
}

void
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

void
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
