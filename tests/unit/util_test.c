/*
 * util_test.c - the small shared helpers of util.h: timeval_ms (every
 * timer of the supervisor and the child's watchdog), parse_u64 bounds.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "util/util.h"

Test(util, timeval_ms_splits_seconds_and_microseconds)
{
	struct timeval	tv;

	tv = timeval_ms(0);
	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0);
	tv = timeval_ms(999);
	cr_assert(tv.tv_sec == 0 && tv.tv_usec == 999000);
	tv = timeval_ms(1000);
	cr_assert(tv.tv_sec == 1 && tv.tv_usec == 0);
	/* The longest grace (3600 s) and the largest delay it can be told. */
	tv = timeval_ms(3600 * 1000 + 1);
	cr_assert(tv.tv_sec == 3600 && tv.tv_usec == 1000);
	tv = timeval_ms(4294967295u);
	cr_assert(tv.tv_sec == 4294967 && tv.tv_usec == 295000);
}

Test(util, parse_u64_bounds)
{
	uint64_t	v;

	cr_assert_eq(parse_u64("3600", 0, 3600, &v), 0);
	cr_assert_eq(v, 3600);
	cr_assert_lt(parse_u64("3601", 0, 3600, &v), 0);
	cr_assert_lt(parse_u64("", 0, 3600, &v), 0);
	cr_assert_lt(parse_u64("12x", 0, 3600, &v), 0);
	cr_assert_lt(parse_u64("2", 3, 3600, &v), 0);
}
