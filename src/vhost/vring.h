/*
 * vring.h - internal interface between the request dispatcher (backend.c)
 * and the ring life cycle (vring.c).  Not for devices: they use vhost.h.
 */
#ifndef VHOSTD_VHOST_VRING_H
#define VHOSTD_VHOST_VRING_H

#include "vhost.h"

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

#endif /* VHOSTD_VHOST_VRING_H */
