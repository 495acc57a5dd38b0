/*
 * virtq.h - split virtqueue, device side (virtio 1.x, 2.7).
 *
 * Every descriptor is copied out of guest memory once and the copy is
 * checked: head < size, next < table size, chains no longer than the table
 * (loop), addr + len without wrap and inside mapped memory, no readable
 * descriptor after a writable one, no indirect inside indirect, no zero
 * length indirect table.  A malformed chain marks the queue broken (logged
 * once); a broken queue returns -EIO from every later pop.
 */
#ifndef VHOSTD_VIRTIO_VIRTQ_H
#define VHOSTD_VIRTIO_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "../mem/gmem.h"
#include "../util/counters.h"
#include "../util/ratelimit.h"
#include "iov.h"
#include "virtio.h"

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT	1
#define VIRTQ_USED_F_NO_NOTIFY		1

/*
 * Most chains virtq_avail_bytes() looks at per call: a wake-up's worth of
 * requests (the engine's budget), so that a guest posting many chains
 * without writable bytes cannot make each call walk the whole ring.
 */
#define VIRTQ_AVAIL_SCAN	256u

/* Most segments (iovecs) one element may have, after region splits. */
#define VIRTQ_MAX_SEGS	1024

struct virtq_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
} __attribute__((packed));

struct virtq_avail {
	uint16_t	flags;
	uint16_t	idx;
	uint16_t	ring[];		/* then uint16_t used_event */
} __attribute__((packed));

struct virtq_used_elem {
	uint32_t	id;
	uint32_t	len;
} __attribute__((packed));

struct virtq_used {
	uint16_t		flags;
	uint16_t		idx;
	struct virtq_used_elem	ring[];	/* then uint16_t avail_event */
} __attribute__((packed));

/*
 * One request: out[] are the driver-written (device-readable) segments,
 * in[] the device-writable ones; both point into iov[].
 */
struct virtq_elem {
	uint16_t	 head;		/* id to return in the used ring */
	unsigned int	 out_num;
	unsigned int	 in_num;
	size_t		 out_len;	/* total readable bytes */
	size_t		 in_len;	/* total writable bytes */
	struct iovec	*out;		/* == iov */
	struct iovec	*in;		/* == iov + out_num */
	struct iovec	 iov[VIRTQ_MAX_SEGS];
};

/*
 * Inflight tracking (vhost-user INFLIGHT_SHMFD, split rings): one region
 * per queue in memory the front end keeps across back-end restarts, so
 * that a new back end finds the requests the old one had taken but not
 * completed.  Layout fixed by the vhost-user specification.
 */
struct virtq_inflight_desc {
	uint8_t		inflight;	/* head taken, not yet used */
	uint8_t		padding[5];
	uint16_t	next;		/* last batch of used heads */
	uint64_t	counter;	/* order in which heads were taken */
};

struct virtq_inflight {
	uint64_t			features;
	uint16_t			version;	/* 1; 0: never used */
	uint16_t			desc_num;
	uint16_t			last_batch_head;
	uint16_t			used_idx;
	struct virtq_inflight_desc	desc[];
};

/* Bytes of one queue's inflight region for a ring of num entries. */
#define VIRTQ_INFLIGHT_SIZE(num)					\
	((sizeof(struct virtq_inflight) +				\
	    (size_t)(num) * sizeof(struct virtq_inflight_desc) + 63) &	\
	    ~(size_t)63)

/* The fields are the virtqueue's own: users call the functions below. */
struct virtq {
	const struct gmem	*vq_mem;
	struct virtq_desc	*vq_desc;
	struct virtq_avail	*vq_avail;
	struct virtq_used	*vq_used;
	uint16_t		 vq_num;	/* ring size, power of two */
	uint16_t		 vq_last_avail;	/* next avail entry to pop */
	uint16_t		 vq_used_idx;	/* shadow of used->idx */
	uint16_t		 vq_signalled_used;
	bool			 vq_signalled_used_valid;
	bool			 vq_event_idx;	/* VIRTIO_RING_F_EVENT_IDX */
	bool			 vq_indirect;	/* VIRTIO_RING_F_INDIRECT_DESC */
	bool			 vq_broken;
	/* Where guest errors are logged through (the engine's limiter of
	 * the connection), or NULL: log each (tests). */
	struct ratelimit_log	*vq_log;
	bool			 vq_notify_on_empty; /* VIRTIO_F_NOTIFY_ON_EMPTY */
	volatile struct virtq_inflight *vq_inflight;	/* or NULL */
	uint64_t		 vq_counter;	/* last inflight counter */
	uint16_t		*vq_resubmit;	/* heads to take first */
	uint16_t		 vq_nresubmit;
	uint16_t		 vq_resubmit_next;
	uint8_t			 vq_popped;	/* what virtq_unpop gives back */
	uint16_t		 vq_popped_head;
	/* Chains taken from the avail ring since the last resubmitted
	 * head, less those given back or pushed: the most virtq_rewind
	 * gives back. */
	uint16_t		 vq_rewindable;
	/*
	 * Where pop and push count (cq_inflight, cq_requests, CTR_ERR_RING):
	 * &ctr_sink after virtq_init; the engine points it at the queue's
	 * block of the child's region.  Never NULL on an initialised queue.
	 */
	struct ctr_queue	*vq_ctr;
};

/*
 * Whether the queue points into guest memory (its rings are attached):
 * false for a stopped ring, or one whose memory the front end removed.
 * Push and pop do nothing on such a queue.
 */
bool	virtq_mapped(const struct virtq *vq);

/* The ring's size (entries): the most chains a driver can have out. */
uint16_t	virtq_num(const struct virtq *vq);

/* Bytes each ring part needs for num entries (event fields included). */
size_t	virtq_desc_size(uint16_t num);
size_t	virtq_avail_size(uint16_t num);
size_t	virtq_used_size(uint16_t num);

/*
 * Attach a queue to rings already translated to host pointers (the caller
 * checked each covers virtq_*_size(num) bytes).  num must be a power of two
 * <= VIRTQ_MAX_SIZE (-EINVAL otherwise).  last_avail is where popping starts (from
 * SET_VRING_BASE); the used index is read from the ring.  features is the
 * negotiated virtio feature set (EVENT_IDX, INDIRECT_DESC).  0 or -errno.
 */
int	virtq_init(struct virtq *vq, const struct gmem *mem, uint16_t num,
	    struct virtq_desc *desc, struct virtq_avail *avail,
	    struct virtq_used *used, uint16_t last_avail, uint64_t features);

/*
 * Take the next available chain.  1: *elem filled; 0: queue empty;
 * -EIO: the queue is (now) broken.  With EVENT_IDX, publishes avail_event.
 */
int	virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/*
 * Track the queue's requests in region (VIRTQ_INFLIGHT_SIZE(vq_num) bytes,
 * shared with the front end), after virtq_init.  A region used before (a
 * back end that died) is recovered as the vhost-user specification says:
 * the heads it had taken and not completed are popped again first, in the
 * order they were taken, and popping then goes on after them (whatever
 * SET_VRING_BASE said).  resubmit: room for vq_num heads, owned by the
 * caller.  Returns the number of heads to take again, -EINVAL for a
 * region of another ring size, or -ENOMEM.  The region's flags and
 * counters are copied once before they are sorted.
 */
int	virtq_inflight_attach(struct virtq *vq, struct virtq_inflight *region,
	    uint16_t *resubmit);

/*
 * Give back the element the last virtq_pop returned, unused (net rx: the
 * frame does not fit): the next pop returns the same chain again, and its
 * inflight record is undone.  Once per pop, before the next pop or push.
 * 0, or -EINVAL when there is nothing to give back.
 */
int	virtq_unpop(struct virtq *vq);
/*
 * Give back the last n chains taken from the avail ring, none of which
 * may have been pushed (net rx holds popped buffers for the next frame
 * and returns them when the ring stops or guest memory changes): the
 * next pops return them again, in the same order, and their inflight
 * records are undone.  Earlier chains may have been pushed meanwhile.
 * The caller pushes in the order it popped (the queue only counts chains
 * taken and not pushed).  0, or -EINVAL when fewer than n such chains
 * exist (a head taken again from an inflight region in between cannot be
 * given back).
 */
int	virtq_rewind(struct virtq *vq, unsigned int n);

/*
 * How many device-writable bytes the chains available now offer (the
 * heads to take again first, then the avail ring from the next pop on),
 * counted until limit is reached: *bytes is at most limit.  Nothing is
 * popped.  Chains are checked as virtq_pop checks them: a malformed one
 * breaks the queue (-EIO).  At most VIRTQ_AVAIL_SCAN chains are looked
 * at.  Advisory: the driver may change a chain before it is
 * popped; what virtq_pop returns is what counts (mergeable rx buffers,
 * vsock rx).  0 or -EIO.
 */
int	virtq_avail_bytes(struct virtq *vq, size_t limit, size_t *bytes);

/* Give back elem's head with len bytes written.  Not visible until flush. */
void	virtq_push(struct virtq *vq, uint16_t head, uint32_t len);

/* Publish pushed entries (used->idx, with a release barrier). */
void	virtq_flush(struct virtq *vq);

/*
 * After virtq_flush(): whether the driver wants an interrupt for what was
 * published since the last notification (EVENT_IDX used_event or the
 * NO_INTERRUPT flag).  Updates the signalled-used bookkeeping.
 */
bool	virtq_should_notify(struct virtq *vq);

/*
 * Whether there is something to pop: chains the driver made available
 * that were not popped, or heads left in flight to run again.
 */
bool	virtq_has_avail(struct virtq *vq);

/*
 * Ask the driver not to kick (busy polling) or to kick again.  Enabling
 * returns true if chains arrived meanwhile (the caller must pop again).
 */
void	virtq_disable_notify(struct virtq *vq);
bool	virtq_enable_notify(struct virtq *vq);

/*
 * Ask the driver to kick once it makes more chains available than it has
 * now (not merely those not popped yet: after virtq_unpop or a short
 * virtq_avail_bytes the device waits for new buffers).  True if chains
 * arrived meanwhile (look again).
 */
bool	virtq_enable_notify_more(struct virtq *vq);

#endif /* VHOSTD_VIRTIO_VIRTQ_H */
