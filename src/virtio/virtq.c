/*
 * virtq.c - split virtqueue, device side (virtio 1.x, 2.7): the rings
 * (avail, used), pop and push, unpop and rewind, and notification
 * suppression (flags, EVENT_IDX).  The chain walk is virtq_desc.c, the
 * inflight region virtq_inflight.c.
 *
 * A malformed ring or chain marks the queue broken (virtq_bad): the guest
 * driver violated the spec and the device needs a reset, so no later pop
 * touches the rings again.
 *
 * Ring fields are read and written through volatile accesses of packed
 * structures (the rings may be misaligned in host memory when a front end
 * lies; the compiler then emits unaligned-safe code) and ordered with
 * explicit __atomic fences, each commented with the driver-side barrier it
 * pairs with (Linux drivers/virtio/virtio_ring.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "../util/util.h"
#include "virtq_int.h"

/* What the last pop took, for virtq_unpop. */
#define VIRTQ_POPPED_NONE	0
#define VIRTQ_POPPED_AVAIL	1	/* from the avail ring */
#define VIRTQ_POPPED_RESUBMIT	2	/* a head left in flight */

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
int
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
		virtq_inflight_commit(vq);
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
