/*
 * blk_poll_test.c - the adaptive poll window of blk's queues
 * (blk_poll_next, blk_poll.c), as a pure function: it starts at
 * BLK_POLL_START_NS and doubles while work comes after the window but
 * within the maximum (poll-us), stays while the window catches it,
 * halves (0 below BLK_POLL_START_NS) when no window up to the maximum
 * would have, goes to 0 when the thread was preempted while it spun
 * (then stays at 0 for BLK_POLL_HOLD_NS); it never exceeds the maximum;
 * poll-us=0 never polls; a deep queue (runs of BLK_POLL_DEEP requests)
 * polls for the whole maximum and is not held.
 */
#include <criterion/criterion.h>
#include <stdint.h>

#include "devices/blk_io_int.h"

#define US	1000u
#define MAX	(32u * US)	/* poll-us=32, the default */
#define T0	1000000000u	/* some clock reading (ns) */

/* One step from window cur: the window after it. */
static uint64_t
step(uint64_t cur, uint64_t max, uint64_t idle)
{
	struct blk_poll_ctl	pc = { .pc_ns = cur };

	blk_poll_next(&pc, max, idle, false, 0, T0);
	return pc.pc_ns;
}

Test(blk_poll, grows_from_zero_while_work_comes_within_the_maximum)
{
	uint64_t	w = 0;

	/* A request 10 us after the queue went quiet: not caught (0). */
	w = step(w, MAX, 10 * US);
	cr_assert_eq(w, BLK_POLL_START_NS);
	w = step(w, MAX, 10 * US);
	cr_assert_eq(w, BLK_POLL_START_NS * BLK_POLL_GROW);
	w = step(w, MAX, 10 * US);
	cr_assert_eq(w, BLK_POLL_START_NS * BLK_POLL_GROW * BLK_POLL_GROW);
	/* 16 us now catches 10 us: it stays. */
	cr_assert_eq(step(w, MAX, 10 * US), w);
	cr_assert_eq(step(w, MAX, w), w, "at the edge");
	cr_assert_eq(step(w, MAX, 1), w);
}

Test(blk_poll, capped_at_the_maximum)
{
	uint64_t	w = 0;
	int		i;

	for (i = 0; i < 20; i++) {
		w = step(w, MAX, MAX);
		cr_assert_leq(w, MAX, "round %d: %llu", i,
		    (unsigned long long)w);
	}
	cr_assert_eq(w, MAX);
	/* A window above a lowered maximum is cut to it. */
	cr_assert_eq(step(MAX, 8 * US, 1 * US), 8 * US);
	/* poll-us=1..3 (below the first window): the maximum. */
	cr_assert_eq(step(0, 2 * US, 1 * US), 2 * US);
	/* Growing does not overshoot: 24 -> 32, not 48. */
	cr_assert_eq(step(24 * US, MAX, 30 * US), MAX);
}

Test(blk_poll, shrinks_when_polling_does_not_pay)
{
	/* The work came later than any window up to poll-us: halved. */
	cr_assert_eq(step(MAX, MAX, MAX + 1), MAX / BLK_POLL_SHRINK);
	cr_assert_eq(step(16 * US, MAX, 5000 * US), 16 * US / BLK_POLL_SHRINK);
	/* Below the first window: 0. */
	cr_assert_eq(step(BLK_POLL_START_NS, MAX, 5000 * US), 0);
	cr_assert_eq(step(0, MAX, 5000 * US), 0);
	/* Long waits take it down to 0 in a few steps. */
	cr_assert_eq(step(step(step(step(MAX, MAX, 1000 * US), MAX, 1000 * US),
	    MAX, 1000 * US), MAX, 1000 * US), 0);
	/* And it starts again from BLK_POLL_START_NS. */
	cr_assert_eq(step(0, MAX, 2 * US), BLK_POLL_START_NS);
}

Test(blk_poll, preempted_while_spinning_shallow_zero_then_held)
{
	struct blk_poll_ctl	pc = { .pc_ns = MAX };

	blk_poll_next(&pc, MAX, 0, true, 1, T0);
	cr_assert_eq(pc.pc_ns, 0);
	/* Work soon after: a window would catch it, but not yet. */
	blk_poll_next(&pc, MAX, 2 * US, false, 0, T0 + 1);
	cr_assert_eq(pc.pc_ns, 0);
	blk_poll_next(&pc, MAX, 2 * US, false, 0,
	    T0 + BLK_POLL_HOLD_NS - 1);
	cr_assert_eq(pc.pc_ns, 0);
	/* Once the hold is over it grows again. */
	blk_poll_next(&pc, MAX, 2 * US, false, 0, T0 + BLK_POLL_HOLD_NS);
	cr_assert_eq(pc.pc_ns, BLK_POLL_START_NS);
	/* A long wait still shrinks during a hold. */
	pc.pc_ns = 16 * US;
	blk_poll_next(&pc, MAX, 0, true, 1, T0);
	pc.pc_ns = 16 * US;	/* as if it had grown meanwhile */
	blk_poll_next(&pc, MAX, 5000 * US, false, 0, T0 + 1);
	cr_assert_eq(pc.pc_ns, 8 * US);
}

Test(blk_poll, deep_queue_polls_the_whole_maximum)
{
	struct blk_poll_ctl	pc = { .pc_ns = 16 * US };

	/* Runs of BLK_POLL_DEEP requests: poll-us, whatever pc says. */
	cr_assert_eq(blk_poll_window(&pc, MAX, BLK_POLL_DEEP), MAX);
	cr_assert_eq(blk_poll_window(&pc, MAX, BLK_POLL_DEEP - 1), 16 * US);
	cr_assert_eq(blk_poll_window(&pc, 8 * US, 1), 8 * US, "capped");
	cr_assert_eq(blk_poll_window(&pc, 0, BLK_POLL_DEEP), 0, "poll-us=0");
	/* Preempted while deep: nothing changes, no hold. */
	blk_poll_next(&pc, MAX, 0, true, BLK_POLL_DEEP, T0);
	cr_assert_eq(pc.pc_ns, 16 * US);
	pc.pc_ns = 0;
	blk_poll_next(&pc, MAX, 2 * US, false, 0, T0 + 1);
	cr_assert_eq(pc.pc_ns, BLK_POLL_START_NS);
	/* One request fewer is shallow: 0, and held. */
	pc.pc_ns = MAX;
	blk_poll_next(&pc, MAX, 0, true, BLK_POLL_DEEP - 1, T0);
	cr_assert_eq(pc.pc_ns, 0);
	blk_poll_next(&pc, MAX, 2 * US, false, 0, T0 + 1);
	cr_assert_eq(pc.pc_ns, 0);
}

Test(blk_poll, poll_us_zero_never_polls)
{
	cr_assert_eq(step(0, 0, 0), 0);
	cr_assert_eq(step(0, 0, 1 * US), 0);
	cr_assert_eq(step(MAX, 0, 1 * US), 0);
}
