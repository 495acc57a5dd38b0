/*
 * vhost_int.h - the engine's own view: struct vu_dev and struct vu_vring,
 * and the interface between the request dispatcher (backend.c), the ring
 * life cycle (vring.c) and inflight tracking (inflight.c).  Private to
 * src/vhost and the engine's unit tests: devices use vhost.h.
 */
#ifndef VHOSTD_VHOST_VHOST_INT_H
#define VHOSTD_VHOST_VHOST_INT_H

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
	bool			 vd_stalled;	/* a front-end fd blocked */
	uint8_t			 vd_status;	/* SET_STATUS */
	struct gmem		 vd_mem;
	struct vu_vring		 vd_vring[VU_MAX_QUEUES];
	int			 vd_warned;
	/* INFLIGHT_SHMFD: the regions, shared with the front end. */
	uint8_t			*vd_inflight;
	size_t			 vd_inflight_size;
	uint16_t		 vd_inflight_nq;
	uint16_t		 vd_inflight_qsize;
	int			 vd_reply_fd;	/* sent with the reply, or -1 */
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

/* Rate-limited warning about the front end (a few per connection). */
void	vu_warn(struct vu_dev *dev, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Whether req is one of the per-ring requests vu_vring_handle() serves. */
int	vu_vring_is_request(uint32_t req);

/*
 * Handle a validated per-ring request (index < nqueues, payload size and
 * fd count checked).  A kept descriptor's slot in fds is set to -1.
 * 0, VU_HANDLED_REPLY or -errno.
 */
int	vu_vring_handle(struct vu_dev *dev, struct vhost_user_msg *msg,
	    int *fds, unsigned int nfds);

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
 * GET_INFLIGHT_FD / SET_INFLIGHT_FD (inflight.c): payload size and fd count
 * checked.  GET creates the regions and leaves their fd in vd_reply_fd
 * for the reply.  0, VU_HANDLED_REPLY, VU_HANDLED_FAIL or -errno.
 */
int	vu_inflight_get(struct vu_dev *dev, struct vhost_user_msg *msg);
int	vu_inflight_set(struct vu_dev *dev, struct vhost_user_msg *msg,
	    int *fds);
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
