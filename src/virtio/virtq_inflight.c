/*
 * virtq_inflight.c - a ring's inflight region (vhost-user
 * VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD): the heads a back end took and
 * has not yet made used, kept in memory the front end shares with the
 * next back end, and what that next one takes over from it (heads to
 * submit again, in the order they were taken).  The region is written
 * by the front end too: every value is copied out once before use.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtq_int.h"

/*
 * After used->idx moved: the heads of the batch (the last used_idx -
 * inflight->used_idx pushes, linked from last_batch_head) are no longer in
 * flight.  A back end that dies between the two stores leaves used_idx
 * behind used->idx, and the next one repairs it (inflight_recover).
 */
void
virtq_inflight_commit(struct virtq *vq)
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
