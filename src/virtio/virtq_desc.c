/*
 * virtq_desc.c - a split ring's descriptor chains, device side (virtio
 * 1.x, 2.7.5 and 2.7.5.3): direct chains and indirect tables walked into
 * the segments of an element, or only counted.
 *
 * Following Linux drivers/vhost/vringh.c: every descriptor is copied out of
 * guest memory once (descriptor tables stay writable by the guest while we
 * look at them) and only the copy is checked and used.  Any malformed
 * chain marks the queue broken (virtq_bad): the guest driver violated the
 * spec and the device needs a reset, so no later pop touches the rings
 * again.
 *
 * Zero-length descriptors are legal and produce no segment: their address
 * is not translated, but they still count for loop detection and for the
 * "no readable after writable" rule.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "virtq_int.h"

/*
 * Largest indirect table: the largest possible ring (see VIRTQ_MAX_SIZE);
 * every table entry still has to yield at most VIRTQ_MAX_SEGS segments.
 */
#define VIRTQ_MAX_INDIRECT	VIRTQ_MAX_SIZE

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
int
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
