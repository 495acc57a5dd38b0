/*
 * supervisor.h - the privileged parent: device table, spawn, reap, restart
 * with back-off, shutdown.  Only src/host forks and waits.
 */
#ifndef VHOSTD_HOST_SUPERVISOR_H
#define VHOSTD_HOST_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "../config.h"
#include "../util/ratelimit.h"
#include "jail.h"
#include "policy.h"

struct event;
struct event_base;
struct listener;
struct listener_retained;

enum sup_state {
	SUP_STOPPED,	/* not started yet */
	SUP_RUNNING,	/* a child serves the listener */
	SUP_BACKOFF,	/* waiting to restart */
	SUP_FAILED,	/* burst limit hit: given up */
	SUP_DONE	/* exited, not restarted */
};

/*
 * What the restart policy (restart.c, vhostd(8) EXIT CLASSES) remembers
 * of one device across its children.
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

struct sup_device {
	struct device_conf	 sd_conf;
	void			*sd_state;	/* device type state */
	struct listener		*sd_listener;
	struct listener_retained *sd_retained;
	struct fdset		 sd_keep;
	struct policy_filter	*sd_filter;
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
	int			 sd_logfd;	/* write end, child side */
	char			 sd_conn[16];	/* child's "@state" report */
	struct device_conf	*sd_replacement; /* reload changed it */
};

struct sup_options {
	struct jail_config	 so_jail;
	enum policy_mode	 so_seccomp;
	const char		*so_policy_dir;
	unsigned int		 so_grace_ms;	/* SIGTERM -> SIGKILL */
	unsigned int		 so_burst_count;	/* failures ... */
	unsigned int		 so_burst_secs;	/* ... within this window */
	int			 so_ready_fd;	/* --ready-fd, or -1 */
};

struct supervisor {
	struct sup_options	 su_opt;
	struct event_base	*su_base;
	struct sup_device	**su_dev;	/* stable pointers */
	unsigned int		 su_ndev;
	unsigned int		 su_cap;
	const char		*su_conffile;	/* -c FILE, for SIGHUP */
	bool			 su_stopping;
	bool			 su_failed;	/* some device failed */
	struct event		*su_sig[4];
	struct event		*su_grace;
	struct event		*su_watchdog;
	const char		*su_ctl_path;	/* --control */
	struct listener		*su_ctl;
	struct listener_retained *su_ctl_retained;
	struct event		*su_ctl_ev;
};

/* Defaults for options (jail defaults, kill mode, 5 s grace). */
void	sup_options_init(struct sup_options *opt);

/*
 * The seccomp filter of device type dt: TYPE.policy in the policy
 * directory, compiled for opt's mode, or, when there is none, TYPE.bpf, a
 * precompiled filter (kill mode only).  NULL with a message in err.
 */
struct policy_filter *sup_policy_load(const struct sup_options *opt,
	    const struct device_type *dt, char *err, size_t errlen);

/*
 * Take ownership of the parsed devices, open every listener and device
 * resource and compile every policy.  On error writes a message to err and
 * returns -errno; nothing is left behind (sockets created are removed).
 */
int	sup_init(struct supervisor *sup, const struct sup_options *opt,
	    struct device_conf *devs, unsigned int ndev, char *err,
	    size_t errlen);

/*
 * Apply a re-read configuration: devices added are opened and started,
 * devices removed are stopped and their sockets removed, changed ones are
 * replaced once their child exited, unchanged ones are left alone.  Takes
 * the device configurations out of devs.  Returns how many devices
 * changed, or -errno (logged) for devices that could not be added.
 */
int	sup_reload(struct supervisor *sup, struct device_conf *devs,
	    unsigned int ndev);

/* Fork every device child and run the loop until shutdown.  Exit status. */
int	sup_run(struct supervisor *sup);

/* Release everything (sockets unlinked if still ours). */
void	sup_fini(struct supervisor *sup);

/* Child side (child.c): never returns. */
__attribute__((noreturn)) void child_main(struct sup_device *sd,
	    const struct sup_options *opt);

/*
 * Exit codes of a device child (besides jail_enter's JAIL_EXIT_*), and the
 * class each one belongs to (see enum sup_exit_class, vhostd(8) EXIT
 * CLASSES).  A child that dies by a signal is a device fault.
 */
#define CHILD_EXIT_OK		0	/* front end disconnected */
#define CHILD_EXIT_FAILURE	1	/* internal error: device fault */
#define CHILD_EXIT_PROTOCOL	2	/* front end broke the protocol */
#define CHILD_EXIT_INIT		3	/* device init failed: device fault */
#define CHILD_EXIT_MEMORY	4	/* guest memory truncated under the
					   device (SIGBUS): front-end fault */
#define CHILD_EXIT_TIMEOUT	5	/* front end stalled mid-message:
					   front-end fault */

/* Why a child ended; only device faults and jail failures are counted. */
enum sup_exit_class {
	SUP_EXIT_DISCONNECT,	/* front end went away; a clean end */
	SUP_EXIT_FRONTEND,	/* the front end misbehaved */
	SUP_EXIT_DEVICE,	/* crash, internal error */
	SUP_EXIT_JAIL,		/* a jail step failed */
	SUP_EXIT_STOPPED	/* the parent stopped it (SIGTERM, reload) */
};

#endif /* VHOSTD_HOST_SUPERVISOR_H */
