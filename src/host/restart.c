/*
 * restart.c - classify child exits and plan restarts: only faults of the
 * device that keep it from ever serving (a crash loop at start-up, a jail
 * that fails) give it up; everything a front end can cause is restarted
 * for ever, through one token bucket per device, so no peer can make the
 * root parent spin or take a device away.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../util/util.h"
#include "restart.h"

#define NSEC_PER_MS	1000000LL

enum sup_exit_class
restart_classify(int status, bool stopped)
{
	int	code;

	if (WIFSIGNALED(status)) {
		if (stopped && (WTERMSIG(status) == SIGTERM ||
		    WTERMSIG(status) == SIGKILL))
			return SUP_EXIT_STOPPED;
		return SUP_EXIT_DEVICE;
	}
	if (!WIFEXITED(status))
		return SUP_EXIT_DEVICE;
	code = WEXITSTATUS(status);
	switch (code) {
	case CHILD_EXIT_OK:
		return stopped ? SUP_EXIT_STOPPED : SUP_EXIT_DISCONNECT;
	case CHILD_EXIT_PROTOCOL:
	case CHILD_EXIT_MEMORY:
	case CHILD_EXIT_TIMEOUT:
		return SUP_EXIT_FRONTEND;
	case CHILD_EXIT_FAILURE:
	case CHILD_EXIT_INIT:
		return SUP_EXIT_DEVICE;
	default:
		break;
	}
	if (code > JAIL_EXIT_BASE && code <= JAIL_EXIT(JAIL_STEP_MAX))
		return SUP_EXIT_JAIL;
	return SUP_EXIT_DEVICE;
}

const char *
restart_class_name(enum sup_exit_class cls)
{
	switch (cls) {
	case SUP_EXIT_DISCONNECT:
		return "front end disconnected";
	case SUP_EXIT_FRONTEND:
		return "front-end fault";
	case SUP_EXIT_DEVICE:
		return "device fault";
	case SUP_EXIT_JAIL:
		return "jail failure";
	case SUP_EXIT_STOPPED:
		return "stopped";
	}
	return "?";
}

int
restart_init(struct sup_restart *sr, unsigned int burst_count)
{
	memset(sr, 0, sizeof(*sr));
	ratelimit_init(&sr->sr_bucket, RESTART_BUCKET_BURST,
	    RESTART_BUCKET_RATE);
	if (burst_count == 0)
		return 0;
	if ((sr->sr_fail = calloc(burst_count, sizeof(*sr->sr_fail))) == NULL)
		return -ENOMEM;
	sr->sr_cap = burst_count;
	return 0;
}

void
restart_fini(struct sup_restart *sr)
{
	free(sr->sr_fail);
	sr->sr_fail = NULL;
	sr->sr_cap = sr->sr_nfail = sr->sr_head = 0;
}

/*
 * Record a counted failure at now; true when it is the burst count-th
 * within burst_secs (the oldest of the last sr_cap is inside the window).
 */
static bool
burst_exceeded(struct sup_restart *sr, unsigned int burst_secs, int64_t now)
{
	unsigned int	oldest;

	if (sr->sr_cap == 0)
		return false;	/* restarts for ever */
	sr->sr_fail[sr->sr_head] = now;
	sr->sr_head = (sr->sr_head + 1) % sr->sr_cap;
	if (sr->sr_nfail < sr->sr_cap)
		sr->sr_nfail++;
	if (sr->sr_nfail < sr->sr_cap)
		return false;
	oldest = sr->sr_head;	/* the ring is full: next slot is oldest */
	return now - sr->sr_fail[oldest] <=
	    (int64_t)burst_secs * 1000 * NSEC_PER_MS;
}

void
restart_plan(struct sup_restart *sr, unsigned int burst_secs,
    enum sup_exit_class cls, bool served, int64_t served_ms,
    int64_t uptime_ms, int64_t now, struct restart_plan *out)
{
	unsigned int	backoff = 0, wait_ms;
	int64_t		wait;

	memset(out, 0, sizeof(*out));
	/* A child that served shows the device starts; a while: it runs. */
	if (served)
		sr->sr_backoff_ms = 0;
	if (served && served_ms >= RESTART_SERVED_MS)
		sr->sr_crash_ms = 0;
	out->rp_counted = cls == SUP_EXIT_JAIL ||
	    (cls == SUP_EXIT_DEVICE && !served);
	if (out->rp_counted) {
		if (burst_exceeded(sr, burst_secs, now)) {
			out->rp_give_up = true;
			return;
		}
		if (uptime_ms >= RESTART_STABLE_MS || sr->sr_backoff_ms == 0)
			sr->sr_backoff_ms = RESTART_BACKOFF_MIN_MS;
		else
			sr->sr_backoff_ms = MIN(sr->sr_backoff_ms * 2,
			    RESTART_BACKOFF_MAX_MS);
		backoff = sr->sr_backoff_ms;
	} else if (cls == SUP_EXIT_DEVICE) {
		backoff = sr->sr_crash_ms;
		sr->sr_crash_ms = sr->sr_crash_ms == 0 ? RESTART_CRASH_MIN_MS :
		    MIN(sr->sr_crash_ms * 2, RESTART_CRASH_MAX_MS);
	}
	/* Every restart takes a token: a storm costs bounded work. */
	if (sr->sr_throttled && ratelimit_full(&sr->sr_bucket, now)) {
		out->rp_storm_end = sr->sr_nthrottled;
		sr->sr_throttled = false;
		sr->sr_nthrottled = 0;
	}
	wait = ratelimit_reserve(&sr->sr_bucket, now);
	wait_ms = (unsigned int)MIN((wait + NSEC_PER_MS - 1) / NSEC_PER_MS,
	    (int64_t)UINT32_MAX);
	if (wait_ms > backoff) {
		out->rp_throttled = true;
		out->rp_storm_start = !sr->sr_throttled;
		sr->sr_throttled = true;
		sr->sr_nthrottled++;
		out->rp_delay_ms = wait_ms;
	} else
		out->rp_delay_ms = backoff;
}
