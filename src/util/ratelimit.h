/*
 * ratelimit.h - one token bucket for everything a peer can make vhostd
 * do more of: restarts of a device child, log lines of a child, ...
 * (STYLE.md: budgets everywhere a peer controls the amount of work).
 *
 * A bucket holds up to burst tokens and gains rate tokens per second.
 * Time is passed in (CLOCK_MONOTONIC nanoseconds, ratelimit_now()), so
 * the arithmetic is testable; integers only, no drift.
 */
#ifndef VHOSTD_UTIL_RATELIMIT_H
#define VHOSTD_UTIL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	int64_t		rl_cost_ns;	/* refill time of one token */
	int64_t		rl_cap_ns;	/* burst * cost */
	int64_t		rl_credit_ns;	/* tokens held, in refill time;
					   negative: reserved ahead */
	int64_t		rl_last_ns;	/* last refill */
	bool		rl_started;
	uint64_t	rl_limited;	/* takes refused or delayed */
};

/*
 * A full bucket of burst tokens (>= 1) refilled at rate (>= 1) tokens per
 * second.  Values of 0 are taken as 1.
 */
void	ratelimit_init(struct ratelimit *rl, unsigned int burst,
	    unsigned int rate);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t	ratelimit_now(void);

/*
 * Take a token if one is there: true (taken) or false (none; nothing
 * taken, rl_limited counts it).  For work that can be dropped.
 */
bool	ratelimit_allow(struct ratelimit *rl, int64_t now);

/*
 * Take a token, borrowing from the future if the bucket is empty, and
 * return how long to wait (ns) before doing the work: 0 when a token was
 * there.  For work that must happen, later (a restart).  Reservations
 * queue: each one waits for its own token.
 */
int64_t	ratelimit_reserve(struct ratelimit *rl, int64_t now);

/* Whether the bucket is full again at now (a storm is over). */
bool	ratelimit_full(struct ratelimit *rl, int64_t now);

#endif /* VHOSTD_UTIL_RATELIMIT_H */
