/*
 * virtq_test: good chains (direct, indirect, mixed, spanning two
 * regions), zero-length descriptors, a full ring and index wrap.
 */

#include <errno.h>

#include "virtq_harness.h"

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

/*
 * Head 0: an indirect table at gpa t of two descriptors, 8 readable bytes
 * then 16 writable ones.
 */
static void
post_indirect_pair(uint64_t t)
{
	struct virtq_desc	d[2];

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
}

Test(virtq, indirect_table_spanning_two_regions)
{
	uint64_t	t = REGION_SIZE - 24;	/* desc 1 straddles */

	post_indirect_pair(t);
	cr_assert_eq(virtq_pop(&vq, &elem), 1);
	cr_assert_eq(elem.out_len, 8);
	cr_assert_eq(elem.in_len, 16);
}

/* A table at an odd address (inside one region) is read all the same. */
Test(virtq, indirect_table_misaligned)
{
	uint64_t	t = ITAB_GPA + 0x801;

	post_indirect_pair(t);
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
