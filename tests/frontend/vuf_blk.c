/*
 * vuf_blk.c - virtio-blk requests through the in-tree front end.
 */
#include <errno.h>
#include <string.h>

#include "vuf_blk.h"

int
vuf_blk_init(struct vuf_blk *b, struct vuf *f, unsigned int queue,
    uint32_t max)
{
	memset(b, 0, sizeof(*b));
	b->b_f = f;
	b->b_queue = queue;
	b->b_max = max;
	if ((b->b_hdr = vuf_alloc(f, sizeof(*b->b_hdr), 16,
	    &b->b_hdr_gpa)) == NULL ||
	    (b->b_status = vuf_alloc(f, 1, 1, &b->b_status_gpa)) == NULL)
		return -ENOMEM;
	if (max > 0 && (b->b_data = vuf_alloc(f, max, 4096,
	    &b->b_data_gpa)) == NULL)
		return -ENOMEM;
	return 0;
}

int
vuf_blk_submit(struct vuf_blk *b, uint32_t type, uint64_t sector,
    uint32_t len)
{
	struct vuf_seg	seg[3];
	unsigned int	n = 0;
	int		head, rc;

	if (len > b->b_max)
		return vuf_fail(b->b_f, -EINVAL, "blk request of %u bytes, "
		    "the slot has %u", len, b->b_max);
	b->b_hdr->type = type;
	b->b_hdr->ioprio = 0;
	b->b_hdr->sector = sector;
	*b->b_status = VUF_BLK_S_NONE;
	seg[n].sg_gpa = b->b_hdr_gpa;
	seg[n].sg_len = sizeof(*b->b_hdr);
	seg[n++].sg_write = false;
	if (len > 0) {
		seg[n].sg_gpa = b->b_data_gpa;
		seg[n].sg_len = len;
		seg[n++].sg_write = type == VUF_BLK_T_IN;
	}
	seg[n].sg_gpa = b->b_status_gpa;
	seg[n].sg_len = 1;
	seg[n++].sg_write = true;
	/* Indirect, as Linux does, when negotiated. */
	head = vuf_vq_add(b->b_f, b->b_queue, seg, n,
	    vuf_has_feature(b->b_f, VIRTIO_RING_F_INDIRECT_DESC), b);
	if (head < 0)
		return head;
	if ((rc = vuf_vq_kick(b->b_f, b->b_queue, false)) < 0)
		return rc;
	return head;
}

int
vuf_blk_io(struct vuf_blk *b, uint32_t type, uint64_t sector, uint32_t len,
    uint8_t *status)
{
	struct vuf_used	u;
	int		head, rc;

	if ((head = vuf_blk_submit(b, type, sector, len)) < 0)
		return head;
	if ((rc = vuf_vq_wait(b->b_f, b->b_queue, b->b_f->f_timeout_ms)) < 0)
		return rc;
	if ((rc = vuf_vq_reap(b->b_f, b->b_queue, &u, 1)) < 0)
		return rc;
	if (rc != 1 || u.u_id != head)
		return vuf_fail(b->b_f, -EPROTO, "blk: expected head %d back, "
		    "got %s%u", head, rc == 1 ? "" : "nothing ",
		    rc == 1 ? u.u_id : 0);
	*status = *(volatile uint8_t *)b->b_status;
	return 0;
}
