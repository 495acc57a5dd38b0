/*
 * restart.h - the restart policy of one device, as plain functions of a
 * child's exit status and the time (vhostd(8) EXIT CLASSES): which class
 * an exit belongs to, which exits count toward giving the device up, how
 * long to wait before the next child.  No processes, no clocks read here:
 * the supervisor passes them in, the unit test too.  Internal to
 * src/host.
 */
#ifndef VHOSTD_HOST_RESTART_H
#define VHOSTD_HOST_RESTART_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/ratelimit.h"
#include "supervisor.h"

/*
 * What the restart policy (vhostd(8) EXIT CLASSES) remembers of one
 * device across its children.
 */
struct sup_restart {
	struct ratelimit	 sr_bucket;	/* every restart */
	int64_t			*sr_fail;	/* ring: counted failures (ns) */
	unsigned int		 sr_cap;	/* its size: the burst count */
	unsigned int		 sr_nfail;
	unsigned int		 sr_head;	/* next slot */
	unsigned int		 sr_backoff_ms;	/* start-up faults */
	unsigned int		 sr_crash_ms;	/* faults after serving */
	bool			 sr_throttled;	/* the bucket is empty */
	unsigned long		 sr_nthrottled;	/* restarts it delayed */
};

/* Every restart: a burst of 20, then 10 per second, per device. */
#define RESTART_BUCKET_BURST	20
#define RESTART_BUCKET_RATE	10
/* Start-up faults (counted): 100 ms doubling to 10 s; reset by 10 s up. */
#define RESTART_BACKOFF_MIN_MS	100
#define RESTART_BACKOFF_MAX_MS	10000
#define RESTART_STABLE_MS	10000
/*
 * A child that served and crashed: at once, then, if the next one crashes
 * again before it served RESTART_SERVED_MS, 20 ms doubling to 1 s.
 */
#define RESTART_CRASH_MIN_MS	20
#define RESTART_CRASH_MAX_MS	1000
#define RESTART_SERVED_MS	1000

/*
 * The class of a child's exit from its wait status.  stopped: the parent
 * asked it to end (shutdown, reload), so SIGTERM, SIGKILL or a clean exit
 * is SUP_EXIT_STOPPED.  Exit codes: CHILD_EXIT_OK is a disconnect;
 * PROTOCOL, MEMORY and TIMEOUT are front-end faults; FAILURE, INIT, any
 * other code and any signal are device faults; JAIL_EXIT_* (a jail step
 * failed) are jail failures.
 */
enum sup_exit_class restart_classify(int status, bool stopped);

/* "front end disconnected", "front-end fault", ... for log lines. */
const char	*restart_class_name(enum sup_exit_class cls);

/*
 * A fresh policy state for a device given up after burst_count counted
 * failures within a window (0: never).  0, or -ENOMEM.
 */
int	restart_init(struct sup_restart *sr, unsigned int burst_count);
void	restart_fini(struct sup_restart *sr);

/* What to do after a child exit that is to be restarted. */
struct restart_plan {
	bool		rp_give_up;	/* burst limit reached */
	bool		rp_counted;	/* counted toward it */
	unsigned int	rp_delay_ms;	/* wait before the next child */
	bool		rp_throttled;	/* the bucket, not back-off, set it */
	bool		rp_storm_start;	/* first throttled one: log it */
	unsigned long	rp_storm_end;	/* >0: the bucket refilled after it
					   delayed this many restarts */
};

/*
 * Plan the restart after an exit of class cls.  served: the child said it
 * connected a front end, served_ms ago; uptime_ms: how long the child ran;
 * now: ratelimit_now().  burst_secs is the window of the burst limit.
 * Only jail failures and device faults of children that never served are
 * counted; every restart takes a token of the bucket.
 */
void	restart_plan(struct sup_restart *sr, unsigned int burst_secs,
	    enum sup_exit_class cls, bool served, int64_t served_ms,
	    int64_t uptime_ms, int64_t now, struct restart_plan *out);

#endif /* VHOSTD_HOST_RESTART_H */
