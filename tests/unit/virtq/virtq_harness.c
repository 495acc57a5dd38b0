/*
 * virtq_harness.c - virtq_test's harness.  virtq_test covers the split
 * virtqueue: good chains (direct, indirect, mixed, spanning two regions),
 * every class of malicious chain, EVENT_IDX and NO_INTERRUPT notification
 * decisions, the used ring, copy helpers.
 *
 * Guest memory (the guestmem fixture) is a memfd registered as two adjacent
 * regions ([0, 512K) and [512K, 1M)), so translation is the real one; the
 * test writes the rings through its own mapping of the same memfd, where
 * guest physical address == offset.
 */

#include <errno.h>

#include "virtq_harness.h"

static struct guestmem		 gm;
struct gmem		 mem;
uint8_t			*guest;
struct virtq		 vq;
struct virtq_elem	 elem;
static uint16_t			 qnum;

static void
setup(void)
{
	guestmem_create(&gm, GUEST_SIZE, 0x7f0000000000);
	guest = gm.gm_base;
	gmem_init(&mem);
	guestmem_add(&gm, &mem, 0, REGION_SIZE);
	guestmem_add(&gm, &mem, REGION_SIZE, REGION_SIZE);
	cr_assert_eq(mem.mm_nregions, 2);
}

static void
teardown(void)
{
	gmem_clear(&mem);
	guestmem_destroy(&gm);
}

TestSuite(virtq, .init = setup, .fini = teardown);

struct virtq_desc *
gdesc(void)
{
	return (struct virtq_desc *)(guest + DESC_GPA);
}

struct virtq_avail *
gavail(void)
{
	return (struct virtq_avail *)(guest + AVAIL_GPA);
}

struct virtq_used *
gused(void)
{
	return (struct virtq_used *)(guest + USED_GPA);
}

/* The u16 after the avail ring (used_event) / used ring (avail_event). */
uint16_t *
used_event_p(void)
{
	return (uint16_t *)(guest + AVAIL_GPA + 4 + 2 * qnum);
}

uint16_t *
avail_event_p(void)
{
	return (uint16_t *)(guest + USED_GPA + 4 + 8 * qnum);
}

void
vq_start(uint16_t num, uint16_t last_avail, uint64_t features)
{
	qnum = num;
	cr_assert_eq(virtq_init(&vq, &mem, num,
	    gmem_gpa(&mem, DESC_GPA, virtq_desc_size(num)),
	    gmem_gpa(&mem, AVAIL_GPA, virtq_avail_size(num)),
	    gmem_gpa(&mem, USED_GPA, virtq_used_size(num)),
	    last_avail, features), 0);
}

void
set_desc(struct virtq_desc *t, uint16_t i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

struct virtq_desc *
itab(void)
{
	return (struct virtq_desc *)(guest + ITAB_GPA);
}

void
post(uint16_t head)
{
	struct virtq_avail	*a = gavail();

	a->ring[a->idx & (qnum - 1)] = head;
	a->idx++;
}

/* Pop must fail, break the queue, and not advance. */
void
expect_broken(void)
{
	uint16_t	last = vq.vq_last_avail;

	cr_assert_eq(virtq_pop(&vq, &elem), -EIO);
	cr_assert(vq.vq_broken);
	cr_assert_eq(vq.vq_last_avail, last);
	cr_assert_eq(elem.out_num + elem.in_num, 0);
	cr_assert_not(virtq_has_avail(&vq));
}

struct virtq_inflight *
inflight_region(uint16_t num)
{
	struct virtq_inflight	*r = calloc(1, VIRTQ_INFLIGHT_SIZE(num));

	cr_assert_not_null(r);
	return r;
}

/* Chains 0..n-1, one writable 16-byte buffer each. */
void
post_simple(uint16_t n)
{
	uint16_t	i;

	for (i = 0; i < n; i++) {
		set_desc(gdesc(), i, BUF_GPA + 16u * i, 16, VIRTQ_DESC_F_WRITE,
		    0);
		post(i);
	}
}

/*
 * A ring of 8 with chains 0 and 1 available, attached to an inflight
 * region (the caller frees it) in which a dead back end left head 1 in
 * flight (counter 5): one resubmission.
 */
struct virtq_inflight *
inflight_head1_resubmitted(void)
{
	struct virtq_inflight	*r = inflight_region(8);
	static uint16_t		 resub[8];	/* the ring keeps it (vq_resubmit) */

	vq_start(8, 0, 0);
	post_simple(2);
	r->version = 1;
	r->desc_num = 8;
	r->desc[1].inflight = 1;
	r->desc[1].counter = 5;
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 1);
	return r;
}
