/*
 * virtq_int.h - what the files of src/virtio share about a split ring
 * (virtq.c: rings, pop and push, notifications; virtq_desc.c: the chain
 * walk; virtq_inflight.c: the inflight region).  Private to src/virtio.
 */
#ifndef VHOSTD_VIRTIO_VIRTQ_INT_H
#define VHOSTD_VIRTIO_VIRTQ_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtq.h"

/*
 * A chain being walked: into the segments of an element (ch_iov), or only
 * counted (ch_iov NULL), with the same checks either way.
 */
struct virtq_chain {
	uint16_t	 ch_head;
	unsigned int	 ch_out_num;
	unsigned int	 ch_in_num;
	size_t		 ch_out_len;
	size_t		 ch_in_len;
	struct iovec	*ch_iov;	/* VIRTQ_MAX_SEGS entries, or NULL */
};

/* An unaligned-safe u16 in guest memory (avail_event, used_event). */
struct virtq_u16 {
	uint16_t	v;
} __attribute__((packed));

/* Full barrier (smp_mb), write barrier (smp_wmb), read barrier (smp_rmb). */
#define virtq_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define virtq_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define virtq_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
/* Compiler barrier: values copied before it are never re-read after it. */
#define virtq_barrier()	__asm__ __volatile__("" ::: "memory")

/*
 * Set avail_event (EVENT_IDX): the driver kicks for the chain at val
 * and after.  One volatile store of a guest field.
 */
static inline void
set_avail_event(struct virtq *vq, uint16_t val)
{
	volatile struct virtq_u16	*p;

	p = (volatile struct virtq_u16 *)((uint8_t *)vq->vq_used +
	    offsetof(struct virtq_used, ring) +
	    sizeof(struct virtq_used_elem) * vq->vq_num);
	p->v = val;
}

/*
 * virtq.c: mark the queue broken (guest error), log it (rate-limited).
 * idx is the chain head (or the avail index for ring errors).  -EIO.
 */
int	virtq_bad(struct virtq *vq, uint16_t idx, const char *why);

/*
 * virtq_desc.c: walk the chain at ch->ch_head into ch (or only count it,
 * ch_iov NULL), every descriptor copied out once and checked.  0 or -EIO
 * (queue broken).
 */
int	virtq_walk(struct virtq *vq, struct virtq_chain *ch);

/*
 * virtq_inflight.c: after used->idx moved, the heads of the batch are no
 * longer in flight.
 */
void	virtq_inflight_commit(struct virtq *vq);

#endif /* VHOSTD_VIRTIO_VIRTQ_INT_H */
