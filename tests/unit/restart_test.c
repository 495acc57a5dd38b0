/*
 * restart_test.c - the restart policy as plain functions: the class of
 * every exit code and signal, which exits count toward giving a device
 * up, the burst window for any N the option accepts, back-off for
 * start-up faults and for crashes after serving, and the restart bucket.
 */
#include <criterion/criterion.h>
#include <signal.h>

#include "host/restart.h"

#define MS	1000000LL
#define SEC	1000000000LL

/* Wait statuses as waitpid(2) builds them. */
#define EXITED(code)	(((code) & 0xff) << 8)
#define KILLED(sig)	((sig) & 0x7f)

Test(restart, classify_every_exit)
{
	static const struct {
		int			st;
		bool			stopped;
		enum sup_exit_class	cls;
	} t[] = {
		{ EXITED(CHILD_EXIT_OK), false, SUP_EXIT_DISCONNECT },
		{ EXITED(CHILD_EXIT_OK), true, SUP_EXIT_STOPPED },
		{ EXITED(CHILD_EXIT_FAILURE), false, SUP_EXIT_DEVICE },
		{ EXITED(CHILD_EXIT_PROTOCOL), false, SUP_EXIT_FRONTEND },
		{ EXITED(CHILD_EXIT_INIT), false, SUP_EXIT_DEVICE },
		{ EXITED(CHILD_EXIT_MEMORY), false, SUP_EXIT_FRONTEND },
		{ EXITED(CHILD_EXIT_TIMEOUT), false, SUP_EXIT_FRONTEND },
		{ EXITED(CHILD_EXIT_PROTOCOL), true, SUP_EXIT_FRONTEND },
		{ EXITED(JAIL_EXIT(JAIL_STEP_PARENT)), false, SUP_EXIT_JAIL },
		{ EXITED(JAIL_EXIT(JAIL_STEP_SECCOMP)), false, SUP_EXIT_JAIL },
		{ EXITED(JAIL_EXIT_BASE), false, SUP_EXIT_DEVICE },
		{ EXITED(JAIL_EXIT(JAIL_STEP_MAX) + 1), false, SUP_EXIT_DEVICE },
		{ EXITED(159), false, SUP_EXIT_DEVICE },	/* seccomp=log */
		{ EXITED(77), false, SUP_EXIT_DEVICE },
		{ KILLED(SIGKILL), false, SUP_EXIT_DEVICE },
		{ KILLED(SIGSEGV), false, SUP_EXIT_DEVICE },
		{ KILLED(SIGSYS), false, SUP_EXIT_DEVICE },
		{ KILLED(SIGBUS), false, SUP_EXIT_DEVICE },
		{ KILLED(SIGTERM), false, SUP_EXIT_DEVICE },
		{ KILLED(SIGTERM), true, SUP_EXIT_STOPPED },
		{ KILLED(SIGKILL), true, SUP_EXIT_STOPPED },
		{ KILLED(SIGSEGV), true, SUP_EXIT_DEVICE },
	};
	unsigned int	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(restart_classify(t[i].st, t[i].stopped), t[i].cls,
		    "row %u (status 0x%x): %s, want %s", i, t[i].st,
		    restart_class_name(restart_classify(t[i].st,
		    t[i].stopped)), restart_class_name(t[i].cls));
	cr_assert_str_eq(restart_class_name(SUP_EXIT_FRONTEND),
	    "front-end fault");
}

/* n counted failures (never served) step ns apart; give-up index or -1. */
static int
crash_loop(unsigned int count, unsigned int secs, unsigned int n,
    int64_t step)
{
	struct sup_restart	sr;
	struct restart_plan	p;
	unsigned int		i;
	int			at = -1;

	cr_assert_eq(restart_init(&sr, count), 0);
	for (i = 0; i < n; i++) {
		restart_plan(&sr, secs, SUP_EXIT_DEVICE, false, 0, 10,
		    SEC + (int64_t)i * step, &p);
		cr_assert(p.rp_counted);
		if (p.rp_give_up) {
			at = (int)i + 1;
			break;
		}
	}
	restart_fini(&sr);
	return at;
}

Test(restart, burst_window_counts_right_for_every_n)
{
	static const unsigned int	ns[] = { 1, 2, 3, 10, 16, 17, 20, 64,
					    999, 1000 };
	unsigned int			i, n;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		n = ns[i];
		/* n failures within the window: given up at the n-th. */
		cr_expect_eq(crash_loop(n, 60, n + 5, 10 * MS), (int)n,
		    "N=%u", n);
		/* Any n in a row span just over the window: never. */
		if (n > 1)
			cr_expect_eq(crash_loop(n, 60, 3 * n + 5,
			    (int64_t)60 * SEC / (n - 1) + MS), -1, "N=%u", n);
	}
	/* 0: restart for ever. */
	cr_assert_eq(crash_loop(0, 60, 5000, MS), -1);
}

Test(restart, jail_failures_count)
{
	struct sup_restart	sr;
	struct restart_plan	p;
	unsigned int		i;

	cr_assert_eq(restart_init(&sr, 3), 0);
	for (i = 0; i < 3; i++) {
		/* Even a lying "served" does not excuse a jail failure. */
		restart_plan(&sr, 60, SUP_EXIT_JAIL, true, 5000, 10,
		    SEC + i * MS, &p);
		cr_assert(p.rp_counted);
	}
	cr_assert(p.rp_give_up);
	restart_fini(&sr);
}

Test(restart, start_up_back_off_doubles_and_caps)
{
	static const unsigned int	want[] = { 100, 200, 400, 800, 1600,
					    3200, 6400, 10000, 10000 };
	struct sup_restart		sr;
	struct restart_plan		p;
	int64_t				t = SEC;
	unsigned int			i;

	cr_assert_eq(restart_init(&sr, 0), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		restart_plan(&sr, 60, SUP_EXIT_DEVICE, false, 0, 5, t, &p);
		cr_assert_eq(p.rp_delay_ms, want[i], "%u: %u ms", i,
		    p.rp_delay_ms);
		cr_assert_not(p.rp_throttled);
		t += (int64_t)p.rp_delay_ms * MS;
	}
	/* A child that ran 10 s resets it. */
	restart_plan(&sr, 60, SUP_EXIT_DEVICE, false, 0, 10000, t, &p);
	cr_assert_eq(p.rp_delay_ms, 100);
	restart_fini(&sr);
}

Test(restart, served_crashes_are_never_given_up)
{
	struct sup_restart	sr;
	struct restart_plan	p;
	int64_t			t = SEC;
	unsigned int		i;

	/* The tightest limit: one counted failure would end it. */
	cr_assert_eq(restart_init(&sr, 1), 0);
	for (i = 0; i < 1000; i++) {
		/* Killed after serving 1.2 s: back at once, every time. */
		restart_plan(&sr, 60, SUP_EXIT_DEVICE, true, 1200, 1300, t, &p);
		cr_assert_not(p.rp_counted);
		cr_assert_not(p.rp_give_up);
		cr_assert_eq(p.rp_delay_ms, 0, "crash %u: %u ms", i,
		    p.rp_delay_ms);
		t += 1300 * MS;
	}
	restart_fini(&sr);
}

Test(restart, quick_served_crashes_back_off_to_a_short_cap)
{
	static const unsigned int	want[] = { 0, 20, 40, 80, 160, 320, 640,
					    1000, 1000, 1000 };
	struct sup_restart		sr;
	struct restart_plan		p;
	int64_t				t = SEC;
	unsigned int			i;

	cr_assert_eq(restart_init(&sr, 10), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* Crashes 10 ms after connecting: a guest-triggered bug. */
		restart_plan(&sr, 60, SUP_EXIT_DEVICE, true, 10, 20, t, &p);
		cr_assert_not(p.rp_give_up);
		cr_assert_eq(p.rp_delay_ms, want[i], "%u: %u ms", i,
		    p.rp_delay_ms);
		t += (int64_t)(p.rp_delay_ms + 20) * MS;
	}
	/* Serving for a while (1 s) resets it. */
	restart_plan(&sr, 60, SUP_EXIT_DEVICE, true, 999, 1010, t, &p);
	cr_assert_eq(p.rp_delay_ms, 1000, "999 ms is not a while");
	t += 2 * SEC;
	restart_plan(&sr, 60, SUP_EXIT_DEVICE, true, 1000, 1010, t, &p);
	cr_assert_eq(p.rp_delay_ms, 0);
	restart_fini(&sr);
}

Test(restart, front_end_exits_are_throttled_not_given_up)
{
	struct sup_restart	sr;
	struct restart_plan	p;
	int64_t			t = SEC, start;
	unsigned int		i = 0, starts = 0, n = 0;

	cr_assert_eq(restart_init(&sr, 1), 0);
	/* A storm: each child ends 1 ms after it started, for 10 s. */
	start = t;
	while (t - start < 10 * SEC) {
		restart_plan(&sr, 60, i % 2 ? SUP_EXIT_FRONTEND :
		    SUP_EXIT_DISCONNECT, true, 0, 1, t, &p);
		cr_assert_not(p.rp_give_up);
		cr_assert_not(p.rp_counted);
		starts += p.rp_storm_start;
		t += (int64_t)p.rp_delay_ms * MS + MS;
		n++;
		i++;
	}
	/* Burst 20, then 10 per second. */
	cr_assert(n >= 20 + 95 && n <= 20 + 101, "%u restarts in 10 s", n);
	cr_assert_eq(starts, 1, "the storm is reported %u times", starts);
	cr_assert(sr.sr_throttled);
	/* Quiet for 2 s: the bucket refills and the end is reported. */
	t += 2 * SEC + 100 * MS;
	restart_plan(&sr, 60, SUP_EXIT_DISCONNECT, true, 5000, 5000, t, &p);
	cr_assert_eq(p.rp_delay_ms, 0);
	cr_assert_gt(p.rp_storm_end, 90, "%lu", p.rp_storm_end);
	cr_assert_not(sr.sr_throttled);
	restart_fini(&sr);
}

Test(restart, the_bucket_also_bounds_served_crashes)
{
	struct sup_restart	sr;
	struct restart_plan	p;
	int64_t			t = SEC;
	unsigned int		i;

	cr_assert_eq(restart_init(&sr, 10), 0);
	/* A child that lies about having served 10 s, crashing at once. */
	for (i = 0; i < 40; i++) {
		restart_plan(&sr, 60, SUP_EXIT_DEVICE, true, 10000, 1, t, &p);
		cr_assert_not(p.rp_give_up);
		if (i < 20)
			cr_assert_eq(p.rp_delay_ms, 0);
		else
			cr_assert_geq(p.rp_delay_ms, 99, "%u: %u ms", i,
			    p.rp_delay_ms);
		t += (int64_t)p.rp_delay_ms * MS;
	}
	restart_fini(&sr);
}
