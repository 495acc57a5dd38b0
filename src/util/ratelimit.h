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

/*
 * A budget for diagnostics a peer can trigger (a front end, a child, a
 * control client): at most burst messages at once, then rate per second.
 * What does not pass is counted, and the next message that passes says
 * how many were suppressed.  The one mechanism for such messages; use it
 * instead of "log once" flags or ad-hoc counters.
 */
struct ratelimit_log {
	struct ratelimit	rlg_rl;
	unsigned long		rlg_dropped;
};

#define RATELIMIT_LOG_BURST	10
#define RATELIMIT_LOG_RATE	1

/* burst, rate as ratelimit_init(); 0, 0: the defaults above. */
void	ratelimit_log_init(struct ratelimit_log *rlg, unsigned int burst,
	    unsigned int rate);

/*
 * log_warnx(fmt, ...) if the budget allows at now (ratelimit_now()),
 * followed by " (N similar messages suppressed)" when some were; else
 * count it.  true when logged.
 */
bool	ratelimit_warnx(struct ratelimit_log *rlg, int64_t now,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* VHOSTD_UTIL_RATELIMIT_H */
