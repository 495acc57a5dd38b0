/*
 * host.h - the supervisor's device table and the state of one device, as
 * the files of src/host share them (supervisor.c runs the children,
 * devtable.c opens and frees entries, ctl.c reports them).  Internal to
 * src/host: nothing outside includes it; main sees struct supervisor as
 * an opaque handle (supervisor.h).
 */
#ifndef VHOSTD_HOST_HOST_H
#define VHOSTD_HOST_HOST_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../config.h"
#include "restart.h"
#include "supervisor.h"

struct event;
struct event_base;
struct listener;
struct listener_retained;
struct childlog;
struct stats_dev;

enum sup_state {
	SUP_STOPPED,	/* not started yet */
	SUP_RUNNING,	/* a child serves the listener */
	SUP_BACKOFF,	/* waiting to restart */
	SUP_FAILED,	/* burst limit hit: given up */
	SUP_DONE	/* exited, not restarted */
};

/* A compiled filter shared by the devices of one type (refcounted). */
struct sup_filter {
	struct policy_filter		*sf_filter;
	const struct device_type	*sf_type;
	unsigned int			 sf_refs;
};

struct sup_device {
	struct device_conf	 sd_conf;
	struct device_res	 sd_res;	/* what dt_open opened */
	struct listener		*sd_listener;
	struct listener_retained *sd_retained;
	struct sup_filter	*sd_filter;
	struct supervisor	*sd_sup;
	enum sup_state		 sd_run;
	pid_t			 sd_pid;
	unsigned int		 sd_restarts;
	struct timespec		 sd_started;	/* CLOCK_MONOTONIC */
	int64_t			 sd_served;	/* ratelimit_now() of the
						   child's "@state connected",
						   0: it has not served */
	struct sup_restart	 sd_restart;
	int			 sd_last_status;	/* wait status */
	struct event		*sd_timer;
	bool			 sd_fence_wait;	/* dt_spawn said -EAGAIN */
	bool			 sd_fence_warned;
	struct timespec		 sd_fence_since;
	bool			 sd_removing;	/* reload dropped it */
	struct childlog		*sd_log;	/* child's stderr */
	char			 sd_conn[16];	/* child's "@state" report */
	struct device_conf	*sd_replacement; /* reload changed it */
	struct stats_dev	*sd_stats;	/* counters (stats.h), made at
						   the first spawn */
};

struct supervisor {
	struct sup_options	 su_opt;
	struct event_base	*su_base;
	struct sup_device	**su_dev;	/* stable pointers */
	unsigned int		 su_ndev;
	unsigned int		 su_cap;
	int			 su_exe_fd;	/* vhostd's binary (O_PATH),
						   exec'd for each child; -1:
						   children are only cloned */
	struct sup_filter	**su_filters;	/* one per type in use */
	unsigned int		 su_nfilters;
	bool			 su_stopping;
	bool			 su_failed;	/* some device failed */
	struct event		*su_sig[4];
	struct event		*su_grace;
	struct event		*su_watchdog;
	struct listener		*su_ctl;
	struct listener_retained *su_ctl_retained;
	struct event		*su_ctl_ev;
};

/*
 * Two devices may not share a socket path or a name.  0, or -EINVAL with
 * a message in err.  O(n log n).
 */
int	sup_check_devices(const struct device_conf *devs, unsigned int ndev,
	    char *err, size_t errlen);

/*
 * Open dc's listener, device resources and filter and add it to the table
 * (not started).  Takes dc over (left empty).  NULL with err set.
 */
struct sup_device *sup_device_add(struct supervisor *sup,
	    struct device_conf *dc, char *err, size_t errlen);

/*
 * Close what the parent keeps for sd (log pipe, restart timer, listener,
 * device resources, filter; the socket file goes with the listener's
 * retained resources).  The entry stays in the table.
 */
void	sup_device_release(struct sup_device *sd);

/*
 * Right before sd's next child is cloned: the device's dt_spawn (fresh
 * open file descriptions of its files).  0 or -errno (logged): do not
 * start the child.
 */
int	sup_device_before_spawn(struct sup_device *sd);

/* Take sd out of the table, release and free it. */
void	sup_device_free(struct supervisor *sup, struct sup_device *sd);

/* Drop the filter cache: devices opened next compile their policy. */
void	sup_filters_forget(struct supervisor *sup);


#endif /* VHOSTD_HOST_HOST_H */
