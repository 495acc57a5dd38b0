/*
 * backend.c - vhost-user back-end engine: message validation, dispatch,
 * features, memory table, config space and device status.  The per-ring
 * requests live in vring.c.
 *
 * Every message is checked against its row of the request table
 * (request.c) before its handler runs: payload size, descriptor count,
 * ring index.  A violation is logged (a few times per connection), the
 * descriptors are closed, and -EINVAL tells the caller to drop the
 * connection.  The message owns its descriptors; a handler that keeps one
 * sets its slot to -1, and dispatch closes the rest.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"
#include "vhost_int.h"

/* Warnings about one connection: a burst, then one a second. */
#define VU_WARN_BURST	8
#define VU_WARN_RATE	1

/* Virtio bits the engine cannot honour whatever the device says. */
#define VU_FEATURES_NEVER \
	((1ull << VIRTIO_F_RING_PACKED) | (1ull << VIRTIO_F_ACCESS_PLATFORM))

void
vu_warn(struct vu_dev *dev, const char *fmt, ...)
{
	char	buf[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ratelimit_warnx(&dev->vd_warnlog, ratelimit_now(), "%s", buf);
}

_Static_assert(VHOST_USER_MAX_MEM_SLOTS == GMEM_MAX_REGIONS,
    "GET_MAX_MEM_SLOTS must answer the memory table's size");

/* A region as the wire describes it, for the memory table. */
static struct gmem_desc
be_region(const struct vhost_user_mem_region *w)
{
	struct gmem_desc	d = {
		.gd_gpa = w->guest_phys_addr,
		.gd_size = w->memory_size,
		.gd_uva = w->userspace_addr,
		.gd_offset = w->mmap_offset,
	};

	return d;
}

static uint64_t
be_features(struct vu_dev *dev)
{
	uint64_t	f = 0;

	if (dev->vd_ops->get_features != NULL)
		f = dev->vd_ops->get_features(dev) & ~VU_FEATURES_NEVER;
	return f | (1ull << VIRTIO_F_VERSION_1) |
	    (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
	    (1ull << VIRTIO_RING_F_EVENT_IDX) |
	    (1ull << VIRTIO_RING_F_INDIRECT_DESC);
}

static uint64_t
be_protocol_features(struct vu_dev *dev)
{
	uint64_t	f;

	f = (1ull << VHOST_USER_PROTOCOL_F_MQ) |
	    (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
	    (1ull << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |
	    (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |
	    (1ull << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |
	    (1ull << VHOST_USER_PROTOCOL_F_STATUS);
	if (dev->vd_ops->get_config != NULL)
		f |= 1ull << VHOST_USER_PROTOCOL_F_CONFIG;
	if (dev->vd_ops->get_protocol_features != NULL)
		f |= dev->vd_ops->get_protocol_features(dev) &
		    VU_DEVICE_PROTOCOL_FEATURES;
	return f;
}

int
vu_dev_init(struct vu_dev *dev, int sock, uint16_t nqueues,
    const struct vu_dev_ops *ops, void *priv,
    const struct vu_watch_ops *watch, void *watch_ctx)
{
	struct vu_vring	*vr;
	unsigned int	 i;

	if (sock < 0 || nqueues == 0 || nqueues > VU_MAX_QUEUES ||
	    ops == NULL || ops->queue_handler == NULL || watch == NULL ||
	    watch->watch_add == NULL || watch->watch_del == NULL)
		return -EINVAL;
	memset(dev, 0, sizeof(*dev));
	dev->vd_sock = sock;
	dev->vd_ops = ops;
	dev->vd_priv = priv;
	dev->vd_watch = watch;
	dev->vd_watch_ctx = watch_ctx;
	dev->vd_nqueues = nqueues;
	dev->vd_reply_fd = -1;
	ratelimit_log_init(&dev->vd_warnlog, VU_WARN_BURST, VU_WARN_RATE);
	gmem_init(&dev->vd_mem);
	for (i = 0; i < VU_MAX_QUEUES; i++) {
		vr = &dev->vd_vring[i];
		vr->vr_kick_fd = -1;
		vr->vr_call_fd = -1;
		vr->vr_err_fd = -1;
		vr->vr_dev = dev;
		ratelimit_log_init(&vr->vr_warnlog, VU_WARN_BURST,
		    VU_WARN_RATE);
	}
	return 0;
}

int
vu_dev_new(struct vu_dev **devp, int sock, uint16_t nqueues,
    const struct vu_dev_ops *ops, void *priv,
    const struct vu_watch_ops *watch, void *watch_ctx)
{
	struct vu_dev	*dev;
	int		 rc;

	*devp = NULL;
	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return -ENOMEM;
	if ((rc = vu_dev_init(dev, sock, nqueues, ops, priv, watch,
	    watch_ctx)) != 0) {
		free(dev);
		return rc;
	}
	*devp = dev;
	return 0;
}

void
vu_dev_free(struct vu_dev *dev)
{
	if (dev == NULL)
		return;
	vu_dev_fini(dev);
	free(dev);
}

void
vu_dev_fini(struct vu_dev *dev)
{
	unsigned int	i;

	/* For good: the device's threads never see this engine again. */
	if (dev->vd_ops->pause != NULL)
		dev->vd_ops->pause(dev);
	for (i = 0; i < dev->vd_nqueues; i++)
		vu_vring_fini(dev, i);
	gmem_clear(&dev->vd_mem);
	vu_inflight_clear(dev);
	close_reset(&dev->vd_reply_fd);
}

bool
vu_dev_maps(const struct vu_dev *dev, const void *addr)
{
	uintptr_t	a = (uintptr_t)addr, start;

	if (gmem_maps(&dev->vd_mem, addr))
		return true;
	start = (uintptr_t)dev->vd_inflight;
	return dev->vd_inflight != NULL && a >= start &&
	    a - start < dev->vd_inflight_size;
}

void *
vu_dev_priv(const struct vu_dev *dev)
{
	return dev->vd_priv;
}

uint64_t
vu_dev_features(const struct vu_dev *dev)
{
	return dev->vd_features;
}

bool
vu_has_feature(const struct vu_dev *dev, unsigned int bit)
{
	return bit < 64 && (dev->vd_features & (1ull << bit)) != 0;
}

bool
vu_has_protocol_feature(const struct vu_dev *dev, unsigned int bit)
{
	return bit < 64 && (dev->vd_protocol_features & (1ull << bit)) != 0;
}

int
vu_dev_watch(struct vu_dev *dev, int fd, void (*cb)(int fd, void *arg),
    void *arg)
{
	return dev->vd_watch->watch_add(dev->vd_watch_ctx, fd, cb, arg);
}

void
vu_dev_unwatch(struct vu_dev *dev, int fd)
{
	dev->vd_watch->watch_del(dev->vd_watch_ctx, fd);
}

void
vu_dev_set_broken(struct vu_dev *dev, const char *why)
{
	unsigned int	i;

	if (!dev->vd_broken)
		log_warnx("device needs reset: %s", why);
	dev->vd_broken = true;
	dev->vd_status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	for (i = 0; i < dev->vd_nqueues; i++)
		vu_vring_stop(dev, i);
}

/* RESET_OWNER, RESET_DEVICE: rings back to their initial state. */
static void
be_reset(struct vu_dev *dev)
{
	unsigned int	i;

	for (i = 0; i < dev->vd_nqueues; i++)
		vu_vring_reset(dev, i);
	dev->vd_status = 0;
	dev->vd_broken = false;
	if (dev->vd_ops->reset != NULL)
		dev->vd_ops->reset(dev);
}

static int
be_reply_u64(struct vhost_user_msg *msg, uint64_t v)
{
	msg->payload.u64 = v;
	msg->hdr.size = sizeof(msg->payload.u64);
	return VU_HANDLED_REPLY;
}

static int
be_set_features(struct vu_dev *dev, uint64_t features)
{
	uint64_t	offered = be_features(dev);
	int		rc;

	if (features & ~offered) {
		vu_warn(dev, "SET_FEATURES: bits 0x%llx were never offered "
		    "(offered 0x%llx)",
		    (unsigned long long)(features & ~offered),
		    (unsigned long long)offered);
		return -EINVAL;
	}
	if (dev->vd_ops->set_features != NULL &&
	    (rc = dev->vd_ops->set_features(dev, features)) != 0) {
		vu_warn(dev, "SET_FEATURES: device refused 0x%llx",
		    (unsigned long long)features);
		return rc < 0 ? rc : -EINVAL;
	}
	dev->vd_features = features;
	/* A new negotiation is the driver starting afresh. */
	dev->vd_broken = false;
	dev->vd_status &= (uint8_t)~VIRTIO_CONFIG_S_NEEDS_RESET;
	return 0;
}

/*
 * SET_MEM_TABLE: map the whole new table first; a region that does not
 * map refuses the message and leaves the old table (and the rings in it)
 * as they were.  Then requests in flight are completed, the rings are
 * re-pointed into the new table, and only then is the old one unmapped:
 * no ring ever points into a mapping that is gone.
 */
static int
be_set_mem_table(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds)
{
	const struct vhost_user_memory	*m = &msg->payload.memory;
	struct gmem_desc		 d;
	struct gmem			*nm;
	unsigned int			 i;
	int				 fd, rc;

	if ((nm = malloc(sizeof(*nm))) == NULL)
		return -ENOMEM;
	gmem_init(nm);
	for (i = 0; i < m->nregions; i++) {
		fd = fds[i];
		fds[i] = -1;
		d = be_region(&m->regions[i]);
		if ((rc = gmem_add(nm, &d, fd)) != 0) {
			vu_warn(dev, "SET_MEM_TABLE: region %u rejected", i);
			gmem_clear(nm);
			free(nm);
			return rc;
		}
	}
	if (dev->vd_ops->mem_quiesce != NULL)
		dev->vd_ops->mem_quiesce(dev);
	gmem_swap(&dev->vd_mem, nm);
	vu_vring_remap(dev);
	gmem_clear(nm);
	free(nm);
	return 0;
}

/* REM_MEM_REG: out of the table, rings re-pointed (paused), then unmapped. */
static int
be_rem_mem_reg(struct vu_dev *dev, const struct vhost_user_mem_region *reg)
{
	struct gmem_region	mr, *dup;
	struct gmem_desc	d = be_region(reg);

	/* A region added more than once goes with its last removal. */
	if ((dup = gmem_find(&dev->vd_mem, &d, false)) != NULL &&
	    dup->mr_dups > 0) {
		dup->mr_dups--;
		return 0;
	}
	if (dev->vd_ops->mem_quiesce != NULL)
		dev->vd_ops->mem_quiesce(dev);
	if (gmem_take(&dev->vd_mem, &d, &mr) != 0) {
		vu_warn(dev, "REM_MEM_REG: no region at gpa 0x%llx size 0x%llx",
		    (unsigned long long)reg->guest_phys_addr,
		    (unsigned long long)reg->memory_size);
		return VU_HANDLED_FAIL;
	}
	vu_vring_remap(dev);
	gmem_region_unmap(&mr);
	return 0;
}

static int
be_config(struct vu_dev *dev, struct vhost_user_msg *msg)
{
	struct vhost_user_config	*c = &msg->payload.config;
	const struct vu_dev_ops		*ops = dev->vd_ops;
	int				 rc;

	if (ops->get_config == NULL) {
		vu_warn(dev, "%s: config space was never offered",
		    vu_request_name(msg->hdr.request));
		return -EINVAL;
	}
	if (msg->hdr.request == VHOST_USER_GET_CONFIG) {
		memset(c->region, 0, c->size);
		rc = ops->get_config(dev, c->region, c->offset, c->size);
		/* A zero-sized reply tells the front end it failed. */
		msg->hdr.size = rc == 0 ? VHOST_USER_CONFIG_HDR_SIZE + c->size :
		    0;
		return VU_HANDLED_REPLY;
	}
	if (ops->set_config == NULL) {
		vu_warn(dev, "SET_CONFIG: config space is read-only");
		return VU_HANDLED_FAIL;
	}
	rc = ops->set_config(dev, c->region, c->offset, c->size, c->flags);
	return rc == 0 ? 0 : VU_HANDLED_FAIL;
}

static int
be_set_status(struct vu_dev *dev, uint64_t status)
{
	unsigned int	i;

	if (status > UINT8_MAX) {
		vu_warn(dev, "SET_STATUS: invalid status 0x%llx",
		    (unsigned long long)status);
		return -EINVAL;
	}
	log_trace("SET_STATUS 0x%02x (was 0x%02x)", (unsigned int)status,
	    dev->vd_status);
	if (status == 0) {
		/*
		 * Device reset.  QEMU sends it before GET_VRING_BASE, so the
		 * rings are stopped but keep the index GET_VRING_BASE answers.
		 */
		for (i = 0; i < dev->vd_nqueues; i++)
			vu_vring_stop(dev, i);
		dev->vd_broken = false;
		dev->vd_status = 0;
		if (dev->vd_ops->reset != NULL)
			dev->vd_ops->reset(dev);
		return 0;
	}
	dev->vd_status = (uint8_t)status;
	if (dev->vd_broken)
		dev->vd_status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	return 0;
}

/* Request handlers (request.c checked size, fds and ring index). */
int
vu_req_get_features(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return be_reply_u64(msg, be_features(dev));
}

int
vu_req_set_features(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return be_set_features(dev, msg->payload.u64);
}

int
vu_req_get_protocol_features(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return be_reply_u64(msg, be_protocol_features(dev));
}

int
vu_req_set_protocol_features(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	uint64_t	f = msg->payload.u64 & ~be_protocol_features(dev);

	if (f != 0) {
		vu_warn(dev, "SET_PROTOCOL_FEATURES: bits 0x%llx were never "
		    "offered", (unsigned long long)f);
		return -EINVAL;
	}
	dev->vd_protocol_features = msg->payload.u64;
	return 0;
}

int
vu_req_set_owner(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	dev->vd_owner = true;
	return 0;
}

/* RESET_OWNER, RESET_DEVICE. */
int
vu_req_reset(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	be_reset(dev);
	return 0;
}

int
vu_req_set_mem_table(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return be_set_mem_table(dev, msg, fds);
}

int
vu_req_get_max_mem_slots(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return be_reply_u64(msg, VHOST_USER_MAX_MEM_SLOTS);
}

int
vu_req_add_mem_reg(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	struct gmem_desc	 d = be_region(&msg->payload.mem_reg.region);
	struct gmem_region	*dup;
	int			 rc;

	/*
	 * The same region again: QEMU before 8.1 sends ADD_MEM_REG (and
	 * REM_MEM_REG) once per vhost device, so once per queue pair of a
	 * multiqueue NIC on one connection.  Counted, not mapped twice; a
	 * region that merely overlaps is still refused.
	 */
	if ((dup = gmem_find(&dev->vd_mem, &d, true)) != NULL &&
	    dup->mr_dups < UINT32_MAX) {
		dup->mr_dups++;
		close_reset(&fds[0]);
		return 0;
	}
	rc = gmem_add(&dev->vd_mem, &d, fds[0]);
	fds[0] = -1;
	if (rc != 0) {
		vu_warn(dev, "ADD_MEM_REG: region rejected");
		return rc;
	}
	vu_vring_remap(dev);
	return 0;
}

int
vu_req_rem_mem_reg(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	return be_rem_mem_reg(dev, &msg->payload.mem_reg.region);
}

int
vu_req_get_queue_num(struct vu_dev *dev, struct vhost_user_msg *msg,
    int *fds, unsigned int nfds)
{
	return be_reply_u64(msg, dev->vd_nqueues);
}

int
vu_req_get_config(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	return be_config(dev, msg);
}

int
vu_req_set_config(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	return be_config(dev, msg);
}

int
vu_req_set_status(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	return be_set_status(dev, msg->payload.u64);
}

/*
 * A device-specific request (SEND_RARP, NET_SET_MTU): checked against its
 * row, declared by the device (be_supported).  No reply of its own; a
 * refusal is a failure status with REPLY_ACK, and the connection stays.
 */
int
vu_req_device(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	int	rc;

	rc = dev->vd_ops->request(dev, msg->hdr.request, &msg->payload,
	    msg->hdr.size);
	if (rc == 0)
		return 0;
	vu_warn(dev, "%s: refused by the device: %s",
	    vu_request_name(msg->hdr.request), strerror(rc < 0 ? -rc :
	    EINVAL));
	return VU_HANDLED_FAIL;
}

int
vu_req_get_status(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds,
    unsigned int nfds)
{
	return be_reply_u64(msg, dev->vd_status);
}

/*
 * Whether the engine serves rq: a row with a handler, and for a
 * device-specific request, a device that declared it.
 */
static bool
be_supported(const struct vu_dev *dev, const struct vu_request *rq,
    uint32_t request)
{
	if (rq == NULL || rq->rq_handler == NULL)
		return false;
	return !rq->rq_device || (dev->vd_ops->request != NULL &&
	    request < 64 &&
	    (dev->vd_ops->requests & VU_REQUEST_BIT(request)) != 0);
}

static int
be_send_reply(struct vu_dev *dev, struct vhost_user_msg *msg)
{
	int	rc;

	msg->hdr.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_MASK;
	rc = vu_msg_send(dev->vd_sock, msg, dev->vd_reply_fd >= 0 ?
	    &dev->vd_reply_fd : NULL, dev->vd_reply_fd >= 0 ? 1 : 0);
	close_reset(&dev->vd_reply_fd);
	if (rc != 0)
		log_warnx("%s: %s: cannot send the reply: %s", __func__,
		    vu_request_name(msg->hdr.request), strerror(-rc));
	return rc;
}

/*
 * vu_dev_dispatch: one request.  Mandatory replies are always sent; with
 * REPLY_ACK negotiated a need_reply request without a reply of its own gets
 * a u64 status (0 success).  An unsupported request asked to reply is
 * refused with a failure status; otherwise it ends the connection.
 */
int
vu_dev_dispatch(struct vu_dev *dev)
{
	const struct vu_request	*rq;
	struct vhost_user_msg	msg;
	int			fds[VHOST_USER_MAX_FDS];
	unsigned int		nfds, i;
	bool			need_reply, ack;
	int			rc, src;

	rc = vu_msg_recv(dev->vd_sock, &msg, fds, &nfds);
	if (rc == -EAGAIN)
		return 0;
	if (rc != 0) {
		if (rc != -ECONNRESET)
			vu_warn(dev, "%s: bad message: %s", __func__,
			    strerror(-rc));
		return rc;
	}
	log_trace("message %s (%u) flags 0x%x size %u fds %u",
	    vu_request_name(msg.hdr.request), msg.hdr.request,
	    msg.hdr.flags, msg.hdr.size, nfds);
	need_reply = (msg.hdr.flags & VHOST_USER_NEED_REPLY_MASK) != 0;

	rq = vu_request_lookup(msg.hdr.request);
	if (msg.hdr.flags & VHOST_USER_REPLY_MASK) {
		vu_warn(dev, "%s: %s has the reply flag set", __func__,
		    vu_request_name(msg.hdr.request));
		rc = -EINVAL;
	} else if (!be_supported(dev, rq, msg.hdr.request)) {
		vu_warn(dev, "%s (%u): request not supported",
		    vu_request_name(msg.hdr.request),
		    msg.hdr.request);
		rc = -EOPNOTSUPP;
	} else if ((rc = vu_request_check(dev, rq, &msg, nfds)) == 0) {
		/* Queue threads are parked while anything changes. */
		if (dev->vd_ops->pause != NULL)
			dev->vd_ops->pause(dev);
		rc = rq->rq_handler(dev, &msg, fds, nfds);
		if (dev->vd_ops->resume != NULL)
			dev->vd_ops->resume(dev);
	}
	for (i = 0; i < nfds; i++)
		close_reset(&fds[i]);

	if (rc == VU_HANDLED_REPLY)
		return vu_dev_error(dev) != 0 ? -ETIMEDOUT :
		    be_send_reply(dev, &msg);
	/* Computed after the request: SET_PROTOCOL_FEATURES may enable it. */
	ack = need_reply &&
	    vu_has_protocol_feature(dev, VHOST_USER_PROTOCOL_F_REPLY_ACK);
	if (rc == -EOPNOTSUPP && ack)
		rc = VU_HANDLED_FAIL;
	if (ack) {
		be_reply_u64(&msg, rc == 0 ? 0 : 1);
		if ((src = be_send_reply(dev, &msg)) != 0 && rc >= 0)
			return src;
	}
	if (rc >= 0 && vu_dev_error(dev) != 0)
		return -ETIMEDOUT;
	return rc < 0 ? rc : 0;
}
