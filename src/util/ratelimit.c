/*
 * ratelimit.c - a token bucket kept as refill time (nanoseconds) rather
 * than as a count, so that fractions of a token need no floating point.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"
#include "ratelimit.h"

#define NSEC_PER_SEC	1000000000LL

void
ratelimit_init(struct ratelimit *rl, unsigned int burst, unsigned int rate)
{
	if (burst == 0)
		burst = 1;
	if (rate == 0)
		rate = 1;
	rl->rl_cost_ns = NSEC_PER_SEC / rate;
	if (rl->rl_cost_ns == 0)
		rl->rl_cost_ns = 1;
	rl->rl_cap_ns = rl->rl_cost_ns * (int64_t)burst;
	rl->rl_credit_ns = rl->rl_cap_ns;
	rl->rl_last_ns = 0;
	rl->rl_started = false;
	rl->rl_limited = 0;
}

int64_t
ratelimit_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Add the credit earned since the last call (time never runs back). */
static void
refill(struct ratelimit *rl, int64_t now)
{
	if (!rl->rl_started) {
		rl->rl_started = true;
		rl->rl_last_ns = now;
		return;
	}
	if (now <= rl->rl_last_ns)
		return;
	if (now - rl->rl_last_ns >= rl->rl_cap_ns - rl->rl_credit_ns)
		rl->rl_credit_ns = rl->rl_cap_ns;
	else
		rl->rl_credit_ns += now - rl->rl_last_ns;
	rl->rl_last_ns = now;
}

bool
ratelimit_allow(struct ratelimit *rl, int64_t now)
{
	refill(rl, now);
	if (rl->rl_credit_ns < rl->rl_cost_ns) {
		rl->rl_limited++;
		return false;
	}
	rl->rl_credit_ns -= rl->rl_cost_ns;
	return true;
}

int64_t
ratelimit_reserve(struct ratelimit *rl, int64_t now)
{
	int64_t	wait;

	refill(rl, now);
	rl->rl_credit_ns -= rl->rl_cost_ns;
	if (rl->rl_credit_ns >= 0)
		return 0;
	rl->rl_limited++;
	wait = -rl->rl_credit_ns;
	return wait;
}

bool
ratelimit_full(struct ratelimit *rl, int64_t now)
{
	refill(rl, now);
	return rl->rl_credit_ns >= rl->rl_cap_ns;
}

void
ratelimit_log_init(struct ratelimit_log *rlg, unsigned int burst,
    unsigned int rate)
{
	if (burst == 0 && rate == 0) {
		burst = RATELIMIT_LOG_BURST;
		rate = RATELIMIT_LOG_RATE;
	}
	ratelimit_init(&rlg->rlg_rl, burst, rate);
	rlg->rlg_dropped = 0;
}

bool
ratelimit_warnx(struct ratelimit_log *rlg, int64_t now, const char *fmt, ...)
{
	char	buf[768];
	va_list	ap;

	if (!ratelimit_allow(&rlg->rlg_rl, now)) {
		rlg->rlg_dropped++;
		return false;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (rlg->rlg_dropped > 0)
		log_warnx("%s (%lu similar messages suppressed)", buf,
		    rlg->rlg_dropped);
	else
		log_warnx("%s", buf);
	rlg->rlg_dropped = 0;
	return true;
}
