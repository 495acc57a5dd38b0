/*
 * ratelimit_test.c - the token bucket: burst, refill rate, reservations
 * that queue, no drift over many small steps, and the real clock.
 */
#include <criterion/criterion.h>

#include "util/ratelimit.h"

#define MS	1000000LL
#define SEC	1000000000LL

Test(ratelimit, burst_then_rate)
{
	struct ratelimit	rl;
	int64_t			t = 5 * SEC;
	unsigned int		i, n;

	ratelimit_init(&rl, 20, 10);
	for (i = 0; i < 20; i++)
		cr_assert(ratelimit_allow(&rl, t), "token %u of the burst", i);
	cr_assert_not(ratelimit_allow(&rl, t), "21st token at once");
	cr_assert_eq(rl.rl_limited, 1);
	/* 99 ms later: still nothing; at 100 ms: one. */
	cr_assert_not(ratelimit_allow(&rl, t + 99 * MS));
	cr_assert(ratelimit_allow(&rl, t + 100 * MS));
	cr_assert_not(ratelimit_allow(&rl, t + 100 * MS));
	/* Over 10 s of asking every millisecond: 10 per second. */
	for (n = 0, i = 1; i <= 10000; i++)
		n += ratelimit_allow(&rl, t + 100 * MS + (int64_t)i * MS);
	cr_assert_eq(n, 100, "%u tokens in 10 s", n);
}

Test(ratelimit, refill_caps_at_the_burst)
{
	struct ratelimit	rl;
	unsigned int		i, n = 0;

	ratelimit_init(&rl, 3, 1);
	cr_assert(ratelimit_full(&rl, 0));
	cr_assert(ratelimit_allow(&rl, 0));
	cr_assert_not(ratelimit_full(&rl, 0));
	/* An hour idle earns 3 tokens, not 3600. */
	for (i = 0; i < 10; i++)
		n += ratelimit_allow(&rl, 3600 * SEC);
	cr_assert_eq(n, 3);
	cr_assert(ratelimit_full(&rl, 3603 * SEC));
}

Test(ratelimit, reservations_queue)
{
	struct ratelimit	rl;
	int64_t			t = 0;
	unsigned int		i;

	ratelimit_init(&rl, 2, 10);
	cr_assert_eq(ratelimit_reserve(&rl, t), 0);
	cr_assert_eq(ratelimit_reserve(&rl, t), 0);
	/* Empty: the next ones wait 100 ms, 200 ms, ... */
	cr_assert_eq(ratelimit_reserve(&rl, t), 100 * MS);
	cr_assert_eq(ratelimit_reserve(&rl, t), 200 * MS);
	cr_assert_eq(rl.rl_limited, 2);
	/* At 200 ms both are due and the bucket is empty. */
	cr_assert_eq(ratelimit_reserve(&rl, t + 200 * MS), 100 * MS);
	/* A caller that waits as told gets 10 per second, no more. */
	t += 300 * MS;
	for (i = 0; i < 50; i++) {
		int64_t	w = ratelimit_reserve(&rl, t);

		cr_assert_eq(w, 100 * MS, "reservation %u: %lld ns", i,
		    (long long)w);
		t += w;
	}
	cr_assert_not(ratelimit_full(&rl, t));
	cr_assert(ratelimit_full(&rl, t + 300 * MS));
}

Test(ratelimit, no_drift_in_small_steps)
{
	struct ratelimit	rl;
	unsigned int		i, n = 0;

	/* 3 per second does not divide a second: 333333333 ns a token. */
	ratelimit_init(&rl, 1, 3);
	(void)ratelimit_allow(&rl, 0);
	for (i = 1; i <= 60 * 1000; i++)
		n += ratelimit_allow(&rl, (int64_t)i * MS);
	cr_assert(n >= 179 && n <= 180, "%u tokens in 60 s at 3/s", n);
}

Test(ratelimit, zero_means_one_and_clock_runs)
{
	struct ratelimit	rl;
	int64_t			a, b;

	ratelimit_init(&rl, 0, 0);
	a = ratelimit_now();
	cr_assert(ratelimit_allow(&rl, a));
	cr_assert_not(ratelimit_allow(&rl, a));
	cr_assert(ratelimit_allow(&rl, a + SEC));
	b = ratelimit_now();
	cr_assert_geq(b, a);
	/* Time that runs back earns nothing. */
	cr_assert_not(ratelimit_allow(&rl, a));
}
