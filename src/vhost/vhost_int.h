/*
 * vhost_int.h - the engine's own view: struct vu_dev and struct vu_vring,
 * and the interface between the request dispatcher (backend.c), the ring
 * life cycle (vring.c) and inflight tracking (inflight.c).  Private to
 * src/vhost and the engine's unit tests: devices use vhost.h.
 */
#ifndef VHOSTD_VHOST_VHOST_INT_H
#define VHOSTD_VHOST_VHOST_INT_H

#include "../mem/gmem.h"
#include "../util/ratelimit.h"
#include "vhost.h"

struct vu_vring {
	struct virtq			vr_vq;
	struct vhost_user_vring_addr	vr_addr;	/* as the front end sent */
	uint16_t			vr_num;		/* SET_VRING_NUM */
	uint16_t			vr_base;	/* SET_VRING_BASE */
	bool				vr_addr_set;
	bool				vr_started;
	bool				vr_enabled;
	bool				vr_resched;	/* defer pending */
	bool				vr_kick_plain;	/* no RWF_NOWAIT */
	bool				vr_call_plain;	/* no RWF_NOWAIT */
	int				vr_kick_fd;
	int				vr_call_fd;
	int				vr_err_fd;
	uint16_t			*vr_resubmit;	/* inflight */
	struct vu_dev			*vr_dev;	/* back pointer for cb */
	/*
	 * Warnings about this ring: the connection's (vd_warnlog), or its
	 * own (vr_warnlog) when a device loop on another thread serves it.
	 */
	struct ratelimit_log		*vr_log;
	struct ratelimit_log		 vr_warnlog;
};

struct vu_dev {
	int			 vd_sock;	/* connection, not owned */
	const struct vu_dev_ops	*vd_ops;
	void			*vd_priv;	/* device state */
	const struct vu_watch_ops *vd_watch;
	void			*vd_watch_ctx;
	uint16_t		 vd_nqueues;	/* GET_QUEUE_NUM answer */
	uint64_t		 vd_features;	/* acked */
	uint64_t		 vd_protocol_features;	/* acked */
	bool			 vd_owner;
	bool			 vd_broken;
	bool			 vd_stalled;	/* a front-end fd blocked; set
						   from queue threads too: only
						   through __atomic builtins */
	uint8_t			 vd_status;	/* SET_STATUS */
	struct gmem		 vd_mem;
	struct vu_vring		 vd_vring[VU_MAX_QUEUES];
	/* Warnings about the front end and its rings (vu_warn, virtq). */
	struct ratelimit_log	 vd_warnlog;
	/* INFLIGHT_SHMFD: the regions, shared with the front end. */
	uint8_t			*vd_inflight;
	size_t			 vd_inflight_size;
	uint16_t		 vd_inflight_nq;
	uint16_t		 vd_inflight_qsize;
	int			 vd_reply_fd;	/* sent with the reply, or -1 */
	struct ctr_region	*vd_ctr;	/* the child's counters, or NULL */
	/* Where queues count without a region: one block each (queues
	 * may run on threads of their own). */
	struct ctr_queue	 vd_ctr_scratch[VU_MAX_QUEUES];
};

/*
 * Bind an engine to a connected socket in caller-provided storage (what
 * vu_dev_new does after allocating).  Does not take ownership of sock.
 * 0 or -errno.
 */
int	vu_dev_init(struct vu_dev *dev, int sock, uint16_t nqueues,
	    const struct vu_dev_ops *ops, void *priv,
	    const struct vu_watch_ops *watch, void *watch_ctx);
/* vu_dev_free() without the free: stop, unwatch, close, unmap. */
void	vu_dev_fini(struct vu_dev *dev);

/*
 * Request handler results besides 0 (done, no reply of its own) and -errno
 * (protocol violation: the connection is dropped).
 */
#define VU_HANDLED_REPLY	1	/* the reply was built in the message */
#define VU_HANDLED_FAIL		2	/* refused: failure ack, connection kept */

/*
 * The request table (request.c): one row per front-end request.  The
 * dispatcher checks a message against its row (vu_request_check) before
 * the row's handler runs, so a handler reads a payload of the right size
 * with the right descriptor count and a ring index below vd_nqueues.
 */
enum vu_size_rule {
	VU_SIZE_EXACT,		/* exactly rq_size bytes */
	VU_SIZE_MEM_TABLE,	/* header + nregions (1..8) regions */
	VU_SIZE_CONFIG,		/* header + size, inside the config space */
	VU_SIZE_INFLIGHT,	/* 20 bytes packed, or 24 (as QEMU pads) */
};

enum vu_fd_rule {
	VU_FDS_NONE,		/* no descriptor */
	VU_FDS_ONE,		/* exactly one */
	VU_FDS_OPTIONAL,	/* none or one */
	VU_FDS_VRING,		/* one, none with VHOST_USER_VRING_NOFD_MASK */
	VU_FDS_REGIONS,		/* one per memory region */
};

enum vu_ring_rule {
	VU_RING_NONE,		/* not a per-ring request */
	VU_RING_STATE,		/* payload.state.index */
	VU_RING_ADDR,		/* payload.addr.index */
	VU_RING_U64,		/* payload.u64 bits 0-7; bits 9-63 reserved */
};

struct vu_request {
	const char	*rq_name;	/* for logs: "SET_MEM_TABLE" */
	uint8_t		 rq_size_rule;	/* enum vu_size_rule */
	uint16_t	 rq_size;	/* VU_SIZE_EXACT */
	uint8_t		 rq_fds;	/* enum vu_fd_rule */
	uint8_t		 rq_ring;	/* enum vu_ring_rule */
	bool		 rq_device;	/* the device's (ops->requests) */
	uint64_t	 rq_needs;	/* protocol features it needs */
	/*
	 * After the checks.  A kept descriptor's slot in fds is set to -1.
	 * 0, VU_HANDLED_REPLY, VU_HANDLED_FAIL or -errno.  NULL: the
	 * request is not supported.
	 */
	int		(*rq_handler)(struct vu_dev *dev,
			    struct vhost_user_msg *msg, int *fds,
			    unsigned int nfds);
};

/* The row of request, or NULL for a number the protocol does not know. */
const struct vu_request *vu_request_lookup(uint32_t request);

/*
 * Check msg (nfds descriptors) against its row: size, reserved bits,
 * descriptor count, ring index, negotiated protocol features.  0, or
 * -EINVAL after a warning.
 */
int	vu_request_check(struct vu_dev *dev, const struct vu_request *rq,
	    const struct vhost_user_msg *msg, unsigned int nfds);

/* The ring index of a checked per-ring request (0 for other requests). */
unsigned int vu_request_ring(const struct vhost_user_msg *msg);

/* Handlers of the table (backend.c, vring.c, inflight.c). */
#define VU_HANDLER(fn)							\
	int	fn(struct vu_dev *dev, struct vhost_user_msg *msg, int *fds, \
		    unsigned int nfds)
VU_HANDLER(vu_req_get_features);
VU_HANDLER(vu_req_set_features);
VU_HANDLER(vu_req_get_protocol_features);
VU_HANDLER(vu_req_set_protocol_features);
VU_HANDLER(vu_req_set_owner);
VU_HANDLER(vu_req_reset);
VU_HANDLER(vu_req_set_mem_table);
VU_HANDLER(vu_req_get_max_mem_slots);
VU_HANDLER(vu_req_add_mem_reg);
VU_HANDLER(vu_req_rem_mem_reg);
VU_HANDLER(vu_req_get_queue_num);
VU_HANDLER(vu_req_get_config);
VU_HANDLER(vu_req_set_config);
VU_HANDLER(vu_req_set_status);
VU_HANDLER(vu_req_get_status);
VU_HANDLER(vu_req_get_inflight_fd);
VU_HANDLER(vu_req_set_inflight_fd);
VU_HANDLER(vu_req_device);
VU_HANDLER(vu_req_set_vring_num);
VU_HANDLER(vu_req_set_vring_addr);
VU_HANDLER(vu_req_set_vring_base);
VU_HANDLER(vu_req_get_vring_base);
VU_HANDLER(vu_req_set_vring_kick);
VU_HANDLER(vu_req_set_vring_call);
VU_HANDLER(vu_req_set_vring_err);
VU_HANDLER(vu_req_set_vring_enable);

/* Rate-limited warning about the front end (a few per connection). */
void	vu_warn(struct vu_dev *dev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Stop ring idx (remove the kick watch, remember the avail index). */
void	vu_vring_stop(struct vu_dev *dev, unsigned int idx);

/* Stop and disable ring idx and forget its set-up (size, base, fds). */
void	vu_vring_reset(struct vu_dev *dev, unsigned int idx);

/*
 * Memory table changed: re-translate the rings of every started queue.  A
 * ring whose memory went away is paused until its memory is back.
 */
void	vu_vring_remap(struct vu_dev *dev);

/*
 * Inflight regions (inflight.c; GET_INFLIGHT_FD leaves the regions' fd in
 * vd_reply_fd for the reply).
 */
/* The region of ring idx, or NULL. */
struct virtq_inflight *vu_inflight_region(struct vu_dev *dev,
	    unsigned int idx);
/* Unmap the regions. */
void	vu_inflight_clear(struct vu_dev *dev);

/*
 * Whether a started ring tracks its requests in the inflight region: then
 * the region must not be replaced (GET_INFLIGHT_FD, SET_INFLIGHT_FD).
 */
bool	vu_vring_uses_inflight(const struct vu_dev *dev);

/* Connection end: stop, close every ring fd. */
void	vu_vring_fini(struct vu_dev *dev, unsigned int idx);

#endif /* VHOSTD_VHOST_VHOST_INT_H */
