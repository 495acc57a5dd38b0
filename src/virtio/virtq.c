/*
 * virtq.c - split virtqueue, device side (virtio 1.x, 2.7).
 *
 * Following Linux drivers/vhost/vringh.c: every descriptor is copied out of
 * guest memory once (descriptor tables stay writable by the guest while we
 * look at them) and only the copy is checked and used.  Any malformed
 * chain marks the queue broken: the guest driver violated the spec and the
 * device needs a reset, so no later pop touches the rings again.
 *
 * Ring fields are read and written through volatile accesses of packed
 * structures (the rings may be misaligned in host memory when a front end
 * lies; the compiler then emits unaligned-safe code) and ordered with
 * explicit __atomic fences, each commented with the driver-side barrier it
 * pairs with (Linux drivers/virtio/virtio_ring.c).
 *
 * Zero-length descriptors are legal and produce no segment: their address
 * is not translated, but they still count for loop detection and for the
 * "no readable after writable" rule.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"
#include "virtq.h"

/*
 * Largest indirect table: the largest possible ring (see VIRTQ_MAX_SIZE);
 * every table entry still has to yield at most VIRTQ_MAX_SEGS segments.
 */
#define VIRTQ_MAX_INDIRECT	VIRTQ_MAX_SIZE

/* What the last pop took, for virtq_unpop. */
#define VIRTQ_POPPED_NONE	0
#define VIRTQ_POPPED_AVAIL	1	/* from the avail ring */
#define VIRTQ_POPPED_RESUBMIT	2	/* a head left in flight */

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

bool
virtq_mapped(const struct virtq *vq)
{
	return vq->vq_desc != NULL && vq->vq_avail != NULL &&
	    vq->vq_used != NULL;
}

uint16_t
virtq_num(const struct virtq *vq)
{
	return vq->vq_num;
}

size_t
virtq_desc_size(uint16_t num)
{
	return sizeof(struct virtq_desc) * (size_t)num;
}

size_t
virtq_avail_size(uint16_t num)
{
	return sizeof(struct virtq_avail) + sizeof(uint16_t) * (size_t)num +
	    sizeof(uint16_t);
}

size_t
virtq_used_size(uint16_t num)
{
	return sizeof(struct virtq_used) +
	    sizeof(struct virtq_used_elem) * (size_t)num + sizeof(uint16_t);
}

/* Ring accessors: each is one volatile access of a guest field. */
static uint16_t
avail_idx(const struct virtq *vq)
{
	return ((const volatile struct virtq_avail *)vq->vq_avail)->idx;
}

static uint16_t
avail_flags(const struct virtq *vq)
{
	return ((const volatile struct virtq_avail *)vq->vq_avail)->flags;
}

static uint16_t
avail_ring(const struct virtq *vq, uint16_t i)
{
	return ((const volatile struct virtq_avail *)vq->vq_avail)->ring[i];
}

static uint16_t
used_event(const struct virtq *vq)
{
	const volatile struct virtq_u16	*p;

	p = (const volatile struct virtq_u16 *)((const uint8_t *)vq->vq_avail +
	    offsetof(struct virtq_avail, ring) +
	    sizeof(uint16_t) * vq->vq_num);
	return p->v;
}

static void
set_avail_event(struct virtq *vq, uint16_t val)
{
	volatile struct virtq_u16	*p;

	p = (volatile struct virtq_u16 *)((uint8_t *)vq->vq_used +
	    offsetof(struct virtq_used, ring) +
	    sizeof(struct virtq_used_elem) * vq->vq_num);
	p->v = val;
}

static uint16_t
used_flags(const struct virtq *vq)
{
	return ((const volatile struct virtq_used *)vq->vq_used)->flags;
}

static void
set_used_flags(struct virtq *vq, uint16_t flags)
{
	((volatile struct virtq_used *)vq->vq_used)->flags = flags;
}

/* Linux include/uapi/linux/virtio_ring.h vring_need_event(). */
static bool
vring_need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/*
 * Mark the queue broken (guest error), log it (rate-limited).  idx is the chain head
 * (or the avail index for ring errors).  Returns -EIO.
 */
static int
virtq_bad(struct virtq *vq, uint16_t idx, const char *why)
{
	vq->vq_broken = true;
	if (vq->vq_ctr != NULL)
		ctr_error(vq->vq_ctr, CTR_ERR_RING);
	if (vq->vq_log != NULL)
		ratelimit_warnx(vq->vq_log, ratelimit_now(), "virtq: guest "
		    "error: %s (index %u); queue stopped until the device is "
		    "reset", why, (unsigned int)idx);
	else
		log_warnx("virtq: guest error: %s (index %u); queue stopped "
		    "until the device is reset", why, (unsigned int)idx);
	return -EIO;
}

int
virtq_init(struct virtq *vq, const struct gmem *mem, uint16_t num,
    struct virtq_desc *desc, struct virtq_avail *avail,
    struct virtq_used *used, uint16_t last_avail, uint64_t features)
{
	if (num == 0 || (num & (num - 1)) != 0 || num > VIRTQ_MAX_SIZE ||
	    mem == NULL || desc == NULL || avail == NULL || used == NULL)
		return -EINVAL;
	memset(vq, 0, sizeof(*vq));
	vq->vq_ctr = &ctr_sink;
	vq->vq_mem = mem;
	vq->vq_desc = desc;
	vq->vq_avail = avail;
	vq->vq_used = used;
	vq->vq_num = num;
	vq->vq_last_avail = last_avail;
	vq->vq_used_idx = ((const volatile struct virtq_used *)used)->idx;
	vq->vq_signalled_used_valid = false;
	vq->vq_event_idx = (features >> VIRTIO_RING_F_EVENT_IDX) & 1;
	vq->vq_indirect = (features >> VIRTIO_RING_F_INDIRECT_DESC) & 1;
	vq->vq_notify_on_empty = (features >> VIRTIO_F_NOTIFY_ON_EMPTY) & 1;
	/* Ask for a kick for the next chain (the driver reads this only
	 * after its own full barrier, see virtq_enable_notify). */
	if (vq->vq_event_idx)
		set_avail_event(vq, last_avail);
	return 0;
}

/*
 * Copy len bytes of guest memory at gpa (possibly spanning adjacent
 * regions) into dst.  0, or -1 if some byte is not mapped or gpa + len
 * wraps.
 */
static int
virtq_copy_from_guest(const struct virtq *vq, uint64_t gpa, void *dst,
    size_t len)
{
	uint8_t		*out = dst;
	uint64_t	 n;
	void		*p;

	if (gpa + len < gpa)
		return -1;
	while (len > 0) {
		p = gmem_gpa_span(vq->vq_mem, gpa, len, &n);
		if (p == NULL || n == 0)
			return -1;
		memcpy(out, p, n);
		out += n;
		gpa += n;
		len -= n;
	}
	/* Pairs with nothing: stops the compiler from re-reading guest
	 * memory instead of using the copy. */
	virtq_barrier();
	return 0;
}

/* Copy direct descriptor i (< vq_num) out of the table. */
static void
virtq_read_desc(const struct virtq *vq, uint16_t i, struct virtq_desc *d)
{
	const volatile struct virtq_desc	*s = &vq->vq_desc[i];

	d->addr = s->addr;
	d->len = s->len;
	d->flags = s->flags;
	d->next = s->next;
}

/*
 * Append the buffer of the (copied, non-indirect) descriptor d to ch,
 * split at region boundaries.  *seen_write tracks the direction rule.
 */
static int
virtq_map_desc(struct virtq *vq, struct virtq_chain *ch,
    const struct virtq_desc *d, bool *seen_write)
{
	unsigned int	 nseg = ch->ch_out_num + ch->ch_in_num;
	uint64_t	 gpa = d->addr, left = d->len, n;
	bool		 wr = (d->flags & VIRTQ_DESC_F_WRITE) != 0;
	void		*p;

	if (!wr && *seen_write)
		return virtq_bad(vq, ch->ch_head,
		    "readable descriptor after a writable one");
	if (wr)
		*seen_write = true;
	if (left == 0)
		return 0;
	if (gpa + left < gpa)
		return virtq_bad(vq, ch->ch_head, "buffer address wraps");
	while (left > 0) {
		p = gmem_gpa_span(vq->vq_mem, gpa, left, &n);
		if (p == NULL || n == 0)
			return virtq_bad(vq, ch->ch_head,
			    "buffer outside guest memory");
		if (nseg >= VIRTQ_MAX_SEGS)
			return virtq_bad(vq, ch->ch_head, "too many segments");
		if (ch->ch_iov != NULL) {
			ch->ch_iov[nseg].iov_base = p;
			ch->ch_iov[nseg].iov_len = (size_t)n;
		}
		nseg++;
		if (wr) {
			ch->ch_in_num++;
			ch->ch_in_len += n;
		} else {
			ch->ch_out_num++;
			ch->ch_out_len += n;
		}
		gpa += n;
		left -= n;
	}
	return 0;
}

/* Walk the indirect table that the (copied) descriptor ind points to. */
static int
virtq_walk_indirect(struct virtq *vq, struct virtq_chain *ch,
    const struct virtq_desc *ind, bool *seen_write)
{
	const volatile struct virtq_desc	*tbl;
	struct virtq_desc	d;
	unsigned int		count = 0, tnum;
	uint32_t		i = 0;
	int			rc;

	if (!vq->vq_indirect)
		return virtq_bad(vq, ch->ch_head,
		    "indirect descriptor without INDIRECT_DESC");
	if (ind->flags & VIRTQ_DESC_F_NEXT)
		return virtq_bad(vq, ch->ch_head,
		    "indirect descriptor with NEXT");
	if (ind->len == 0 || ind->len % sizeof(struct virtq_desc) != 0)
		return virtq_bad(vq, ch->ch_head,
		    "indirect table length zero or not a multiple of 16");
	tnum = ind->len / sizeof(struct virtq_desc);
	if (tnum > VIRTQ_MAX_INDIRECT)
		return virtq_bad(vq, ch->ch_head, "indirect table too large");
	if (ind->addr + ind->len < ind->addr)
		return virtq_bad(vq, ch->ch_head, "indirect table wraps");
	/*
	 * The table in one region (the usual case): translated once, each
	 * descriptor then copied out once like a direct one.  A table across
	 * regions (or misaligned) is copied descriptor by descriptor.
	 */
	tbl = gmem_gpa(vq->vq_mem, ind->addr, ind->len);
	if ((uintptr_t)tbl % _Alignof(struct virtq_desc) != 0)
		tbl = NULL;
	for (;;) {
		if (++count > tnum)
			return virtq_bad(vq, ch->ch_head,
			    "loop in indirect table");
		if (tbl != NULL) {
			d.addr = tbl[i].addr;
			d.len = tbl[i].len;
			d.flags = tbl[i].flags;
			d.next = tbl[i].next;
		} else if (virtq_copy_from_guest(vq,
		    ind->addr + (uint64_t)i * sizeof(d), &d, sizeof(d)) != 0)
			return virtq_bad(vq, ch->ch_head,
			    "indirect table outside guest memory");
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_bad(vq, ch->ch_head,
			    "indirect descriptor inside an indirect table");
		if ((rc = virtq_map_desc(vq, ch, &d, seen_write)) != 0)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= tnum)
			return virtq_bad(vq, ch->ch_head,
			    "next index outside the indirect table");
		i = d.next;
	}
}

/* Walk the chain at ch->ch_head into ch.  0 or -EIO (queue broken). */
static int
virtq_walk(struct virtq *vq, struct virtq_chain *ch)
{
	struct virtq_desc	d;
	unsigned int		count = 0;
	uint16_t		i = ch->ch_head;
	bool			seen_write = false;
	int			rc;

	for (;;) {
		if (++count > vq->vq_num)
			return virtq_bad(vq, ch->ch_head,
			    "descriptor chain loops");
		virtq_read_desc(vq, i, &d);
		/* The WRITE flag of an indirect descriptor is ignored
		 * (spec: "Indirect Descriptors", device requirements); NEXT is
		 * forbidden on it, so it ends the chain. */
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return virtq_walk_indirect(vq, ch, &d, &seen_write);
		if ((rc = virtq_map_desc(vq, ch, &d, &seen_write)) != 0)
			return rc;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		if (d.next >= vq->vq_num)
			return virtq_bad(vq, ch->ch_head,
			    "next index outside the descriptor table");
		i = d.next;
	}
}

/*
 * The avail index, checked against last_avail: -EIO (broken) when the
 * driver claims more than num new entries.
 */
static int
virtq_read_avail_idx(struct virtq *vq, uint16_t *idx)
{
	*idx = avail_idx(vq);
	if ((uint16_t)(*idx - vq->vq_last_avail) > vq->vq_num)
		return virtq_bad(vq, vq->vq_last_avail,
		    "avail index moved by more than the ring size");
	return 0;
}

/*
 * Walk the chain at head into elem.  1, or -EIO (broken) with elem
 * empty.
 */
static int
virtq_take(struct virtq *vq, uint16_t head, struct virtq_elem *elem)
{
	struct virtq_chain	ch = { .ch_head = head, .ch_iov = elem->iov };
	int			rc;

	elem->head = head;
	elem->out = elem->iov;
	elem->in = elem->iov;
	if ((rc = virtq_walk(vq, &ch)) != 0)
		return rc;
	elem->out_num = ch.ch_out_num;
	elem->in_num = ch.ch_in_num;
	elem->out_len = ch.ch_out_len;
	elem->in_len = ch.ch_in_len;
	elem->in = elem->iov + elem->out_num;
	return 1;
}

int
virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	uint16_t	idx, head;
	int		rc;

	elem->out_num = elem->in_num = 0;
	elem->out_len = elem->in_len = 0;
	vq->vq_popped = VIRTQ_POPPED_NONE;
	if (vq->vq_broken)
		return -EIO;
	if (vq->vq_avail == NULL)
		return 0;	/* stopped or paused: its memory is not mapped */
	if (vq->vq_resubmit_next < vq->vq_nresubmit) {
		/* Taken by a back end that died: again, first. */
		head = vq->vq_resubmit[vq->vq_resubmit_next++];
		if ((rc = virtq_take(vq, head, elem)) < 0)
			return rc;
		vq->vq_popped = VIRTQ_POPPED_RESUBMIT;
		vq->vq_rewindable = 0;
		ctr_add(&vq->vq_ctr->cq_inflight, 1);
		return 1;
	}
	if ((rc = virtq_read_avail_idx(vq, &idx)) != 0)
		return rc;
	if (idx == vq->vq_last_avail) {
		if (!vq->vq_event_idx)
			return 0;
		/*
		 * Empty: ask for a kick at the next chain, then look again.
		 * Full barrier between the avail_event store and the avail
		 * idx load; pairs with the driver's smp_mb between its avail
		 * idx store and its avail_event load (virtqueue_kick_prepare),
		 * so either we see its chain or it sees our avail_event.
		 */
		set_avail_event(vq, vq->vq_last_avail);
		virtq_mb();
		if ((rc = virtq_read_avail_idx(vq, &idx)) != 0)
			return rc;
		if (idx == vq->vq_last_avail)
			return 0;
	}
	/*
	 * smp_rmb: read the ring entry and descriptors only after the avail
	 * idx; pairs with the driver's smp_wmb (virtio_wmb) between writing
	 * the descriptors and ring entry and publishing avail->idx.
	 */
	virtq_rmb();
	head = avail_ring(vq, vq->vq_last_avail & (vq->vq_num - 1));
	elem->head = head;
	elem->out = elem->iov;
	elem->in = elem->iov;
	if (head >= vq->vq_num)
		return virtq_bad(vq, head, "head index outside the ring");
	if ((rc = virtq_take(vq, head, elem)) < 0)
		return rc;
	vq->vq_last_avail++;
	if (vq->vq_inflight != NULL) {
		vq->vq_inflight->desc[head].counter = ++vq->vq_counter;
		vq->vq_inflight->desc[head].inflight = 1;
	}
	/* Kick only for chains after this one.  Ordered before the next
	 * avail idx load only on the empty path above (with its smp_mb). */
	if (vq->vq_event_idx)
		set_avail_event(vq, vq->vq_last_avail);
	vq->vq_popped = VIRTQ_POPPED_AVAIL;
	vq->vq_popped_head = head;
	if (vq->vq_rewindable < UINT16_MAX)
		vq->vq_rewindable++;
	ctr_add(&vq->vq_ctr->cq_inflight, 1);
	return 1;
}

int
virtq_unpop(struct virtq *vq)
{
	uint16_t	head = vq->vq_popped_head;

	switch (vq->vq_popped) {
	case VIRTQ_POPPED_RESUBMIT:
		vq->vq_resubmit_next--;
		break;
	case VIRTQ_POPPED_AVAIL:
		if (vq->vq_avail == NULL)
			return -EINVAL;	/* detached since the pop */
		vq->vq_last_avail--;
		if (vq->vq_rewindable > 0)
			vq->vq_rewindable--;
		if (vq->vq_inflight != NULL && head < vq->vq_num) {
			vq->vq_inflight->desc[head].inflight = 0;
			vq->vq_counter--;
		}
		/* As before the pop: a kick for this chain on. */
		if (vq->vq_event_idx)
			set_avail_event(vq, vq->vq_last_avail);
		break;
	default:
		return -EINVAL;
	}
	vq->vq_popped = VIRTQ_POPPED_NONE;
	ctr_add(&vq->vq_ctr->cq_inflight, (uint64_t)-1);
	return 0;
}

int
virtq_rewind(struct virtq *vq, unsigned int n)
{
	uint16_t	head;
	unsigned int	i;

	if (n == 0)
		return 0;
	if (vq->vq_avail == NULL || n > vq->vq_rewindable)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		vq->vq_last_avail--;
		if (vq->vq_inflight == NULL)
			continue;
		/* The head as the ring names it now: a driver that rewrote
		 * a slot it had made available only confuses its own
		 * inflight records (the index stays inside the ring). */
		head = avail_ring(vq, vq->vq_last_avail & (vq->vq_num - 1));
		if (head < vq->vq_num) {
			vq->vq_inflight->desc[head].inflight = 0;
			vq->vq_counter--;
		}
	}
	vq->vq_rewindable = (uint16_t)(vq->vq_rewindable - n);
	vq->vq_popped = VIRTQ_POPPED_NONE;
	ctr_add(&vq->vq_ctr->cq_inflight, (uint64_t)-(int64_t)n);
	/* As before those pops: a kick for these chains on. */
	if (vq->vq_event_idx)
		set_avail_event(vq, vq->vq_last_avail);
	return 0;
}

int
virtq_avail_bytes(struct virtq *vq, size_t limit, size_t *bytes)
{
	struct virtq_chain	ch;
	unsigned int		n = 0;
	uint16_t		idx, i, k, head;
	size_t			total = 0;
	int			rc;

	*bytes = 0;
	if (vq->vq_broken)
		return -EIO;
	if (vq->vq_avail == NULL)
		return 0;
	/* Heads left in flight come first (virtq_pop takes them first). */
	for (k = vq->vq_resubmit_next; k < vq->vq_nresubmit &&
	    total < limit && n < VIRTQ_AVAIL_SCAN; k++, n++) {
		memset(&ch, 0, sizeof(ch));
		ch.ch_head = vq->vq_resubmit[k];
		if ((rc = virtq_walk(vq, &ch)) != 0)
			return rc;
		total += ch.ch_in_len;
	}
	if (total < limit && n < VIRTQ_AVAIL_SCAN) {
		if ((rc = virtq_read_avail_idx(vq, &idx)) != 0)
			return rc;
		/* smp_rmb: as in virtq_pop, entries after the index. */
		virtq_rmb();
		for (i = vq->vq_last_avail; i != idx && total < limit &&
		    n < VIRTQ_AVAIL_SCAN; i++, n++) {
			head = avail_ring(vq, i & (vq->vq_num - 1));
			if (head >= vq->vq_num)
				return virtq_bad(vq, head,
				    "head index outside the ring");
			memset(&ch, 0, sizeof(ch));
			ch.ch_head = head;
			if ((rc = virtq_walk(vq, &ch)) != 0)
				return rc;
			total += ch.ch_in_len;
		}
	}
	*bytes = MIN(total, limit);
	return 0;
}

static void	inflight_commit(struct virtq *);

void
virtq_push(struct virtq *vq, uint16_t head, uint32_t len)
{
	volatile struct virtq_used_elem	*ue;

	vq->vq_popped = VIRTQ_POPPED_NONE;	/* nothing to unpop now */
	if (vq->vq_rewindable > 0)
		vq->vq_rewindable--;
	if (vq->vq_used == NULL)
		return;		/* stopped or paused: nowhere to publish */
	ctr_add(&vq->vq_ctr->cq_requests, 1);
	ctr_add(&vq->vq_ctr->cq_inflight, (uint64_t)-1);
	ue = &vq->vq_used->ring[vq->vq_used_idx & (vq->vq_num - 1)];
	ue->id = head;
	ue->len = len;
	vq->vq_used_idx++;
	if (vq->vq_inflight != NULL && head < vq->vq_num) {
		vq->vq_inflight->desc[head].next =
		    vq->vq_inflight->last_batch_head;
		vq->vq_inflight->last_batch_head = head;
	}
}

void
virtq_flush(struct virtq *vq)
{
	/*
	 * smp_wmb: the used elements are visible before the new used idx;
	 * pairs with the driver's smp_rmb (virtio_rmb) after reading
	 * used->idx and before reading the elements (virtqueue_get_buf).
	 */
	if (vq->vq_used == NULL)
		return;
	virtq_wmb();
	((volatile struct virtq_used *)vq->vq_used)->idx = vq->vq_used_idx;
	if (vq->vq_inflight != NULL)
		inflight_commit(vq);
}

/*
 * After used->idx moved: the heads of the batch (the last used_idx -
 * inflight->used_idx pushes, linked from last_batch_head) are no longer in
 * flight.  A back end that dies between the two stores leaves used_idx
 * behind used->idx, and the next one repairs it (inflight_recover).
 */
static void
inflight_commit(struct virtq *vq)
{
	volatile struct virtq_inflight	*in = vq->vq_inflight;
	uint16_t			 n, h, k;

	virtq_wmb();
	n = (uint16_t)(vq->vq_used_idx - in->used_idx);
	for (k = 0, h = in->last_batch_head; k < n && h < vq->vq_num; k++) {
		in->desc[h].inflight = 0;
		h = in->desc[h].next;
	}
	virtq_wmb();
	in->used_idx = vq->vq_used_idx;
}

/* A head left in flight and its counter, copied out of shared memory. */
struct inflight_head {
	uint64_t	ih_counter;
	uint16_t	ih_head;
};

static int
inflight_head_cmp(const void *a, const void *b)
{
	const struct inflight_head	*x = a, *y = b;

	if (x->ih_counter != y->ih_counter)
		return x->ih_counter < y->ih_counter ? -1 : 1;
	return x->ih_head < y->ih_head ? -1 : x->ih_head > y->ih_head;
}

int
virtq_inflight_attach(struct virtq *vq, struct virtq_inflight *region,
    uint16_t *resubmit)
{
	volatile struct virtq_inflight	*in = region;
	struct inflight_head		*heads;
	uint16_t			 used, n, h, k, i;

	vq->vq_inflight = NULL;
	vq->vq_nresubmit = vq->vq_resubmit_next = 0;
	vq->vq_resubmit = resubmit;
	vq->vq_counter = 0;
	if (in->version == 0) {
		/* Fresh: nothing to recover. */
		memset((void *)(uintptr_t)in, 0, VIRTQ_INFLIGHT_SIZE(vq->vq_num));
		in->desc_num = vq->vq_num;
		in->used_idx = vq->vq_used_idx;
		in->version = 1;
		vq->vq_inflight = in;
		return 0;
	}
	if (in->version != 1 || in->desc_num != vq->vq_num)
		return -EINVAL;
	used = vq->vq_used_idx;
	if (in->used_idx != used) {
		/* Died between used->idx and the batch's flags. */
		n = (uint16_t)(used - in->used_idx);
		for (k = 0, h = in->last_batch_head; k < n && h < vq->vq_num;
		    k++) {
			in->desc[h].inflight = 0;
			h = in->desc[h].next;
		}
		in->used_idx = used;
	}
	/*
	 * The front end can rewrite the region while we look at it: copy
	 * each head's flag and counter once, and sort the copy (a comparator
	 * reading shared memory could see the order change under qsort).
	 */
	if ((heads = calloc(vq->vq_num, sizeof(*heads))) == NULL)
		return -ENOMEM;
	for (i = 0, n = 0; i < vq->vq_num; i++) {
		if (in->desc[i].inflight != 1)
			continue;
		heads[n].ih_head = i;
		heads[n].ih_counter = in->desc[i].counter;
		if (heads[n].ih_counter > vq->vq_counter)
			vq->vq_counter = heads[n].ih_counter;
		n++;
	}
	virtq_barrier();
	qsort(heads, n, sizeof(*heads), inflight_head_cmp);
	for (i = 0; i < n; i++)
		resubmit[i] = heads[i].ih_head;
	free(heads);
	vq->vq_nresubmit = n;
	/* Everything before used + n was taken: completed or resubmitted. */
	vq->vq_last_avail = (uint16_t)(used + n);
	if (vq->vq_event_idx)
		set_avail_event(vq, vq->vq_last_avail);
	vq->vq_inflight = in;
	return n;
}

bool
virtq_should_notify(struct virtq *vq)
{
	uint16_t	old, new_idx;
	bool		valid, empty;

	/*
	 * smp_mb: the used idx store (virtq_flush) is ordered before the
	 * used_event / flags / avail idx loads; pairs with the driver's
	 * smp_mb between its used_event (or flags) store and its used idx
	 * re-read (virtqueue_enable_cb_delayed / virtqueue_poll).
	 */
	virtq_mb();
	/* NOTIFY_ON_EMPTY (legacy): signal when the device ran out of
	 * chains, whatever the suppression says.  Elements still in flight
	 * are not tracked, so this may signal early; that is harmless. */
	empty = vq->vq_notify_on_empty && !vq->vq_broken &&
	    avail_idx(vq) == vq->vq_last_avail;
	if (!vq->vq_event_idx)
		return empty ||
		    !(avail_flags(vq) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->vq_signalled_used;
	valid = vq->vq_signalled_used_valid;
	new_idx = vq->vq_signalled_used = vq->vq_used_idx;
	vq->vq_signalled_used_valid = true;
	if (!valid || empty)
		return true;
	return vring_need_event(used_event(vq), new_idx, old);
}

bool
virtq_has_avail(struct virtq *vq)
{
	if (vq->vq_broken || vq->vq_avail == NULL)
		return false;
	/* Heads a dead back end left in flight are work too: the driver
	 * that is waiting for them will not kick again. */
	if (vq->vq_resubmit_next < vq->vq_nresubmit)
		return true;
	return avail_idx(vq) != vq->vq_last_avail;
}

void
virtq_disable_notify(struct virtq *vq)
{
	/* With EVENT_IDX the driver kicks only past avail_event, which
	 * stays where the last pop left it. */
	if (!vq->vq_event_idx)
		set_used_flags(vq, used_flags(vq) | VIRTQ_USED_F_NO_NOTIFY);
}

bool
virtq_enable_notify_more(struct virtq *vq)
{
	uint16_t	idx;

	if (vq->vq_broken || vq->vq_avail == NULL)
		return false;
	idx = avail_idx(vq);
	if (vq->vq_event_idx)
		set_avail_event(vq, idx);
	else
		set_used_flags(vq,
		    used_flags(vq) & (uint16_t)~VIRTQ_USED_F_NO_NOTIFY);
	/* smp_mb: as in virtq_enable_notify. */
	virtq_mb();
	return avail_idx(vq) != idx;
}

bool
virtq_enable_notify(struct virtq *vq)
{
	if (vq->vq_event_idx)
		set_avail_event(vq, vq->vq_last_avail);
	else
		set_used_flags(vq,
		    used_flags(vq) & (uint16_t)~VIRTQ_USED_F_NO_NOTIFY);
	/*
	 * smp_mb: the flags / avail_event store is ordered before the avail
	 * idx re-check; pairs with the driver's smp_mb between its avail idx
	 * store and its flags / avail_event load (virtqueue_kick_prepare).
	 */
	virtq_mb();
	return virtq_has_avail(vq);
}
