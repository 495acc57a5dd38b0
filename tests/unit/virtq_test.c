/*
 * virtq_test.c - split virtqueue: good chains (direct, indirect, mixed,
 * spanning two regions), every class of malicious chain, EVENT_IDX and
 * NO_INTERRUPT notification decisions, the used ring, copy helpers.
 *
 * Guest memory (the guestmem fixture) is a memfd registered as two adjacent
 * regions ([0, 512K) and [512K, 1M)), so translation is the real one; the
 * test writes the rings through its own mapping of the same memfd, where
 * guest physical address == offset.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "mem/gmem.h"
#include "virtio/virtio.h"
#include "virtio/virtq.h"
#include "guestmem.h"

#define GUEST_SIZE	(1024 * 1024)
#define REGION_SIZE	(GUEST_SIZE / 2)
#define DESC_GPA	0x1000
#define AVAIL_GPA	0x2000
#define USED_GPA	0x3000
#define ITAB_GPA	0x8000		/* indirect tables */
#define BUF_GPA		0x40000		/* data buffers */
#define UNMAPPED_GPA	0x200000

#define F_INDIRECT	(1ull << VIRTIO_RING_F_INDIRECT_DESC)
#define F_EVENT_IDX	(1ull << VIRTIO_RING_F_EVENT_IDX)

static struct guestmem		 gm;
static struct gmem		 mem;
static uint8_t			*guest;
static struct virtq		 vq;
static struct virtq_elem	 elem;
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

static struct virtq_desc *
gdesc(void)
{
	return (struct virtq_desc *)(guest + DESC_GPA);
}

static struct virtq_avail *
gavail(void)
{
	return (struct virtq_avail *)(guest + AVAIL_GPA);
}

static struct virtq_used *
gused(void)
{
	return (struct virtq_used *)(guest + USED_GPA);
}

/* The u16 after the avail ring (used_event) / used ring (avail_event). */
static uint16_t *
used_event_p(void)
{
	return (uint16_t *)(guest + AVAIL_GPA + 4 + 2 * qnum);
}

static uint16_t *
avail_event_p(void)
{
	return (uint16_t *)(guest + USED_GPA + 4 + 8 * qnum);
}

static void
vq_start(uint16_t num, uint16_t last_avail, uint64_t features)
{
	qnum = num;
	cr_assert_eq(virtq_init(&vq, &mem, num,
	    gmem_gpa(&mem, DESC_GPA, virtq_desc_size(num)),
	    gmem_gpa(&mem, AVAIL_GPA, virtq_avail_size(num)),
	    gmem_gpa(&mem, USED_GPA, virtq_used_size(num)),
	    last_avail, features), 0);
}

static void
set_desc(struct virtq_desc *t, uint16_t i, uint64_t addr, uint32_t len,
    uint16_t flags, uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

static struct virtq_desc *
itab(void)
{
	return (struct virtq_desc *)(guest + ITAB_GPA);
}

static void
post(uint16_t head)
{
	struct virtq_avail	*a = gavail();

	a->ring[a->idx & (qnum - 1)] = head;
	a->idx++;
}

/* Pop must fail, break the queue, and not advance. */
static void
expect_broken(void)
{
	uint16_t	last = vq.vq_last_avail;

	cr_assert_eq(virtq_pop(&vq, &elem), -EIO);
	cr_assert(vq.vq_broken);
	cr_assert_eq(vq.vq_last_avail, last);
	cr_assert_eq(elem.out_num + elem.in_num, 0);
	cr_assert_not(virtq_has_avail(&vq));
}

Test(virtq, sizes_and_init_checks)
{
	cr_assert_eq(virtq_desc_size(256), 4096);
	cr_assert_eq(virtq_avail_size(256), 6 + 512);
	cr_assert_eq(virtq_used_size(256), 6 + 2048);
	cr_assert_eq(virtq_init(&vq, &mem, 0, gdesc(), gavail(), gused(), 0,
	    0), -EINVAL);
	cr_assert_eq(virtq_init(&vq, &mem, 12, gdesc(), gavail(), gused(), 0,
	    0), -EINVAL);
	cr_assert_eq(virtq_init(&vq, &mem, 8, gdesc(), gavail(), gused(), 0,
	    0), 0);
}

Test(virtq, init_reads_used_idx)
{
	gused()->idx = 7;
	vq_start(8, 3, 0);
	cr_assert_eq(vq.vq_used_idx, 7);
	cr_assert_eq(vq.vq_last_avail, 3);
	cr_assert_not(vq.vq_broken);
}

Test(virtq, empty_queue)
{
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_not(virtq_has_avail(&vq));
	cr_assert_not(vq.vq_broken);
}

Test(virtq, direct_chain_out_then_in)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 2, BUF_GPA, 100, VIRTQ_DESC_F_NEXT, 5);
	set_desc(gdesc(), 5, BUF_GPA + 0x1000, 200, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA + 0x2000, 300, VIRTQ_DESC_F_WRITE, 0);
	post(2);
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 2);
	cr_assert_eq(elem.out_num, 1);
	cr_assert_eq(elem.in_num, 2);
	cr_assert_eq(elem.out_len, 100);
	cr_assert_eq(elem.in_len, 500);
	cr_assert_eq(elem.out, elem.iov);
	cr_assert_eq(elem.in, elem.iov + 1);
	cr_assert_eq(elem.out[0].iov_base, gmem_gpa(&mem, BUF_GPA, 100));
	cr_assert_eq(elem.in[0].iov_base,
	    gmem_gpa(&mem, BUF_GPA + 0x1000, 200));
	cr_assert_eq(elem.in[1].iov_len, 300);
	cr_assert_eq(vq.vq_last_avail, 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
}

Test(virtq, indirect_chain)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, BUF_GPA, 10, VIRTQ_DESC_F_NEXT, 2);
	set_desc(itab(), 2, BUF_GPA + 0x100, 20, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);
	set_desc(itab(), 1, BUF_GPA + 0x200, 30, VIRTQ_DESC_F_WRITE, 0);
	/* WRITE on the descriptor naming the table is ignored. */
	set_desc(gdesc(), 0, ITAB_GPA, 3 * 16, VIRTQ_DESC_F_INDIRECT |
	    VIRTQ_DESC_F_WRITE, 0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.out_num, 1);
	cr_assert_eq(elem.in_num, 2);
	cr_assert_eq(elem.out_len, 10);
	cr_assert_eq(elem.in_len, 50);
	cr_assert_eq(elem.in[1].iov_base, gmem_gpa(&mem, BUF_GPA + 0x200,
	    30));
}

Test(virtq, direct_then_indirect)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(gdesc(), 3, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 4);
	set_desc(gdesc(), 4, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(itab(), 0, BUF_GPA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	post(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.out_num, 1);
	cr_assert_eq(elem.in_num, 1);
	cr_assert_eq(elem.in_len, 64);
}

Test(virtq, buffer_spanning_two_regions)
{
	uint64_t	gpa = REGION_SIZE - 100;

	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, gpa, 300, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.in_num, 2);
	cr_assert_eq(elem.in_len, 300);
	cr_assert_eq(elem.in[0].iov_len, 100);
	cr_assert_eq(elem.in[1].iov_len, 200);
	cr_assert_eq(elem.in[0].iov_base, gmem_gpa(&mem, gpa, 100));
	cr_assert_eq(elem.in[1].iov_base, gmem_gpa(&mem, REGION_SIZE, 200));
	/* Writes through the iovecs land at the right guest bytes. */
	memset(elem.in[0].iov_base, 0xaa, 100);
	memset(elem.in[1].iov_base, 0xbb, 200);
	cr_assert_eq(guest[gpa + 99], 0xaa);
	cr_assert_eq(guest[REGION_SIZE], 0xbb);
}

Test(virtq, indirect_table_spanning_two_regions)
{
	uint64_t		 t = REGION_SIZE - 24;	/* desc 1 straddles */
	struct virtq_desc	 d[2];

	vq_start(8, 0, F_INDIRECT);
	memset(d, 0, sizeof(d));
	d[0].addr = BUF_GPA;
	d[0].len = 8;
	d[0].flags = VIRTQ_DESC_F_NEXT;
	d[0].next = 1;
	d[1].addr = BUF_GPA + 0x100;
	d[1].len = 16;
	d[1].flags = VIRTQ_DESC_F_WRITE;
	memcpy(guest + t, d, sizeof(d));
	set_desc(gdesc(), 0, t, sizeof(d), VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.out_len, 8);
	cr_assert_eq(elem.in_len, 16);
}

/* A table at an odd address (inside one region) is read all the same. */
Test(virtq, indirect_table_misaligned)
{
	uint64_t		 t = ITAB_GPA + 0x801;
	struct virtq_desc	 d[2];

	vq_start(8, 0, F_INDIRECT);
	memset(d, 0, sizeof(d));
	d[0].addr = BUF_GPA;
	d[0].len = 8;
	d[0].flags = VIRTQ_DESC_F_NEXT;
	d[0].next = 1;
	d[1].addr = BUF_GPA + 0x100;
	d[1].len = 16;
	d[1].flags = VIRTQ_DESC_F_WRITE;
	memcpy(guest + t, d, sizeof(d));
	set_desc(gdesc(), 0, t, sizeof(d), VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.out_len, 8);
	cr_assert_eq(elem.in_len, 16);
	cr_assert_eq(elem.in[0].iov_base, gmem_gpa(&mem, BUF_GPA + 0x100,
	    16));
}

Test(virtq, zero_length_descriptor_skipped)
{
	vq_start(8, 0, 0);
	/* Its address is never translated. */
	set_desc(gdesc(), 0, UNMAPPED_GPA, 0, VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA, 16, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.out_num, 0);
	cr_assert_eq(elem.in_num, 1);
	cr_assert_not(vq.vq_broken);
}

Test(virtq, full_ring_and_index_wrap)
{
	unsigned int	i;

	gavail()->idx = 0xfffc;
	vq_start(8, 0xfffc, 0);
	for (i = 0; i < 8; i++) {
		set_desc(gdesc(), (uint16_t)i, BUF_GPA + i * 16, 16, 0, 0);
		post((uint16_t)i);
	}
	cr_assert_eq(gavail()->idx, 4);
	for (i = 0; i < 8; i++) {
		cr_assert_eq(virtq_pop(&vq, &elem), 1);
		cr_assert_eq(elem.head, i);
	}
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_eq(vq.vq_last_avail, 4);
}

/* Malicious chains. */

Test(virtq, direct_loop)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	post(0);
	expect_broken();
}

Test(virtq, direct_self_loop_zero_length)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, 0, 0, VIRTQ_DESC_F_NEXT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_loop)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(itab(), 1, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	set_desc(gdesc(), 0, ITAB_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, next_out_of_range)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 8);
	post(0);
	expect_broken();
}

Test(virtq, indirect_next_out_of_range)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(gdesc(), 0, ITAB_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, head_out_of_range)
{
	vq_start(8, 0, 0);
	post(8);
	expect_broken();
}

Test(virtq, address_unmapped)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, UNMAPPED_GPA, 16, 0, 0);
	post(0);
	expect_broken();
}

Test(virtq, address_runs_past_memory)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, GUEST_SIZE - 8, 16, VIRTQ_DESC_F_WRITE, 0);
	post(0);
	expect_broken();
}

Test(virtq, address_plus_len_wraps)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, 0xfffffffffffffff0ull, 0x20, 0, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_zero_length_table)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(gdesc(), 0, ITAB_GPA, 0, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_length_not_multiple_of_16)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, BUF_GPA, 16, 0, 0);
	set_desc(gdesc(), 0, ITAB_GPA, 24, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_table_too_large)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, BUF_GPA, 16, 0, 0);
	set_desc(gdesc(), 0, ITAB_GPA, 32769 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_table_unmapped)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(gdesc(), 0, UNMAPPED_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_table_wraps)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(gdesc(), 0, 0xfffffffffffffff0ull, 32,
	    VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_inside_indirect)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, ITAB_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(itab(), 16, BUF_GPA, 16, 0, 0);
	set_desc(gdesc(), 0, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_with_next)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(itab(), 0, BUF_GPA, 16, 0, 0);
	set_desc(gdesc(), 0, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT |
	    VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA, 16, 0, 0);
	post(0);
	expect_broken();
}

Test(virtq, indirect_without_feature)
{
	vq_start(8, 0, 0);
	set_desc(itab(), 0, BUF_GPA, 16, 0, 0);
	set_desc(gdesc(), 0, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	expect_broken();
}

Test(virtq, readable_after_writable)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA + 16, 16, 0, 0);
	post(0);
	expect_broken();
}

Test(virtq, readable_after_writable_across_indirect)
{
	vq_start(8, 0, F_INDIRECT);
	set_desc(gdesc(), 0, BUF_GPA, 16, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(itab(), 0, BUF_GPA + 16, 16, 0, 0);
	post(0);
	expect_broken();
}

/* An indirect table of n one-byte writable descriptors. */
static void
many_segments(unsigned int n)
{
	unsigned int	i;

	for (i = 0; i < n; i++)
		set_desc(itab(), (uint16_t)i, BUF_GPA + i, 1,
		    VIRTQ_DESC_F_WRITE | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0),
		    (uint16_t)(i + 1));
	set_desc(gdesc(), 0, ITAB_GPA, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
}

Test(virtq, max_segments_accepted)
{
	vq_start(8, 0, F_INDIRECT);
	many_segments(VIRTQ_MAX_SEGS);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.in_num, VIRTQ_MAX_SEGS);
	cr_assert_eq(elem.in_len, VIRTQ_MAX_SEGS);
}

Test(virtq, too_many_segments)
{
	vq_start(8, 0, F_INDIRECT);
	many_segments(VIRTQ_MAX_SEGS + 1);
	expect_broken();
}

Test(virtq, avail_idx_jump)
{
	vq_start(8, 0, 0);
	gavail()->idx = 9;
	expect_broken();
}

Test(virtq, avail_idx_backwards)
{
	vq_start(8, 5, 0);
	gavail()->idx = 4;	/* 0xffff entries ahead */
	expect_broken();
}

Test(virtq, broken_stays_broken)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 16, VIRTQ_DESC_F_NEXT, 0);
	post(0);
	expect_broken();
	/* Repair the chain and add another: still broken. */
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), -EIO);
	cr_assert_eq(virtq_pop(&vq, &elem), -EIO);
	cr_assert_not(virtq_has_avail(&vq));
	cr_assert_not(virtq_enable_notify(&vq));
	/* Only a new init (device reset) recovers. */
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
}

/* Used ring and notifications. */

Test(virtq, push_and_flush)
{
	gused()->idx = 0xffff;
	vq_start(8, 0, 0);
	virtq_push(&vq, 3, 100);
	virtq_push(&vq, 5, 200);
	cr_assert_eq(gused()->idx, 0xffff, "push must not publish");
	virtq_flush(&vq);
	cr_assert_eq(gused()->idx, 1);
	cr_assert_eq(gused()->ring[7].id, 3);
	cr_assert_eq(gused()->ring[7].len, 100);
	cr_assert_eq(gused()->ring[0].id, 5);
	cr_assert_eq(gused()->ring[0].len, 200);
}

Test(virtq, no_interrupt_flag)
{
	vq_start(8, 0, 0);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));
	gavail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	virtq_push(&vq, 1, 0);
	virtq_flush(&vq);
	cr_assert_not(virtq_should_notify(&vq));
	gavail()->flags = 0;
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_notify)
{
	vq_start(8, 0, F_EVENT_IDX);
	*used_event_p() = 5;	/* ignored: nothing signalled yet */
	gavail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;	/* ignored too */
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));
	cr_assert_eq(vq.vq_signalled_used, 1);

	/* Driver wants an interrupt once used idx passes 2 (entry 2). */
	*used_event_p() = 2;
	virtq_push(&vq, 1, 0);
	virtq_flush(&vq);		/* used idx 2: event not crossed */
	cr_assert_not(virtq_should_notify(&vq));
	virtq_push(&vq, 2, 0);
	virtq_push(&vq, 3, 0);
	virtq_flush(&vq);		/* used idx 4: crossed 2 -> 3 */
	cr_assert(virtq_should_notify(&vq));
	cr_assert_eq(vq.vq_signalled_used, 4);
	/* Nothing new since the last signal. */
	cr_assert_not(virtq_should_notify(&vq));
	/* Event already behind: no interrupt (driver polls). */
	virtq_push(&vq, 4, 0);
	virtq_flush(&vq);
	cr_assert_not(virtq_should_notify(&vq));
	/* Event exactly at the old index. */
	*used_event_p() = 5;
	virtq_push(&vq, 5, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));
}

Test(virtq, event_idx_avail_event_published)
{
	unsigned int	i;

	gavail()->idx = 3;
	vq_start(8, 3, F_EVENT_IDX);
	cr_assert_eq(*avail_event_p(), 3, "init publishes last_avail");
	for (i = 0; i < 3; i++) {
		set_desc(gdesc(), (uint16_t)i, BUF_GPA, 16, 0, 0);
		post((uint16_t)i);
	}
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(*avail_event_p(), 4);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(*avail_event_p(), 6);
	*avail_event_p() = 0;
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_eq(*avail_event_p(), 6, "empty pop re-arms the kick");
}

Test(virtq, notify_enable_disable_flags)
{
	vq_start(8, 0, 0);
	virtq_disable_notify(&vq);
	cr_assert_eq(gused()->flags & VIRTQ_USED_F_NO_NOTIFY,
	    VIRTQ_USED_F_NO_NOTIFY);
	cr_assert_not(virtq_enable_notify(&vq));
	cr_assert_eq(gused()->flags & VIRTQ_USED_F_NO_NOTIFY, 0);
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	virtq_disable_notify(&vq);
	post(0);
	cr_assert(virtq_enable_notify(&vq), "must report the new chain");
}

Test(virtq, notify_enable_event_idx)
{
	vq_start(8, 0, F_EVENT_IDX);
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_disable_notify(&vq);
	cr_assert_eq(gused()->flags, 0, "EVENT_IDX does not use flags");
	*avail_event_p() = 0;
	cr_assert(virtq_enable_notify(&vq));
	cr_assert_eq(*avail_event_p(), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_not(virtq_enable_notify(&vq));
	cr_assert_eq(*avail_event_p(), 2);
}

Test(virtq, iov_copy_helpers)
{
	uint8_t		a[3], b[5], out[8];
	struct iovec	iov[2] = { { a, sizeof(a) }, { b, sizeof(b) } };

	cr_assert_eq(iov_from_buf(iov, 2, 0, "abcdefgh", 8), 8);
	cr_assert_eq(memcmp(a, "abc", 3), 0);
	cr_assert_eq(memcmp(b, "defgh", 5), 0);
	cr_assert_eq(iov_from_buf(iov, 2, 2, "XYZ", 3), 3);
	cr_assert_eq(memcmp(a, "abX", 3), 0);
	cr_assert_eq(memcmp(b, "YZfgh", 5), 0);
	cr_assert_eq(iov_from_buf(iov, 2, 6, "1234", 4), 2);
	cr_assert_eq(iov_from_buf(iov, 2, 9, "1", 1), 0);
	memset(out, 0, sizeof(out));
	cr_assert_eq(iov_to_buf(iov, 2, 1, out, sizeof(out)), 7);
	cr_assert_eq(memcmp(out, "bXYZf12", 7), 0);
	cr_assert_eq(iov_to_buf(iov, 2, 3, out, 2), 2);
	cr_assert_eq(memcmp(out, "YZ", 2), 0);
}

Test(virtq, notify_on_empty)
{
	vq_start(8, 0, 1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
	gavail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	post(0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert_not(virtq_should_notify(&vq), "suppressed, not empty");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq), "ran out of chains");
}

Test(virtq, notify_on_empty_event_idx)
{
	vq_start(8, 0, F_EVENT_IDX | 1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
	set_desc(gdesc(), 0, BUF_GPA, 16, 0, 0);
	post(0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq));	/* first one */
	*used_event_p() = 100;
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	virtq_push(&vq, 0, 0);
	virtq_flush(&vq);
	cr_assert(virtq_should_notify(&vq), "ran out of chains");
	cr_assert_eq(vq.vq_signalled_used, 1);
}

/* Inflight tracking (INFLIGHT_SHMFD): the region survives the back end. */

static struct virtq_inflight *
inflight_region(uint16_t num)
{
	struct virtq_inflight	*r = calloc(1, VIRTQ_INFLIGHT_SIZE(num));

	cr_assert_not_null(r);
	return r;
}

/* Chains 0..n-1, one writable 16-byte buffer each. */
static void
post_simple(uint16_t n)
{
	uint16_t	i;

	for (i = 0; i < n; i++) {
		set_desc(gdesc(), i, BUF_GPA + 16u * i, 16, VIRTQ_DESC_F_WRITE,
		    0);
		post(i);
	}
}

Test(virtq, inflight_tracks_and_resubmits_in_order)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	cr_assert_eq(r->version, 1);
	cr_assert_eq(r->desc_num, 8);
	post_simple(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* 0 */
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* 1 */
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* 2 */
	cr_assert(r->desc[0].inflight && r->desc[1].inflight &&
	    r->desc[2].inflight);
	cr_assert(r->desc[0].counter < r->desc[1].counter &&
	    r->desc[1].counter < r->desc[2].counter);
	/* Out of order: 1 completes, 0 and 2 are still at the back end. */
	virtq_push(&vq, 1, 16);
	virtq_flush(&vq);
	cr_assert_eq(r->desc[1].inflight, 0);
	cr_assert_eq(r->used_idx, 1);

	/*
	 * The back end dies.  QEMU rewinds the base to the used index; the
	 * next back end runs 0 and 2 again, in the order they were taken,
	 * and then only what comes after them.
	 */
	vq_start(8, 1, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 0);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 2);
	cr_assert_eq(virtq_pop(&vq, &elem), 0, "head 1 run twice");
	set_desc(gdesc(), 3, BUF_GPA + 48, 16, VIRTQ_DESC_F_WRITE, 0);
	post(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 3);
	cr_assert_gt(r->desc[3].counter, r->desc[2].counter);
	free(r);
}

Test(virtq, inflight_repairs_a_half_published_batch)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(3);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	/* Died after publishing used->idx, before clearing the batch. */
	virtq_push(&vq, 0, 16);
	virtq_push(&vq, 2, 16);
	gused()->idx = 2;
	cr_assert(r->desc[0].inflight && r->desc[2].inflight);

	vq_start(8, 2, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 1);
	cr_assert_eq(r->used_idx, 2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1, "only 1 was still in flight");
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	free(r);
}

Test(virtq, inflight_region_of_another_size_refused)
{
	struct virtq_inflight	*r = inflight_region(16);
	uint16_t		 resub[16];

	vq_start(16, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), -EINVAL);
	cr_assert_null(vq.vq_inflight);
	free(r);
}

/*
 * A back end that died with every chain the driver made available in
 * flight (fio at iodepth 16, all 16 taken): the driver waits and does not
 * kick again, so the next back end must see the resubmissions as work
 * when the ring becomes ready (vring.c processes a ready ring only if
 * virtq_has_avail), not only after a kick that never comes.
 */
Test(virtq, resubmissions_count_as_available)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_not(virtq_has_avail(&vq));

	/* Dies; QEMU rewinds the base to the used index (0). */
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 2);
	cr_assert(virtq_has_avail(&vq),
	    "two heads to run again, but the queue looks empty");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_not(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	free(r);
}

/*
 * virtq_unpop: the element goes back, the next pop returns it again
 * (net rx when a frame does not fit).
 */
Test(virtq, unpop_gives_the_element_back)
{
	vq_start(8, 0, 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "nothing popped yet");
	set_desc(gdesc(), 3, BUF_GPA, 100, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 4, BUF_GPA + 0x1000, 200, VIRTQ_DESC_F_WRITE, 0);
	post(3);
	post(4);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 3);
	cr_assert_eq(vq.vq_last_avail, 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(vq.vq_last_avail, 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "only once per pop");
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 3, "the same chain again");
	cr_assert_eq(elem.in_len, 100);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 4);
	virtq_push(&vq, 4, 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "pushed: not ours to unpop");
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_eq(virtq_unpop(&vq), -EINVAL, "an empty pop gives nothing");
	cr_assert_not(vq.vq_broken);
}

/* Across the 16-bit wrap of the avail index, with EVENT_IDX. */
Test(virtq, unpop_across_wrap_with_event_idx)
{
	gavail()->idx = 65535;
	vq_start(8, 65535, F_EVENT_IDX);
	set_desc(gdesc(), 6, BUF_GPA, 64, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 1, BUF_GPA + 0x100, 64, VIRTQ_DESC_F_WRITE, 0);
	post(6);		/* avail ring slot 7, idx -> 0 */
	post(1);		/* slot 0, idx -> 1 */
	cr_assert_eq(gavail()->idx, 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 6);
	cr_assert_eq(vq.vq_last_avail, 0);
	cr_assert_eq(*avail_event_p(), 0);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(vq.vq_last_avail, 65535);
	cr_assert_eq(*avail_event_p(), 65535, "avail_event as before the pop");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 6);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1);
}

/* With inflight tracking the record of the unpopped head is undone. */
Test(virtq, unpop_undoes_inflight_record)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];
	uint64_t		 counter;

	vq_start(8, 0, 0);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	counter = r->desc[0].counter;
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(r->desc[1].inflight, 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(r->desc[1].inflight, 0, "not taken any more");
	cr_assert_eq(r->desc[0].inflight, 1, "the other one still is");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1);
	cr_assert_eq(r->desc[1].inflight, 1);
	cr_assert_eq(r->desc[1].counter, counter + 1, "counters stay dense");
	free(r);
}

/* A head left in flight by a dead back end goes back to the front. */
Test(virtq, unpop_resubmitted_head)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	post_simple(2);
	r->version = 1;
	r->desc_num = 8;
	r->desc[1].inflight = 1;
	r->desc[1].counter = 5;
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert(virtq_has_avail(&vq));
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 1, "the resubmitted head again, first");
	free(r);
}

static size_t
avail_bytes(size_t limit)
{
	size_t	n = 12345;

	cr_assert_eq(virtq_avail_bytes(&vq, limit, &n), 0);
	return n;
}

/* Writable bytes only, summed over chains, nothing popped. */
Test(virtq, avail_bytes_counts_writable_bytes)
{
	vq_start(8, 0, F_INDIRECT);
	cr_assert_eq(avail_bytes(SIZE_MAX), 0, "empty ring");
	/* 50 readable + 100 writable. */
	set_desc(gdesc(), 0, BUF_GPA, 50, VIRTQ_DESC_F_NEXT, 1);
	set_desc(gdesc(), 1, BUF_GPA + 0x100, 100, VIRTQ_DESC_F_WRITE, 0);
	/* Readable only. */
	set_desc(gdesc(), 2, BUF_GPA + 0x200, 300, 0, 0);
	/* Indirect: 1000 + 24 writable, split over two descriptors. */
	set_desc(itab(), 0, BUF_GPA + 0x1000, 1000,
	    VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(itab(), 1, BUF_GPA + 0x2000, 24, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 3, ITAB_GPA, 2 * sizeof(struct virtq_desc),
	    VIRTQ_DESC_F_INDIRECT, 0);
	post(0);
	post(2);
	post(3);
	cr_assert_eq(avail_bytes(SIZE_MAX), 1124);
	cr_assert_eq(avail_bytes(1124), 1124);
	cr_assert_eq(avail_bytes(100), 100, "at most the limit");
	cr_assert_eq(avail_bytes(0), 0);
	cr_assert_eq(vq.vq_last_avail, 0, "nothing popped");
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.head, 0);
	cr_assert_eq(avail_bytes(SIZE_MAX), 1024, "from the next pop on");
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_eq(avail_bytes(SIZE_MAX), 1124);
}

/* The count stops at the limit: chains after it are not looked at. */
Test(virtq, avail_bytes_stops_at_the_limit)
{
	vq_start(8, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 100, VIRTQ_DESC_F_WRITE, 0);
	set_desc(gdesc(), 1, BUF_GPA + 0x100, 100, VIRTQ_DESC_F_WRITE |
	    VIRTQ_DESC_F_NEXT, 1);	/* loops on itself */
	post(0);
	post(1);
	cr_assert_eq(avail_bytes(100), 100);
	cr_assert_not(vq.vq_broken, "the bad chain is past the limit");
	/* Asking for more walks it and breaks the queue, as a pop would. */
	cr_assert_eq(virtq_avail_bytes(&vq, 101, &(size_t){ 0 }), -EIO);
	cr_assert(vq.vq_broken);
	cr_assert_eq(virtq_avail_bytes(&vq, 1, &(size_t){ 0 }), -EIO);
}

/* Across the wrap of the 16-bit avail index. */
Test(virtq, avail_bytes_across_wrap)
{
	uint16_t	i;

	gavail()->idx = 65533;
	vq_start(4, 65533, 0);
	for (i = 0; i < 4; i++) {
		set_desc(gdesc(), i, BUF_GPA + 0x100u * i, 10u + i,
		    VIRTQ_DESC_F_WRITE, 0);
		post(i);
	}
	cr_assert_eq(gavail()->idx, 1);
	cr_assert_eq(avail_bytes(SIZE_MAX), 10 + 11 + 12 + 13);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(vq.vq_last_avail, 0);
	cr_assert_eq(avail_bytes(SIZE_MAX), 13);
	/* A driver claiming more than the ring holds is caught here too. */
	gavail()->idx = 5;
	cr_assert_eq(virtq_avail_bytes(&vq, SIZE_MAX, &(size_t){ 0 }), -EIO);
}

/* A head outside the ring, seen by the count, breaks the queue. */
Test(virtq, avail_bytes_bad_head)
{
	vq_start(8, 0, 0);
	post(8);
	cr_assert_eq(virtq_avail_bytes(&vq, 1, &(size_t){ 0 }), -EIO);
	cr_assert(vq.vq_broken);
}

/* At most VIRTQ_AVAIL_SCAN chains per call. */
Test(virtq, avail_bytes_bounded_scan)
{
	uint32_t	i;

	vq_start(512, 0, 0);
	set_desc(gdesc(), 0, BUF_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
	for (i = 0; i < 512; i++)
		post(0);
	cr_assert_eq(avail_bytes(SIZE_MAX), VIRTQ_AVAIL_SCAN);
}

/*
 * After an unpop the device waits for new buffers: enable_notify_more
 * asks for a kick at the next chain the driver adds, which plain
 * enable_notify (avail_event = last_avail) would not get.
 */
Test(virtq, enable_notify_more_after_unpop)
{
	vq_start(8, 0, F_EVENT_IDX);
	post_simple(2);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(virtq_unpop(&vq), 0);
	cr_assert_not(virtq_enable_notify_more(&vq));
	cr_assert_eq(*avail_event_p(), 2, "kick when idx passes 2");
	vq_start(8, 0, 0);
	virtq_disable_notify(&vq);
	cr_assert(gused()->flags & VIRTQ_USED_F_NO_NOTIFY);
	cr_assert_not(virtq_enable_notify_more(&vq));
	cr_assert_not(gused()->flags & VIRTQ_USED_F_NO_NOTIFY);
}

/*
 * virtq_rewind: the last n chains taken go back in order, after earlier
 * ones were pushed (net rx holding buffers for the next frame); inflight
 * records undone; never past what was taken since a resubmitted head.
 */
Test(virtq, rewind_gives_back_the_last_chains)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, F_EVENT_IDX);
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 0);
	post_simple(5);
	cr_assert_eq(virtq_rewind(&vq, 1), -EINVAL, "nothing taken yet");
	cr_assert_eq(virtq_rewind(&vq, 0), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(virtq_pop(&vq, &elem), 1);
		cr_assert_eq(elem.head, i);
	}
	virtq_push(&vq, 0, 0);
	virtq_push(&vq, 1, 0);
	cr_assert_eq(virtq_rewind(&vq, 4), -EINVAL, "more than held");
	cr_assert_eq(virtq_rewind(&vq, 3), 0);
	cr_assert_eq(vq.vq_last_avail, 2);
	cr_assert_eq(*avail_event_p(), 2, "a kick for them again");
	cr_assert_eq(r->desc[2].inflight, 0);
	cr_assert_eq(r->desc[4].inflight, 0);
	cr_assert_eq(virtq_rewind(&vq, 1), -EINVAL, "given back already");
	for (int i = 2; i < 5; i++) {
		cr_assert_eq(virtq_pop(&vq, &elem), 1);
		cr_assert_eq(elem.head, i, "the same chains, in order");
		cr_assert_eq(r->desc[i].inflight, 1);
	}
	cr_assert_eq(virtq_pop(&vq, &elem), 0);
	cr_assert_not(vq.vq_broken);
	free(r);
}

/* A chain taken again from an inflight region cannot be rewound. */
Test(virtq, rewind_stops_at_a_resubmitted_head)
{
	struct virtq_inflight	*r = inflight_region(8);
	uint16_t		 resub[8];

	vq_start(8, 0, 0);
	post_simple(2);
	r->version = 1;
	r->desc_num = 8;
	r->desc[1].inflight = 1;
	r->desc[1].counter = 5;
	cr_assert_eq(virtq_inflight_attach(&vq, r, resub), 1);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* resubmitted 1 */
	cr_assert_eq(virtq_rewind(&vq, 1), -EINVAL);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);		/* from the ring */
	cr_assert_eq(virtq_rewind(&vq, 2), -EINVAL);
	cr_assert_eq(virtq_rewind(&vq, 1), 0);
	free(r);
}
