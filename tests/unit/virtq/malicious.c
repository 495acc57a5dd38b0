/* virtq_test: malicious chains. */

#include <errno.h>

#include "virtq_harness.h"

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
