/*
 * vring.c - vhost-user ring life cycle (spec "Ring states") and the queue
 * API devices use.
 *
 * A ring is started by SET_VRING_KICK and stopped by GET_VRING_BASE (or a
 * reset, or a broken device).  Without VHOST_USER_F_PROTOCOL_FEATURES
 * negotiated a ring is enabled when it starts; with it only
 * SET_VRING_ENABLE enables it.  Ready = started and enabled; every ready
 * transition is reported through ops->queue_state, and a ring that becomes
 * ready with buffers already available is processed at once.
 *
 * Only a started ring holds host pointers (in vr_vq); set-up values stay in
 * vr_num, vr_base and vr_addr and are translated when the ring starts.  A
 * started ring whose memory was removed has NULL pointers and is not ready
 * until its memory comes back.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vhost_int.h"

/* Started, enabled, and its memory mapped (see vu_vring_remap). */
static bool
vring_ready(const struct vu_vring *vr)
{
	return vr->vr_started && vr->vr_enabled && vr->vr_vq.vq_desc != NULL;
}

static bool
vring_stalled(const struct vu_dev *dev)
{
	return __atomic_load_n(&dev->vd_stalled, __ATOMIC_ACQUIRE);
}

/*
 * The loop that watches ring idx's kick fd and runs its deferred work:
 * the device's own (vu_dev_ops.queue_loop) or the glue's.
 */
static const struct vu_watch_ops *
vring_loop(const struct vu_dev *dev, unsigned int idx, void **ctx)
{
	const struct vu_watch_ops	*ops;

	if (dev->vd_ops->queue_loop != NULL && (ops =
	    dev->vd_ops->queue_loop((struct vu_dev *)dev, idx, ctx)) != NULL)
		return ops;
	*ctx = dev->vd_watch_ctx;
	return dev->vd_watch;
}

/* A warning about ring vr (the log follows the thread that serves it). */
static void __attribute__((format(printf, 2, 3)))
vring_warn(struct vu_vring *vr, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ratelimit_warnx(vr->vr_log != NULL ? vr->vr_log :
	    &vr->vr_dev->vd_warnlog, ratelimit_now(), "%s", buf);
}

/* Report a ready transition (was -> now) and process pending buffers. */
static void
vring_update(struct vu_dev *dev, unsigned int idx, bool was)
{
	struct vu_vring	*vr = &dev->vd_vring[idx];
	bool		 now = vring_ready(vr);

	if (now == was)
		return;
	log_trace("ring %u %s", idx, now ? "ready" : "stopped");
	if (dev->vd_ops->queue_state != NULL)
		dev->vd_ops->queue_state(dev, idx, now);
	if (now && vring_ready(vr) && virtq_has_avail(&vr->vr_vq))
		dev->vd_ops->queue_handler(dev, idx);
}

/*
 * Translate the ring addresses for a ring of num entries.  0, or -EFAULT
 * when a part is not inside one mapped region.
 */
static int
vring_translate(const struct vu_dev *dev, const struct vu_vring *vr,
    uint16_t num, struct virtq_desc **desc, struct virtq_avail **avail,
    struct virtq_used **used)
{
	const struct vhost_user_vring_addr *a = &vr->vr_addr;

	*desc = gmem_uva(&dev->vd_mem, a->desc_user_addr,
	    virtq_desc_size(num));
	*avail = gmem_uva(&dev->vd_mem, a->avail_user_addr,
	    virtq_avail_size(num));
	*used = gmem_uva(&dev->vd_mem, a->used_user_addr,
	    virtq_used_size(num));
	if (*desc == NULL || *avail == NULL || *used == NULL)
		return -EFAULT;
	return 0;
}

/*
 * Forget every pointer the queue holds into front-end mappings (rings,
 * inflight region): a ring that is not started points nowhere, so a later
 * message may unmap what it pointed into.
 */
static void
vring_detach(struct vu_vring *vr)
{
	vr->vr_vq.vq_desc = NULL;
	vr->vr_vq.vq_avail = NULL;
	vr->vr_vq.vq_used = NULL;
	vr->vr_vq.vq_inflight = NULL;
	vr->vr_vq.vq_resubmit = NULL;
	vr->vr_vq.vq_nresubmit = vr->vr_vq.vq_resubmit_next = 0;
	free(vr->vr_resubmit);
	vr->vr_resubmit = NULL;
}

/* Start ring idx from its set-up values.  0 or -errno (logged). */
static int	vring_inflight(struct vu_dev *, struct vu_vring *, unsigned int);

static int
vring_start(struct vu_dev *dev, unsigned int idx)
{
	struct vu_vring		*vr = &dev->vd_vring[idx];
	struct virtq_desc	*desc;
	struct virtq_avail	*avail;
	struct virtq_used	*used;
	bool			 was = vring_ready(vr);
	void			*ctx;
	int			 rc;

	if (vr->vr_num == 0 || !vr->vr_addr_set) {
		vu_warn(dev, "%s: ring %u kicked before its size and addresses "
		    "were set", __func__, idx);
		return -EINVAL;
	}
	if (vring_translate(dev, vr, vr->vr_num, &desc, &avail, &used) != 0) {
		vu_warn(dev, "%s: ring %u addresses are not in guest memory",
		    __func__, idx);
		return -EINVAL;
	}
	rc = virtq_init(&vr->vr_vq, &dev->vd_mem, vr->vr_num, desc, avail,
	    used, vr->vr_base, dev->vd_features);
	if (rc != 0) {
		vu_warn(dev, "%s: ring %u: cannot initialise the queue",
		    __func__, idx);
		return rc;
	}
	/* Rings served on a thread of the device's log on their own. */
	if (dev->vd_ops->queue_loop != NULL &&
	    dev->vd_ops->queue_loop(dev, idx, &ctx) != NULL)
		vr->vr_log = &vr->vr_warnlog;
	else
		vr->vr_log = &dev->vd_warnlog;
	vr->vr_vq.vq_log = vr->vr_log;
	/* Nothing of this ring is in flight in this process yet. */
	vr->vr_vq.vq_ctr = vu_queue_counters(dev, idx);
	vr->vr_vq.vq_ctr->cq_inflight = 0;
	if ((rc = vring_inflight(dev, vr, idx)) != 0) {
		vring_detach(vr);
		return rc;
	}
	vr->vr_started = true;
	if (!vu_has_feature(dev, VHOST_USER_F_PROTOCOL_FEATURES))
		vr->vr_enabled = true;
	vring_update(dev, idx, was);
	return 0;
}

/*
 * With inflight regions (SET_INFLIGHT_FD), track the ring's requests there
 * and take again first what a previous back end left in flight.
 */
static int
vring_inflight(struct vu_dev *dev, struct vu_vring *vr, unsigned int idx)
{
	struct virtq_inflight	*region = vu_inflight_region(dev, idx);
	int			 n;

	free(vr->vr_resubmit);
	vr->vr_resubmit = NULL;
	if (region == NULL)
		return 0;
	if (dev->vd_inflight_qsize != vr->vr_num) {
		vu_warn(dev, "%s: ring %u has %u entries, its inflight region "
		    "%u", __func__, idx, vr->vr_num, dev->vd_inflight_qsize);
		return -EINVAL;
	}
	if ((vr->vr_resubmit = calloc(vr->vr_num, sizeof(uint16_t))) == NULL)
		return -ENOMEM;
	if ((n = virtq_inflight_attach(&vr->vr_vq, region,
	    vr->vr_resubmit)) < 0) {
		vu_warn(dev, "%s: ring %u: the inflight region does not match",
		    __func__, idx);
		return n;
	}
	if (n > 0)
		log_info("ring %u: %d request(s) left in flight by a previous "
		    "back end are run again", idx, n);
	return 0;
}

static void
vring_unwatch_kick(struct vu_dev *dev, struct vu_vring *vr)
{
	const struct vu_watch_ops	*ops;
	void				*ctx;

	if (vr->vr_kick_fd >= 0) {
		ops = vring_loop(dev, (unsigned int)(vr - dev->vd_vring), &ctx);
		ops->watch_del(ctx, vr->vr_kick_fd);
	}
	close_reset(&vr->vr_kick_fd);
}

void
vu_vring_stop(struct vu_dev *dev, unsigned int idx)
{
	struct vu_vring	*vr = &dev->vd_vring[idx];
	bool		 was = vring_ready(vr);

	vring_unwatch_kick(dev, vr);
	if (!vr->vr_started)
		return;
	vr->vr_started = false;
	/* The device drains and publishes through the pointers first, and
	 * may give back chains it held (virtq_rewind): the base after. */
	vring_update(dev, idx, was);
	vr->vr_base = vr->vr_vq.vq_last_avail;
	vring_detach(vr);
}

bool
vu_vring_uses_inflight(const struct vu_dev *dev)
{
	unsigned int	i;

	for (i = 0; i < dev->vd_nqueues; i++)
		if (dev->vd_vring[i].vr_started &&
		    dev->vd_vring[i].vr_vq.vq_inflight != NULL)
			return true;
	return false;
}

void
vu_vring_reset(struct vu_dev *dev, unsigned int idx)
{
	struct vu_vring	*vr = &dev->vd_vring[idx];
	bool		 was;

	vu_vring_stop(dev, idx);
	was = vring_ready(vr);
	vr->vr_enabled = false;
	vring_update(dev, idx, was);
	close_reset(&vr->vr_call_fd);
	close_reset(&vr->vr_err_fd);
	memset(&vr->vr_vq, 0, sizeof(vr->vr_vq));
	memset(&vr->vr_addr, 0, sizeof(vr->vr_addr));
	vr->vr_addr_set = false;
	vr->vr_num = 0;
	vr->vr_base = 0;
}

void
vu_vring_fini(struct vu_dev *dev, unsigned int idx)
{
	struct vu_vring			*vr = &dev->vd_vring[idx];
	const struct vu_watch_ops	*ops;
	void				*ctx;

	vu_vring_stop(dev, idx);
	ops = vring_loop(dev, idx, &ctx);
	if (vr->vr_resched && ops->defer_cancel != NULL)
		ops->defer_cancel(ctx, vr);
	vr->vr_resched = false;
	close_reset(&vr->vr_call_fd);
	close_reset(&vr->vr_err_fd);
	free(vr->vr_resubmit);
	vr->vr_resubmit = NULL;
}

/*
 * vu_vring_remap: after a memory table change.  A started ring whose
 * memory is gone is paused (no host pointers, not ready) rather than
 * failed: QEMU may remove a region and add it again (libvhost-user does
 * the same).  It resumes when a later change maps its memory again.
 */
void
vu_vring_remap(struct vu_dev *dev)
{
	struct vu_vring		*vr;
	struct virtq_desc	*desc;
	struct virtq_avail	*avail;
	struct virtq_used	*used;
	unsigned int		 i;
	bool			 was;

	for (i = 0; i < dev->vd_nqueues; i++) {
		vr = &dev->vd_vring[i];
		if (!vr->vr_started)
			continue;
		was = vring_ready(vr);
		if (vring_translate(dev, vr, vr->vr_vq.vq_num, &desc, &avail,
		    &used) != 0) {
			if (vr->vr_vq.vq_desc != NULL)
				vu_warn(dev, "%s: ring %u: memory unmapped, "
				    "paused until it is mapped again",
				    __func__, i);
			desc = NULL;
			avail = NULL;
			used = NULL;
		}
		vr->vr_vq.vq_desc = desc;
		vr->vr_vq.vq_avail = avail;
		vr->vr_vq.vq_used = used;
		vring_update(dev, i, was);
	}
}

/*
 * Kick, call and err fds are the front end's: it shares their open file
 * description and may clear O_NONBLOCK (or hand over a pipe, or a
 * blocking eventfd at its maximum count) at any time.  So the engine
 * never trusts the flag: reads and writes carry RWF_NOWAIT, which pipes,
 * sockets and eventfd reads honour.  An eventfd write does not
 * (EOPNOTSUPP) and falls back to a plain write, which can block only at
 * the counter's maximum: the glue's watchdog signal interrupts it, and
 * EINTR from a call that was supposed not to wait means the front end
 * stalled us.  A stalled device ends its session (vu_dev_error).
 */
static ssize_t
vring_fd_io(int fd, bool write_op, bool *plain)
{
	uint64_t	v = 1;
	struct iovec	iov = { .iov_base = &v, .iov_len = sizeof(v) };
	ssize_t		n;

	if (!*plain) {
		n = write_op ? pwritev2(fd, &iov, 1, -1, RWF_NOWAIT) :
		    preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
		if (n >= 0 || errno != EOPNOTSUPP)
			return n;
		*plain = true;
	}
	return write_op ? write(fd, &v, sizeof(v)) : read(fd, &v, sizeof(v));
}

static void
vring_fd_stalled(struct vu_dev *dev, unsigned int idx, const char *what)
{
	if (!__atomic_exchange_n(&dev->vd_stalled, true, __ATOMIC_ACQ_REL))
		log_warnx("ring %u: the front end's %s fd blocked the device; "
		    "ending the session", idx, what);
}

int
vu_dev_error(const struct vu_dev *dev)
{
	return __atomic_load_n(&dev->vd_stalled, __ATOMIC_ACQUIRE) ? -ETIMEDOUT : 0;
}

/* Kick fd readable: consume it, run the queue if ready. */
static void
vring_kick_cb(int fd, void *arg)
{
	struct vu_vring	*vr = arg;
	struct vu_dev	*dev = vr->vr_dev;
	unsigned int	 idx = (unsigned int)(vr - dev->vd_vring);
	ssize_t		 n;

	if (vring_stalled(dev))
		return;
	n = vring_fd_io(fd, false, &vr->vr_kick_plain);
	if (n < 0 && errno == EINTR) {
		vring_fd_stalled(dev, idx, "kick");
		return;
	}
	if (n < 0 && errno != EAGAIN)
		vring_warn(vr, "%s: ring %u: read kick: %s", __func__, idx,
		    strerror(errno));
	log_ring("ring %u: kick; next avail %u, used %u", idx,
	    vr->vr_vq.vq_last_avail, vr->vr_vq.vq_used_idx);
	if (vring_ready(vr))
		dev->vd_ops->queue_handler(dev, idx);
}

/* A deferred run (vu_queue_reschedule): carry on where the budget ended. */
static void
vring_resched_cb(void *arg)
{
	struct vu_vring	*vr = arg;
	struct vu_dev	*dev = vr->vr_dev;

	vr->vr_resched = false;
	if (!vring_stalled(dev) && vring_ready(vr))
		dev->vd_ops->queue_handler(dev,
		    (unsigned int)(vr - dev->vd_vring));
}

int
vu_queue_reschedule(struct vu_dev *dev, unsigned int qidx)
{
	const struct vu_watch_ops	*ops;
	struct vu_vring			*vr;
	void				*ctx;
	int				 rc;

	if (qidx >= dev->vd_nqueues)
		return -EINVAL;
	vr = &dev->vd_vring[qidx];
	if (vr->vr_resched)
		return 0;
	ops = vring_loop(dev, qidx, &ctx);
	if (ops->defer == NULL)
		return -ENOTSUP;
	if ((rc = ops->defer(ctx, vring_resched_cb, vr)) != 0)
		return rc;
	vr->vr_resched = true;
	return 0;
}

static int
vring_set_kick(struct vu_dev *dev, unsigned int idx, int *fds,
    unsigned int nfds)
{
	struct vu_vring			*vr = &dev->vd_vring[idx];
	const struct vu_watch_ops	*ops;
	void				*ctx;
	int				 rc;

	vring_unwatch_kick(dev, vr);
	if (nfds == 1) {
		vr->vr_kick_fd = fds[0];
		vr->vr_kick_plain = false;
		fds[0] = -1;
		if ((rc = fd_set_nonblock(vr->vr_kick_fd, 1)) != 0) {
			vu_warn(dev, "%s: ring %u: kick fd is not usable",
			    __func__, idx);
			close_reset(&vr->vr_kick_fd);
			return rc;
		}
	}
	if (!vr->vr_started && (rc = vring_start(dev, idx)) != 0) {
		close_reset(&vr->vr_kick_fd);
		return rc;
	}
	if (vr->vr_kick_fd >= 0) {
		ops = vring_loop(dev, idx, &ctx);
		rc = ops->watch_add(ctx, vr->vr_kick_fd, vring_kick_cb, vr);
		if (rc != 0) {
			log_warnx("%s: ring %u: cannot watch the kick fd",
			    __func__, idx);
			close_reset(&vr->vr_kick_fd);
			return rc;
		}
	} else if (vring_ready(vr)) {
		/* No fd: the front end polls nothing for us; run once. */
		dev->vd_ops->queue_handler(dev, idx);
	}
	return 0;
}

static int
vring_set_addr(struct vu_dev *dev, const struct vhost_user_vring_addr *a)
{
	struct vu_vring		*vr = &dev->vd_vring[a->index];
	struct virtq_desc	*desc;
	struct virtq_avail	*avail;
	struct virtq_used	*used;
	uint16_t		 num;

	if (a->flags & (1u << VHOST_VRING_F_LOG)) {
		vu_warn(dev, "%s: ring %u: dirty logging requested but never "
		    "offered", __func__, a->index);
		return -EINVAL;
	}
	if (vr->vr_started) {
		/*
		 * The rings of a started ring are in use (requests in flight,
		 * the used index shadowed): moving them would leave the device
		 * half on the old rings.  QEMU sends SET_VRING_ADDR to a
		 * running ring only to start dirty logging, never offered.
		 * The same addresses again change nothing.
		 */
		if (vr->vr_addr.desc_user_addr == a->desc_user_addr &&
		    vr->vr_addr.avail_user_addr == a->avail_user_addr &&
		    vr->vr_addr.used_user_addr == a->used_user_addr &&
		    vr->vr_addr.flags == a->flags)
			return 0;
		vu_warn(dev, "%s: ring %u is started: stop it (GET_VRING_BASE) "
		    "before moving it; refused", __func__, a->index);
		return VU_HANDLED_FAIL;
	}
	vr->vr_addr = *a;
	vr->vr_addr_set = true;
	num = vr->vr_num;
	/* Memory not mapped yet (or size unknown): checked at start. */
	if (dev->vd_mem.mm_nregions == 0 || num == 0)
		return 0;
	if (vring_translate(dev, vr, num, &desc, &avail, &used) != 0) {
		vu_warn(dev, "%s: ring %u addresses are not in guest memory",
		    __func__, a->index);
		return -EINVAL;
	}
	return 0;
}

/* Request handlers (request.c checked size, fds and ring index). */
int
vu_req_set_vring_num(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	struct vhost_user_vring_state	*st = &msg->payload.state;
	uint32_t			 max = 0;

	if (st->num == 0 || st->num > VIRTQ_MAX_SIZE ||
	    (st->num & (st->num - 1)) != 0) {
		vu_warn(dev, "%s: ring %u: invalid size %u", __func__,
		    st->index, st->num);
		return -EINVAL;
	}
	if (dev->vd_ops->max_queue_size != NULL)
		max = dev->vd_ops->max_queue_size(dev, st->index);
	if (max != 0 && st->num > max) {
		vu_warn(dev, "%s: ring %u: size %u is above the device's "
		    "maximum %u", __func__, st->index, st->num, max);
		return -EINVAL;
	}
	dev->vd_vring[st->index].vr_num = (uint16_t)st->num;
	return 0;
}

int
vu_req_set_vring_addr(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return vring_set_addr(dev, &msg->payload.addr);
}

int
vu_req_set_vring_base(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	struct vhost_user_vring_state	*st = &msg->payload.state;

	if (st->num > UINT16_MAX) {
		vu_warn(dev, "%s: ring %u: invalid base 0x%x", __func__,
		    st->index, st->num);
		return -EINVAL;
	}
	dev->vd_vring[st->index].vr_base = (uint16_t)st->num;
	return 0;
}

int
vu_req_get_vring_base(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	struct vhost_user_vring_state	*st = &msg->payload.state;
	unsigned int			 idx = st->index;

	vu_vring_stop(dev, idx);
	st->num = dev->vd_vring[idx].vr_base;
	msg->hdr.size = sizeof(*st);
	return VU_HANDLED_REPLY;
}

int
vu_req_set_vring_kick(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return vring_set_kick(dev, vu_request_ring(msg), fds, nfds);
}

/* SET_VRING_CALL, SET_VRING_ERR: keep the fd (or none) in *slot. */
static void
vring_set_fd(int *slot, int *fds, unsigned int nfds)
{
	close_reset(slot);
	if (nfds == 1) {
		*slot = fds[0];
		fds[0] = -1;
	}
}

int
vu_req_set_vring_call(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	struct vu_vring	*vr = &dev->vd_vring[vu_request_ring(msg)];

	vring_set_fd(&vr->vr_call_fd, fds, nfds);
	vr->vr_call_plain = false;
	return 0;
}

int
vu_req_set_vring_err(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	struct vu_vring	*vr = &dev->vd_vring[vu_request_ring(msg)];

	vring_set_fd(&vr->vr_err_fd, fds, nfds);
	return 0;
}

int
vu_req_set_vring_enable(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	struct vhost_user_vring_state	*st = &msg->payload.state;
	struct vu_vring			*vr;
	bool				 was;

	if (st->num > 1) {
		vu_warn(dev, "%s: ring %u: invalid enable value %u", __func__,
		    st->index, st->num);
		return -EINVAL;
	}
	vr = &dev->vd_vring[st->index];
	was = vring_ready(vr);
	vr->vr_enabled = st->num == 1;
	vring_update(dev, st->index, was);
	return 0;
}

struct virtq *
vu_queue(struct vu_dev *dev, unsigned int qidx)
{
	if (qidx >= dev->vd_nqueues)
		return NULL;
	return &dev->vd_vring[qidx].vr_vq;
}

void
vu_dev_set_counters(struct vu_dev *dev, struct ctr_region *region)
{
	unsigned int	i;

	dev->vd_ctr = region;
	if (region != NULL)
		region->rg_nqueues = dev->vd_nqueues;
	/* Rings started before (none, normally) count there from now on. */
	for (i = 0; i < dev->vd_nqueues; i++)
		if (dev->vd_vring[i].vr_vq.vq_ctr != NULL)
			dev->vd_vring[i].vr_vq.vq_ctr = vu_queue_counters(dev, i);
}

struct ctr_queue *
vu_queue_counters(struct vu_dev *dev, unsigned int qidx)
{
	if (dev == NULL || qidx >= dev->vd_nqueues || qidx >= VU_MAX_QUEUES)
		return &ctr_sink;
	if (dev->vd_ctr == NULL)
		return &dev->vd_ctr_scratch[qidx];
	return &dev->vd_ctr->rg_q[qidx];
}

bool
vu_queue_ready(const struct vu_dev *dev, unsigned int qidx)
{
	if (qidx >= dev->vd_nqueues)
		return false;
	return vring_ready(&dev->vd_vring[qidx]);
}

/*
 * vu_queue_notify: publish the used ring and signal the call eventfd when
 * the driver asked for it.  Does nothing for a stopped ring: after
 * GET_VRING_BASE the ring belongs to the front end again.
 */
void
vu_queue_notify(struct vu_dev *dev, unsigned int qidx)
{
	struct vu_vring	*vr;

	if (qidx >= dev->vd_nqueues)
		return;
	vr = &dev->vd_vring[qidx];
	if (!vr->vr_started)
		return;
	vu_queue_publish(dev, qidx);
}

void
vu_queue_publish(struct vu_dev *dev, unsigned int qidx)
{
	struct vu_vring	*vr;

	if (qidx >= dev->vd_nqueues)
		return;
	vr = &dev->vd_vring[qidx];
	if (vr->vr_vq.vq_used == NULL)
		return;
	virtq_flush(&vr->vr_vq);
	if (!virtq_should_notify(&vr->vr_vq) || vr->vr_call_fd < 0 ||
	    vring_stalled(dev))
		return;
	if (vring_fd_io(vr->vr_call_fd, true, &vr->vr_call_plain) >= 0) {
		log_ring("ring %u: used %u published; call signalled", qidx,
		    vr->vr_vq.vq_used_idx);
		return;
	}
	/* EAGAIN: a full pipe or counter, signals are pending already. */
	if (errno == EINTR)
		vring_fd_stalled(dev, qidx, "call");
	else if (errno != EAGAIN)
		vring_warn(vr, "%s: ring %u: signal call fd: %s", __func__,
		    qidx, strerror(errno));
}
